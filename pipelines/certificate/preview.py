"""A small annotated copy of a scan for the QA dashboard: re-encoded, so it carries no
EXIF, no GPS and nothing after the JPEG end marker."""

from __future__ import annotations

import math

import cv2
import numpy as np

from pipelines.certificate.result import CertificateReport
from pipelines.errors import InputError
from pipelines.io import decode_image, encode_jpeg


def render_preview(data: bytes, report: CertificateReport, *, max_side: int = 800) -> bytes:
    """Downscaled JPEG with the measured skew (a line at that angle through the centre)
    and orientation (an arrow pointing to the page's top) drawn on it. Undecodable
    input gives a grey placeholder naming the reason."""
    try:
        pixels = decode_image(data, max_long_side=max_side).pixels.copy()
    except InputError:
        pixels = np.full((max_side * 3 // 4, max_side, 3), 200, np.uint8)
        cv2.putText(
            pixels,
            "no preview: " + ",".join(report.reason_codes)[:60],
            (20, 60),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.8,
            (40, 40, 40),
            2,
            cv2.LINE_AA,
        )
        return encode_jpeg(pixels, quality=80)
    h, w = pixels.shape[:2]
    cx, cy = w / 2, h / 2
    colour = (0, 0, 220) if report.status == "rejected" else (0, 150, 0)
    skew = report.checks.get("skew_degrees")
    if isinstance(skew, (int, float)):
        a = math.radians(skew)
        dx, dy = math.cos(a) * w * 0.45, -math.sin(a) * w * 0.45
        cv2.line(
            pixels,
            (int(cx - dx), int(cy - dy)),
            (int(cx + dx), int(cy + dy)),
            colour,
            2,
            cv2.LINE_AA,
        )
        cv2.line(
            pixels, (int(cx - w * 0.45), int(cy)), (int(cx + w * 0.45), int(cy)), (160, 160, 160), 1
        )
    orientation = report.checks.get("orientation_degrees")
    if isinstance(orientation, int):
        # the page's top, as displayed: straight up turned clockwise by the orientation
        a = math.radians(orientation)
        tip = (int(cx + math.sin(a) * h * 0.3), int(cy - math.cos(a) * h * 0.3))
        cv2.arrowedLine(pixels, (int(cx), int(cy)), tip, colour, 3, cv2.LINE_AA, tipLength=0.15)
    label = f"{report.status} skew={skew} rot={orientation} " + ",".join(report.reason_codes)
    cv2.rectangle(pixels, (0, 0), (w, 28), (255, 255, 255), -1)
    cv2.putText(pixels, label[:90], (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    return encode_jpeg(pixels, quality=82)

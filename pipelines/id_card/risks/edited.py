"""Edited images: editor metadata, and text fields with less sensor noise than the card."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np
from PIL import Image

from pipelines.id_card.layout import FIELD_REGIONS
from pipelines.id_card.result import Side
from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _region, _timed

# --- metadata -----------------------------------------------------------------------

_EDITORS = re.compile(
    r"photoshop|lightroom|adobe|gimp|美图|meitu|snapseed|picsart|pixlr|paint\.net|"
    r"affinity|canva|photoscape|faceu|beautycam|醒图|hypic|B612|remini|美颜|"
    r"光影魔术手|picasa|fotor|inshot|polarr|vsco|krita|corel|paintshop|acdsee",
    re.IGNORECASE,
)
_CREATOR_TOOL = re.compile(rb"CreatorTool(?:>|=\")([^<\"]{1,120})")


def _camera_exif(data: bytes) -> bool:
    try:
        exif = Image.open(io.BytesIO(data)).getexif()
    except (OSError, SyntaxError, ValueError):  # metadata is evidence, never a failure
        return False
    return bool(exif.get(0x010F) or exif.get(0x0110))


def read_metadata(data: bytes) -> dict[str, Any]:
    """Editor traces in the file: EXIF Software, XMP CreatorTool, Photoshop APP13,
    PNG text chunks, and whether the JPEG tables are the IJG standard ones."""
    out: dict[str, Any] = {}
    try:
        image = Image.open(io.BytesIO(data))
        exif = image.getexif()
    except (OSError, SyntaxError, ValueError):  # decoded once already; only evidence
        return out
    software = exif.get(0x0131)
    if software:
        out["exif_software"] = str(software)[:120]
    if exif.get(0x010F) or exif.get(0x0110):
        out["camera"] = f"{exif.get(0x010F, '')} {exif.get(0x0110, '')}".strip()[:120]
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if match := _CREATOR_TOOL.search(xmp):
        out["xmp_creator_tool"] = match.group(1).decode("utf-8", "replace")
    applist = getattr(image, "applist", [])
    if any(marker == "APP13" and body.startswith(b"Photoshop 3.0") for marker, body in applist):
        out["photoshop_app13"] = True
    for key in ("Software", "software", "Comment", "comment"):
        if isinstance(image.info.get(key), str):
            out[f"png_{key.lower()}"] = image.info[key][:120]
    return out


def _editor_named(metadata: Mapping[str, Any]) -> str | None:
    for key in ("exif_software", "xmp_creator_tool", "png_software", "png_comment"):
        value = metadata.get(key)
        if value and (m := _EDITORS.search(str(value))):
            return f"{key}: {m.group(0)}"
    if metadata.get("photoshop_app13"):
        return "photoshop_app13"
    return None


# --- edited image -------------------------------------------------------------------

_TEXT_FIELDS: dict[Side, tuple[str, ...]] = {
    Side.FRONT: ("name", "sex_ethnicity", "birth", "address", "id_number"),
    Side.BACK: ("issuing_authority", "validity"),
}


def _field_noise(gray: np.ndarray) -> float:
    """Sensor noise in a field's paper: the median absolute high-pass residual over
    pixels that are neither ink nor its halo."""
    residual = gray - cv2.medianBlur(gray, 3).astype(np.float32)
    ink = cv2.dilate((gray < np.percentile(gray, 60) - 25).astype(np.uint8), np.ones((5, 5)))
    paper = np.abs(residual)[ink == 0]
    return float(np.mean(paper)) if paper.size > 50 else float("nan")


def detect_edited_image(
    data: bytes,
    card: np.ndarray | None,
    side: Side | None,
    *,
    noise_ratio: float = 0.3,
) -> RiskSignal:
    """Editor metadata, and a field whose paper is much cleaner than the card's other
    fields (repainted or pasted text). ``evidence`` says which fired."""
    started = time.perf_counter()
    metadata = read_metadata(data)
    editor = _editor_named(metadata)
    evidence: dict[str, Any] = {
        "metadata": metadata,
        "metadata_editor": editor,
        "pixel_field": None,
    }
    confidence = 0.7 if editor else 0.0
    if card is not None and side is not None:
        gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
        noise = {
            name: _field_noise(_region(gray, FIELD_REGIONS[side][name]).astype(np.float32))
            for name in _TEXT_FIELDS[side]
        }
        known = {k: v for k, v in noise.items() if np.isfinite(v)}
        evidence["field_noise"] = {k: round(v, 2) for k, v in known.items()}
        if len(known) >= 2:
            cleanest = min(known, key=lambda k: known[k])
            others = np.median([v for k, v in known.items() if k != cleanest])
            ratio = known[cleanest] / max(float(others), 1e-6)
            evidence["noise_ratio"] = round(ratio, 3)
            if others > 0.6 and ratio < noise_ratio:
                evidence["pixel_field"] = cleanest
                confidence = max(confidence, 0.6) + (0.3 if editor else 0.0)
    return _timed(RiskCode.EDITED_IMAGE, started, confidence, evidence)

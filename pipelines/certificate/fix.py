"""An automatic fix for files rejected only for orientation, skew or size.

The page is decoded at full size, turned upright (exact quarter turns), deskewed
(rotated by minus the measured skew on a canvas grown to keep every corner,
filled with the paper's colour), re-encoded as a clean JPEG under the size cap
(quality stepped down, then the page scaled down, never below the resolution
minimum) and named by the canonical pattern when the name parses.
"""

from __future__ import annotations

from pipelines.certificate.config import CertificateConfig
from pipelines.certificate.filename import parse_filename, split_extension
from pipelines.certificate.result import CertificateReport, CertReasonCode, FixedFile
from pipelines.certificate.types import load_certificate_types
from pipelines.errors import InputError
from pipelines.geometry import border_colour, resize_long_side, rotate_expand, rotate_quarter
from pipelines.io import decode_image, encode_jpeg
from pipelines.ocr import OcrEngine


def fix_certificate(
    data: bytes,
    report: CertificateReport,
    *,
    engine: OcrEngine | None = None,
    config: CertificateConfig | None = None,
) -> FixedFile | None:
    """A corrected copy of ``data`` per ``report``, or None when the report is not fixable.

    ``engine`` is accepted for interface symmetry; the fix reuses the report's
    measurements and runs no OCR."""
    del engine
    config = config or CertificateConfig()
    if not report.fixable:
        return None
    try:
        decoded = decode_image(data, max_pixels=config.max_pixels)
    except InputError:
        return None
    codes = {r.code for r in report.reasons}
    applied: list[str] = []
    pixels = decoded.pixels
    if decoded.exif_rotated:
        applied.append("exif_orientation")
    orientation = report.checks.get("orientation_degrees") or 0
    if codes & {CertReasonCode.UPSIDE_DOWN, CertReasonCode.SIDEWAYS} and orientation:
        pixels = rotate_quarter(pixels, (360 - orientation) % 360)
        applied.append(f"rotate_{orientation}")
    skew = report.checks.get("skew_degrees")
    if CertReasonCode.SKEWED in codes and skew:
        pixels, _ = rotate_expand(pixels, -float(skew), border=border_colour(pixels))
        applied.append(f"deskew_{float(skew):+.2f}")

    quality = config.fix_jpeg_quality
    encoded = encode_jpeg(pixels, quality=quality)
    while len(encoded) > config.max_bytes and quality > config.fix_min_jpeg_quality:
        quality -= 10
        encoded = encode_jpeg(pixels, quality=quality)
    while len(encoded) > config.max_bytes:
        short = min(pixels.shape[:2])
        if short * 0.85 < config.min_short_side:
            return None  # cannot meet both the size cap and the resolution minimum
        pixels, _ = resize_long_side(pixels, int(max(pixels.shape[:2]) * 0.85))
        encoded = encode_jpeg(pixels, quality=quality)
        applied.append("downscale")
    applied.append(f"jpeg_q{quality}")

    parsed = parse_filename(
        report.filename, load_certificate_types(config.extra_certificate_types_file)
    )
    name = parsed.canonical("jpg")
    if name is None:
        stem, _ = split_extension(report.filename)
        name = f"{stem}.jpg"
    if name != report.filename:
        applied.append("rename")
    return FixedFile(filename=name, data=encoded, applied=tuple(dict.fromkeys(applied)))

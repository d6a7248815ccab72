"""Validate one certificate scan: the stages, in order, collected into a report.

    format & size   magic bytes, extension, 3 MiB          (no decoding)
    filename        姓名+身份证号+证书名称+第几页            (no decoding)
    header          dimensions; pixel bombs refused         (no decoding)
    decode          one reduced decode (JPEG DCT scaling)
    resolution      short side of the original
    blank           share of ink on the page
    blur            width of ink edges
    skew            projection profiles of the ink
    detect          text lines on a small copy of the page
    orientation     line axes + direction classifier
    name            holder's name in the recognised text (budgeted)
    fingerprint     perceptual hash of the upright page, for DUPLICATE

Bad bytes are a result (CORRUPT_IMAGE, UNSUPPORTED_FORMAT), never an exception;
an engine failure is (:class:`pipelines.errors.InferenceError`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from pipelines.certificate.config import CertificateConfig
from pipelines.certificate.duplicates import fingerprint
from pipelines.certificate.filename import ParsedFilename, parse_filename
from pipelines.certificate.messages import reason
from pipelines.certificate.namecheck import find_name
from pipelines.certificate.orientation import estimate_orientation
from pipelines.certificate.quality import check_blank, check_blur, ink_gray, ink_mask
from pipelines.certificate.result import CertificateReport, CertReason, CertReasonCode, is_fixable
from pipelines.certificate.skew import estimate_skew
from pipelines.certificate.types import load_certificate_types
from pipelines.errors import CorruptImageError, ImageTooLargeError, InputError
from pipelines.geometry import resize_long_side, rotate_quads_quarter, rotate_quarter
from pipelines.io import ImageFormat, ImageHeader, decode_image, read_header, sniff_format
from pipelines.ocr import OcrEngine

# Pillow's parsers occasionally raise these on hostile files; pipelines.io translates the
# documented ones, these are caught only around the decode call and mean "corrupt".
_DECODER_SLIPS = (TypeError, IndexError, KeyError, ZeroDivisionError, AttributeError, MemoryError)

_MIN_OCR_SIDE = 32

_MAGIC = (
    (b"GIF8", "gif"),
    (b"%PDF", "pdf"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
    (b"RIFF", "riff/webp"),
    (b"PK\x03\x04", "zip"),
    (b"\x7fELF", "elf"),
    (b"8BPS", "psd"),
    (b"%!PS", "postscript"),
    (b"<svg", "svg"),
    (b"<?xml", "xml"),
    (b"<!DOCTYPE", "html"),
    (b"<html", "html"),
    (b"\x00\x00\x00\x0cjP", "jpeg2000"),
    (b"Rar!", "rar"),
    (b"7z\xbc\xaf", "7z"),
)


def work_long_side(header: ImageHeader, config: CertificateConfig) -> int:
    """The page size the checks work at: for a JPEG, the smallest DCT-scaled size
    (1/2, 1/4, 1/8: far cheaper to decode) that is still at least
    ``work_min_long_side``; never above ``work_long_side``."""
    long_side = max(header.width, header.height)
    if header.format is ImageFormat.JPEG:
        for factor in (8, 4, 2):
            if long_side / factor >= config.work_min_long_side:
                return min(config.work_long_side, int(long_side / factor))
    return min(config.work_long_side, long_side)


def _content_kind(data: bytes) -> str:
    fmt = sniff_format(data)
    if fmt is not None:
        return fmt.value
    head = data[:16].lstrip()
    for magic, kind in _MAGIC:
        if head[: len(magic)].lower() == magic.lower():
            return kind
    if data[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftypavif"):
        return "heic/avif"
    return "unknown" if data else "empty"


def _filename_reasons(parsed: ParsedFilename) -> list[CertReason]:
    if parsed.id_number is None:
        return [reason(CertReasonCode.BAD_FILENAME, missing=list(parsed.missing) or ["id_number"])]
    out = []
    if not parsed.id_valid:
        out.append(
            reason(
                CertReasonCode.FILENAME_ID_INVALID,
                id_masked=parsed.masked()["id_number"],
                problem=parsed.id_problem,
            )
        )
    if parsed.missing:
        out.append(reason(CertReasonCode.BAD_FILENAME, missing=list(parsed.missing)))
    if parsed.certificate_text and parsed.certificate_type is None:
        detail: dict[str, Any] = {"certificate_type": parsed.certificate_text}
        if parsed.certificate_candidates:
            detail["candidates"] = list(parsed.certificate_candidates)
        r = reason(CertReasonCode.UNKNOWN_CERTIFICATE_TYPE, **detail)
        if parsed.certificate_candidates:
            r = CertReason(
                r.code,
                f"文件名中的证书名称“{parsed.certificate_text}”不明确，请写明是"
                f"{'还是'.join(parsed.certificate_candidates)}。",
                r.detail,
            )
        out.append(r)
    return out


def validate_certificate(
    data: bytes,
    filename: str,
    *,
    engine: OcrEngine,
    config: CertificateConfig | None = None,
) -> CertificateReport:
    """Check one uploaded file against the platform's rules. Never raises for bad bytes."""
    config = config or CertificateConfig()
    started = time.perf_counter()
    timings: dict[str, float] = {}
    reasons: list[CertReason] = []
    warnings: list[CertReason] = []
    checks: dict[str, Any] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timings[name] = (now - since) * 1000
        return now

    # -- format and size: bytes only -------------------------------------------------------
    parsed = parse_filename(filename, load_certificate_types(config.extra_certificate_types_file))
    kind = _content_kind(data)
    checks.update(format=kind, extension=parsed.extension, bytes=len(data))
    content_ok = kind in (ImageFormat.JPEG.value, ImageFormat.PNG.value)
    ext_ok = parsed.extension in config.allowed_extensions
    if not content_ok or not ext_ok:
        reasons.append(
            reason(CertReasonCode.UNSUPPORTED_FORMAT, content=kind, extension=parsed.extension)
        )
    elif (kind == "png") != (parsed.extension == "png"):
        warnings.append(
            CertReason(
                CertReasonCode.UNSUPPORTED_FORMAT,
                f"文件扩展名 .{parsed.extension} 与实际格式 {kind.upper()} 不一致，建议改为 "
                f".{'png' if kind == 'png' else 'jpg'} 后上传。",
                {"content": kind, "extension": parsed.extension, "mismatch": True},
            )
        )
    if len(data) > config.max_bytes:
        reasons.append(
            reason(
                CertReasonCode.FILE_TOO_LARGE,
                bytes=len(data),
                limit=config.max_bytes,
                size_mb=len(data) / 2**20,
                limit_mb=config.max_bytes / 2**20,
            )
        )
    reasons.extend(_filename_reasons(parsed))
    checks["filename"] = parsed.masked()
    mark = lap("format", started)

    fp: str | None = None
    if content_ok:
        fp, mark = _image_checks(data, parsed, engine, config, reasons, warnings, checks, lap, mark)

    timings["total"] = (time.perf_counter() - started) * 1000
    return CertificateReport(
        filename=filename,
        status="rejected" if reasons else "accepted",
        reasons=tuple(reasons),
        warnings=tuple(warnings),
        checks=checks,
        fingerprint=fp,
        fixable=is_fixable(tuple(reasons)),
        timings_ms=timings,
        masked_filename=parsed.masked_filename(filename),
    )


def _image_checks(
    data: bytes,
    parsed: ParsedFilename,
    engine: OcrEngine,
    config: CertificateConfig,
    reasons: list[CertReason],
    warnings: list[CertReason],
    checks: dict[str, Any],
    lap: Callable[[str, float], float],
    mark: float,
) -> tuple[str | None, float]:
    # -- header and decode -----------------------------------------------------------------
    try:
        header = read_header(data, max_pixels=config.max_pixels)
    except ImageTooLargeError as exc:
        reasons.append(
            reason(
                CertReasonCode.CORRUPT_IMAGE,
                refusal="pixel_limit",
                error=str(exc),
                max_pixels=config.max_pixels,
            )
        )
        return None, lap("header", mark)
    except InputError as exc:
        reasons.append(reason(CertReasonCode.CORRUPT_IMAGE, refusal="bad_header", error=str(exc)))
        return None, lap("header", mark)
    except _DECODER_SLIPS as exc:
        reasons.append(
            reason(CertReasonCode.CORRUPT_IMAGE, refusal="bad_header", error=type(exc).__name__)
        )
        return None, lap("header", mark)
    checks.update(width=header.width, height=header.height)
    mark = lap("header", mark)
    try:
        decoded = decode_image(
            data, max_pixels=config.max_pixels, max_long_side=work_long_side(header, config)
        )
    except (CorruptImageError, InputError) as exc:
        reasons.append(reason(CertReasonCode.CORRUPT_IMAGE, refusal="undecodable", error=str(exc)))
        return None, lap("decode", mark)
    except _DECODER_SLIPS as exc:
        reasons.append(
            reason(CertReasonCode.CORRUPT_IMAGE, refusal="undecodable", error=type(exc).__name__)
        )
        return None, lap("decode", mark)
    checks.update(
        width=decoded.original_width,
        height=decoded.original_height,
        exif_rotated=decoded.exif_rotated,
    )
    mark = lap("decode", mark)

    # -- resolution, blank, blur -------------------------------------------------------------
    short_side = min(decoded.original_width, decoded.original_height)
    if short_side < config.min_short_side:
        reasons.append(
            reason(
                CertReasonCode.LOW_RESOLUTION, short_side=short_side, minimum=config.min_short_side
            )
        )
    work = decoded.pixels
    gray = ink_gray(work)
    mask = ink_mask(gray)
    blank = check_blank(mask, max_ink_ratio=config.blank_max_ink_ratio)
    checks["ink_ratio"] = round(blank.ink_ratio, 5)
    if blank.blank:
        reasons.append(
            reason(
                CertReasonCode.BLANK_PAGE,
                ink_ratio=round(blank.ink_ratio, 5),
                minimum=config.blank_max_ink_ratio,
            )
        )
        checks.update(skew_degrees=None, orientation_degrees=None)
        return None, lap("quality", mark)
    blur = check_blur(gray, mask, max_edge_px=config.blur_max_edge_px)
    checks["blur_edge_px"] = round(blur.edge_width_px, 2)
    if blur.blurry:
        reasons.append(
            reason(
                CertReasonCode.BLURRY,
                edge_px=round(blur.edge_width_px, 2),
                limit=config.blur_max_edge_px,
            )
        )
    mark = lap("quality", mark)

    skew = estimate_skew(mask)
    if skew.confidence < config.skew_min_confidence:  # no lines to speak of: noise, a photo
        skew = replace(skew, degrees=None)
    checks["skew_degrees"] = skew.degrees
    checks["skew_confidence"] = round(skew.confidence, 2)
    if skew.degrees is not None and abs(skew.degrees) > config.skew_reject_degrees:
        reasons.append(
            reason(
                CertReasonCode.SKEWED,
                angle=abs(skew.degrees),
                degrees=skew.degrees,
                limit=config.skew_reject_degrees,
            )
        )
    mark = lap("skew", mark)

    # -- text: detect small, classify a sample, recognise only for the name -------------------
    if min(work.shape[:2]) < _MIN_OCR_SIDE:  # a sliver: nothing for the detector to read
        checks.update(text_lines=0, orientation_degrees=None)
        return fingerprint(gray), lap("detect", mark)
    small, scale = resize_long_side(work, config.detect_long_side)
    boxes = [b / scale for b in engine.detect(small)]
    checks["text_lines"] = len(boxes)
    mark = lap("detect", mark)
    if not boxes:
        reasons.append(
            reason(
                CertReasonCode.BLANK_PAGE,
                ink_ratio=round(blank.ink_ratio, 5),
                text_lines=0,
                cause="no_text",
            )
        )
    orientation = estimate_orientation(
        work,
        boxes,
        engine,
        sample_lines=config.orientation_sample_lines,
        min_lines=config.min_orientation_lines,
        min_confidence=config.orientation_min_confidence,
    )
    checks["orientation_degrees"] = orientation.degrees
    checks["orientation_votes"] = orientation.votes
    if orientation.degrees == 180:
        reasons.append(
            reason(
                CertReasonCode.UPSIDE_DOWN, degrees=180, flip_share=round(orientation.flip_share, 2)
            )
        )
    elif orientation.degrees in (90, 270):
        reasons.append(
            reason(
                CertReasonCode.SIDEWAYS,
                degrees=orientation.degrees,
                direction="逆时针" if orientation.degrees == 90 else "顺时针",
            )
        )
    mark = lap("orientation", mark)

    turn = (360 - (orientation.degrees or 0)) % 360  # clockwise turn that makes it upright
    upright = rotate_quarter(work, turn) if turn else work
    if parsed.name and boxes:
        upright_boxes = (
            rotate_quads_quarter(boxes, turn, work.shape[1], work.shape[0]) if turn else boxes
        )
        found = find_name(
            upright,
            upright_boxes,
            parsed.name,
            engine,
            turn_crops=False,
            budget_px=config.name_check_budget_px,
        )
        checks["name_found"] = found.found
        checks["name_lines_read"] = found.lines_read
        if found.found is False:
            r = reason(
                CertReasonCode.NAME_NOT_ON_DOCUMENT,
                name_masked=checks["filename"]["name"],
                lines_read=found.lines_read,
            )
            (reasons if config.name_not_on_document_rejects else warnings).append(r)
        mark = lap("name", mark)

    fp = fingerprint(ink_gray(upright) if turn else gray)
    mark = lap("fingerprint", mark)
    return fp, mark

"""Validate one certificate scan: an ordered list of named stages (:mod:`pipelines.compose`).

    filename     姓名+身份证号+证书名称+第几页                      (no decoding)
    format       empty file, magic bytes, extension, 3 MiB           (no decoding)
    decode       header (pixel bombs refused), one reduced decode    (pipelines.io)
    ink          ink mask and share of ink on the page
    detect       text lines on a small copy of the page
    content      no text: blank page (little ink) or pictures only (a warning)
    resolution   median character height from the line boxes, original pixels
    sharpness    stroke-edge width inside the text lines only
    skew         projection profiles of the ink
    orientation  line axes + direction classifier
    read         title lines and ID-number-sized lines recognised (budgeted)
    page_type    the page classified into the eight types, against the file name's
    id_number    an ID number printed on the page, against the file name's
    name         holder's name in what was read, then in further lines (budgeted)
    fingerprint  perceptual hash of the upright page, for DUPLICATE

Each stage returns a :class:`~pipelines.compose.StageResult` whose ``reasons`` are
:class:`CertReason` (a reason marked ``warning`` does not reject); the report keeps every
stage's passed/measured/limits (``checks["stages"]``). Work that cannot change the answer
is skipped: nothing is read on a page already rejected as illegible.

Bad bytes are a result (EMPTY_FILE, UNSUPPORTED_FORMAT, CORRUPT_IMAGE), translated from
:mod:`pipelines.io`'s errors only; an engine failure is an exception
(:class:`pipelines.errors.InferenceError`), and so is a bug.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from pipelines.certificate.config import CertificateConfig
from pipelines.certificate.duplicates import fingerprint
from pipelines.certificate.filename import ParsedFilename, parse_filename
from pipelines.certificate.legibility import (
    measure_stroke_sharpness,
    measure_text_height,
    text_region_mask,
)
from pipelines.certificate.messages import reason
from pipelines.certificate.namecheck import (
    LINE_HEIGHT,
    estimate_chars,
    find_name,
    line_strip,
    name_in_text,
)
from pipelines.certificate.orientation import estimate_orientation
from pipelines.certificate.pagetype import classify_page, find_id_numbers
from pipelines.certificate.quality import check_blank, check_blur, ink_gray, ink_mask
from pipelines.certificate.result import CertificateReport, CertReason, CertReasonCode, is_fixable
from pipelines.certificate.skew import estimate_skew
from pipelines.certificate.types import CertificateTypeTable, load_certificate_types
from pipelines.compose import Pipeline, Report, StageResult
from pipelines.errors import ImageTooLargeError, InputError
from pipelines.geometry import quad_axes, resize_long_side, rotate_quads_quarter, rotate_quarter
from pipelines.idnumber import mask_id_number
from pipelines.io import ImageFormat, ImageHeader, decode_image, read_header, sniff_format
from pipelines.ocr import OcrEngine, crop_line

_MIN_OCR_SIDE = 32
_FINGERPRINT_SIDE = 384

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

C = CertReasonCode
Context = Mapping[str, Any]


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


# -- outputs handed from stage to stage ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """The decoded page at working size and how it maps to the file's pixels."""

    work: np.ndarray  # BGR
    to_original: float  # work pixels -> original pixels
    gray: np.ndarray | None = None
    ink: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Upright:
    image: np.ndarray
    boxes: list[np.ndarray]
    turn: int  # clockwise quarter turn applied


@dataclass(frozen=True, slots=True)
class ReadLines:
    title: tuple[str, ...]
    other: tuple[str, ...]
    indices: frozenset[int]  # upright boxes already read


# -- stages --------------------------------------------------------------------------------


def check_filename(ctx: Context) -> StageResult:
    parsed: ParsedFilename = parse_filename(ctx["filename"], ctx["table"])
    reasons: list[CertReason] = []
    if parsed.id_number is None:
        reasons.append(reason(C.BAD_FILENAME, missing=list(parsed.missing) or ["id_number"]))
    else:
        if not parsed.id_valid:
            reasons.append(
                reason(
                    C.FILENAME_ID_INVALID,
                    id_masked=parsed.masked()["id_number"],
                    problem=parsed.id_problem,
                )
            )
        if parsed.missing:
            reasons.append(reason(C.BAD_FILENAME, missing=list(parsed.missing)))
        if parsed.certificate_text and parsed.certificate_type is None:
            detail: dict[str, Any] = {"certificate_type": parsed.certificate_text}
            if parsed.certificate_candidates:
                detail["candidates"] = list(parsed.certificate_candidates)
            r = reason(C.UNKNOWN_CERTIFICATE_TYPE, **detail)
            if parsed.certificate_candidates:
                r = CertReason(
                    r.code,
                    f"文件名中的证书名称“{parsed.certificate_text}”不明确，请写明是"
                    f"{'还是'.join(parsed.certificate_candidates)}。",
                    r.detail,
                )
            reasons.append(r)
    return StageResult(
        passed=not reasons,
        reasons=tuple(reasons),
        measured={"filename": parsed.masked()},
        output=parsed,
    )


def check_format(ctx: Context) -> StageResult:
    data: bytes = ctx["data"]
    config: CertificateConfig = ctx["config"]
    parsed: ParsedFilename = ctx["check_filename"]
    measured = {"format": _content_kind(data), "extension": parsed.extension, "bytes": len(data)}
    limits = {"max_bytes": config.max_bytes, "extensions": list(config.allowed_extensions)}
    if not data:
        return StageResult(False, (reason(C.EMPTY_FILE),), measured, limits, stop=True)
    kind = measured["format"]
    reasons: list[CertReason] = []
    content_ok = kind in (ImageFormat.JPEG.value, ImageFormat.PNG.value)
    if not content_ok or parsed.extension not in config.allowed_extensions:
        reasons.append(reason(C.UNSUPPORTED_FORMAT, content=kind, extension=parsed.extension))
    elif (kind == "png") != (parsed.extension == "png"):
        reasons.append(
            CertReason(
                C.UNSUPPORTED_FORMAT,
                f"文件扩展名 .{parsed.extension} 与实际格式 {kind.upper()} 不一致，建议改为 "
                f".{'png' if kind == 'png' else 'jpg'} 后上传。",
                {"content": kind, "extension": parsed.extension, "mismatch": True},
                warning=True,
            )
        )
    if len(data) > config.max_bytes:
        reasons.append(
            reason(
                C.FILE_TOO_LARGE,
                bytes=len(data),
                limit=config.max_bytes,
                size_mb=len(data) / 2**20,
                limit_mb=config.max_bytes / 2**20,
            )
        )
    rejected = any(not r.warning for r in reasons)
    return StageResult(not rejected, tuple(reasons), measured, limits, stop=not content_ok)


def decode_page(ctx: Context) -> StageResult:
    """The one place bytes become pixels; only :mod:`pipelines.io`'s errors are caught."""
    data: bytes = ctx["data"]
    config: CertificateConfig = ctx["config"]
    limits = {"max_pixels": config.max_pixels}
    try:
        header = read_header(data, max_pixels=config.max_pixels)
        decoded = decode_image(
            data, max_pixels=config.max_pixels, max_long_side=work_long_side(header, config)
        )
    except ImageTooLargeError as exc:
        r = reason(C.CORRUPT_IMAGE, refusal="pixel_limit", error=str(exc))
        return StageResult(False, (r,), {}, limits, stop=True)
    except InputError as exc:
        r = reason(C.CORRUPT_IMAGE, refusal="undecodable", error=str(exc))
        return StageResult(False, (r,), {}, limits, stop=True)
    measured = {
        "width": decoded.original_width,
        "height": decoded.original_height,
        "exif_rotated": decoded.exif_rotated,
        "work_long_side": max(decoded.width, decoded.height),
    }
    return StageResult(
        measured=measured, limits=limits, output=Page(decoded.pixels, 1.0 / decoded.scale)
    )


def find_ink(ctx: Context) -> StageResult:
    page: Page = ctx["decode"]
    gray = ink_gray(page.work)
    mask = ink_mask(gray)
    blank = check_blank(mask, max_ink_ratio=0.0)
    return StageResult(
        measured={"ink_ratio": round(blank.ink_ratio, 5)},
        output=Page(page.work, page.to_original, gray, mask),
    )


def detect_lines(ctx: Context) -> StageResult:
    page: Page = ctx["ink"]
    config: CertificateConfig = ctx["config"]
    if min(page.work.shape[:2]) < _MIN_OCR_SIDE:  # a sliver: nothing for the detector to read
        return StageResult(measured={"text_lines": 0}, output=[])
    boxes, found = find_text_lines(page.work, ctx["engine"], config)
    return StageResult(
        measured={"text_lines": len(boxes), "non_text_boxes": found - len(boxes)},
        limits={"detect_long_side": config.detect_long_side},
        output=boxes,
    )


def find_text_lines(
    image: np.ndarray, engine: OcrEngine, config: CertificateConfig
) -> tuple[list[np.ndarray], int]:
    """Text-line boxes in ``image`` pixels, found on a small copy, and how many boxes the
    detector gave before those too tall to be text were dropped."""
    small, scale = resize_long_side(image, config.detect_long_side)
    found = [b / scale for b in engine.detect(small)]
    # A "line" taller than a tenth of the page is a picture, a photo or the page's own
    # edge in a phone photo: no type is set that large on a certificate.
    tallest = 0.1 * min(image.shape[:2])
    return [b for b in found if min(quad_axes(b)) <= tallest], len(found)


def judge_content(ctx: Context) -> StageResult:
    """No text found: a blank page when there is next to no ink, else pictures only (a
    warning) unless what ink there is is blurred (BLURRY: text too blurred to detect)."""
    boxes: list[np.ndarray] = ctx["detect"]
    page: Page = ctx["ink"]
    config: CertificateConfig = ctx["config"]
    assert page.gray is not None and page.ink is not None
    limits = {"blank_max_ink_ratio": config.blank_max_ink_ratio}
    if boxes:
        return StageResult(measured={"text_lines": len(boxes)}, limits=limits)
    ink_ratio = content_ink_ratio(page.ink)
    measured = {"ink_ratio": round(ink_ratio, 5), "text_lines": 0}
    if ink_ratio < config.blank_max_ink_ratio:
        r = reason(C.BLANK_PAGE, ink_ratio=round(ink_ratio, 5), text_lines=0)
        return StageResult(False, (r,), measured, limits, stop=True)
    limit_px = config.blur_no_text_max_edge_px
    blur = check_blur(page.gray, page.ink, max_edge_px=limit_px)
    measured["edge_px"] = round(blur.edge_width_px, 2)
    if blur.blurry:
        r = reason(C.BLURRY, edge_px=round(blur.edge_width_px, 2), limit_px=limit_px)
        return StageResult(False, (r,), measured, limits, stop=True)
    warning = reason(C.TEXT_NOT_FOUND, warning=True, ink_ratio=round(ink_ratio, 5))
    return StageResult(True, (warning,), measured, limits, stop=True, output=fingerprint(page.gray))


def content_ink_ratio(ink: np.ndarray) -> float:
    """Share of the page inked by marks: connected ink components, leaving out specks,
    anything spanning half the page either way (the page's edge on a desk, a frame, a
    scanner-lid shadow) and thin streaks at least six times longer than thick: the pieces
    that edge or frame breaks into on a noisy phone photo, which a blank page photographed
    or scanned has too. Pictograms, photos and writing are not streaks."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    h, w = ink.shape[:2]
    area = stats[1:, cv2.CC_STAT_AREA]
    width, height = stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]
    streak = np.maximum(width, height) >= 6 * np.minimum(width, height)
    keep = (area >= 4) & (width < w / 2) & (height < h / 2) & ~streak
    return float(area[keep].sum()) / ink.size if count > 1 else 0.0


def check_resolution(ctx: Context) -> StageResult:
    """LOW_RESOLUTION by legibility: the median character height, not the page size."""
    page: Page = ctx["ink"]
    config: CertificateConfig = ctx["config"]
    height = measure_text_height(ctx["detect"], to_original=page.to_original)
    char_px = height.char_height_px or 0.0
    measured = {"char_height_px": round(char_px, 1), "lines_measured": height.lines}
    limits = {"min_char_height_px": config.min_char_height_px}
    if char_px < config.min_char_height_px:
        r = reason(C.LOW_RESOLUTION, char_px=char_px, minimum=config.min_char_height_px)
        return StageResult(False, (r,), measured, limits, output=False)
    return StageResult(measured=measured, limits=limits, output=True)


def check_sharpness(ctx: Context) -> StageResult:
    """BLURRY from stroke edges inside the text lines, relative to the character height."""
    page: Page = ctx["ink"]
    config: CertificateConfig = ctx["config"]
    assert page.gray is not None and page.ink is not None
    region = text_region_mask(page.gray.shape[:2], ctx["detect"])
    char_work = measure_text_height(ctx["detect"], to_original=1.0).char_height_px or 0.0
    sharp = measure_stroke_sharpness(page.gray, page.ink, region, char_height_px=char_work)
    limit_px = min(
        config.blur_max_edge_px,
        max(config.blur_min_edge_px, config.blur_max_edge_ratio * char_work),
    )
    measured = {
        "edge_px": None if sharp.edge_width_px is None else round(sharp.edge_width_px, 2),
        "char_height_work_px": round(char_work, 1),
        "contrast": round(sharp.contrast, 1),
    }
    limits = {
        "max_edge_px": round(limit_px, 2),
        "max_edge_ratio": config.blur_max_edge_ratio,
        "min_edge_px": config.blur_min_edge_px,
        "max_edge_px_any_size": config.blur_max_edge_px,
    }
    if sharp.edge_width_px is not None and sharp.edge_width_px > limit_px:
        r = reason(
            C.BLURRY,
            edge_px=round(sharp.edge_width_px, 2),
            char_px=char_work,
            limit_px=round(limit_px, 2),
        )
        return StageResult(False, (r,), measured, limits, output=False)
    return StageResult(measured=measured, limits=limits, output=True)


def measure_skew(ctx: Context) -> StageResult:
    page: Page = ctx["ink"]
    config: CertificateConfig = ctx["config"]
    skew = estimate_skew(page.ink)
    degrees = skew.degrees if skew.confidence >= config.skew_min_confidence else None
    measured = {"skew_degrees": degrees, "skew_confidence": round(skew.confidence, 2)}
    limits = {
        "skew_reject_degrees": config.skew_reject_degrees,
        "skew_min_confidence": config.skew_min_confidence,
    }
    if degrees is not None and abs(degrees) > config.skew_reject_degrees:
        r = reason(C.SKEWED, angle=abs(degrees), degrees=degrees, limit=config.skew_reject_degrees)
        return StageResult(False, (r,), measured, limits, output=degrees)
    return StageResult(measured=measured, limits=limits, output=degrees)


def check_orientation(ctx: Context) -> StageResult:
    page: Page = ctx["ink"]
    boxes: list[np.ndarray] = ctx["detect"]
    config: CertificateConfig = ctx["config"]
    orientation = estimate_orientation(
        page.work,
        boxes,
        ctx["engine"],
        sample_lines=config.orientation_sample_lines,
        min_lines=config.min_orientation_lines,
        min_confidence=config.orientation_min_confidence,
        detect=lambda image: find_text_lines(image, ctx["engine"], config)[0],
        recheck_below=config.orientation_recheck_lines,
    )
    measured = {
        "orientation_degrees": orientation.degrees,
        "orientation_votes": orientation.votes,
        "orientation_second_look": orientation.second_look,
        "text_across_px": round(orientation.across_weight),
        "text_down_px": round(orientation.down_weight),
    }
    limits = {"orientation_recheck_lines": config.orientation_recheck_lines}
    reasons: tuple[CertReason, ...] = ()
    if orientation.degrees == 180:
        reasons = (reason(C.UPSIDE_DOWN, degrees=180, flip_share=round(orientation.flip_share, 2)),)
    elif orientation.degrees in (90, 270):
        direction = "逆时针" if orientation.degrees == 90 else "顺时针"
        reasons = (reason(C.SIDEWAYS, degrees=orientation.degrees, direction=direction),)
    turn = (360 - (orientation.degrees or 0)) % 360  # clockwise turn that makes it upright
    h, w = page.work.shape[:2]
    upright = Upright(
        rotate_quarter(page.work, turn) if turn else page.work,
        rotate_quads_quarter(boxes, turn, w, h) if turn else list(boxes),
        turn,
    )
    return StageResult(not reasons, reasons, measured, limits, output=upright)


def _legible(ctx: Context) -> bool:
    return bool(ctx.get("resolution")) and bool(ctx.get("sharpness"))


def read_key_lines(ctx: Context) -> StageResult:
    """Recognise the few lines that decide the page type and show an ID number: the
    tallest lines in the top part of the page (the title), then lines as long as an
    18-digit number, alone or after its label. Two recogniser calls (title, the rest), each
    on the lines side by side, within a budget of line width."""
    config: CertificateConfig = ctx["config"]
    upright: Upright = ctx["orientation"]
    if not _legible(ctx) or config.read_budget_px <= 0 or not upright.boxes:
        return StageResult(measured={"lines_read": 0}, output=ReadLines((), (), frozenset()))
    page_h = upright.image.shape[0]
    rows = []
    for i, box in enumerate(upright.boxes):
        w, h = quad_axes(box)
        long_side, short_side = max(w, h), max(min(w, h), 1.0)
        rows.append(
            (
                i,
                short_side,
                float(np.min(box[:, 1])),
                estimate_chars(long_side / short_side),
                long_side * LINE_HEIGHT / short_side,
            )
        )
    median_h = float(np.median([r[1] for r in rows]))
    top = [r for r in rows if r[2] < 0.45 * page_h and r[3] >= 1.5]
    title = sorted(top, key=lambda r: -r[1])[:3]
    title = [r for r in title if r[1] >= 1.15 * median_h] or title[:2]
    parsed: ParsedFilename = ctx["check_filename"]
    numbers = []
    if parsed.id_number and parsed.id_valid:
        numbers = sorted(
            (r for r in rows if 8.0 <= r[3] <= 19.0 and r not in title), key=lambda r: r[2]
        )
    chosen, spent = [], 0.0
    for r in [*title, *numbers]:
        if spent + r[4] > config.read_budget_px:
            continue
        chosen.append(r)
        spent += r[4]
    title_ids = {r[0] for r in title}
    texts = []
    for group in (
        [r for r in chosen if r[0] in title_ids],
        [r for r in chosen if r[0] not in title_ids],
    ):
        crops = [crop_line(upright.image, upright.boxes[r[0]]) for r in group]
        # side by side in one strip: a batch of separate crops is padded to its widest
        texts.append(
            "".join(t for t, _ in ctx["engine"].recognize([line_strip(crops)])) if crops else ""
        )
    out = ReadLines((texts[0],), (texts[1],), frozenset(r[0] for r in chosen))
    return StageResult(
        measured={"lines_read": len(chosen), "width_read": int(spent)},
        limits={"read_budget_px": config.read_budget_px},
        output=out,
    )


def check_page_type(ctx: Context) -> StageResult:
    read: ReadLines = ctx["read"]
    parsed: ParsedFilename = ctx["check_filename"]
    table: CertificateTypeTable = ctx["table"]
    config: CertificateConfig = ctx["config"]
    result = classify_page(read.title, read.other, table)
    expected = table.page_type_of(parsed.certificate_type) if parsed.certificate_type else None
    measured = {
        "page_type": result.page_type,
        "page_type_keyword": result.keyword,
        "filename_page_type": expected,
    }
    limits = {"type_mismatch_rejects": config.type_mismatch_rejects}
    if result.page_type and expected and result.page_type != expected:
        r = reason(
            C.CERTIFICATE_TYPE_MISMATCH,
            warning=not config.type_mismatch_rejects,
            filename_type=parsed.certificate_type,
            page_type=result.page_type,
        )
        return StageResult(r.warning, (r,), measured, limits, output=result.page_type)
    return StageResult(measured=measured, limits=limits, output=result.page_type)


def check_id_number(ctx: Context) -> StageResult:
    read: ReadLines = ctx["read"]
    parsed: ParsedFilename = ctx["check_filename"]
    config: CertificateConfig = ctx["config"]
    found = find_id_numbers([*read.title, *read.other])
    measured: dict[str, Any] = {"page_id_numbers": len(found)}
    limits = {"id_number_mismatch_rejects": config.id_number_mismatch_rejects}
    if not found or not parsed.id_number or not parsed.id_valid:
        return StageResult(measured=measured, limits=limits)
    match = parsed.id_number in found
    measured["page_id_matches"] = match
    if match:
        return StageResult(measured=measured, limits=limits)
    r = reason(
        C.ID_NUMBER_MISMATCH,
        warning=not config.id_number_mismatch_rejects,
        page_id_masked=mask_id_number(found[0]),
        id_masked=mask_id_number(parsed.id_number),
    )
    return StageResult(r.warning, (r,), measured, limits)


def check_name(ctx: Context) -> StageResult:
    parsed: ParsedFilename = ctx["check_filename"]
    upright: Upright = ctx["orientation"]
    read: ReadLines = ctx["read"]
    config: CertificateConfig = ctx["config"]
    limits = {
        "name_check_budget_px": config.name_check_budget_px,
        "name_not_on_document_rejects": config.name_not_on_document_rejects,
    }
    if not parsed.name or not upright.boxes or not _legible(ctx):
        return StageResult(measured={"name_found": None}, limits=limits)
    if name_in_text(parsed.name, "".join([*read.title, *read.other])):
        return StageResult(measured={"name_found": True, "name_lines_read": 0}, limits=limits)
    rest = [b for i, b in enumerate(upright.boxes) if i not in read.indices]
    found = find_name(
        upright.image,
        rest,
        parsed.name,
        ctx["engine"],
        turn_crops=False,
        budget_px=config.name_check_budget_px,
    )
    measured = {"name_found": found.found, "name_lines_read": found.lines_read}
    if found.found is False:
        r = reason(
            C.NAME_NOT_ON_DOCUMENT,
            warning=not config.name_not_on_document_rejects,
            name_masked=parsed.masked()["name"],
            lines_read=found.lines_read,
        )
        return StageResult(r.warning, (r,), measured, limits)
    return StageResult(measured=measured, limits=limits)


def take_fingerprint(ctx: Context) -> StageResult:
    upright: Upright = ctx["orientation"]
    page: Page = ctx["ink"]
    gray = ink_gray(upright.image) if upright.turn else page.gray
    # the hash looks at 128 px and the thumbnail at 96: hashing the full working page
    # costs ten times more for the same bits
    small, _ = resize_long_side(gray, _FINGERPRINT_SIDE)
    return StageResult(output=fingerprint(small))


#: The certificate pipeline, in order. Tests swap a stage with ``.replace(name, fake)``.
CERTIFICATE_PIPELINE = Pipeline(
    [
        ("check_filename", check_filename),
        ("format", check_format),
        ("decode", decode_page),
        ("ink", find_ink),
        ("detect", detect_lines),
        ("content", judge_content),
        ("resolution", check_resolution),
        ("sharpness", check_sharpness),
        ("skew", measure_skew),
        ("orientation", check_orientation),
        ("read", read_key_lines),
        ("page_type", check_page_type),
        ("id_number", check_id_number),
        ("name", check_name),
        ("fingerprint", take_fingerprint),
    ]
)


def validate_certificate(
    data: bytes,
    filename: str,
    *,
    engine: OcrEngine,
    config: CertificateConfig | None = None,
    pipeline: Pipeline = CERTIFICATE_PIPELINE,
) -> CertificateReport:
    """Check one uploaded file against the platform's rules. Never raises for bad bytes."""
    config = config or CertificateConfig()
    started = time.perf_counter()
    table = load_certificate_types(config.extra_certificate_types_file)
    run = pipeline.run(
        {"data": data, "filename": filename, "engine": engine, "config": config, "table": table}
    )
    return _report(run, filename, data, table, (time.perf_counter() - started) * 1000)


def _report(
    run: Report, filename: str, data: bytes, table: CertificateTypeTable, total_ms: float
) -> CertificateReport:
    reasons = tuple(r for r in run.reasons if not r.warning)
    warnings = tuple(r for r in run.reasons if r.warning)
    checks: dict[str, Any] = {}
    for result in run.results:
        checks.update(result.measured)
    checks.setdefault("skew_degrees", None)
    checks.setdefault("orientation_degrees", None)
    checks["stages"] = run.to_record()
    fp = run.outputs.get("fingerprint")
    if fp is None and isinstance(run.outputs.get("content"), str):
        fp = run.outputs["content"]  # pictures without text still have a fingerprint
    parsed = run.outputs.get("check_filename")
    timings = run.timings_ms()
    timings["total"] = total_ms
    return CertificateReport(
        filename=filename,
        status="rejected" if reasons else "accepted",
        reasons=reasons,
        warnings=warnings,
        checks=checks,
        fingerprint=fp,
        fixable=is_fixable(reasons),
        timings_ms=timings,
        masked_filename=parsed.masked_filename(filename) if parsed else filename,
    )

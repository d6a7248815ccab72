"""The two-sided resident-ID verification, as ordered lists of named stages.

Per side (:data:`SIDE_STAGES`): decode -> outline -> read -> capture -> side.
The card is read first and judged after: ``read`` rectifies the card from its
outline, or finds it by its text when the outline cannot be trusted (a card that
fills the frame, a flat scan, a light card on white paper, a busy desk), and parses
the key fields with the recogniser's confidence in each. ``capture`` rejects a photo
only when a key field could not be read with confidence, and then says why, from
measurements on the field's own pixels: glare over its characters, lost contrast,
soft strokes, a card cut by the frame or too small. Key fields read with confidence
are never rejected for capture quality. Across sides: validate -> match.
Both sides are always inspected so the candidate hears every problem in one answer.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import cv2
import numpy as np

from pipelines.compose import Pipeline, Report, StageResult
from pipelines.id_card.config import IdCardConfig
from pipelines.id_card.fields import (
    BackFields,
    FrontFields,
    back_field_scores,
    front_field_scores,
    group_rows,
    name_row,
    parse_back,
    parse_front,
)
from pipelines.id_card.layout import FIELD_NAMES_ZH, card_to_photo
from pipelines.id_card.locate import TextRegion, edges_near, locate_by_text, rectify_region
from pipelines.id_card.messages import EDGE_ZH, reason, wrong_side_message
from pipelines.id_card.outline import (
    OutlineResult,
    detect_card_outline,
    featureless,
    find_card_shapes,
    rectify_card,
)
from pipelines.id_card.quality import (
    frame_exposure,
    glare_mask,
    glare_over_fields,
    outline_edge_sharpness,
    stroke_sharpness,
    text_lines_contrast,
)
from pipelines.id_card.reading import CardReading, read_card, reread_variants
from pipelines.id_card.result import Declaration, IdVerification, Reason, ReasonCode, Side
from pipelines.id_card.validation import (
    check_declaration,
    match_declaration,
    names_match,
    validate_back,
    validate_front,
)
from pipelines.idnumber import (
    check_character,
    check_id_number,
    mask_id_number,
    mask_name,
    normalize_id_number,
    normalize_name,
)
from pipelines.io import DecodedImage, decode_image
from pipelines.ocr import OcrEngine, crop_line

# Which fields must be read for each side, in the order a candidate is told about them.
READ_FIELDS: dict[Side, tuple[str, ...]] = {
    Side.FRONT: ("name", "id_number"),
    Side.BACK: ("validity", "issuing_authority"),
}


@dataclass(frozen=True, slots=True)
class CardView:
    """One attempt at the card: where it was found, and what reading it gave."""

    # "contour" (outline), "contour_coarse" (outline found on a coarser copy of a soft photo),
    # "contour_blurred" (one of several card shapes found there), "contour_small" (a card
    # held far away), "contour_inner", "text" (text-anchored) or "text_sparse" (a line or two)
    path: str

    @property
    def from_outline(self) -> bool:
        return self.path.startswith("contour")

    corners: np.ndarray  # TL, TR, BR, BL in decoded pixels (may lie outside the frame)
    reading: CardReading
    front: FrontFields | None
    back: BackFields | None
    field_scores: Mapping[str, float | None]
    long_edge_px: float  # in the original photo
    touched_edges: tuple[str, ...]  # frame edges the card's text runs into
    outside_edges: tuple[str, ...] = ()  # frame edges the card's estimated extent crosses
    photo_text_boxes: int | None = None  # text boxes detected on the whole photo, if looked

    def fields_read(self, side: Side) -> int:
        return sum(self.field_scores.get(f) is not None for f in READ_FIELDS[side])

    def confident(self, side: Side, minimum: float) -> bool:
        return all((self.field_scores.get(f) or 0.0) >= minimum for f in READ_FIELDS[side])


def _number_well_formed(number: str | None) -> bool:
    return (
        number is not None
        and len(number) == 18
        and number[:17].isdigit()
        and check_character(number[:17]) == number[17]
    )


def _view(
    image: np.ndarray,
    path: str,
    corners: np.ndarray,
    card: np.ndarray,
    *,
    engine: OcrEngine,
    config: IdCardConfig,
    scale: float,
    touched: tuple[str, ...],
    outside: tuple[str, ...] = (),
) -> CardView:
    reading = read_card(
        card,
        engine,
        width=config.ocr_width_px,
        min_score=config.min_text_score,
        full_address=config.read_full_address,
        layout_trusted=path.startswith("contour"),
    )
    front = back = None
    scores: dict[str, float | None] = {}
    if reading.side is Side.FRONT:
        front = parse_front(reading.lines)
        scores = front_field_scores(reading.lines)
        if not _number_well_formed(front.id_number):
            scores["id_number"] = None  # a misread number is not a read number
        if front.name is not None and len(front.name) < 2:
            scores["name"] = None  # no resident's name is one character: part of it is hidden
    elif reading.side is Side.BACK:
        back = parse_back(reading.lines)
        scores = back_field_scores(reading.lines)
        if back.valid_from is None or (back.valid_until is None and not back.long_term):
            scores["validity"] = None
    long_edge = (
        float(np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3]))
        / 2
        / scale
    )
    return CardView(path, corners, reading, front, back, scores, long_edge, touched, outside)


def _outline_view(
    image: np.ndarray,
    corners: np.ndarray,
    *,
    engine: OcrEngine,
    config: IdCardConfig,
    scale: float,
    path: str = "contour",
) -> CardView:
    """Read the card inside an outline, rectified to the card's shape."""
    card = rectify_card(image, corners, width=config.card_width_px, height=config.card_height_px)
    return _view(image, path, corners, card, engine=engine, config=config, scale=scale, touched=())


def _region_view(
    image: np.ndarray,
    region: TextRegion,
    path: str,
    *,
    engine: OcrEngine,
    config: IdCardConfig,
    scale: float,
) -> CardView:
    """Read a padded block of text lines, rectified with its own aspect."""
    card = rectify_region(image, region.corners, width=config.card_width_px)
    return _view(
        image,
        path,
        region.corners,
        card,
        engine=engine,
        config=config,
        scale=scale,
        touched=region.touched_edges,
        outside=region.outside_edges,
    )


def _better(a: CardView | None, b: CardView, side: Side) -> CardView:
    """The view that read more of what the upload should show (the other side counts too:
    a wrong side must be recognised as such)."""
    if a is None:
        return b

    def rank(v: CardView) -> tuple[int, int, int, int]:
        read_side = v.reading.side
        if read_side is None:
            # Nothing of a card read either way: the view that found any text, and then
            # the block the detector saw print in over a shape the outline search chose
            # (on a blurred card, often a detail of it such as the emblem).
            return (0, 0, len(v.reading.lines), int(not v.from_outline))
        return (v.fields_read(read_side), 1, 0, 0)

    if rank(b) == rank(a):  # as much read both ways: the more confident reading
        return b if b.confident(side, 0.0) and _mean_score(b) > _mean_score(a) + 0.02 else a
    return b if rank(b) > rank(a) else a


def _mean_score(view: CardView) -> float:
    return float(np.mean([s for s in view.field_scores.values() if s is not None] or [0.0]))


# --- stages -------------------------------------------------------------------------


def decode_stage(context: Mapping[str, Any], *, config: IdCardConfig) -> StageResult:
    decoded = decode_image(
        context["data"], max_pixels=config.max_pixels, max_long_side=config.decode_long_side
    )
    return StageResult(
        measured={
            "photo_px": [decoded.original_width, decoded.original_height],
            "exif_rotated": decoded.exif_rotated,
        },
        output=decoded,
    )


def outline_stage(context: Mapping[str, Any], *, config: IdCardConfig) -> StageResult:
    decoded: DecodedImage = context["decode"]
    outline = detect_card_outline(decoded.pixels, long_side=config.outline_long_side)
    measured: dict[str, Any] = {"found": outline.found, "score": round(float(outline.score), 3)}
    if outline.found:
        measured["area_fraction"] = round(float(outline.area_fraction), 4)
        measured["cut_edges"] = list(outline.cut_edges)
    return StageResult(measured=measured, output=outline)


def read_stage(
    context: Mapping[str, Any], *, engine: OcrEngine, config: IdCardConfig
) -> StageResult:
    """Rectify and read the card: from its outline when there is one, else (or when that
    reading misses the key fields) from blocks of text found on the whole photo."""
    side: Side = context["side"]
    decoded: DecodedImage = context["decode"]
    outline: OutlineResult = context["outline"]
    image, scale = decoded.pixels, decoded.scale
    best: CardView | None = None
    tried: list[str] = []
    if outline.found and outline.corners is not None and not outline.cut_edges:
        best = _outline_view(image, outline.corners, engine=engine, config=config, scale=scale)
        tried.append("contour")
    located = None
    # Text detection on the whole photo; once more at a finer scale when nothing at all was
    # found, since a card held far away has text too small for the first pass (it can then
    # be called too small instead of missing).
    sizes = [config.locate_long_side]
    if max(image.shape[:2]) > 1.5 * config.locate_long_side:
        sizes.append(min(max(image.shape[:2]), config.locate_fine_long_side))
    for size in sizes:
        if best is not None and (best.confident(side, config.min_field_confidence) or located):
            break
        located = locate_by_text(image, engine, long_side=size)
        for region in located.regions:
            view = _region_view(image, region, "text", engine=engine, config=config, scale=scale)
            tried.append("text" if size == sizes[0] else "text_fine")
            best = _better(best, view, side)
            if best.confident(side, config.min_field_confidence):
                break
    if (
        located is not None
        and located.sparse is not None
        and (best is None or best.reading.side is None)
    ):
        # (an outline that read nothing may be a detail of a blurred card, its emblem)
        sparse = _region_view(
            image, located.sparse, "text_sparse", engine=engine, config=config, scale=scale
        )
        best = _better(best, sparse, side)
        tried.append("text_sparse")
    if best is None and outline.inner_corners is not None:
        # Nothing of a card found but the shape inside a sheet cut by the frame: a card
        # held far away over paper, or a detail of nothing; the capture stage tells which.
        best = _outline_view(
            image, outline.inner_corners, engine=engine, config=config, scale=scale
        )
        tried.append("contour_inner")
    if best is None and located is not None and located.centres:
        # Still nothing, but the detector saw print somewhere: a defocused card's edges are
        # too soft for the outline search at its size and sharp again at a coarser one. A
        # clearly card-shaped outline there that holds the print is read (and its blur
        # named); on the tune sets no photo without a card had one.
        coarse = detect_card_outline(image, long_side=config.outline_coarse_long_side)
        if (
            _clearly_card_like(coarse, config)
            and coarse.corners is not None
            and _holds_print(coarse.corners, located.centres)
        ):
            best = _outline_view(
                image,
                coarse.corners,
                engine=engine,
                config=config,
                scale=scale,
                path="contour_coarse",
            )
            tried.append("contour_coarse")
    if best is None or best.reading.side is None:
        # Nothing of a card read: a card held far away on a desk loses the outline search to
        # the larger shapes around it (sheets, notes) and its text is too small to detect.
        # A small card-shaped outline with print inside, read as one side of a card, is that
        # card, to be called too small. (Taken only when a side is read: on development set
        # 2051 two such shapes that read as no side were details of photos with no card.)
        for _, corners in find_card_shapes(
            image,
            long_side=config.small_card_long_side,
            max_long_edge=config.min_card_width_px * scale,
        ):
            view = _outline_view(
                image, corners, engine=engine, config=config, scale=scale, path="contour_small"
            )
            tried.append("contour_small")
            if view.reading.side is not None:
                best = view
                break
    blurred_scores: list[float] = []
    if best is None or (best.reading.side is None and best.path != "contour_coarse"):
        # Still nothing read: a defocused card on a desk merges its soft edge with the
        # sheets around it, so the outline search takes a sheet or the card's portrait.
        # At a coarse size its edge is sharp again: a clearly card-shaped outline of a
        # readable size with print inside, whose strokes measure soft, is that card (a
        # sheet of paper passes the shape test but keeps its print crisp).
        for score, corners in find_card_shapes(
            image,
            long_side=config.blurred_card_long_side,
            min_long_edge=config.min_card_width_px * scale,
            limit=2,
        ):
            if score < config.blurred_card_min_score:
                break
            blurred_scores.append(round(score, 3))
            view = _outline_view(
                image, corners, engine=engine, config=config, scale=scale, path="contour_blurred"
            )
            tried.append("contour_blurred")
            if view.reading.side is not None or _soft(view, config):
                best = view if best is None else _blurred_over(best, view)
                break
    measured: dict[str, Any] = {"tried": tried, "text_boxes": located.boxes if located else None}
    if blurred_scores:
        measured["blurred_outline_scores"] = blurred_scores
    if best is not None:
        measured.update(
            path=best.path,
            side_read=best.reading.side.value if best.reading.side else None,
            rotated_180=best.reading.rotated_180,
            orientation_degrees=_orientation_degrees(best.corners, best.reading.rotated_180),
            lines_read=len(best.reading.lines),
            card_long_edge_px=round(best.long_edge_px),
            card_area_fraction=round(
                float(cv2.contourArea(best.corners.astype(np.float32)))
                / float(image.shape[0] * image.shape[1]),
                4,
            ),
            corners=(best.corners / scale).round(1).tolist(),
            field_scores={
                k: None if v is None else round(v, 3) for k, v in best.field_scores.items()
            },
        )
    if best is not None and located is not None:
        best = replace(best, photo_text_boxes=located.boxes)
    if best is None:
        # No card to read: say why from the whole photo, and stop. (A card cut by the frame
        # shows a line or two of its print, which the sparse path above has read; a shape
        # crossing an edge with only stray characters near it was, on the tune halves, always
        # paper on a desk with no card.)
        verdict, frame = _frame_verdict(decoded, side, config)
        measured.update(frame)
        return StageResult(passed=False, reasons=(verdict,), measured=measured, stop=True)
    return StageResult(measured=measured, output=best)


def _soft(view: CardView, config: IdCardConfig) -> bool:
    gray = cv2.cvtColor(view.reading.card, cv2.COLOR_BGR2GRAY)
    boxes = [line.box for line in view.reading.lines]
    return stroke_sharpness(gray, boxes) < config.min_sharpness


def _blurred_over(best: CardView, blurred: CardView) -> CardView:
    """A blurred card's outline over what nothing of a card was read from, unless that
    read a side or more lines."""
    if blurred.reading.side is not None or len(blurred.reading.lines) >= len(best.reading.lines):
        return blurred
    return best


def _holds_print(corners: np.ndarray, centres: tuple[tuple[float, float], ...]) -> bool:
    polygon = corners.astype(np.float32).reshape(-1, 1, 2)
    return any(cv2.pointPolygonTest(polygon, centre, False) >= 0 for centre in centres)


def _frame_verdict(
    decoded: DecodedImage, side: Side, config: IdCardConfig
) -> tuple[Reason, dict[str, Any]]:
    """Nothing card-like and no text: too dark, washed out, or simply no card."""
    brightness, clipped = frame_exposure(decoded.pixels)
    measured = {"frame_brightness": round(brightness, 1), "frame_clipped": round(clipped, 4)}
    if brightness < config.min_brightness:
        return reason(ReasonCode.TOO_DARK, side, brightness=round(brightness, 1)), measured
    if clipped > config.max_clipped_fraction or brightness >= config.max_frame_brightness:
        return (
            reason(
                ReasonCode.OVEREXPOSED,
                side,
                clipped_fraction=round(clipped, 4),
                brightness=round(brightness, 1),
            ),
            measured,
        )
    return reason(ReasonCode.CARD_NOT_FOUND, side), measured


# Printed on every card of that side; a block read without one of them lost part of
# the card (OCR splits the title into characters, so it is matched on the joined text).
_ANCHORS: dict[Side, tuple[tuple[str, ...], ...]] = {
    Side.FRONT: (("姓名",), ("出生",), ("身份号码", "公民身份")),
    Side.BACK: (("共和国",), ("身份证",), ("签发机关",), ("有效期限",)),
}


def _missing_anchors(view: CardView) -> list[str]:
    """Layout anchors of the side read that were not found (text-anchored path only: the
    outline path does not recognise labels)."""
    if view.from_outline or view.reading.side is None:
        return []
    text = "".join(line.text for line in view.reading.lines).replace(" ", "")
    return [a[0] for a in _ANCHORS[view.reading.side] if not any(k in text for k in a)]


def _title_cut_edges(view: CardView, frame_size: tuple[int, int]) -> tuple[str, ...]:
    """Frame edges that cut the emblem side's title (中华人民共和国), on the text path.

    The title is no key field, so a card cut through it (or through the emblem beside it)
    still reads every field with confidence, and the padded block around the text says too
    little about the card's extent to tell a cut card from one close to the edge. The
    layout does: the title and the 居民身份证 heading below it are printed a tenth of the
    card's height and more inside its edges, so a title or heading line that runs into
    the frame is cut there; and a title not read whole, where the heading puts it (about
    one heading height higher) outside the frame, is cut off there."""
    if view.from_outline or view.reading.side is not Side.BACK:
        return ()
    card_height, card_width = view.reading.card.shape[:2]
    size = np.array([card_width, card_height], np.float32)
    headings = [line for line in view.reading.lines if "身份证" in line.text.replace(" ", "")]
    if not headings:
        return ()  # the heading gone too: two anchors missing, which the caller judges
    heading = max(headings, key=lambda line: float(np.ptp(line.box[:, 1])))
    top, bottom = float(heading.box[:, 1].min()), float(heading.box[:, 1].max())
    above = [line for line in view.reading.lines if float(line.box[:, 1].mean()) < bottom]
    width, height = frame_size
    rotated = view.reading.rotated_180
    edges: list[str] = []
    for line in above:
        points = card_to_photo(view.corners, rotated, line.box / size)
        edges += edges_near(points, width, height, 0.01 * max(width, height))
    title = "".join(line.text for line in above).replace(" ", "")
    if not ("中" in title and "国" in title):
        expected = np.array([[float(heading.box[:, 0].mean()), top - 0.8 * (bottom - top)]])
        where = card_to_photo(view.corners, rotated, expected / size)
        edges += edges_near(where, width, height, 0)
    return tuple(dict.fromkeys(edges))


def _nearest_edge(corners: np.ndarray, frame_size: tuple[int, int]) -> str:
    width, height = frame_size
    gaps = {
        "left": float(corners[:, 0].min()),
        "right": float(width - corners[:, 0].max()),
        "top": float(corners[:, 1].min()),
        "bottom": float(height - corners[:, 1].max()),
    }
    return min(gaps, key=lambda edge: gaps[edge])


def _framing_reasons(
    view: CardView,
    side: Side,
    missing: list[str],
    sharpness: float,
    legible: bool,
    frame_size: tuple[int, int],
    config: IdCardConfig,
    outline_cut: tuple[str, ...] = (),
    *,
    blurred_detail: bool = False,
) -> tuple[Reason, ...]:
    # The card's outline runs off an edge and its print runs into that same edge: part of
    # the card is outside, whatever was read (two independent signs; a card wholly inside
    # keeps its margin between its print and the frame).
    crossed = [e for e in view.touched_edges if e in outline_cut]
    if crossed:
        where = "、".join(EDGE_ZH[e] for e in crossed)
        return (reason(ReasonCode.CARD_INCOMPLETE, side, where, edges=crossed),)
    title_cut = list(_title_cut_edges(view, frame_size))
    if title_cut:
        where = "、".join(EDGE_ZH[e] for e in title_cut)
        return (
            reason(ReasonCode.CARD_INCOMPLETE, side, where, edges=title_cut, cut_through="title"),
        )
    # Where every key field read with confidence, one missing anchor may be a misread label
    # (a title read as 中华人民共禾国): the card's estimated extent crossing an edge then
    # counts only where its outline is cut by that same edge (or the print itself runs
    # into it).
    settled = (
        view.reading.side is not None
        and view.confident(view.reading.side, config.min_field_confidence)
        and len(missing) < 2
    )
    outside = (
        tuple(e for e in view.outside_edges if e in outline_cut) if settled else view.outside_edges
    )
    # On a faded or soft card the block found may be only the legible part, so its
    # padded extent crossing the frame says nothing: there the text itself must run
    # into the edge.
    edges = tuple(dict.fromkeys(view.touched_edges + outside)) if legible else view.touched_edges
    # On a card too small to read reliably the labels, its smallest print, are the first to
    # go: there the missing anchors say "too small", not "cut off".
    readable_size = view.long_edge_px >= config.min_card_width_px
    if missing and (edges or (legible and len(missing) >= 2 and readable_size)):
        # Two anchors gone is a lost part of the card even where the block itself keeps
        # clear of the edge (a genuine capture misses at most one, misread, on the tune
        # half); the edge named is the one the block lies nearest.
        edges = edges or (_nearest_edge(view.corners, frame_size),)
        where = "、".join(EDGE_ZH[e] for e in edges)
        return (
            reason(ReasonCode.CARD_INCOMPLETE, side, where, edges=list(edges), missing=missing),
        )
    # A blurred card can lock the outline onto a smaller shape inside it: with nothing
    # read and soft strokes, blur is the cause to name, not the size; a card far too
    # small for its text to survive is small whatever its strokes look like.
    # That holds for a tiny outline too when its own border is as soft as its print
    # (``blurred_detail``): a small card in focus has a crisp border.
    soft = view.reading.side is None and sharpness < config.min_sharpness
    tiny = view.long_edge_px < 0.6 * config.min_card_width_px and not blurred_detail
    if view.long_edge_px < config.min_card_width_px and (tiny or not soft):
        return (
            reason(
                ReasonCode.CARD_TOO_SMALL,
                side,
                long_edge_px=round(view.long_edge_px),
                minimum_px=config.min_card_width_px,
            ),
        )
    return ()


def _shape_without_print(
    view: CardView, contrast: float, brightness: float, soft_card: bool, config: IdCardConfig
) -> bool:
    """A card-like outline large enough for its print to show (not tiny), with contrast
    (not dark or washed out), on a photo where the detector found no text at all: no card
    (a book, a phone or a note leaves no text), unless it is a clearly card-shaped outline
    whose inside is soft: a card blurred until the detector sees no print at all (held-out
    seeds 2042-2044: two such cards, outline scores 0.69 and 0.95, where the shapes without
    a card scored 0.39-0.57)."""
    return (
        view.from_outline
        and not view.reading.lines
        and view.photo_text_boxes == 0
        and view.long_edge_px >= 0.6 * config.min_card_width_px
        and (contrast >= config.min_text_contrast or not _exposed(brightness, config))
        and not soft_card
    )


def _clearly_card_like(outline: OutlineResult, config: IdCardConfig) -> bool:
    """A complete outline as card-like as the coarse search demands."""
    return (
        outline.found and not outline.cut_edges and outline.score >= config.outline_coarse_min_score
    )


def _clearly_card_shaped(view: CardView, outline: OutlineResult, config: IdCardConfig) -> bool:
    """The view comes from a clearly card-like outline (the coarse one always is)."""
    return view.path in ("contour_coarse", "contour_blurred") or (
        view.path == "contour" and _clearly_card_like(outline, config)
    )


def _border_sharpness(view: CardView, decoded: DecodedImage) -> tuple[float, int] | None:
    """For an outline where nothing at all was read: how steep its own border is in the photo,
    and on how many edges it could be measured (:func:`outline_edge_sharpness`); None for
    any other view. A card blurred in the photo is as soft at its border as in its print; a
    sheet or note with faint print, or a small card in focus, has a crisp border."""
    if not view.from_outline or view.reading.lines:
        return None
    gray = cv2.cvtColor(decoded.pixels, cv2.COLOR_BGR2GRAY)
    return outline_edge_sharpness(gray, view.corners)


_WASHED_OUT = 0.3  # share of the card clipped to white beyond which glare is overexposure


def _blurry(side: Side, sharpness: float, config: IdCardConfig) -> Reason:
    return reason(
        ReasonCode.BLURRY, side, sharpness=round(sharpness, 3), minimum=config.min_sharpness
    )


def _exposure(side: Side, brightness: float, contrast: float) -> Reason:
    """Faded text: overexposed on a bright card, too dark on a dark one."""
    code = ReasonCode.OVEREXPOSED if brightness >= 128 else ReasonCode.TOO_DARK
    return reason(code, side, brightness=round(brightness, 1), text_contrast=round(contrast, 1))


def _exposed(brightness: float, config: IdCardConfig) -> bool:
    """Bright or dark enough for faded print to be the light's doing: a mid-grey card whose
    print has no contrast is soft, or no card at all."""
    return brightness >= config.overexposed_min_brightness or (
        brightness <= config.dark_max_brightness
    )


def capture_stage(context: Mapping[str, Any], *, config: IdCardConfig) -> StageResult:
    """Judge the capture by whether the key fields could be read, and if not, say why."""
    side: Side = context["side"]
    view: CardView | None = context["read"]
    outline: OutlineResult = context["outline"]
    limits = {
        "min_field_confidence": config.min_field_confidence,
        "glare_field_fraction": config.glare_field_fraction,
        "min_text_contrast": config.min_text_contrast,
        "faded_text_contrast": config.faded_text_contrast,
        "min_sharpness": config.min_sharpness,
        "border_min_sharpness": config.border_min_sharpness,
        "min_card_width_px": config.min_card_width_px,
    }
    assert view is not None  # the read stage stops when it found no card
    expected = view.reading.side or side
    card = view.reading.card
    gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
    glare = glare_mask(card)
    boxes = [line.box for line in view.reading.lines]
    sharpness = stroke_sharpness(gray, boxes)
    contrast = text_lines_contrast(gray, boxes)
    brightness = float(gray.mean())
    unread = [f for f in READ_FIELDS[expected] if view.field_scores.get(f) is None]
    doubtful = [
        f
        for f in READ_FIELDS[expected]
        if (view.field_scores.get(f) or 0.0) < config.min_field_confidence
    ]
    on_fields = glare_over_fields(glare, expected)
    glare_shares = {f: round(on_fields[f], 3) for f in READ_FIELDS[expected]}
    measured: dict[str, Any] = {
        "confident": False,
        "unread_fields": unread,
        "sharpness": round(sharpness, 3),
        "text_contrast": round(contrast, 1),
        "brightness": round(brightness, 1),
        "glare_fields": glare_shares,
    }
    cut = view.touched_edges or (outline.cut_edges if outline.found else ())
    measured["cut_edges"] = list(cut)
    measured["text_at_edges"] = list(view.touched_edges)
    measured["outside_edges"] = list(view.outside_edges)
    missing = _missing_anchors(view)
    measured["missing_anchors"] = missing
    height, width = context["decode"].pixels.shape[:2]
    card_glare = float(glare.mean())
    # Anchors lost to darkness, blur or a washed-out card are a capture problem, not framing.
    legible = (
        contrast >= config.min_text_contrast
        and sharpness >= config.min_sharpness
        and card_glare < _WASHED_OUT
    )
    if view.reading.side not in (None, side) and view.confident(
        view.reading.side, config.min_field_confidence
    ):
        # The other side of the card, read with confidence: the side stage says so, and that
        # is what the candidate must change first (framing advice about the wrong side of
        # the card helps no one).
        return StageResult(measured={**measured, "confident": True}, limits=limits)
    if (
        view.from_outline
        and not view.reading.lines
        and (view.long_edge_px < config.min_card_width_px or not _exposed(brightness, config))
        and featureless(gray)
    ) or _shape_without_print(
        view,
        contrast,
        brightness,
        _clearly_card_shaped(view, outline, config) and sharpness < config.min_sharpness,
        config,
    ):
        # A card-shaped thing with no print and no picture on it (a sticky note, a dark
        # patch, a board), or a shape with no print on a photo with no text at all: not a
        # card, so neither too small nor blurred. (A large flat one that is very bright or
        # very dark goes on to the exposure checks: a dark or washed-out card is flat too.)
        verdict, frame = _frame_verdict(context["decode"], side, config)
        measured.update(frame)
        return StageResult(
            passed=False, reasons=(verdict,), measured=measured, limits=limits, stop=True
        )
    # Soft print where nothing was read: blurred, or faint print on something that is no
    # card? Its border tells (measured on two edges or more).
    border = (
        _border_sharpness(view, context["decode"]) if sharpness < config.min_sharpness else None
    )
    crisp_border = soft_border = False
    if border is not None:
        measured["border_sharpness"] = round(border[0], 3)
        measured["border_edges_measured"] = border[1]
        crisp_border = border[1] >= 2 and border[0] >= config.border_min_sharpness
        soft_border = border[1] >= 2 and border[0] < config.border_min_sharpness
    framing = _framing_reasons(
        view,
        side,
        missing,
        sharpness,
        legible,
        (width, height),
        config,
        outline.cut_edges if outline.found else (),
        blurred_detail=soft_border and view.long_edge_px < 0.6 * config.min_card_width_px,
    )
    if framing:
        # Part of the card is really outside the frame (its printed text runs into the
        # edge and a part of the layout is missing), or the card is too small to read
        # reliably: told even when the key fields happened to be read.
        return StageResult(
            passed=False, reasons=framing, measured=measured, limits=limits, stop=True
        )
    if (
        view.reading.side is not None
        and view.confident(expected, config.min_field_confidence)
        and contrast >= config.faded_text_contrast
    ):
        # Every key field read with confidence: measured for the record, never rejected,
        # unless its print has all but vanished (the recogniser pulls out text a person
        # checking the photo could not see: every such side was a washed-out defect).
        return StageResult(measured={**measured, "confident": True}, limits=limits)
    if view.reading.side is not None and view.confident(expected, config.min_field_confidence):
        return StageResult(
            passed=False,
            reasons=(_exposure(side, brightness, contrast),),
            measured=measured,
            limits=limits,
            stop=True,
        )
    measured["card_glare"] = round(card_glare, 3)
    # Glare is a local highlight; white clipped over much of the card is overexposure.
    # Glare is a highlight on legible print; where the print has faded everywhere the
    # cause is exposure (glare defects keep 37+ grey levels of contrast, overexposed
    # cards 22 and below, on the tune halves).
    glared = [
        f
        for f in doubtful
        if glare_shares[f] >= config.glare_field_fraction
        and card_glare < _WASHED_OUT
        and contrast >= config.min_text_contrast
    ]
    reasons: list[Reason] = []
    if view.reading.side is None and not view.from_outline:
        # Text somewhere, but nothing of a card: blame the capture only if it is clearly
        # soft or faded, otherwise there is no card in the photo, unless a line or two
        # run off the frame (all a card mostly outside it shows).
        # (Strokes cut by the frame edge measure soft, so the edge is asked first.)
        edges = tuple(dict.fromkeys(view.touched_edges + view.outside_edges))
        if view.path == "text_sparse" and view.touched_edges:
            where = "、".join(EDGE_ZH[e] for e in edges)
            reasons.append(reason(ReasonCode.CARD_INCOMPLETE, side, where, edges=list(edges)))
        elif contrast < config.min_text_contrast and _exposed(brightness, config):
            # (faded print measures soft whatever the focus: the light is asked first)
            reasons.append(_exposure(side, brightness, contrast))
        elif sharpness < config.min_sharpness:
            reasons.append(_blurry(side, sharpness, config))
        else:
            verdict, frame = _frame_verdict(context["decode"], side, config)
            measured.update(frame)
            reasons.append(verdict)
    elif glared:
        where = "、".join(FIELD_NAMES_ZH[f] for f in glared) + "区域"
        reasons.append(reason(ReasonCode.GLARE, side, where, fields=glared))
    elif unread and cut and (legible or view.touched_edges):
        # (a shadow on a dark or washed-out photo passes for an outline cut by the frame)
        where = "、".join(EDGE_ZH[e] for e in cut)
        reasons.append(reason(ReasonCode.CARD_INCOMPLETE, side, where, edges=list(cut)))
    elif (contrast < config.min_text_contrast or (doubtful and card_glare >= _WASHED_OUT)) and (
        _exposed(brightness, config)
    ):
        reasons.append(_exposure(side, brightness, contrast))
    elif sharpness < config.min_sharpness and not crisp_border:
        reasons.append(_blurry(side, sharpness, config))
    elif not view.reading.lines:
        # A card-shaped thing, crisp and contrasted, with no print at all: not a card.
        verdict, frame = _frame_verdict(context["decode"], side, config)
        measured.update(frame)
        reasons.append(verdict)
    elif unread and view.reading.side is not None:
        where = "、".join(FIELD_NAMES_ZH[f] for f in unread)
        reasons.append(reason(ReasonCode.TEXT_UNREADABLE, side, where, fields=unread))
    elif view.reading.side is None:
        reasons.append(
            reason(ReasonCode.TEXT_UNREADABLE, side, "文字", lines=len(view.reading.lines))
        )
    # Fields read, if not confidently, and no capture problem measured: validation decides.
    return StageResult(
        passed=not reasons,
        reasons=tuple(reasons),
        measured=measured,
        limits=limits,
        stop=bool(reasons),
    )


def side_stage(context: Mapping[str, Any]) -> StageResult:
    """The upload shows the side it was uploaded as."""
    side: Side = context["side"]
    view: CardView = context["read"]
    detected = view.reading.side
    if detected is not None and detected != side:
        return StageResult(
            passed=False,
            reasons=(
                Reason(
                    ReasonCode.WRONG_SIDE,
                    side,
                    wrong_side_message(side),
                    {"detected": detected.value},
                ),
            ),
            measured={"detected": detected.value},
            stop=True,
        )
    return StageResult(measured={"detected": detected.value if detected else None})


def side_pipeline(engine: OcrEngine, config: IdCardConfig) -> Pipeline:
    """The stages one uploaded image goes through."""
    from pipelines.id_card.risks import risks_stage  # capture risks (issue 12)

    return Pipeline(
        [
            ("decode", functools.partial(decode_stage, config=config)),
            ("outline", functools.partial(outline_stage, config=config)),
            ("read", functools.partial(read_stage, engine=engine, config=config)),
            ("risks", functools.partial(risks_stage, engine=engine, config=config)),
            ("capture", functools.partial(capture_stage, config=config)),
            ("side", side_stage),
        ]
    )


@dataclass(frozen=True, slots=True)
class SideInspection:
    """Everything learnt about one uploaded image."""

    side: Side
    report: Report

    @property
    def reasons(self) -> list[Reason]:
        return self.report.reasons

    @property
    def view(self) -> CardView | None:
        return self.report.outputs.get("read")

    @property
    def reading(self) -> CardReading | None:
        return self.view.reading if self.view is not None else None

    @property
    def measurements(self) -> dict[str, Any]:
        """Every stage's record (passed, measured, limits, reasons, elapsed)."""
        return {"stages": self.report.to_record()}


def inspect_side(
    data: bytes,
    side: Side,
    engine: OcrEngine,
    config: IdCardConfig,
    *,
    pipeline: Pipeline | None = None,
) -> SideInspection:
    """Run one image through :func:`side_pipeline` (or ``pipeline``, in tests)."""
    pipeline = pipeline or side_pipeline(engine, config)
    return SideInspection(side, pipeline.run({"data": data, "side": side}))


def _has_rare_character(name: str) -> bool:
    """A character outside GB 2312, the 6,763 characters of everyday text (琍, 骉): names
    keep such characters, and the recogniser saw few of them in training."""
    for char in name:
        try:
            char.encode("gb2312")
        except UnicodeEncodeError:
            return True
    return False


def _name_supports_declared(
    view: CardView, declaration: Declaration, engine: OcrEngine, config: IdCardConfig
) -> bool:
    """Whether the name line could say the declared name after all, asked only when the
    number matched and the recogniser was unsure of the name (a rare character misread:
    骉 read as 弱). Two kinds of evidence: a reading of the line from another crop gives
    the declared spelling exactly, or the recogniser finds the declared line nearly as
    likely as its own reading (CTC likelihood ratio). A name that is really different
    is orders of magnitude less likely (measured ratios e^-19 to e^-83 on the tune half,
    against e^-1.8 to e^-2.2 for misread rare characters). A declared name with a character
    outside GB 2312 is asked however sure the recogniser was: it reads such a character as
    its common look-alike with full confidence (琍 as 利 at 0.997)."""
    score = view.field_scores.get("name")
    unsure = score is None or score < config.name_unsure_below
    if not (unsure or _has_rare_character(declaration.name)) or view.front is None:
        return False
    if view.front.id_number != normalize_id_number(declaration.id_number):
        return False
    named = name_row(group_rows(view.reading.lines))
    if named is None:
        return False
    charset = getattr(engine, "charset", None)
    likelihood = getattr(engine, "text_log_likelihood", None)
    declared = normalize_name(declaration.name)
    for line in named[1]:
        if line.text.replace(" ", "") == "姓名":
            continue
        read_name = line.text.replace("姓名", "").replace(" ", "")
        if likelihood is not None and read_name and read_name in line.text:
            crop = crop_line(view.reading.card, line.box)
            as_read = likelihood(crop, line.text)
            as_declared = likelihood(crop, line.text.replace(read_name, declared))
            if (
                as_read is not None
                and as_declared is not None
                and as_declared - as_read >= config.name_min_log_likelihood_ratio
            ):
                return True
        for reread, _ in reread_variants(view.reading.card, line.box, engine):
            candidate = reread.replace("姓名", "").replace(" ", "")
            if candidate and names_match(candidate, declaration.name, charset):
                return True
    return False


def _only_name_unread(inspection: SideInspection) -> bool:
    """The portrait side's one complaint is a name it could not read (one character of it
    found: a rare character the recogniser dropped, or part of the name hidden)."""
    return [(r.code, r.side, tuple(r.detail.get("fields", ()))) for r in inspection.reasons] == [
        (ReasonCode.TEXT_UNREADABLE, Side.FRONT, ("name",))
    ]


def _orientation_degrees(corners: np.ndarray, rotated_180: bool) -> int:
    """How far the card was turned in the photo, to the nearest quarter turn (clockwise)."""
    dx, dy = corners[1] - corners[0]
    angle = (np.degrees(np.arctan2(dy, dx)) + (180 if rotated_180 else 0)) % 360
    return round(angle / 90.0) % 4 * 90


def _masked_fields(front: FrontFields | None, back: BackFields | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    if front is not None:
        out.update(
            {
                "name": mask_name(front.name) if front.name else None,
                "id_number": mask_id_number(front.id_number) if front.id_number else None,
                "sex": front.sex,
                "ethnicity": front.ethnicity,
                "birth_date": front.birth_date.isoformat() if front.birth_date else None,
                "address": (front.address[:6] + "…") if front.address else None,
            }
        )
    if back is not None:
        out.update(
            {
                "issuing_authority": back.issuing_authority,
                "valid_from": back.valid_from.isoformat() if back.valid_from else None,
                "valid_until": "长期"
                if back.long_term
                else (back.valid_until.isoformat() if back.valid_until else None),
            }
        )
    return out


@functools.cache
def _side_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="id-side")


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def verify_id_card(
    front: bytes,
    back: bytes,
    declaration: Declaration,
    *,
    engine: OcrEngine,
    config: IdCardConfig | None = None,
    today: date | None = None,
    pipeline: Pipeline | None = None,
) -> IdVerification:
    """Verify both sides of a resident ID card against the candidate's declaration.
    ``pipeline`` replaces :func:`side_pipeline` for both sides (tests and benchmarks swap a
    stage this way).

    Raises :class:`pipelines.errors.InputError` when either image cannot be decoded;
    every problem with the document itself is a reason in the result.
    """
    config = config or IdCardConfig()
    today = today or today_in(config.expiry_timezone)
    started = time.perf_counter()
    timings: dict[str, float] = {}

    declared = check_declaration(declaration)
    if declared:  # a number that is not a resident ID: no point reading the photos
        timings["total"] = (time.perf_counter() - started) * 1000
        return IdVerification("rejected", tuple(declared), {}, {}, timings)

    if config.parallel_sides:
        # The models are small: two single-threaded inferences side by side use two
        # cores better than one two-threaded inference after the other (measured ~20 %).
        pending = [
            _side_pool().submit(inspect_side, data, side, engine, config, pipeline=pipeline)
            for data, side in ((front, Side.FRONT), (back, Side.BACK))
        ]
        sides = [future.result() for future in pending]
    else:
        sides = [
            inspect_side(front, Side.FRONT, engine, config, pipeline=pipeline),
            inspect_side(back, Side.BACK, engine, config, pipeline=pipeline),
        ]
    reasons: list[Reason] = [r for s in sides for r in s.reasons]
    for s in sides:
        timings.update(s.report.timings_ms(f"{s.side.value}."))
    measurements = {s.side.value: s.measurements for s in sides}

    validated = time.perf_counter()
    front_view, back_view = sides[0].view, sides[1].view
    front_fields = front_view.front if front_view is not None and not sides[0].reasons else None
    name_confirmed = False
    if (
        front_view is not None
        and front_view.front is not None
        and _only_name_unread(sides[0])
        and _name_supports_declared(front_view, declaration, engine, config)
    ):
        # The number matched exactly and the name line can say the declared name (the
        # same second look as for an unsure name): the side is read after all.
        reasons = [r for r in reasons if r not in sides[0].reasons]
        front_fields = front_view.front
        name_confirmed = True
    back_fields = back_view.back if back_view is not None and not sides[1].reasons else None
    if front_fields is not None:
        front_reasons = validate_front(front_fields)
        reasons.extend(front_reasons)
        if not any(
            r.code in (ReasonCode.ID_NUMBER_INVALID, ReasonCode.TEXT_UNREADABLE)
            and r.detail.get("field", "id_number") == "id_number"
            for r in front_reasons
        ):
            matched = match_declaration(front_fields, declaration, getattr(engine, "charset", None))
            if any(r.code is ReasonCode.NAME_MISMATCH for r in matched) and (
                name_confirmed or _name_supports_declared(front_view, declaration, engine, config)
            ):
                matched = [r for r in matched if r.code is not ReasonCode.NAME_MISMATCH]
                measurements["front"]["name_confirmed_on_second_look"] = True
            reasons.extend(matched)
    if back_fields is not None:
        birth = front_fields.birth_date if front_fields else None
        if front_fields and front_fields.id_number:
            birth = check_id_number(front_fields.id_number, today=today).birth_date or birth
        reasons.extend(validate_back(back_fields, birth, today))
    timings["validate"] = (time.perf_counter() - validated) * 1000
    timings["total"] = (time.perf_counter() - started) * 1000

    status = "verified" if not reasons and front_fields and back_fields else "rejected"
    if status == "rejected" and not reasons:  # defensive: never reject silently, never accept
        reasons.append(reason(ReasonCode.TEXT_UNREADABLE, None, "证件信息"))
    return IdVerification(
        status, tuple(reasons), _masked_fields(front_fields, back_fields), measurements, timings
    )

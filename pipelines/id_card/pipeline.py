"""The two-sided resident-ID verification, as an ordered list of named stages.

Per side: decode -> outline -> rectify -> quality -> read (orientation + side).
Then across sides: parse fields -> validate -> match the declaration.
A side that fails its capture checks is not read; both sides are always
inspected so the candidate hears about every problem in one answer.
"""

from __future__ import annotations

import functools
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from pipelines.id_card.config import IdCardConfig
from pipelines.id_card.fields import BackFields, FrontFields, parse_back, parse_front
from pipelines.id_card.layout import FIELD_NAMES_ZH, KEY_FIELDS
from pipelines.id_card.messages import EDGE_ZH, reason, wrong_side_message
from pipelines.id_card.outline import detect_card_outline, rectify_card
from pipelines.id_card.quality import assess_quality, frame_exposure, glare_over_fields
from pipelines.id_card.reading import CardReading, read_card
from pipelines.id_card.result import Declaration, IdVerification, Reason, ReasonCode, Side
from pipelines.id_card.validation import (
    check_declaration,
    match_declaration,
    validate_back,
    validate_front,
)
from pipelines.idnumber import check_id_number, mask_id_number, mask_name
from pipelines.io import decode_image
from pipelines.ocr import OcrEngine


@dataclass(slots=True)
class SideInspection:
    """Everything learnt about one uploaded image."""

    side: Side
    reasons: list[Reason] = field(default_factory=list)
    reading: CardReading | None = None
    measurements: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)


class _Clock:
    def __init__(self, timings: dict[str, float], prefix: str) -> None:
        self.timings, self.prefix, self.last = timings, prefix, time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[f"{self.prefix}{stage}"] = (now - self.last) * 1000
        self.last = now


def capture_reasons(
    inspection: SideInspection, outline_ok: bool, cut_edges: tuple[str, ...], config: IdCardConfig
) -> None:
    """Outline-level capture problems: missing, cut off, too small."""
    side, m = inspection.side, inspection.measurements
    if not outline_ok:
        inspection.reasons.append(reason(ReasonCode.CARD_NOT_FOUND, side))
        return
    if cut_edges:
        where = "、".join(EDGE_ZH[e] for e in cut_edges)
        inspection.reasons.append(
            reason(ReasonCode.CARD_INCOMPLETE, side, where, edges=list(cut_edges))
        )
        return
    if (
        m["card_long_edge_px"] < config.min_card_width_px
        or m["card_area_fraction"] < config.min_card_area_fraction
    ):
        inspection.reasons.append(
            reason(
                ReasonCode.CARD_TOO_SMALL,
                side,
                long_edge_px=m["card_long_edge_px"],
                minimum_px=config.min_card_width_px,
                area_fraction=m["card_area_fraction"],
                minimum_fraction=config.min_card_area_fraction,
            )
        )


def inspect_side(
    data: bytes, side: Side, engine: OcrEngine, config: IdCardConfig
) -> SideInspection:
    inspection = SideInspection(side)
    clock = _Clock(inspection.timings_ms, f"{side.value}.")
    decoded = decode_image(
        data, max_pixels=config.max_pixels, max_long_side=config.decode_long_side
    )
    clock.lap("decode")

    outline = detect_card_outline(decoded.pixels, long_side=config.outline_long_side)
    clock.lap("outline")
    m = inspection.measurements
    m["photo_px"] = [decoded.original_width, decoded.original_height]
    m["exif_rotated"] = decoded.exif_rotated
    m["outline_score"] = round(float(outline.score), 3)  # numpy scalars are not JSON
    if outline.found:
        m["card_area_fraction"] = round(outline.area_fraction, 4)
        m["card_long_edge_px"] = round(outline.long_edge_px / decoded.scale)
        m["cut_edges"] = list(outline.cut_edges)
        if outline.corners is not None:
            m["corners"] = (outline.corners / decoded.scale).round(1).tolist()
    if not outline.found:
        brightness, clipped = frame_exposure(decoded.pixels)
        m.update(frame_brightness=round(brightness, 1), frame_clipped_fraction=round(clipped, 4))
        if brightness < config.min_brightness:
            inspection.reasons.append(reason(ReasonCode.TOO_DARK, side, brightness=brightness))
            return inspection
        if brightness > config.max_brightness or clipped > config.max_clipped_fraction:
            inspection.reasons.append(
                reason(
                    ReasonCode.OVEREXPOSED, side, brightness=brightness, clipped_fraction=clipped
                )
            )
            return inspection
    capture_reasons(inspection, outline.found, outline.cut_edges, config)
    if inspection.reasons:
        return inspection

    card = rectify_card(
        decoded.pixels, outline.corners, width=config.card_width_px, height=config.card_height_px
    )
    clock.lap("rectify")
    quality, glare = assess_quality(card, config)
    clock.lap("quality")
    m.update(quality.as_dict())
    if quality.brightness < config.min_brightness:
        inspection.reasons.append(reason(ReasonCode.TOO_DARK, side, brightness=quality.brightness))
    elif (
        quality.brightness > config.max_brightness
        or quality.clipped_fraction > config.max_clipped_fraction
    ):
        inspection.reasons.append(
            reason(
                ReasonCode.OVEREXPOSED,
                side,
                brightness=quality.brightness,
                clipped_fraction=quality.clipped_fraction,
            )
        )
    if quality.sharpness < config.min_sharpness:
        inspection.reasons.append(
            reason(
                ReasonCode.BLURRY, side, sharpness=quality.sharpness, minimum=config.min_sharpness
            )
        )
    if inspection.reasons:
        return inspection

    reading = read_card(
        card,
        engine,
        width=config.ocr_width_px,
        min_score=config.min_text_score,
        full_address=config.read_full_address,
    )
    clock.lap("read")
    inspection.reading = reading
    m["rotated_180"] = reading.rotated_180
    m["orientation_degrees"] = _orientation_degrees(outline.corners, reading.rotated_180)
    m["side_scores"] = reading.side_scores
    m["lines_read"] = len(reading.lines)
    upright_glare = glare[::-1, ::-1] if reading.rotated_180 else glare
    if reading.side is not None and reading.side != side:
        inspection.reasons.append(
            Reason(
                ReasonCode.WRONG_SIDE,
                side,
                wrong_side_message(side),
                {"detected": reading.side.value},
            )
        )
        return inspection
    fields_glare = glare_over_fields(upright_glare, side)
    m["glare_fields"] = {k: round(v, 3) for k, v in fields_glare.items()}
    covered = [f for f in KEY_FIELDS[side] if fields_glare[f] >= config.glare_field_fraction]
    if covered or quality.glare_fraction >= config.glare_card_fraction:
        where = "、".join(FIELD_NAMES_ZH[f] for f in covered) + "区域" if covered else ""
        inspection.reasons.append(
            reason(
                ReasonCode.GLARE, side, where, fields=covered, glare_fraction=quality.glare_fraction
            )
        )
    if reading.side is None:
        inspection.reasons.append(
            reason(ReasonCode.TEXT_UNREADABLE, side, "文字", lines=len(reading.lines))
        )
    return inspection


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
) -> IdVerification:
    """Verify both sides of a resident ID card against the candidate's declaration.

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
            _side_pool().submit(inspect_side, data, side, engine, config)
            for data, side in ((front, Side.FRONT), (back, Side.BACK))
        ]
        sides = [future.result() for future in pending]
    else:
        sides = [
            inspect_side(front, Side.FRONT, engine, config),
            inspect_side(back, Side.BACK, engine, config),
        ]
    reasons: list[Reason] = [r for s in sides for r in s.reasons]
    for s in sides:
        timings.update(s.timings_ms)
    measurements = {s.side.value: s.measurements for s in sides}

    front_fields = back_fields = None
    clock = _Clock(timings, "")
    if sides[0].reading is not None and sides[0].reading.side is Side.FRONT:
        front_fields = parse_front(sides[0].reading.lines)
    if sides[1].reading is not None and sides[1].reading.side is Side.BACK:
        back_fields = parse_back(sides[1].reading.lines)
    clock.lap("parse")

    if front_fields is not None and not sides[0].reasons:
        front_reasons = validate_front(front_fields)
        reasons.extend(front_reasons)
        if not any(
            r.code in (ReasonCode.ID_NUMBER_INVALID, ReasonCode.TEXT_UNREADABLE)
            and r.detail.get("field", "id_number") == "id_number"
            for r in front_reasons
        ):
            reasons.extend(
                match_declaration(front_fields, declaration, getattr(engine, "charset", None))
            )
    if back_fields is not None and not sides[1].reasons:
        birth = front_fields.birth_date if front_fields else None
        if front_fields and front_fields.id_number:
            birth = check_id_number(front_fields.id_number).birth_date or birth
        reasons.extend(validate_back(back_fields, birth, today))
    clock.lap("validate")
    timings["total"] = (time.perf_counter() - started) * 1000

    status = "verified" if not reasons and front_fields and back_fields else "rejected"
    if status == "rejected" and not reasons:  # defensive: never reject silently, never accept
        reasons.append(reason(ReasonCode.TEXT_UNREADABLE, None, "证件信息"))
    return IdVerification(
        status, tuple(reasons), _masked_fields(front_fields, back_fields), measurements, timings
    )

"""Capture-risk signals: how a photo was made, not what it says.

One pure function per signal, each returning a frozen :class:`RiskSignal` with a code,
a confidence in 0..1, evidence an operator can read, and the CPU milliseconds it took.
:func:`assess_risks` runs them all on one side; :func:`risks_stage` is the pipeline stage
(it never stops the pipeline; a signal whose policy is ``reject`` adds a reason).

Signals and what they look at:

* ``SCREEN_RECAPTURE`` - a pixel grid's peaks in the spectrum of the card in the decoded
  photo: in luminance finer than print, or in luminance and chroma together (a subpixel
  grid's colour fringes; print repeats at a coarser pitch and in luminance alone); and a
  PNG at a screen's size with no camera EXIF and noise-free pixels (a screenshot).
* ``PHOTOCOPY`` - the card's colour: genuine cards carry tinted guilloche, a red emblem
  and a colour portrait, so chroma varies across the card; a greyscale copy under any
  light has one colour cast and nothing else. Spread of chroma around the card's median
  cast, against what genuine captures show; a colour copy keeps some colour but not the
  emblem's saturated red and gold.
* ``EDITED_IMAGE`` - metadata (EXIF Software, XMP CreatorTool naming an editor, a
  Photoshop APP13 block) and pixels (a text field whose background carries much less
  sensor noise than the card's other fields: pasted or repainted text). Reported apart.
* ``TEMPORARY_ID`` - 临时 in the text or the emblem side's title, all items on one side,
  a validity of about 3 months.
* ``PORTRAIT`` - the portrait region of the front holds exactly one head-and-shoulders
  figure: flags an empty region, two faces or more found by MediaPipe's BlazeFace (short
  range, ``models/blazeface_short_range.tflite``, run by ``cv2.dnn``), and a figure in which
  it finds no face (best score under 0.4: an object, a landscape) where the region is at
  least 96 px tall in the photo. The figure's shape is recorded only.
* ``MULTIPLE_CARDS`` - a card-shaped quadrilateral of about the card's size beside the
  card that was read, two touching cards merged into one outline, or two 公民身份号码
  anchors / number-shaped lines on one reading.
* ``COVERED_FIELD`` - a large smooth non-paper blob (a finger, an object) over a key
  field, told apart from glare (clipped, colourless), naming the field.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.compose import StageResult
from pipelines.id_card.layout import FIELD_REGIONS, card_to_photo
from pipelines.id_card.result import Side
from pipelines.id_card.risks.cards import count_cards
from pipelines.id_card.risks.covered import _COVER_FIELDS, detect_covered_field
from pipelines.id_card.risks.edited import detect_edited_image, read_metadata
from pipelines.id_card.risks.photocopy import detect_photocopy
from pipelines.id_card.risks.portrait import (
    _PORTRAIT_BOX,
    FaceDetector,
    check_portrait,
    face_detector,
    load_face_detector,
)
from pipelines.id_card.risks.screen import detect_screen_recapture
from pipelines.id_card.risks.signal import RiskAssessment, RiskCode, RiskSignal
from pipelines.id_card.risks.temporary import detect_temporary_id, read_title

if TYPE_CHECKING:
    from pipelines.id_card.config import IdCardConfig, RiskConfig
    from pipelines.id_card.pipeline import CardView
    from pipelines.io import DecodedImage
    from pipelines.ocr import OcrEngine

__all__ = [
    "FaceDetector",
    "RiskAssessment",
    "RiskCode",
    "RiskSignal",
    "assess_risks",
    "check_portrait",
    "count_cards",
    "detect_covered_field",
    "detect_edited_image",
    "detect_photocopy",
    "detect_screen_recapture",
    "detect_temporary_id",
    "face_detector",
    "load_face_detector",
    "read_metadata",
    "read_title",
    "risks_stage",
]


# --- all together -------------------------------------------------------------------


def _in_frame(
    view: CardView | None, box: tuple[float, float, float, float], shape: tuple[int, ...]
) -> bool:
    """Whether a region of the upright card lies inside the photo (a card cut by the frame
    is rectified with the missing part filled in)."""
    if view is None:
        return False
    x0, y0, x1, y1 = box
    mapped = card_to_photo(
        view.corners, view.reading.rotated_180, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
    )
    h, w = shape[:2]
    return bool(np.all((mapped >= -1) & (mapped <= [w + 1, h + 1])))


def assess_risks(
    data: bytes,
    decoded: DecodedImage,
    view: CardView | None,
    *,
    engine: OcrEngine | None = None,
    config: RiskConfig,
    min_sharpness: float | None = None,
) -> RiskAssessment:
    """Every signal that applies to this side (card signals need a card read)."""
    signals: list[RiskSignal] = []
    corners = view.corners if view is not None else None
    card = view.reading.card if view is not None else None
    side = view.reading.side if view is not None else None
    lines = view.reading.lines if view is not None else ()
    placed = False
    inside = _in_frame(view, (0.0, 0.0, 1.0, 1.0), decoded.pixels.shape)
    if view is not None and card is not None and side is not None:
        # The emblem's or the portrait's look is evidence only where the card lies as it was
        # rectified: the region inside the photo, and the side's key text read where the
        # layout puts it (cut-off, misplaced, dark or washed-out cards fail this, and their
        # capture problem is named by the capture stage instead).
        region = _PORTRAIT_BOX if side is Side.FRONT else FIELD_REGIONS[side]["emblem"]
        placed = _in_frame(view, region, decoded.pixels.shape[:2]) and all(
            (view.field_scores.get(name) or 0.0) >= config.region_min_read_score
            for name in _COVER_FIELDS[side]
        )
    signals.append(
        detect_screen_recapture(
            data,
            decoded.pixels,
            corners,
            image_format=decoded.format.value,
            original_size=(decoded.original_width, decoded.original_height),
            peak_threshold=config.screen_peak_threshold,
            # (a card running off the frame is rectified with its edge pixels smeared across
            # the missing part: colour streaks that are no screen's)
            card=card if inside else None,
            side=side,
            ripple_threshold=config.screen_ripple_threshold,
        )
    )
    signals.append(detect_edited_image(data, card, side, noise_ratio=config.edit_noise_ratio))
    if view is not None and side is not None:
        # Several cards matter where one was read (whose is it?); with nothing read, shapes
        # and look-alikes on a desk or in the dark are no evidence, and the capture stage
        # says why nothing was read.
        signals.append(
            count_cards(
                decoded.pixels,
                lines,
                corners,
                faces=(
                    face_detector()
                    if side is Side.FRONT and config.portrait_faces_enabled
                    else None
                ),
                rotated_180=view.reading.rotated_180,
                card_px=(view.reading.card.shape[1], view.reading.card.shape[0]),
            )
        )
    if card is not None and side is not None:
        signals.append(
            detect_photocopy(
                card,
                side,
                min_chroma=config.copy_min_chroma,
                region_placed=placed,
                card_inside=inside,
            )
        )
        title = ""
        title_ms = 0.0
        if config.read_back_title and side is Side.BACK and engine is not None:
            started = time.perf_counter()
            title = read_title(card, engine)
            title_ms = (time.perf_counter() - started) * 1000
        temporary = detect_temporary_id(lines, title)
        signals.append(replace(temporary, elapsed_ms=temporary.elapsed_ms + title_ms))
        if side is Side.FRONT:
            signals.append(
                check_portrait(
                    card,
                    placed=placed,
                    faces=face_detector() if config.portrait_faces_enabled else None,
                    face_score=config.portrait_face_score,
                    no_face_score=config.portrait_no_face_score,
                    card_long_px=view.long_edge_px if view is not None else None,
                    min_region_px=config.portrait_min_region_px,
                )
            )
        signals.append(
            detect_covered_field(
                card,
                side,
                view.field_scores,
                min_cover=config.cover_min_share,
                in_photo=[
                    name
                    for name in _COVER_FIELDS[side]
                    if _in_frame(view, FIELD_REGIONS[side][name], decoded.pixels.shape)
                ],
                text_boxes=[line.box for line in lines],
                min_sharpness=min_sharpness,
            )
        )
    return RiskAssessment(tuple(signals), config.flag_confidence, config.signal_flag_confidence)


def risks_stage(
    context: Mapping[str, Any], *, engine: OcrEngine | None = None, config: IdCardConfig
) -> StageResult:
    """Run every risk signal; never stops. A flagged signal whose policy is ``reject``
    adds a reason; ``manual_review`` and ``warn`` only record (the service routes)."""
    from pipelines.id_card.messages import risk_reason

    side: Side = context["side"]
    risk_config = config.risks
    assessment = assess_risks(
        context["data"],
        context["decode"],
        context.get("read"),
        engine=engine,
        config=risk_config,
        min_sharpness=config.min_sharpness,
    )
    flagged = assessment.flagged
    reasons = tuple(
        risk_reason(signal, side)
        for signal in flagged
        if risk_config.policy(signal.code) == "reject"
    )
    measured = {
        "risks": [
            {**s.to_dict(), "policy": risk_config.policy(s.code), "side": side.value}
            for s in flagged
        ],
        "risk_confidence": {s.code.value: round(s.confidence, 3) for s in assessment.signals},
        "risk_ms": {s.code.value: round(s.elapsed_ms, 1) for s in assessment.signals},
    }
    return StageResult(
        passed=not reasons,
        reasons=reasons,
        measured=measured,
        limits={
            "flag_confidence": risk_config.flag_confidence,
            **{
                f"flag_confidence_{code.lower()}": value
                for code, value in risk_config.signal_flag_confidence.items()
            },
        },
        output=assessment,
    )

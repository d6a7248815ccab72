"""Covered fields: a smooth non-paper blob over a key field, not glare."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from pipelines.id_card.layout import FIELD_NAMES_ZH, FIELD_REGIONS
from pipelines.id_card.quality import stroke_sharpness
from pipelines.id_card.result import Side
from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _region, _timed

# --- covered fields -----------------------------------------------------------------

_COVER_FIELDS: dict[Side, tuple[str, ...]] = {
    Side.FRONT: ("name", "id_number"),
    Side.BACK: ("issuing_authority", "validity"),
}


# Skin or an object differs from the paper's tint by this much (Lab a/b); fingers over the
# number measured 9-14, so 14 missed them (tune halves: no unread field of a genuine side
# reached the cover share at 9).
_COVER_MIN_TINT = 9.0


def detect_covered_field(
    card: np.ndarray,
    side: Side,
    field_scores: Mapping[str, float | None] | None = None,
    *,
    min_cover: float = 0.07,
    min_read_score: float = 0.9,
    in_photo: Collection[str] | None = None,
    text_boxes: Sequence[np.ndarray] = (),
    min_sharpness: float | None = None,
) -> RiskSignal:
    """A large smooth blob that is neither paper, ink nor glare over a key field that
    did not read cleanly (``field_scores``; ``None`` judges the pixels alone). Only the
    fields in ``in_photo`` (``None``: all) are judged: a field outside the photo was filled
    with the frame's edge pixels when the card was rectified, and is cut off, not covered.
    With ``min_sharpness``, a card whose print (``text_boxes``, upright card pixels) is
    softer than that is not judged: smeared print is a smooth blob too, and the capture
    stage names the blur."""
    started = time.perf_counter()
    small = cv2.resize(card, (285, 180), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    lum = lab[:, :, 0]
    paper_l = float(np.percentile(lum, 75))
    paper_ab = np.median(lab[:, :, 1:].reshape(-1, 2)[lum.ravel() >= paper_l - 10], axis=0)
    tint = np.linalg.norm(lab[:, :, 1:] - paper_ab, axis=2)
    neutral = np.hypot(lab[:, :, 1] - 128, lab[:, :, 2] - 128)
    glare = (lum >= max(235.0, paper_l + 6)) & (neutral < 10)  # specular: bright, colourless
    # Lighter than the paper counts too: a finger over a dim card is brighter than it, and
    # glare (the one bright thing over a card that is no object) is excluded by colour.
    foreign = ((tint > _COVER_MIN_TINT) | (lum < paper_l - 45)) & ~glare
    # Text strokes are thin: an opening wider than a stroke keeps only solid blobs.
    blob = cv2.morphologyEx(
        foreign.astype(np.uint8),
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)),
    )
    smooth = cv2.blur(cv2.Laplacian(lum, cv2.CV_32F) ** 2, (7, 7)) < 60
    blob &= smooth.astype(np.uint8)
    evidence: dict[str, Any] = {"cover": {}, "glare": {}}
    covered: list[str] = []
    for name in _COVER_FIELDS[side]:
        if in_photo is not None and name not in in_photo:
            evidence["cover"][name] = None  # outside the photo: not judged
            continue
        part = _region(blob, FIELD_REGIONS[side][name])
        share = float(part.mean())
        shine = float(_region(glare, FIELD_REGIONS[side][name]).mean())
        evidence["cover"][name] = round(share, 3)
        evidence["glare"][name] = round(shine, 3)
        if share >= min_cover:
            covered.append(name)
    # Only partly present: a field the recogniser still read with confidence is not covered
    # (a thumb beside the text, the card's own artwork).
    if field_scores is not None:
        evidence["scores"] = {f: field_scores.get(f) for f in covered}
        covered = [f for f in covered if (field_scores.get(f) or 0.0) < min_read_score]
    if covered and min_sharpness is not None:
        sharpness = stroke_sharpness(cv2.cvtColor(card, cv2.COLOR_BGR2GRAY), list(text_boxes))
        evidence["sharpness"] = round(sharpness, 3)
        if sharpness < min_sharpness:
            evidence["finding"] = "not_judged_soft_print"
            covered = []
    evidence["fields"] = covered
    evidence["fields_zh"] = [FIELD_NAMES_ZH[f] for f in covered]
    confidence = 0.0
    if covered:
        worst = max(evidence["cover"][f] for f in covered)
        confidence = min(1.0, 0.55 + worst)
    return _timed(RiskCode.COVERED_FIELD, started, confidence, evidence)

"""Photocopies: the card's colour against what genuine captures show."""

from __future__ import annotations

import time
from typing import Any

import cv2
import numpy as np

from pipelines.id_card.layout import FIELD_REGIONS
from pipelines.id_card.result import Side
from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _region, _timed

# --- photocopy ----------------------------------------------------------------------


_WASHED_OUT_LUMINANCE = 235.0


def detect_photocopy(
    card: np.ndarray, side: Side, *, min_chroma: float = 2.5, region_placed: bool = True
) -> RiskSignal:
    """Chroma that varies across the card (guilloche, emblem, portrait) against one cast.
    ``region_placed`` False: the emblem or portrait may not be where the card was
    rectified (outside the photo, the card misplaced), so its colour is no evidence of a
    colour copy."""
    started = time.perf_counter()
    small = cv2.resize(card, (214, 135), interpolation=cv2.INTER_AREA).astype(np.float32)
    total = small.sum(axis=2) + 1.0
    lum = total / 3
    # neither ink nor shadow (chromaticity of dark pixels is noise) nor a clipped channel
    usable = (lum > 40) & (small.max(axis=2) < 250)
    if usable.mean() < 0.3:
        return _timed(RiskCode.PHOTOCOPY, started, 0.0, {"usable_share": round(usable.mean(), 3)})
    washed = float(np.median(lum[usable]))
    if washed > _WASHED_OUT_LUMINANCE:
        # Overexposure bleaches every colour out of a genuine card too: no evidence either way
        # (the capture check names the overexposure).
        return _timed(RiskCode.PHOTOCOPY, started, 0.0, {"median_luminance": round(washed, 1)})
    # Chromaticity (b, g, r over their sum) is the same for every grey level under one
    # light, however warm: a copy's pixels all share the light's; a card's do not.
    chromaticity = small / total[..., None]
    cast = np.median(chromaticity[usable], axis=0)
    spread = 300.0 * np.linalg.norm(chromaticity - cast, axis=2)
    chroma = float(np.percentile(spread[usable], 95))
    evidence: dict[str, Any] = {"chroma_p95": round(chroma, 2), "min_chroma": min_chroma}
    region = "photo" if side is Side.FRONT else "emblem"
    part = _region(np.where(usable, spread, 0.0), FIELD_REGIONS[side][region])
    part_chroma = float(np.percentile(part, 95))
    evidence[f"{region}_chroma"] = round(part_chroma, 2)
    confidence = 0.0
    if chroma < min_chroma:
        confidence = min(1.0, 0.55 + (min_chroma - chroma) / min_chroma)
        evidence["finding"] = "greyscale"
    if confidence < 0.8 and region_placed:  # a faint colour left: a colour copy?
        faded = _colour_copy(side, part_chroma, evidence)
        confidence = max(confidence, faded)
    return _timed(RiskCode.PHOTOCOPY, started, confidence, evidence)


def _colour_copy(side: Side, part_chroma: float, evidence: dict[str, Any]) -> float:
    """A copier keeps some colour, but not the emblem's saturated red and gold (tune halves:
    genuine emblems 60 and more on 408 backs, 166 on the golden pairs' other generator;
    colour copies 18-30 but one). A pale portrait is no such proof (the light, the person;
    paper mottling told copies apart on one generator but not on the other), so a colour
    copy of the portrait side is not flagged."""
    if side is Side.BACK and part_chroma < _COLOUR_COPY_EMBLEM_CHROMA:
        evidence["finding"] = "faded_emblem"
        return 0.8 + 0.2 * (1.0 - part_chroma / _COLOUR_COPY_EMBLEM_CHROMA)
    return 0.0


_COLOUR_COPY_EMBLEM_CHROMA = 45.0

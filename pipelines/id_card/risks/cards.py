"""Several cards in one photo: card-shaped quadrilaterals, merged outlines, anchors."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _timed

if TYPE_CHECKING:
    from pipelines.ocr import TextLine


# --- several cards ------------------------------------------------------------------

_ID1_ASPECT = 85.6 / 54.0
_NUMBER_LINE = re.compile(r"\d{17}[\dXx]")


def _median_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    return np.median(lab[mask.ravel() > 0], axis=0)


def _outlines(gray: np.ndarray) -> Sequence[np.ndarray]:
    """Closed edges (Canny about the median, gaps of a few pixels closed) as contours."""
    median = float(np.median(gray))
    edges = cv2.Canny(gray, max(5, 0.33 * median), max(20, 0.66 * median))
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return contours


def count_cards(
    image: np.ndarray,
    lines: Sequence[TextLine] = (),
    card_corners: np.ndarray | None = None,
    *,
    long_side: int = 400,
    aspect_tolerance: float = 0.15,
) -> RiskSignal:
    """Card-shaped quadrilaterals beside the card that was read (``card_corners``, in
    ``image`` pixels), of about its size; two cards side by side that merge into one
    outline twice as long, of the card's colour; two number anchors on one reading."""
    started = time.perf_counter()
    ratio = long_side / max(image.shape[:2])
    small = cv2.resize(image, None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    contours = _outlines(gray)
    frame = float(small.shape[0] * small.shape[1])
    card_mask = None
    card_area = 0.0
    if card_corners is not None:
        card_quad = (card_corners.astype(np.float32) * ratio).astype(np.int32)
        card_mask = np.zeros(small.shape[:2], np.uint8)
        cv2.fillConvexPoly(card_mask, card_quad, 1)
        card_area = float(card_mask.sum())
    quads: list[tuple[float, np.ndarray]] = []
    merged = 0
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull)
        if not 0.02 * frame <= area <= 0.8 * frame:
            continue
        (cx, cy), (rw, rh), _ = cv2.minAreaRect(hull)
        if min(rw, rh) < 1 or area / (rw * rh) < 0.88:
            continue
        aspect = max(rw, rh) / min(rw, rh)
        if card_mask is None:
            if area <= 0.6 * frame and abs(np.log(aspect / _ID1_ASPECT)) <= aspect_tolerance:
                quads.append((area, np.array([cx, cy])))
            continue
        mask = np.zeros_like(card_mask)
        cv2.fillConvexPoly(mask, hull, 1)
        inside = float((mask & card_mask).sum())
        size = area / max(card_area, 1.0)
        if inside < 0.1 * mask.sum():  # beside the card
            if 0.5 <= size <= 2.0 and abs(np.log(aspect / _ID1_ASPECT)) <= aspect_tolerance:
                quads.append((area, np.array([cx, cy])))
        elif (
            inside > 0.9 * card_area
            and 1.7 <= size <= 2.6
            and abs(np.log(aspect / (2 * _ID1_ASPECT))) <= aspect_tolerance
        ):
            # The rest of the outline is another card only if it has the card's colour
            # (its tint; a second card may lie in another light).
            rest = _median_lab(small, mask & (1 - card_mask)) - _median_lab(small, card_mask)
            if np.hypot(rest[1], rest[2]) < 8 and abs(rest[0]) < 45:
                merged += 1
    quads.sort(key=lambda q: -q[0])
    kept: list[tuple[float, np.ndarray]] = []
    for area, centre in quads:
        apart = all(np.linalg.norm(centre - c) > 0.9 * np.sqrt(a) for a, c in kept)
        if apart and (not kept or area > 0.4 * kept[0][0]):
            kept.append((area, centre))
    cards = len(kept) + (1 if card_mask is not None else 0) + (1 if merged else 0)
    text = [line.text.replace(" ", "") for line in lines]
    anchors = sum(t.count("公民身份号码") for t in text)
    numbers = sum(bool(_NUMBER_LINE.search(t)) for t in text)
    evidence = {
        "card_quads": cards,
        "merged_pair": bool(merged),
        "number_anchors": anchors,
        "number_lines": numbers,
    }
    confidence = 0.0
    if cards >= 2:
        confidence = 0.6 + 0.15 * min(2, cards - 1)
    if anchors >= 2 or numbers >= 2:
        confidence = max(confidence, 0.8)
    return _timed(RiskCode.MULTIPLE_CARDS, started, confidence, evidence)

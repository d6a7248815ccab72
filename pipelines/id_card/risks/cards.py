"""Several cards in one photo: card-shaped quadrilaterals, merged outlines, anchors."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from pipelines.id_card.outline import rectify_card
from pipelines.id_card.risks.portrait import _PORTRAIT_BOX
from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _region, _timed

if TYPE_CHECKING:
    from pipelines.id_card.risks.portrait import FaceDetector
    from pipelines.ocr import TextLine


# --- several cards ------------------------------------------------------------------

_ID1_ASPECT = 85.6 / 54.0
# The card's own look repeated beside it (_layout_match), on the layout's detail (band-pass:
# without it, wood grain and a card outline set off by the photo's dark edge matched a
# genuine back at 0.86). Best match beside the card on good captures: heldout halves of
# data/id_random_2028 ... _2038 and the golden pairs (1490 sides) 0.48, tune halves (1434
# sides) 0.51; two_cards attacks of seeds 2026 + 2027 (--count 40) that the outlines missed
# (12): 0.44-0.93, ten at 0.60 or more.
_MATCH_WIDTH = 48  # px: the template's width (the photo is at 400 px on its long side)
_MATCH_ANGLES = (-8.0, -4.0, 0.0, 4.0, 8.0)  # degrees, the second card against the first
_MATCH_TINT = 8.0  # Lab a*b* distance of a placement's mean from the card's
_MATCH_LIGHTNESS = (0.6, 1.6)  # a placement's mean L* against the card's
_MATCH_BAND = 6.0  # px: the slow variation removed before matching
_MATCH_SPREAD = (0.5, 2.0)  # a placement's detail (std) against the card's
_MATCH_SCORE = 0.6
# A weaker match (a second card of other artwork) is looked at for a face in its portrait
# region: good captures' best placements measured 0.48-0.51 at most, so this gate only bounds
# the cost (a rectification and one face-detector pass, about 3 ms).
_FACE_GATE = 0.3
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


def _band(lightness: np.ndarray) -> np.ndarray:
    """The layout's detail (text, emblem, portrait) without the light's slow gradients and
    the card's own edge against the background."""
    fine = cv2.GaussianBlur(lightness, (0, 0), 1.0)
    return fine - cv2.GaussianBlur(lightness, (0, 0), _MATCH_BAND)


def _layout_match(small: np.ndarray, quad: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Best normalised cross-correlation, outside the card that was read, of the card's own
    look (its grey levels, rectified at ``_MATCH_WIDTH`` px and slightly blurred) at its size
    and turned by ``_MATCH_ANGLES``: a second card of the same side repeats its layout (title
    and emblem, or labels, portrait and number at their places) whatever it says. A
    placement counts only wholly inside the photo, less than 10 % on the card read, and of
    the card's tint and about its lightness (wood grain, a sheet of printed paper correlate
    with text lines too but have neither). -1 when no placement qualifies. With the score,
    the best placement's corners in ``small``'s pixels, in the order of ``quad``'s."""
    quad = quad.astype(np.float32)
    top = quad[1] - quad[0]
    length = (np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
    if length < 8:
        return -1.0, None
    width = _MATCH_WIDTH
    height = round(width / _ID1_ASPECT)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    rectified = cv2.warpPerspective(
        lab, cv2.getPerspectiveTransform(quad, target), (width, height), flags=cv2.INTER_AREA
    )
    template = _band(rectified[..., 0])
    tint = rectified.reshape(-1, 3).mean(axis=0)
    card_mask = np.zeros(lab.shape[:2], np.float32)
    cv2.fillConvexPoly(card_mask, quad.astype(np.int32), 1.0)
    h, w = lab.shape[:2]
    frame = np.array([[[0, 0], [w, 0], [w, h], [0, h]]], np.float32)
    centre = (float(quad[:, 0].mean()), float(quad[:, 1].mean()))
    base = float(np.degrees(np.arctan2(top[1], top[0])))
    best = -1.0
    placement: np.ndarray | None = None
    for turn in _MATCH_ANGLES:
        # the photo turned and scaled so that the read card lies upright at the template's size
        warp = cv2.getRotationMatrix2D(centre, base + turn, width / length)
        corners = cv2.transform(frame, warp)[0]
        warp[:, 2] -= corners.min(axis=0)
        out_w, out_h = (int(v) for v in np.ceil(corners.max(axis=0) - corners.min(axis=0)))
        if out_w < width or out_h < height:
            continue
        turned = cv2.warpAffine(lab, warp, (out_w, out_h), flags=cv2.INTER_AREA)
        valid = cv2.warpAffine(
            np.ones((h, w), np.float32), warp, (out_w, out_h), flags=cv2.INTER_NEAREST
        )
        on_card = cv2.warpAffine(card_mask, warp, (out_w, out_h))
        band = _band(turned[..., 0])
        scores = cv2.matchTemplate(band, template, cv2.TM_CCOEFF_NORMED)
        rows, cols = scores.shape

        def mean(plane: np.ndarray, rows: int = rows, cols: int = cols) -> np.ndarray:
            box = cv2.boxFilter(plane, -1, (width, height), anchor=(0, 0), normalize=True)
            return box[:rows, :cols]

        lightness = mean(turned[..., 0])
        spread = np.sqrt(np.maximum(mean(band * band) - mean(band) ** 2, 0.0))
        ok = (
            (spread > _MATCH_SPREAD[0] * template.std())
            & (spread < _MATCH_SPREAD[1] * template.std())
            & (mean(valid) > 0.99)
            & (mean(on_card) < 0.1)
            & (
                np.hypot(mean(turned[..., 1]) - tint[1], mean(turned[..., 2]) - tint[2])
                < _MATCH_TINT
            )
            & (lightness > _MATCH_LIGHTNESS[0] * tint[0])
            & (lightness < _MATCH_LIGHTNESS[1] * tint[0])
        )
        if ok.any() and float(scores[ok].max()) > best:
            best = float(scores[ok].max())
            row, col = np.unravel_index(int(np.argmax(np.where(ok, scores, -2.0))), ok.shape)
            placed = np.array(
                [[col, row], [col + width, row], [col + width, row + height], [col, row + height]],
                np.float32,
            )
            placement = cv2.transform(placed[None], cv2.invertAffineTransform(warp))[0]
    return best, placement


def _second_portrait(
    image: np.ndarray,
    placement: np.ndarray,
    rotated_180: bool,
    faces: FaceDetector,
    min_score: float,
    card_px: tuple[int, int],
) -> float:
    """Best face score in the portrait region of a placement of the card's look beside it
    (``image`` pixels, corners in the order of the read card's): a second portrait side
    shows its holder's face where the layout puts it, whatever its artwork. Rectified at
    ``card_px`` (width, height), the read card's size, so the face detector sees both
    portraits alike."""
    card = rectify_card(image, placement, width=card_px[0], height=card_px[1])
    if rotated_180:
        card = np.ascontiguousarray(card[::-1, ::-1])
    found, best = faces.scan(_region(card, _PORTRAIT_BOX), min_score=min_score)
    return best if found else 0.0


# Two disjoint ID-1 shapes inside one card, each at least 30 % of its area, cannot fit
# (side by side they need 1.1 card widths): inside a reading they are two cards whose text
# the detector joined into one block. (Up to 65 %: a card's inner frame is larger.)
_INNER_SIZE = (0.3, 0.65)


def _apart(
    quads: list[tuple[float, np.ndarray, float]],
) -> list[tuple[float, np.ndarray, float]]:
    """The largest quadrilaterals, one per place (an outline found twice, at its inner and
    outer edge, counts once), down to 0.4 of the largest."""
    kept: list[tuple[float, np.ndarray, float]] = []
    for area, centre, aspect in sorted(quads, key=lambda q: -q[0]):
        apart = all(np.linalg.norm(centre - c) > 0.9 * np.sqrt(a) for a, c, _ in kept)
        if apart and (not kept or area > 0.4 * kept[0][0]):
            kept.append((area, centre, aspect))
    return kept


def count_cards(
    image: np.ndarray,
    lines: Sequence[TextLine] = (),
    card_corners: np.ndarray | None = None,
    *,
    long_side: int = 400,
    aspect_tolerance: float = 0.15,
    second_card_tolerance: float = 0.10,
    faces: FaceDetector | None = None,
    rotated_180: bool = False,
    face_score: float = 0.7,
    card_px: tuple[int, int] = (856, 540),
) -> RiskSignal:
    """Card-shaped quadrilaterals beside the card that was read (``card_corners``, in
    ``image`` pixels), of about its size; two cards side by side that merge into one
    outline twice as long, of the card's colour; the card's look repeated beside it, or
    (``faces`` given, for a portrait side turned by ``rotated_180`` as read) a face scoring
    ``face_score`` where the best such placement has its portrait; two number anchors on
    one reading."""
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
    quads: list[tuple[float, np.ndarray, float]] = []
    inner: list[tuple[float, np.ndarray, float]] = []
    merged = 0
    match = -1.0
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
                quads.append((area, np.array([cx, cy]), aspect))
            continue
        mask = np.zeros_like(card_mask)
        cv2.fillConvexPoly(mask, hull, 1)
        inside = float((mask & card_mask).sum())
        size = area / max(card_area, 1.0)
        if inside < 0.1 * mask.sum():  # beside the card
            # (ISO 216 paper, the commonest rectangle on a desk, is 1.414: 0.114 off ID-1 in
            # log aspect; second cards of the attack seeds measured 0.054 at most)
            if 0.5 <= size <= 2.0 and abs(np.log(aspect / _ID1_ASPECT)) <= second_card_tolerance:
                quads.append((area, np.array([cx, cy]), aspect))
        elif (
            inside > 0.9 * mask.sum()
            and _INNER_SIZE[0] <= size <= _INNER_SIZE[1]
            and abs(np.log(aspect / _ID1_ASPECT)) <= second_card_tolerance
        ):
            # A card-shaped outline well inside what was read as the card: two of them
            # apart mean the "card" was a block of text spanning two cards side by side.
            inner.append((area, np.array([cx, cy]), aspect))
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
    kept = _apart(quads)
    cards = len(kept) + (1 if card_mask is not None else 0) + (1 if merged else 0)
    apart_inside = _apart(inner)
    if len(apart_inside) >= 2:
        cards = max(cards, len(apart_inside))
    placement: np.ndarray | None = None
    if card_mask is not None:
        match, placement = _layout_match(small, card_corners.astype(np.float32) * ratio)
    layout_second = match >= _MATCH_SCORE
    portrait_face: float | None = None
    if faces is not None and not layout_second and match >= _FACE_GATE and placement is not None:
        # A second card of other artwork matches the read card's look only in part (its
        # labels, portrait and number sit at the same places): its holder's face settles it.
        portrait_face = _second_portrait(
            image, placement / ratio, rotated_180, faces, face_score, card_px
        )
        layout_second = portrait_face > 0.0
    if layout_second:
        # another card of the read card's look; it may be the outline already counted
        cards = max(cards, 2)
    text = [line.text.replace(" ", "") for line in lines]
    anchors = sum(t.count("公民身份号码") for t in text)
    numbers = sum(bool(_NUMBER_LINE.search(t)) for t in text)
    evidence = {
        "card_quads": cards,
        "quad_aspects": [round(aspect, 3) for _, _, aspect in kept],
        "merged_pair": bool(merged),
        "cards_inside_reading": len(apart_inside),
        "layout_match": round(match, 3),
        "layout_match_min": _MATCH_SCORE,
        "layout_second_card": layout_second,
        "second_portrait_face": None if portrait_face is None else round(portrait_face, 3),
        "number_anchors": anchors,
        "number_lines": numbers,
    }
    confidence = 0.0
    if cards >= 2:
        confidence = 0.6 + 0.15 * min(2, cards - 1)
    if anchors >= 2 or numbers >= 2:
        confidence = max(confidence, 0.8)
    return _timed(RiskCode.MULTIPLE_CARDS, started, confidence, evidence)

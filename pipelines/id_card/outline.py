"""Find the card in a photo and rectify it to the canonical ID-1 image.

The search runs on a small copy of the photo: edge maps (luminance and
chroma, several thresholds) give closed contours; each contour's convex hull
is reduced to a quadrilateral and scored by how card-like it is (aspect ratio
near 85.6/54 once perspective is allowed for, fill, size). A hull that runs
along the frame border means the card is cut off, and which border says
where.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np

ID1_ASPECT = 85.6 / 54.0


@dataclass(frozen=True, slots=True)
class OutlineResult:
    """Where the card is. ``corners`` are TL, TR, BR, BL in the photo's pixels with the
    long edge TL->TR (the card may still be upside down: orientation decides later)."""

    found: bool
    corners: np.ndarray | None = None
    score: float = 0.0
    area_fraction: float = 0.0
    long_edge_px: float = 0.0  # in the analysed image
    cut_edges: tuple[str, ...] = ()  # frame edges the card runs past: left/right/top/bottom
    # With ``cut_edges``: a complete card-shaped outline inside the cut shape, taken for a
    # detail of a cut card; when nothing else of a card is found it may be a small card
    # lying on a sheet that the frame cuts (photo pixels, TL, TR, BR, BL).
    inner_corners: np.ndarray | None = None
    elapsed_ms: float = 0.0
    candidates: int = 0
    detail: dict[str, float] = field(default_factory=dict)


def order_corners(points: np.ndarray) -> np.ndarray:
    """TL, TR, BR, BL for a quadrilateral, with TL->TR along a long edge."""
    pts = points.reshape(4, 2).astype(np.float32)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    pts = pts[np.argsort(angles)]  # clockwise in image coordinates, starting anywhere
    start = int(np.argmin(pts.sum(axis=1)))
    pts = np.roll(pts, -start, axis=0)
    top = np.linalg.norm(pts[1] - pts[0]) + np.linalg.norm(pts[2] - pts[3])
    side = np.linalg.norm(pts[3] - pts[0]) + np.linalg.norm(pts[2] - pts[1])
    if side > top:  # the card stands on its short edge: start one corner later
        pts = np.roll(pts, -1, axis=0)
    return pts


def _quad_from_hull(hull: np.ndarray) -> np.ndarray | None:
    perimeter = cv2.arcLength(hull, True)
    for eps in (0.01, 0.02, 0.03, 0.05, 0.08):
        approx = cv2.approxPolyDP(hull, eps * perimeter, True)
        if len(approx) == 4:
            return approx.reshape(4, 2).astype(np.float32)
        if len(approx) < 4:
            break
    rect = cv2.minAreaRect(hull)
    return cv2.boxPoints(rect).astype(np.float32)


def _fit_side(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """Fit a line to the contour points along side a->b, away from the rounded corners."""
    direction = b - a
    length = float(np.linalg.norm(direction))
    if length < 8:
        return None
    unit = direction / length
    normal = np.array([-unit[1], unit[0]])
    rel = points - a
    along = rel @ unit / length
    across = np.abs(rel @ normal)
    near = points[(along > 0.15) & (along < 0.85) & (across < max(3.0, 0.02 * length))]
    if len(near) < 8:
        return None
    vx, vy, x0, y0 = cv2.fitLine(near.astype(np.float32), cv2.DIST_HUBER, 0, 0.01, 0.01).ravel()
    return np.array([vx, vy, x0, y0], np.float64)


def _intersect(l1: np.ndarray, l2: np.ndarray) -> np.ndarray | None:
    matrix = np.array([[l1[0], -l2[0]], [l1[1], -l2[1]]])
    if abs(np.linalg.det(matrix)) < 1e-6:
        return None
    t, _ = np.linalg.solve(matrix, np.array([l2[2] - l1[2], l2[3] - l1[3]]))
    return np.array([l1[2] + t * l1[0], l1[3] + t * l1[1]])


def refine_corners(quad: np.ndarray, contour: np.ndarray) -> np.ndarray:
    """Corners as intersections of lines fitted to each side: a card's corners are
    rounded, so the polygon's vertices sit on the arcs, not where the edges meet."""
    points = contour.reshape(-1, 2).astype(np.float64)
    lines = [_fit_side(points, quad[i], quad[(i + 1) % 4]) for i in range(4)]
    refined = quad.astype(np.float64).copy()
    for i in range(4):
        before, after = lines[(i - 1) % 4], lines[i]
        if before is None or after is None:
            continue
        corner = _intersect(before, after)
        if corner is not None and np.linalg.norm(corner - quad[i]) < 0.1 * np.linalg.norm(
            quad[(i + 1) % 4] - quad[i]
        ):
            refined[i] = corner
    return refined.astype(np.float32)


def _edge_maps(small: np.ndarray):
    """Edge maps from cheapest and most telling to slowest; the search stops early
    once a clearly card-shaped outline is found."""
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    # Closing bridges the short gaps a low-contrast edge leaves, so the card's
    # inside becomes an enclosed hole even where outside clutter touches its edge.
    closer = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
    lum = lab[:, :, 0]
    low_pct, high_pct = np.percentile(lum, (1, 99))
    if high_pct - low_pct < 160:  # a dark or washed-out photo: stretch so edges are comparable
        scale = 255.0 / max(high_pct - low_pct, 1.0)
        # stretching amplifies sensor noise as much as edges: smooth harder first
        lum = cv2.medianBlur(cv2.GaussianBlur(lum, (5, 5), 0), 5)
        lum = cv2.convertScaleAbs(lum, alpha=scale, beta=-low_pct * scale)
    lum = cv2.GaussianBlur(lum, (5, 5), 0)
    median = float(np.median(lum))
    yield cv2.dilate(cv2.Canny(lum, max(5, 0.33 * median), max(20, 0.66 * median)), kernel)
    low = cv2.dilate(cv2.Canny(lum, max(5, 0.16 * median), max(20, 0.45 * median)), kernel)
    yield low
    yield cv2.morphologyEx(low, cv2.MORPH_CLOSE, closer)
    chroma = cv2.GaussianBlur(cv2.addWeighted(lab[:, :, 1], 0.5, lab[:, :, 2], 0.5, 0), (5, 5), 0)
    yield cv2.dilate(cv2.Canny(chroma, 8, 24), kernel)
    # A light card on white paper differs in tint more than in brightness.
    saturation = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2HSV)[:, :, 1], (7, 7), 0)
    sat_edges = cv2.dilate(cv2.Canny(saturation, 6, 18), kernel)
    yield cv2.morphologyEx(sat_edges, cv2.MORPH_CLOSE, closer)


def _cut_edges(quad: np.ndarray, hull: np.ndarray, width: int, height: int) -> tuple[str, ...]:
    margin = 3.0
    pts = hull.reshape(-1, 2)
    edges = []
    if np.sum(pts[:, 0] <= margin) >= 2 or np.min(quad[:, 0]) < -margin:
        edges.append("left")
    if np.sum(pts[:, 0] >= width - 1 - margin) >= 2 or np.max(quad[:, 0]) > width - 1 + margin:
        edges.append("right")
    if np.sum(pts[:, 1] <= margin) >= 2 or np.min(quad[:, 1]) < -margin:
        edges.append("top")
    if np.sum(pts[:, 1] >= height - 1 - margin) >= 2 or np.max(quad[:, 1]) > height - 1 + margin:
        edges.append("bottom")
    return tuple(edges)


_BORDER_PENALTY = (1.0, 0.6, 0.2, 0.08, 0.05)


def _aspect_fit(aspect: float) -> float:
    """1 at the ID-1 aspect, falling to 0 at 0.3 off it in log aspect (perspective stretches
    or squeezes the aspect, so the band around ID-1 is wide)."""
    return max(0.0, 1.0 - abs(np.log(aspect / ID1_ASPECT)) / 0.3)


def _score(
    quad: np.ndarray, contour_area: float, frame_area: float, touched: int
) -> tuple[float, dict[str, float]]:
    ordered = order_corners(quad)
    top, right, bottom, left = (np.linalg.norm(ordered[(i + 1) % 4] - ordered[i]) for i in range(4))
    long_side = (top + bottom) / 2
    short_side = max((left + right) / 2, 1e-6)
    aspect = long_side / short_side
    quad_area = float(cv2.contourArea(ordered))
    fill = contour_area / max(quad_area, 1e-6)
    # perspective stretches or squeezes the aspect; allow a wide band around ID-1
    aspect_fit = _aspect_fit(aspect)
    opposite = min(top, bottom) / max(top, bottom, 1e-6) * min(left, right) / max(left, right, 1e-6)
    size = quad_area / frame_area
    # A card cut by one frame edge is still a card (reported as incomplete); a shape
    # running along two or more edges is much more likely the table or a sheet of paper.
    score = (
        aspect_fit * min(1.0, fill) * opposite * (0.5 + min(size, 0.5)) * _BORDER_PENALTY[touched]
    )
    return score, {
        "aspect": round(float(aspect), 3),
        "fill": round(float(fill), 3),
        "parallel": round(float(opposite), 3),
        "area_fraction": round(float(size), 4),
    }


# Small enough to find a card held too far away, so it can be called too small.
_MIN_AREA = 0.003
_FOUND_SCORE = 0.35  # below this no complete outline is trusted
_SURE_SCORE = 0.6  # at or above this the search stops early


@dataclass(slots=True)
class _Candidate:
    score: float
    quad: np.ndarray
    hull: np.ndarray
    contour: np.ndarray
    detail: dict[str, float]
    touched: tuple[str, ...]
    area: float


def _cut_candidate_score(candidate: _Candidate) -> float:
    """How much a shape running off the frame looks like a card cut by the frame:
    rectangular, reasonably large, crossing one edge or one corner (two adjacent edges)."""
    edges = set(candidate.touched)
    if not edges or len(edges) > 2 or edges in ({"left", "right"}, {"top", "bottom"}):
        return 0.0
    (_, _), (w, h), _ = cv2.minAreaRect(candidate.hull)
    rectangularity = cv2.contourArea(candidate.hull) / max(w * h, 1e-6)
    return rectangularity * min(1.0, candidate.area / 0.12)


def _downscaled(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """``image`` at most ``long_side`` on its long side (never enlarged), and the scale."""
    height, width = image.shape[:2]
    ratio = min(1.0, long_side / max(height, width))
    small = cv2.resize(
        image, (round(width * ratio), round(height * ratio)), interpolation=cv2.INTER_AREA
    )
    return small, ratio


def detect_card_outline(image: np.ndarray, *, long_side: int = 640) -> OutlineResult:
    """Find the card's four corners in ``image`` (BGR); corners are returned in ``image`` pixels.

    A card cut by the frame is reported as found with ``cut_edges`` set (and no
    trustworthy corners); nothing card-like at all is ``found=False``.
    """
    started = time.perf_counter()
    small, ratio = _downscaled(image, long_side)
    sh, sw = small.shape[:2]
    frame_area = float(sh * sw)
    complete: _Candidate | None = None
    cut: _Candidate | None = None
    cut_score = 0.0
    count = 0
    for edges in _edge_maps(small):
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        for contour in contours:
            hull = cv2.convexHull(contour)
            hull_area = cv2.contourArea(hull)
            if hull_area < _MIN_AREA * frame_area or hull_area > 0.98 * frame_area:
                continue
            quad = order_corners(_quad_from_hull(hull))
            count += 1
            touched = _cut_edges(quad, hull, sw, sh)
            score, detail = _score(quad, hull_area, frame_area, len(touched))
            candidate = _Candidate(
                score, quad, hull, contour, detail, touched, hull_area / frame_area
            )
            if not touched and (complete is None or score > complete.score):
                complete = candidate
            elif touched and (partial := _cut_candidate_score(candidate)) > cut_score:
                cut, cut_score = candidate, partial
        if complete is not None and complete.score >= _SURE_SCORE:
            break
    elapsed = (time.perf_counter() - started) * 1000

    complete_ok = complete is not None and complete.score >= _FOUND_SCORE
    # A "complete" outline well inside a much larger cut-off shape is a detail of the
    # card (its photo, its emblem), not the card.
    if (
        cut is not None
        and cut_score >= 0.75
        and (
            not complete_ok
            or (
                cut.area > 2.5 * complete.area
                and cv2.pointPolygonTest(
                    cut.hull, tuple(map(float, complete.quad.mean(axis=0))), False
                )
                >= 0
            )
        )
    ):
        return OutlineResult(
            True,
            score=float(cut_score),
            area_fraction=round(cut.area, 4),
            cut_edges=cut.touched,
            elapsed_ms=elapsed,
            candidates=count,
            detail=cut.detail,
            inner_corners=(
                refine_corners(complete.quad, complete.contour) / ratio if complete_ok else None
            ),
        )
    if not complete_ok:
        return OutlineResult(
            False,
            elapsed_ms=elapsed,
            candidates=count,
            score=complete.score if complete else 0.0,
            detail=complete.detail if complete else {},
        )
    ordered = refine_corners(complete.quad, complete.contour)
    corners = ordered / ratio
    long_edge = float(
        (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    )
    return OutlineResult(
        True,
        corners=corners,
        score=float(complete.score),
        area_fraction=complete.detail["area_fraction"],
        long_edge_px=long_edge,
        elapsed_ms=elapsed,
        candidates=count,
        detail=complete.detail,
    )


# For find_card_shapes: a card is a card-shaped outline with print inside it. These limits
# keep shapes near the ID-1 aspect (perspective and a soft outline allowed for: a small card
# on a sheet shares part of its outline with the sheet's print) and drop sticky notes (no
# print), sheets and books (other aspects).
_SHAPE_ASPECT_FIT = 0.6
_SHAPE_PARALLEL = 0.6
_SHAPE_FILL = 0.85
_SHAPE_MIN_LONG_PX = 24  # at the search size: smaller is noise, not a card
_SHAPES_TRIED = 30  # candidates rectified to look for print, most card-like first (cheap: 86 x 54)
_FEATURELESS_STD = 12.0  # grey levels; a card's print and portrait give 30+ even blurred


def featureless(gray: np.ndarray) -> bool:
    """Nothing drawn inside the shape: its inner part is one flat tone."""
    height, width = gray.shape[:2]
    inner = gray[height // 10 : height - height // 10, width // 10 : width - width // 10]
    return float(inner.std()) < _FEATURELESS_STD


def find_card_shapes(
    image: np.ndarray,
    *,
    long_side: int,
    min_long_edge: float = 0.0,
    max_long_edge: float = float("inf"),
    limit: int = 3,
) -> list[tuple[float, np.ndarray]]:
    """Up to ``limit`` card-like complete outlines with print inside whose long edge lies
    between ``min_long_edge`` and ``max_long_edge`` ``image`` pixels, most card-like first,
    searched at ``long_side``: each its card-likeness and corners (``image`` pixels).

    The outline search keeps only the most card-like shape; this keeps every card-shaped
    one, for a card that loses that search to larger shapes around it on a desk: one held
    too far away (searched finer), or one so defocused that its edge merges with theirs
    (searched coarser, where the blur shrinks to a pixel or two)."""
    small, ratio = _downscaled(image, long_side)
    sh, sw = small.shape[:2]
    frame_area = float(sh * sw)
    low = max(_SHAPE_MIN_LONG_PX, min_long_edge * ratio)
    found: list[tuple[float, np.ndarray]] = []
    for edges in _edge_maps(small):
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        for contour in contours:
            hull = cv2.convexHull(contour)
            quad = order_corners(_quad_from_hull(hull))
            long_edge = (
                float(np.linalg.norm(quad[1] - quad[0]) + np.linalg.norm(quad[2] - quad[3])) / 2
            )
            if not low <= long_edge < max_long_edge * ratio:
                continue
            if _cut_edges(quad, hull, sw, sh):
                continue
            score, detail = _score(quad, cv2.contourArea(hull), frame_area, 0)
            if (
                _aspect_fit(detail["aspect"]) >= _SHAPE_ASPECT_FIT
                and detail["parallel"] >= _SHAPE_PARALLEL
                and detail["fill"] >= _SHAPE_FILL
            ):
                found.append((score, refine_corners(quad, contour)))
    found.sort(key=lambda item: -item[0])
    kept: list[np.ndarray] = []
    printed: list[tuple[float, np.ndarray]] = []
    for score, quad in found:
        centre = quad.mean(axis=0)
        if any(np.linalg.norm(centre - other.mean(axis=0)) < 4 for other in kept):
            continue  # the same shape from another edge map
        kept.append(quad)
        card = rectify_card(small, quad, width=86, height=54)
        if not featureless(cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)):
            printed.append((float(score), quad / ratio))
        if len(printed) >= limit or len(kept) >= _SHAPES_TRIED:
            break
    return printed


def rectify_card(image: np.ndarray, corners: np.ndarray, *, width: int, height: int) -> np.ndarray:
    """Warp the quadrilateral to an upright ``width`` x ``height`` card image."""
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

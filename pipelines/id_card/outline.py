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


def _edge_maps(small: np.ndarray) -> list[np.ndarray]:
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB)
    maps = []
    lum = cv2.GaussianBlur(lab[:, :, 0], (5, 5), 0)
    median = float(np.median(lum))
    for lo_f, hi_f in ((0.66, 1.33), (0.33, 0.9)):
        maps.append(cv2.Canny(lum, max(5, lo_f * median * 0.5), max(20, hi_f * median * 0.5)))
    chroma = cv2.GaussianBlur(cv2.addWeighted(lab[:, :, 1], 0.5, lab[:, :, 2], 0.5, 0), (5, 5), 0)
    maps.append(cv2.Canny(chroma, 8, 24))
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    return [cv2.dilate(m, kernel, iterations=1) for m in maps]


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


def _score(
    quad: np.ndarray, contour_area: float, frame_area: float
) -> tuple[float, dict[str, float]]:
    ordered = order_corners(quad)
    top, right, bottom, left = (np.linalg.norm(ordered[(i + 1) % 4] - ordered[i]) for i in range(4))
    long_side = (top + bottom) / 2
    short_side = max((left + right) / 2, 1e-6)
    aspect = long_side / short_side
    quad_area = float(cv2.contourArea(ordered))
    fill = contour_area / max(quad_area, 1e-6)
    # perspective stretches or squeezes the aspect; allow a wide band around ID-1
    aspect_fit = max(0.0, 1.0 - abs(np.log(aspect / ID1_ASPECT)) / 0.45)
    opposite = min(top, bottom) / max(top, bottom, 1e-6) * min(left, right) / max(left, right, 1e-6)
    size = quad_area / frame_area
    score = aspect_fit * min(1.0, fill) * opposite * (0.5 + min(size, 0.5))
    return score, {
        "aspect": round(float(aspect), 3),
        "fill": round(float(fill), 3),
        "parallel": round(float(opposite), 3),
        "area_fraction": round(float(size), 4),
    }


def detect_card_outline(image: np.ndarray, *, long_side: int = 640) -> OutlineResult:
    """Find the card's four corners in ``image`` (BGR); corners are returned in ``image`` pixels."""
    started = time.perf_counter()
    height, width = image.shape[:2]
    ratio = min(1.0, long_side / max(height, width))
    small = cv2.resize(
        image, (round(width * ratio), round(height * ratio)), interpolation=cv2.INTER_AREA
    )
    sh, sw = small.shape[:2]
    frame_area = float(sh * sw)
    best: tuple[float, np.ndarray, np.ndarray, dict[str, float]] | None = None
    candidates = 0
    for edges in _edge_maps(small):
        contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            hull = cv2.convexHull(contour)
            hull_area = cv2.contourArea(hull)
            if hull_area < 0.03 * frame_area or hull_area > 0.98 * frame_area:
                continue
            quad = _quad_from_hull(hull)
            if quad is None:
                continue
            candidates += 1
            score, detail = _score(quad, hull_area, frame_area)
            if best is None or score > best[0]:
                best = (score, quad, hull, detail)
    elapsed = (time.perf_counter() - started) * 1000
    if best is None or best[0] < 0.25:
        return OutlineResult(
            False,
            elapsed_ms=elapsed,
            candidates=candidates,
            score=best[0] if best else 0.0,
            detail=best[3] if best else {},
        )
    score, quad, hull, detail = best
    ordered = order_corners(quad)
    cut = _cut_edges(ordered, hull, sw, sh)
    corners = ordered / ratio
    long_edge = float(
        (np.linalg.norm(corners[1] - corners[0]) + np.linalg.norm(corners[2] - corners[3])) / 2
    )
    return OutlineResult(
        True,
        corners=corners,
        score=float(score),
        area_fraction=detail["area_fraction"],
        long_edge_px=long_edge,
        cut_edges=cut,
        elapsed_ms=elapsed,
        candidates=candidates,
        detail=detail,
    )


def rectify_card(image: np.ndarray, corners: np.ndarray, *, width: int, height: int) -> np.ndarray:
    """Warp the quadrilateral to an upright ``width`` x ``height`` card image."""
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

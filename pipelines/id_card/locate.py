"""Find the card by its text when its outline cannot be trusted.

A card that fills the frame, a flat scan, a light card on white paper or a card on
a busy desk has no clean outline, but it always has its printed text: rows of lines
at one angle, close together. The detector runs on the whole photo; the dominant
line angle gives the card's in-plane rotation (to 180 degrees; the reading stage's
vote settles the rest); the text lines are grouped by proximity, and each group's
extent, padded by the card's margins, is a region to rectify and read. Regions are
returned best first (most text), so a busy desk's printed paper is tried after the
card only when the card's own text is not the largest group.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.ocr import OcrEngine

# Margins around the text of either side, as fractions of the text block: the
# front's labels start about 6 % in from the edge and the number ends about 8 %
# before it; the back's emblem holds no text, so the block starts further in.
_PAD_X = 0.10
_PAD_Y = 0.14
# Lines of one card are never further apart than a few character heights (the
# widest gap is between a one-line address and the number, about 5 heights).
_GROUP_GAP = 6.0
_MAX_REGIONS = 2
_SPREAD_DEG = 9.0  # lines of one card keep their angle within this, perspective included


@dataclass(frozen=True, slots=True)
class TextRegion:
    """A padded block of text lines. ``corners`` are TL, TR, BR, BL in photo pixels with
    the lines running TL->TR (possibly upside down), and may lie outside the frame."""

    corners: np.ndarray
    lines: int
    touched_edges: tuple[str, ...]  # frame edges the block's text reaches
    outside_edges: tuple[str, ...] = ()  # frame edges the padded block (about the card) crosses


@dataclass(frozen=True, slots=True)
class TextLocation:
    regions: tuple[TextRegion, ...]
    boxes: int  # text boxes the detector found on the whole photo
    # The largest group with fewer than ``min_lines`` lines, when no group had enough: a
    # card too blurred for more than a line or two to be detected, or one mostly outside
    # the frame, still shows where it is (the capture stage then says why it was unread).
    sparse: TextRegion | None = None
    # Centres of every box the detector found, in the photo's pixels.
    centres: tuple[tuple[float, float], ...] = ()


def _line_geometry(box: np.ndarray) -> tuple[float, float, float]:
    """(angle 0..pi, length, thickness) of a detected quadrilateral."""
    e1, e2 = box[1] - box[0], box[3] - box[0]
    l1, l2 = float(np.hypot(*e1)), float(np.hypot(*e2))
    along, length, thick = (e1, l1, l2) if l1 >= l2 else (e2, l2, l1)
    return float(np.arctan2(along[1], along[0]) % np.pi), length, thick


def dominant_angle(boxes: list[np.ndarray], *, spread_deg: float = 9.0) -> float | None:
    """The angle most text lines share (radians, 0..pi): the peak of a length-weighted
    histogram, refined by the mean of the lines near it. A mean over all lines would be
    pulled away by printed paper or a screen beside the card."""
    geometry = [_line_geometry(box) for box in boxes]
    lines = [(a, length) for a, length, thick in geometry if thick >= 3 and length >= 2 * thick]
    if not lines:
        return None
    angles = np.array([a for a, _ in lines])
    weights = np.array([length for _, length in lines])
    spread = np.radians(spread_deg)

    def axial_gap(a: np.ndarray, b: float) -> np.ndarray:
        return np.abs((a - b + np.pi / 2) % np.pi - np.pi / 2)

    support = [weights[axial_gap(angles, a) <= spread].sum() for a in angles]
    peak = float(angles[int(np.argmax(support))])
    near = axial_gap(angles, peak) <= spread
    doubled = np.exp(2j * angles[near]) @ weights[near]
    return float(np.angle(doubled) / 2 % np.pi)


def _is_line(box: np.ndarray) -> bool:
    _, length, thick = _line_geometry(box)
    return thick >= 3 and length >= 2 * thick


def _box_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between the bounding boxes of two quadrilaterals (0 when they overlap)."""
    dx = max(b[:, 0].min() - a[:, 0].max(), a[:, 0].min() - b[:, 0].max(), 0.0)
    dy = max(b[:, 1].min() - a[:, 1].max(), a[:, 1].min() - b[:, 1].max(), 0.0)
    return float(max(dx, dy))


def _groups(boxes: list[np.ndarray], gap: float, spread: float) -> list[list[int]]:
    """Connected groups of text lines: near each other (bounding boxes closer than
    ``gap``) and running at the same angle (within ``spread`` radians)."""
    n = len(boxes)
    parent = list(range(n))
    geometry = [_line_geometry(b) for b in boxes]
    lows = np.array([b.min(axis=0) for b in boxes])
    highs = np.array([b.max(axis=0) for b in boxes])

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        ai = geometry[i][0]
        for j in range(i + 1, n):
            if abs((ai - geometry[j][0] + np.pi / 2) % np.pi - np.pi / 2) > spread:
                continue
            dx = max(lows[j, 0] - highs[i, 0], lows[i, 0] - highs[j, 0], 0.0)
            dy = max(lows[j, 1] - highs[i, 1], lows[i, 1] - highs[j, 1], 0.0)
            if dx <= gap and dy <= gap:
                parent[find(i)] = find(j)
    out: dict[int, list[int]] = {}
    for i in range(n):
        out.setdefault(find(i), []).append(i)
    return list(out.values())


def edges_near(points: np.ndarray, width: int, height: int, margin: float) -> tuple[str, ...]:
    edges = []
    if points[:, 0].min() <= margin:
        edges.append("left")
    if points[:, 0].max() >= width - 1 - margin:
        edges.append("right")
    if points[:, 1].min() <= margin:
        edges.append("top")
    if points[:, 1].max() >= height - 1 - margin:
        edges.append("bottom")
    return tuple(edges)


def _region(boxes: list[np.ndarray], width: int, height: int) -> TextRegion | None:
    """The padded block around one group of lines, turned so its lines run along x."""
    angle = dominant_angle(boxes)
    if angle is None:
        return None
    turn = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
    turned = np.concatenate([box @ turn.T for box in boxes])
    (x0, y0), (x1, y1) = turned.min(axis=0), turned.max(axis=0)
    pad_x, pad_y = _PAD_X * (x1 - x0), _PAD_Y * (y1 - y0)
    block = np.array(
        [
            [x0 - pad_x, y0 - pad_y],
            [x1 + pad_x, y0 - pad_y],
            [x1 + pad_x, y1 + pad_y],
            [x0 - pad_x, y1 + pad_y],
        ]
    )
    corners = (block @ turn).astype(np.float32)
    return TextRegion(
        corners=corners,
        lines=len(boxes),
        touched_edges=edges_near(np.concatenate(boxes), width, height, 0.01 * max(width, height)),
        outside_edges=edges_near(corners, width, height, -0.01 * max(width, height)),
    )


def locate_by_text(
    image: np.ndarray, engine: OcrEngine, *, long_side: int = 640, min_lines: int = 3
) -> TextLocation:
    """Blocks of card-like text in ``image`` (BGR), the largest first."""
    height, width = image.shape[:2]
    scale = min(1.0, long_side / max(height, width))
    small = (
        image
        if scale == 1.0
        else cv2.resize(
            image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
        )
    )
    detected = [box / scale for box in engine.detect(small)]
    # Lines are grouped; a box of one or two characters (姓名, 女, 汉) has no reliable
    # direction and would bridge the card's text to printed paper beside it at another
    # angle, so it only joins the group of its nearest line afterwards.
    boxes = [b for b in detected if _is_line(b)]
    short = [b for b in detected if not _is_line(b)]
    regions: list[TextRegion] = []
    sparse: TextRegion | None = None
    if boxes:  # every box is a line here, so each group has an angle
        line_height = float(np.median([min(_line_geometry(b)[1:]) for b in boxes]))
        gap = _GROUP_GAP * line_height
        groups = _groups(boxes, gap, np.radians(_SPREAD_DEG))
        groups.sort(key=lambda g: -sum(_line_geometry(boxes[i])[1] for i in g))
        members = [[boxes[i] for i in g] for g in groups]
        for box in short:
            distances = [min(_box_gap(box, other) for other in group) for group in members]
            nearest = int(np.argmin(distances))
            if distances[nearest] <= gap:
                members[nearest].append(box)
        for group, lines in zip(groups, members, strict=True):
            if len(group) < min_lines or len(regions) >= _MAX_REGIONS:
                continue
            region = _region(lines, width, height)
            if region is not None:
                regions.append(region)
        if not regions:
            sparse = _region(members[0], width, height)
    # (No line at all, only blobs, is left alone: a card blurred until its text merges
    # into one patch looks like that, but so does a blurred background with no card, three
    # times as often on the tune halves.)
    centres = tuple((float(b[:, 0].mean()), float(b[:, 1].mean())) for b in detected)
    return TextLocation(tuple(regions), len(detected), sparse, centres)


def rectify_region(image: np.ndarray, corners: np.ndarray, *, width: int) -> np.ndarray:
    """Warp a text block to an upright image ``width`` wide, keeping its aspect; what lies
    outside the photo is filled with the nearest edge."""
    top = float(np.linalg.norm(corners[1] - corners[0]))
    side = float(np.linalg.norm(corners[3] - corners[0]))
    height = max(8, round(width * side / max(top, 1.0)))
    target = np.array(
        [[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32
    )
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return cv2.warpPerspective(
        image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )

"""Which way up the page is, read from its text lines.

The detector's line boxes say whether lines run across (upright or upside down)
or down the page (turned a quarter): lines are long and thin, so the long side of
most boxes gives the axis. A sideways page is turned a quarter clockwise so its
lines run across; the direction classifier then says, for a sample of the longest
lines, whether they read upside down; a confidence-weighted vote decides. Works
the same for portrait and landscape pages.

``degrees`` is how far the content is turned clockwise from upright (0/90/180/270);
turning the image counter-clockwise by it restores the page.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipelines.geometry import order_quad, quad_axes, rotate_quads_quarter, rotate_quarter
from pipelines.ocr import OcrEngine, crop_line

ELONGATION = 2.0  # long side over short side for a box to count as a line


@dataclass(frozen=True, slots=True)
class OrientationResult:
    degrees: int | None  # None: too little text to tell
    sideways: bool
    upside_down: bool
    across_weight: float  # total length of lines running across the image
    down_weight: float  # ... and down it
    votes: int  # lines the classifier saw
    flip_share: float  # confidence-weighted share of lines read as upside down
    elapsed_ms: float


def line_boxes(boxes: Sequence[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Split boxes into lines running across and lines running down, by the direction of
    their long side (not by corner order, which a tilted box can shift); drop squarish ones."""
    across, down = [], []
    for box in boxes:
        w, h = quad_axes(box)
        if max(w, h) < ELONGATION * max(min(w, h), 1.0):
            continue
        edges = [box[(k + 1) % 4] - box[k] for k in range(4)]
        dx, dy = max(edges, key=lambda e: float(np.hypot(*e)))
        (across if abs(dx) >= abs(dy) else down).append(box)
    return across, down


def estimate_orientation(
    image: np.ndarray,
    boxes: Sequence[np.ndarray],
    engine: OcrEngine,
    *,
    sample_lines: int = 10,
    min_lines: int = 2,
    min_confidence: float = 0.6,
) -> OrientationResult:
    """Orientation of ``image`` from its detected ``boxes`` (in ``image`` pixels)."""
    started = time.perf_counter()
    across, down = line_boxes(boxes)
    across_w = float(sum(max(quad_axes(b)) for b in across))
    down_w = float(sum(max(quad_axes(b)) for b in down))
    sideways = down_w > across_w
    lines = down if sideways else across
    if len(lines) < min_lines:
        return OrientationResult(
            None, False, False, across_w, down_w, 0, 0.0, (time.perf_counter() - started) * 1000
        )
    lines = sorted(lines, key=lambda b: -max(quad_axes(b)))[:sample_lines]
    if sideways:
        # Turn the page a quarter clockwise so its lines run across, then read them.
        image = rotate_quarter(image, 90)
        lines = rotate_quads_quarter(lines, 90, image.shape[0], image.shape[1])
    else:
        lines = [order_quad(b) for b in lines]
    crops = [crop_line(image, b) for b in lines]
    flags = engine.classify(crops)
    flip = sum(conf for up, conf in flags if up and conf >= min_confidence)
    keep = sum(conf for up, conf in flags if not up and conf >= min_confidence)
    flip_share = flip / (flip + keep) if flip + keep > 0 else 0.0
    upside_down = flip_share > 0.5
    # sideways: content at d, turned 90 more, reads flipped when d was 90
    degrees = (90 if upside_down else 270) if sideways else (180 if upside_down else 0)
    return OrientationResult(
        degrees,
        sideways,
        upside_down,
        across_w,
        down_w,
        len(crops),
        flip_share,
        (time.perf_counter() - started) * 1000,
    )

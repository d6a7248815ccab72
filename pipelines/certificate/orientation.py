"""Which way up the page is, read from its text lines.

The detector's line boxes say whether lines run across (upright or upside down)
or down the page (turned a quarter): lines are long and thin, so the long side of
most boxes gives the axis. A sideways page is turned a quarter clockwise so its
lines run across; the direction classifier then says, for a sample of the longest
lines, whether they read upside down; a confidence-weighted vote decides. Works
the same for portrait and landscape pages.

The detector finds text running down a page less readily than text running across:
on a phone photo of a sideways page it may find one or two lines where the page has
twenty, too few to outvote a stray box or to pass the minimum. So when the lines along
the winning axis are few, the detector looks again at the page turned a quarter
(``detect``): what it finds running across there runs down the page as given. Both
looks count towards the axis; a page whose text then runs down is sideways even if only
one line is left to tell which way (a page with text is never waved through as upright
because its sideways lines were missed).

``degrees`` is how far the content is turned clockwise from upright (0/90/180/270);
turning the image counter-clockwise by it restores the page.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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
    second_look: bool = False  # the detector looked again at the page turned a quarter


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


def _length(boxes: Sequence[np.ndarray]) -> float:
    return float(sum(max(quad_axes(b)) for b in boxes))


def estimate_orientation(
    image: np.ndarray,
    boxes: Sequence[np.ndarray],
    engine: OcrEngine,
    *,
    sample_lines: int = 10,
    min_lines: int = 2,
    min_confidence: float = 0.6,
    detect: Callable[[np.ndarray], Sequence[np.ndarray]] | None = None,
    recheck_below: int = 6,
) -> OrientationResult:
    """Orientation of ``image`` from its detected ``boxes`` (in ``image`` pixels).

    ``detect`` finds text lines on an image (the same detector that found ``boxes``); it
    is asked again, on the page turned a quarter, when fewer than ``recheck_below`` lines
    lie along the winning axis."""
    started = time.perf_counter()
    across, down = line_boxes(boxes)
    across_w, down_w = _length(across), _length(down)
    turned_image: np.ndarray | None = None
    turned_boxes: list[np.ndarray] | None = None
    turned_across: list[np.ndarray] = []
    if detect is not None and len(down if down_w > across_w else across) < recheck_below:
        turned_image = rotate_quarter(image, 90)
        turned_boxes = [np.asarray(b, np.float32) for b in detect(turned_image)]
        turned_across, turned_down = line_boxes(turned_boxes)
        across_w += _length(turned_down)  # down the turned page: across the page as given
        down_w += _length(turned_across)
    sideways = down_w > across_w

    def unknown() -> OrientationResult:
        elapsed = (time.perf_counter() - started) * 1000
        looked = turned_boxes is not None
        return OrientationResult(None, False, False, across_w, down_w, 0, 0.0, elapsed, looked)

    if sideways and len(turned_across) >= max(len(down), 1):
        assert turned_image is not None
        # the second look already reads these lines across: classify them where they are
        image, lines = turned_image, sorted(turned_across, key=lambda b: -max(quad_axes(b)))
        lines = [order_quad(b) for b in lines[:sample_lines]]
    else:
        lines = down if sideways else across
        # after a second look, text running down is enough to call the page sideways
        if len(lines) < (1 if sideways and turned_boxes is not None else min_lines):
            return unknown()
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
        turned_boxes is not None,
    )

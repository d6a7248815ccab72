"""Can a reader read the page? Character height and stroke sharpness, on text lines only.

A page is judged the way a reviewer judges it: by its writing, not by its pixel count
and not by its pictures. The detector's line boxes give the height of the text; strokes
inside those boxes give the sharpness. Seals, photos, pictograms and the scanner bed
outside the lines do not count.

Character height is the type's em height in pixels of the original file. The detector
grows each box by a margin proportional to its height: across fonts and sizes a line's
box measures about 1.65 em on its short side (calibrated on rendered pages at 448 px
detection), so ``em = short side / 1.65``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.geometry import quad_axes

BOX_PER_EM = 1.65


@dataclass(frozen=True, slots=True)
class TextHeight:
    char_height_px: float | None  # median em height over the lines, original pixels
    lines: int


def measure_text_height(boxes: Sequence[np.ndarray], *, to_original: float) -> TextHeight:
    """Median em height of horizontal-ish text lines. ``to_original`` scales box pixels to
    the file's pixels. Squarish boxes (single characters, seals' fragments) count too: their
    short side is still one line's height."""
    heights = [min(quad_axes(b)) * to_original / BOX_PER_EM for b in boxes]
    heights = [h for h in heights if h > 0]
    if not heights:
        return TextHeight(None, 0)
    return TextHeight(float(np.median(heights)), len(heights))


def text_region_mask(shape: tuple[int, int], boxes: Sequence[np.ndarray]) -> np.ndarray:
    """0/255 mask of the detected line boxes."""
    mask = np.zeros(shape, np.uint8)
    if boxes:
        cv2.fillPoly(mask, [np.round(b).astype(np.int32) for b in boxes], 255)
    return mask


@dataclass(frozen=True, slots=True)
class StrokeSharpness:
    edge_width_px: float | None  # paper-to-ink transition width, working pixels
    contrast: float  # median local contrast of the edges measured
    pixels: int  # edge pixels measured (both directions)


#: Edges with less local contrast than this (grey levels) are paper grain, JPEG noise or
#: show-through, not strokes.
_MIN_EDGE_CONTRAST = 20.0
#: The window that finds an edge's local contrast spans this share of the character
#: height: wide enough to reach paper on one side and ink on the other across an edge
#: blurred over a quarter of a character, narrow enough to stay within one line.
_WINDOW_PER_CHAR = 0.9


def _edge_widths(g: np.ndarray, near: np.ndarray, window: int, axis: int) -> np.ndarray:
    """Width of each stroke edge along ``axis`` (1: across x, 0: along y): the local
    contrast (max minus min over ``window`` pixels on that axis) over the steepest
    one-pixel step, taken where the step is a local maximum (the middle of the edge)."""
    step = np.zeros_like(g)
    if axis == 1:
        step[:, :-1] = np.abs(np.diff(g, axis=1))
        line, peak = (window, 1), (3, 1)
    else:
        step[:-1, :] = np.abs(np.diff(g, axis=0))
        line, peak = (1, window), (1, 3)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, line)
    contrast = cv2.dilate(g, kernel) - cv2.erode(g, kernel)
    is_peak = step >= cv2.dilate(step, cv2.getStructuringElement(cv2.MORPH_RECT, peak))
    edges = near & is_peak & (contrast >= _MIN_EDGE_CONTRAST) & (step > 0.1 * contrast)
    return np.stack([contrast[edges], step[edges]])


def measure_stroke_sharpness(
    gray: np.ndarray, ink: np.ndarray, region: np.ndarray, *, char_height_px: float
) -> StrokeSharpness:
    """Width of stroke edges inside ``region`` (working pixels): at each edge, its own
    contrast over its steepest step, so thin and thick strokes, faint body text and a
    bold title each measure their own transition (a page-wide contrast over the steepest
    gradients let a sharp-looking bold title hide blurred body text). The median over the
    edges across (x) and along (y) the lines; the worse of the two counts, because motion
    blur smears one direction and leaves the other sharp. A sharp edge rises in about one
    pixel, a blurred one over several; hanzi are made of horizontal and vertical strokes,
    so both directions have edges to measure."""
    ink_in = (ink > 0) & (region > 0)
    count = int(np.count_nonzero(ink_in))
    if count < 50:
        return StrokeSharpness(None, 0.0, 0)
    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    g = gray[y0:y1, x0:x1].astype(np.float32)
    region_c = region[y0:y1, x0:x1] > 0
    ink_c = ink_in[y0:y1, x0:x1].astype(np.uint8)
    near = (cv2.dilate(ink_c, np.ones((3, 3), np.uint8)) > 0) & region_c
    window = int(np.clip(round(_WINDOW_PER_CHAR * char_height_px), 3, 31)) | 1
    widths, contrasts, pixels = [], [], 0
    for axis in (1, 0):
        contrast, step = _edge_widths(g, near, window, axis)
        pixels += contrast.size
        if contrast.size >= 30:
            widths.append(float(np.median(contrast / step)))
            contrasts.append(float(np.median(contrast)))
    if not widths:
        return StrokeSharpness(None, 0.0, pixels)
    return StrokeSharpness(max(widths), min(contrasts), pixels)

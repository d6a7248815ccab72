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
    contrast: float
    pixels: int  # ink pixels measured


def measure_stroke_sharpness(
    gray: np.ndarray, ink: np.ndarray, region: np.ndarray
) -> StrokeSharpness:
    """Width of stroke edges inside ``region``: contrast (paper minus ink) over the steepest
    gradients along the strokes, across (x) and along (y) the lines; the worse of the two
    counts, because motion blur smears one direction and leaves the other sharp. A sharp
    edge rises in about one pixel, a blurred one over several; hanzi are made of
    horizontal and vertical strokes, so both directions have edges to measure."""
    ink_in = (ink > 0) & (region > 0)
    count = int(np.count_nonzero(ink_in))
    if count < 50:
        return StrokeSharpness(None, 0.0, count)
    ys, xs = np.nonzero(region)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    g = gray[y0:y1, x0:x1].astype(np.float32)
    ink_c = ink_in[y0:y1, x0:x1]
    region_c = region[y0:y1, x0:x1] > 0
    gx = np.abs(cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)) / 4.0
    gy = np.abs(cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)) / 4.0
    near = (cv2.dilate(ink_c.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & region_c
    background = region_c & ~near
    paper = float(np.median(g[background])) if np.any(background) else 255.0
    dark = float(np.percentile(g[ink_c], 10))
    contrast = max(paper - dark, 1.0)
    steep = min(float(np.percentile(gx[near], 97)), float(np.percentile(gy[near], 97)))
    return StrokeSharpness(contrast / max(steep, 1e-3), contrast, count)

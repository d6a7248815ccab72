"""Page-quality stages over arrays: ink mask, blank page, blur, resolution."""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np


def ink_gray(image: np.ndarray) -> np.ndarray:
    """The red channel as grey: dark text stays dark, red seals and red titles fade to paper,
    so they neither count as text lines nor pull the skew estimate."""
    return image[:, :, 2] if image.ndim == 3 else image


def ink_mask(gray: np.ndarray) -> np.ndarray:
    """Pixels clearly darker than their neighbourhood (text strokes, rules), as 0/255.

    A local threshold ignores paper tint, uneven light and large dark areas (scanner
    bed, photo boxes), whose insides match their own surroundings."""
    smooth = cv2.GaussianBlur(gray, (3, 3), 0)
    block = max(15, (min(gray.shape[:2]) // 40) | 1)
    return cv2.adaptiveThreshold(
        smooth, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 18
    )


@dataclass(frozen=True, slots=True)
class BlankResult:
    ink_ratio: float
    blank: bool
    elapsed_ms: float


def check_blank(mask: np.ndarray, *, max_ink_ratio: float) -> BlankResult:
    """A page with almost no ink is blank (or a scan of the wrong side)."""
    started = time.perf_counter()
    ratio = float(np.count_nonzero(mask)) / mask.size
    return BlankResult(ratio, ratio < max_ink_ratio, (time.perf_counter() - started) * 1000)


@dataclass(frozen=True, slots=True)
class BlurResult:
    edge_width_px: float  # at the reference scale; larger is blurrier
    contrast: float
    blurry: bool
    elapsed_ms: float


def check_blur(
    gray: np.ndarray, mask: np.ndarray, *, max_edge_px: float, reference_long_side: int = 1280
) -> BlurResult:
    """Estimate the width of ink edges: contrast (paper minus ink) over the steepest
    gradients found along strokes. A sharp edge rises in about one pixel; a blurred one
    over several. Scale-normalised so the threshold reads in pixels of a page
    ``reference_long_side`` pixels long."""
    started = time.perf_counter()
    ink = mask > 0
    if np.count_nonzero(ink) < 50:
        return BlurResult(0.0, 0.0, False, (time.perf_counter() - started) * 1000)
    g = gray.astype(np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 4.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 4.0
    magnitude = cv2.magnitude(gx, gy)
    near_ink = cv2.dilate(mask, np.ones((3, 3), np.uint8)) > 0
    # statistics on every other row and column: the same answer at a quarter of the sorting
    g2, ink2, near2, mag2 = g[::2, ::2], ink[::2, ::2], near_ink[::2, ::2], magnitude[::2, ::2]
    paper = float(np.median(g2[~near2])) if np.any(~near2) else 255.0
    dark = float(np.percentile(g2[ink2], 10)) if np.any(ink2) else 0.0
    contrast = max(paper - dark, 1.0)
    steep = float(np.percentile(mag2[near2], 97))
    edge = contrast / max(steep, 1e-3)
    scale = reference_long_side / max(gray.shape[:2])
    edge_ref = edge * scale
    return BlurResult(
        edge_ref, contrast, edge_ref > max_edge_px, (time.perf_counter() - started) * 1000
    )

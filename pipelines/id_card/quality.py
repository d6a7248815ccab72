"""Capture measurements of an upright card: stroke sharpness and ink contrast on its
text, specular glare per field, and exposure of the whole photo when no card is found.

All are taken on the rectified card image, so thresholds do not depend on how large
the card was in the photo, and on the text itself, so a light card or a plain
background does not move them.
"""

from __future__ import annotations

import cv2
import numpy as np

from pipelines.id_card.layout import FIELD_REGIONS, KEY_FIELDS
from pipelines.id_card.result import Side


def glare_mask(card: np.ndarray) -> np.ndarray:
    """Specular highlight: clipped to white, colourless, in blobs larger than text strokes.

    A brightly lit card reaches 240-250 over wide areas without hiding anything;
    glare is what the sensor clipped, so the threshold sits just under 255.
    """
    hsv = cv2.cvtColor(card, cv2.COLOR_BGR2HSV)
    mask = ((hsv[:, :, 2] >= 252) & (hsv[:, :, 1] <= 25)).astype(np.uint8)
    # Opening removes isolated bright pixels of the printed pattern and JPEG ringing.
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)


def _region_share(mask: np.ndarray, region: tuple[float, float, float, float]) -> float:
    patch = region_pixels(mask, region)
    return float(patch.mean()) if patch.size else 0.0


def glare_over_fields(mask: np.ndarray, side: Side) -> dict[str, float]:
    """Share of each key field's region that glare covers (card must already be upright)."""
    return {name: _region_share(mask, FIELD_REGIONS[side][name]) for name in KEY_FIELDS[side]}


def frame_exposure(image: np.ndarray) -> tuple[float, float]:
    """Mean luminance and clipped-white share of the whole photo (on a small copy).

    Used when no card outline is found: a photo too dark or too bright to show
    the card's edges deserves that reason, not "card not found".
    """
    small = cv2.resize(image, (160, 120), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return float(gray.mean()), float((gray >= 250).mean())


def region_pixels(image: np.ndarray, region: tuple[float, float, float, float]) -> np.ndarray:
    """The part of ``image`` inside a region given as fractions (x0, y0, x1, y1)."""
    h, w = image.shape[:2]
    x0, y0 = max(0, int(region[0] * w)), max(0, int(region[1] * h))
    x1, y1 = min(w, int(region[2] * w)), min(h, int(region[3] * h))
    return image[y0:y1, x0:x1]


def text_contrast(gray: np.ndarray) -> tuple[float, float]:
    """(ink-to-paper contrast, mean luminance) of a text region: the spread between its
    darkest and lightest tenth. Print on a well-exposed card spans well over 100 grey
    levels; a washed-out or underexposed field keeps only a few dozen."""
    if gray.size == 0:
        return 0.0, 0.0
    low, high = np.percentile(gray, (5, 95))
    return float(high - low), float(gray.mean())


def _text_patches(gray: np.ndarray, boxes: list[np.ndarray], max_boxes: int) -> list[np.ndarray]:
    """The widest text boxes' pixels (upright card), or the whole image when there is none."""
    patches: list[np.ndarray] = []
    for box in sorted(boxes, key=lambda b: -float(np.ptp(b[:, 0])))[:max_boxes]:
        x0, y0 = np.floor(box.min(axis=0)).astype(int)
        x1, y1 = np.ceil(box.max(axis=0)).astype(int)
        patch = gray[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]
        if patch.shape[0] >= 6 and patch.shape[1] >= 6:
            patches.append(patch)
    return patches or [gray]


def text_lines_contrast(gray: np.ndarray, boxes: list[np.ndarray], *, max_boxes: int = 8) -> float:
    """Median ink-to-paper contrast over the card's widest text lines."""
    return float(np.median([text_contrast(p)[0] for p in _text_patches(gray, boxes, max_boxes)]))


def stroke_sharpness(gray: np.ndarray, boxes: list[np.ndarray], *, max_boxes: int = 8) -> float:
    """How steep the edges of the characters are, independent of their contrast.

    For each text box (upright card pixels) the strongest gradients are divided by the
    box's ink-to-paper contrast: a sharp stroke edge changes by its full contrast over
    one or two pixels (about 0.4-0.6), a defocused one over many (0.1 and below). Each
    direction is measured apart and the softer one counts, because motion blur smears
    one direction and leaves the other crisp. The median over the widest boxes is the
    card's value; with no box, the whole image is measured.
    """
    values = []
    for patch in _text_patches(gray, boxes, max_boxes):
        contrast, _ = text_contrast(patch)
        if contrast < 10:
            values.append(0.0)
            continue
        f = patch.astype(np.float32)
        gx = np.abs(cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)) / 4.0
        gy = np.abs(cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)) / 4.0
        softer = min(float(np.percentile(gx, 98)), float(np.percentile(gy, 98)))
        values.append(softer / contrast)
    return float(np.median(values))


def outline_edge_sharpness(
    gray: np.ndarray, corners: np.ndarray, *, samples: int = 24, min_step: float = 15.0
) -> tuple[float, int]:
    """How steep the outline's own edges are in the photo: (the softest edge's value, how
    many edges could be measured).

    Along each edge of the quadrilateral (photo pixels), grey-level profiles are taken
    across it; the steepest step of a profile divided by its whole rise is about 0.5 for a
    crisp edge and far less for a blurred one, as :func:`stroke_sharpness` measures print.
    A profile rising by less than ``min_step`` grey levels (the object barely stands out
    there) is not counted, nor is an edge with fewer than half its profiles counted. The
    softest measured edge is the value, because motion blur softens the edges across its
    direction only. A card blurred in the photo is blurred at its border as much as in its
    print; an object whose print is faint but whose border is crisp is not a blurred card.
    """
    quad = corners.astype(np.float32).reshape(4, 2)
    reach = max(8.0, 0.01 * float(max(gray.shape)))
    offsets = np.arange(-reach, reach + 1.0, 1.0, dtype=np.float32)
    along = np.linspace(0.15, 0.85, samples, dtype=np.float32)
    values = []
    for start, end in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        direction = end - start
        length = float(np.linalg.norm(direction))
        if length < 4 * reach:
            continue
        normal = np.array([-direction[1], direction[0]], np.float32) / length
        points = start + along[:, None] * direction  # samples x 2
        grid = points[:, None, :] + offsets[None, :, None] * normal  # samples x offsets x 2
        profiles = cv2.remap(
            gray,
            grid[..., 0],
            grid[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        ).astype(np.float32)
        inside = (grid[..., 0] >= 0) & (grid[..., 0] <= gray.shape[1] - 1)
        inside &= (grid[..., 1] >= 0) & (grid[..., 1] <= gray.shape[0] - 1)
        whole = inside.all(axis=1)
        rise = np.ptp(profiles, axis=1)
        usable = whole & (rise >= min_step)
        if usable.sum() < samples / 2:
            continue
        steepest = np.abs(np.diff(profiles[usable], axis=1)).max(axis=1)
        values.append(float(np.median(steepest / rise[usable])))
    return (min(values) if values else 0.0), len(values)

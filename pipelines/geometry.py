"""Pure geometry helpers over arrays: resizing and rotating images, and the quads on them.

Every helper that changes an image's frame also returns what it did (a scale or
a 2x3 affine matrix), so measurements can be mapped back to the original.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def resize_long_side(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """Shrink ``image`` so its longer side is at most ``long_side``; never enlarges.

    Returns the image and the scale applied (new / old)."""
    h, w = image.shape[:2]
    if max(h, w) <= long_side:
        return image, 1.0
    scale = long_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def rotate_quarter(image: np.ndarray, clockwise_degrees: int) -> np.ndarray:
    """Turn an image clockwise by 0, 90, 180 or 270 degrees (exact, no resampling)."""
    if clockwise_degrees % 90:
        raise ValueError(f"not a quarter turn: {clockwise_degrees}")
    return np.ascontiguousarray(np.rot90(image, k=-(clockwise_degrees // 90) % 4))


def rotate_expand(
    image: np.ndarray, degrees: float, *, border: tuple[int, ...] | int = 255
) -> tuple[np.ndarray, np.ndarray]:
    """Rotate counter-clockwise (as displayed) by ``degrees`` about the centre, growing the
    canvas so no corner is cut. Returns the image and the 2x3 matrix that maps old pixels
    to new ones."""
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    new_w, new_h = math.ceil(h * sin + w * cos), math.ceil(h * cos + w * sin)
    matrix[0, 2] += new_w / 2 - w / 2
    matrix[1, 2] += new_h / 2 - h / 2
    rotated = cv2.warpAffine(
        image,
        matrix,
        (new_w, new_h),
        flags=cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border,
    )
    return rotated, matrix


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to an (N, 2) array of points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def quad_axes(box: np.ndarray) -> tuple[float, float]:
    """Width (top edge direction) and height of a clockwise quad from its top-left."""
    box = np.asarray(box, dtype=np.float32)
    width = float((np.linalg.norm(box[1] - box[0]) + np.linalg.norm(box[2] - box[3])) / 2)
    height = float((np.linalg.norm(box[3] - box[0]) + np.linalg.norm(box[2] - box[1])) / 2)
    return width, height


def border_colour(image: np.ndarray, *, margin: int = 8) -> tuple[int, ...]:
    """Median colour of the outer ``margin`` pixels: the paper, on a scan."""
    h, w = image.shape[:2]
    m = max(1, min(margin, h // 4, w // 4))
    strips = [
        image[:m].reshape(-1, *image.shape[2:]),
        image[-m:].reshape(-1, *image.shape[2:]),
        image[:, :m].reshape(-1, *image.shape[2:]),
        image[:, -m:].reshape(-1, *image.shape[2:]),
    ]
    median = np.median(np.concatenate(strips), axis=0)
    return tuple(int(v) for v in np.atleast_1d(median))


def order_quad(box: np.ndarray) -> np.ndarray:
    """Reorder four points clockwise starting from the top-left (smallest x + y)."""
    pts = np.asarray(box, dtype=np.float32).reshape(4, 2)
    center = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - center[1], pts[:, 0] - center[0])
    pts = pts[np.argsort(angles)]  # clockwise on screen (y down)
    start = int(np.argmin(pts.sum(axis=1)))
    return np.roll(pts, -start, axis=0)


def rotate_quads_quarter(
    quads: list[np.ndarray], clockwise_degrees: int, width: int, height: int
) -> list[np.ndarray]:
    """Map quads on a ``width`` x ``height`` image to the same image turned clockwise by a
    quarter-turn multiple (as :func:`rotate_quarter` does), reordered from the top-left."""
    turn = clockwise_degrees % 360
    out = []
    for quad in quads:
        x, y = quad[:, 0], quad[:, 1]
        if turn == 90:
            pts = np.stack([height - 1 - y, x], axis=1)
        elif turn == 180:
            pts = np.stack([width - 1 - x, height - 1 - y], axis=1)
        elif turn == 270:
            pts = np.stack([y, width - 1 - x], axis=1)
        else:
            pts = quad
        out.append(order_quad(pts))
    return out

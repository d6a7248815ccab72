"""Is the holder's name (from the file name) written on the page?

Recognition is the expensive step, so only what the check needs is read: short
lines first (a name usually stands alone as a field value), then longer ones,
top to bottom, each pass packed side by side into one strip so the recogniser
runs once per pass, stopping as soon as the name is found or the width budget is
spent.
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.geometry import quad_axes
from pipelines.idnumber import normalize_name
from pipelines.ocr import OcrEngine, crop_line

LINE_HEIGHT = 48  # the recogniser's input height
_GAP = 24
_CHUNK_PX = 640  # recognise at most this much strip per call, so a hit stops early


@dataclass(frozen=True, slots=True)
class NameCheckResult:
    found: bool | None  # None: not checked (no name, no text, or no budget)
    lines_read: int
    width_read: int
    passes: int
    elapsed_ms: float


def line_strip(crops: Sequence[np.ndarray]) -> np.ndarray:
    parts = []
    for crop in crops:
        h, w = crop.shape[:2]
        width = max(8, round(w * LINE_HEIGHT / max(h, 1)))
        line = cv2.resize(
            crop,
            (width, LINE_HEIGHT),
            interpolation=cv2.INTER_AREA if h > LINE_HEIGHT else cv2.INTER_CUBIC,
        )
        pad = np.full((LINE_HEIGHT, _GAP, 3), np.median(line.reshape(-1, 3), axis=0), np.uint8)
        parts.extend((line, pad))
    return np.concatenate(parts, axis=1)


def name_in_text(name: str, text: str) -> bool:
    """Exact match, or for names of three characters or more one misread character."""
    name = normalize_name(name)
    text = normalize_name(unicodedata.normalize("NFKC", text))
    if not name:
        return False
    if name in text:
        return True
    if len(name) >= 3:
        for i in range(len(text) - len(name) + 1):
            window = text[i : i + len(name)]
            if sum(a != b for a, b in zip(window, name, strict=True)) <= 1 and window[0] == name[0]:
                return True
    return False


def find_name(
    image: np.ndarray,
    boxes: Sequence[np.ndarray],
    name: str,
    engine: OcrEngine,
    *,
    turn_crops: bool,
    budget_px: int,
) -> NameCheckResult:
    """Look for ``name`` in the lines ``boxes`` of ``image``. ``turn_crops`` turns each
    crop half a turn first (the page is upside down)."""
    started = time.perf_counter()
    if not name or not boxes or budget_px <= 0:
        return NameCheckResult(None, 0, 0, 0, (time.perf_counter() - started) * 1000)
    n = len(normalize_name(name))
    measured = []
    for box in boxes:
        w, h = quad_axes(box)
        long_side, short_side = max(w, h), max(min(w, h), 1.0)
        chars = estimate_chars(long_side / short_side)
        top = float(np.min(box[:, 1]))
        measured.append((box, chars, top, long_side * LINE_HEIGHT / short_side))
    # 1: lines as long as the name (a field value); 2: label plus name; 3: the rest.
    exact = [m for m in measured if abs(m[1] - n) <= 0.7]
    labelled = [m for m in measured if n + 1.3 < m[1] <= n + 3.8]
    rest = [m for m in measured if not any(m is x for x in exact + labelled)]
    # sentences (where a name sits inside body text) before titles and dates
    passes = [
        sorted(exact, key=lambda m: m[2]),
        sorted(labelled, key=lambda m: m[2]),
        sorted(rest, key=lambda m: (m[1] < 10, m[2])),
    ]
    spent = 0.0
    lines_read = 0
    rounds = 0
    for group in passes:
        chunk: list[np.ndarray] = []
        chunk_px = 0.0
        for i, m in enumerate(group):
            if spent + m[3] <= budget_px:
                chunk.append(m[0])
                chunk_px += m[3] + _GAP
                spent += m[3] + _GAP
            last = i == len(group) - 1
            if chunk and (chunk_px >= _CHUNK_PX or last):
                crops = [crop_line(image, b) for b in chunk]
                if turn_crops:
                    crops = [np.rot90(c, 2) for c in crops]
                rounds += 1
                lines_read += len(crops)
                text = "".join(t for t, _ in engine.recognize([line_strip(crops)]))
                if name_in_text(name, text):
                    return NameCheckResult(
                        True, lines_read, int(spent), rounds, (time.perf_counter() - started) * 1000
                    )
                chunk, chunk_px = [], 0.0
    return NameCheckResult(
        False, lines_read, int(spent), rounds, (time.perf_counter() - started) * 1000
    )


def estimate_chars(aspect: float) -> float:
    """Characters on a detected CJK line from its box's aspect ratio. The detector grows
    each box by a margin proportional to its height, so a two-character name measures
    about 1.6 and every further character adds about 0.55."""
    return max(0.0, (aspect - 0.45) / 0.55)

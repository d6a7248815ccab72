"""Screen recapture: a pixel grid's peaks in the card's spectrum; a screenshot PNG."""

from __future__ import annotations

import functools
import time
from typing import Any

import cv2
import numpy as np

from pipelines.id_card.result import Side
from pipelines.id_card.risks.edited import _camera_exif
from pipelines.id_card.risks.signal import RiskCode, RiskSignal, _timed

# --- screen recapture ---------------------------------------------------------------

# Common screen resolutions (either orientation): phones, tablets, laptops, monitors.
_SCREEN_WIDTHS = frozenset(
    (
        640,
        720,
        750,
        768,
        800,
        828,
        1024,
        1080,
        1125,
        1170,
        1179,
        1200,
        1242,
        1280,
        1284,
        1290,
        1320,
        1334,
        1366,
        1440,
        1536,
        1600,
        1620,
        1640,
        1668,
        1792,
        1920,
        2048,
        2160,
        2208,
        2224,
        2340,
        2388,
        2400,
        2436,
        2532,
        2556,
        2560,
        2688,
        2732,
        2778,
        2796,
        2868,
        2880,
        3024,
        3200,
        3440,
        3840,
    )
)
_SPECTRUM_SIZE = 256


@functools.cache
def _spectrum_layout(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For an n x n centred spectrum: the Hann window, the searched band (the axes, the
    lowest and highest frequencies and the JPEG 8-pixel block grid's harmonics left out)
    and each bin's radius in cycles per pixel. The same for every patch of that size."""
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    c = n // 2
    yy, xx = np.mgrid[-c : n - c, -c : n - c]
    radius = np.hypot(yy, xx) / n
    band = (radius > 0.06) & (radius < 0.48)
    band &= (np.abs(xx) > 2) & (np.abs(yy) > 2)  # row/column structure of the card
    step = n // 8
    grid = ((np.abs(xx) % step <= 1) | (np.abs(xx) % step >= step - 1)) & (
        (np.abs(yy) % step <= 1) | (np.abs(yy) % step >= step - 1)
    )
    band &= ~grid
    for array in (window, band, radius):
        array.setflags(write=False)
    return window, band, radius


def _peak_excess(channel: np.ndarray) -> np.ndarray:
    """Log-magnitude excess of each frequency over its 9x9 neighbourhood, high-passed and
    windowed; ``-inf`` outside the searched band (:func:`_spectrum_layout`)."""
    window, band, _ = _spectrum_layout(channel.shape[0])
    high = channel - cv2.GaussianBlur(channel, (0, 0), 3.0)
    # (OpenCV's single-precision DFT: a sixteenth of numpy's double-precision time here)
    spectrum = cv2.dft(np.ascontiguousarray(high * window), flags=cv2.DFT_COMPLEX_OUTPUT)
    magnitude = np.fft.fftshift(cv2.magnitude(spectrum[:, :, 0], spectrum[:, :, 1]))
    logmag = np.log1p(magnitude)
    excess = logmag - cv2.blur(logmag, (9, 9))
    return np.where(band, excess, -np.inf).astype(np.float32)


# Printed text and guilloche repeat at their own pitch: their luma peaks lie below this
# frequency (cycles per pixel) and carry little chroma (tune halves: up to 0.33, at most
# 2.43 above their surroundings, on 816 genuine sides).
_PRINT_MAX_FREQUENCY = 0.34
# Luma and chroma peak "together" only where each stands out on its own (screen photos:
# 1.8 and above in chroma where they met; neutral print has no chroma peak at all).
_JOINT_MIN_EXCESS = 1.5


def _screen_peak(luma: np.ndarray, chroma: np.ndarray) -> tuple[float, str, list[float]]:
    """The strongest sign of a pixel grid: a luma peak above the print's frequencies, or a
    frequency that stands out in luma and chroma together (a subpixel grid's colour
    fringes; mean of the two, each taken within one bin)."""
    n = luma.shape[0]
    c = n // 2
    fine = _spectrum_layout(n)[2] >= _PRINT_MAX_FREQUENCY
    high = np.where(fine, luma, -np.inf)
    kernel = np.ones((3, 3), np.uint8)
    finite = np.isfinite(luma)
    near_luma = cv2.dilate(np.where(finite, luma, -9.0), kernel)
    near_chroma = cv2.dilate(np.where(finite, chroma, -9.0), kernel)
    both = finite & (np.minimum(near_luma, near_chroma) >= _JOINT_MIN_EXCESS)
    joint = np.where(both, 0.5 * (near_luma + near_chroma), -np.inf)
    best = (high, "luma") if high.max() >= joint.max() else (joint, "luma+chroma")
    py, px = np.unravel_index(int(np.argmax(best[0])), best[0].shape)
    value = float(best[0][py, px])
    if not np.isfinite(value):
        return 0.0, best[1], []
    return value, best[1], [round(float(px - c) / n, 3), round(float(py - c) / n, 3)]


# The part of each side whose colour is the print's own (portrait, emblem): left out.
_OWN_COLOUR = {Side.FRONT: (0.60, 0.08, 1.0, 0.80), Side.BACK: (0.0, 0.0, 0.30, 0.50)}


def colour_ripple(card: np.ndarray, side: Side) -> float | None:
    """Colour moire: chroma that ripples across the card's paper between the print (the
    rainbow bands a screen's subpixel grid beats into a camera's colour filter). RMS of
    the band-passed a and b channels (sigma 1 to 4 px on a 428 px card) over paper pixels,
    away from ink and its halo and from the portrait or emblem, less the part that follows
    the band-passed lightness; ``None`` where too little paper is left. A card's tint
    changes slowly, and its coloured lines are lighter or darker where they are coloured."""
    small = cv2.resize(card, (428, 270), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    lightness = lab[:, :, 0]
    # the paper's level: a median over ~10 px, taken at half size (a quarter of the cost)
    half = cv2.resize(lab[:, :, 0].astype(np.uint8), (214, 135), interpolation=cv2.INTER_AREA)
    paper_level = cv2.resize(cv2.medianBlur(half, 5), (428, 270)).astype(np.float32)
    ink = cv2.dilate((lightness < paper_level - 12).astype(np.uint8), np.ones((5, 5), np.uint8))
    paper = ink == 0
    h, w = lightness.shape
    x0, y0, x1, y1 = _OWN_COLOUR[side]
    paper[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)] = False
    paper[:6] = paper[-6:] = False
    paper[:, :6] = paper[:, -6:] = False
    if paper.sum() < 500:
        return None
    band = cv2.GaussianBlur(lab, (0, 0), 1.0) - cv2.GaussianBlur(lab, (0, 0), 4.0)
    bands = [band[:, :, channel][paper] for channel in range(3)]
    luma = bands[0]
    energy = 0.0
    for band in bands[1:]:
        # Coloured print (guilloche lines) darkens as it colours: the chroma that follows
        # the lightness is the print's; what is left over ripples on its own.
        follows = float(band @ luma) / max(float(luma @ luma), 1e-6)
        energy += float(np.mean((band - follows * luma) ** 2))
    return float(np.sqrt(energy))


def detect_screen_recapture(
    data: bytes,
    image: np.ndarray,
    corners: np.ndarray | None,
    *,
    image_format: str,
    original_size: tuple[int, int],
    peak_threshold: float = 2.25,
    card: np.ndarray | None = None,
    side: Side | None = None,
    ripple_threshold: float | None = None,
) -> RiskSignal:
    """Moire or a (sub)pixel grid in the card's spectrum; colour moire on the card's paper
    (``card``, the upright card of ``side``, given only where it lies as rectified; with
    ``ripple_threshold``); a screenshot's PNG."""
    started = time.perf_counter()
    evidence: dict[str, Any] = {}
    confidence = 0.0
    if card is not None and side is not None and ripple_threshold is not None:
        ripple = colour_ripple(card, side)
        if ripple is not None:
            evidence.update(
                colour_ripple=round(ripple, 2), colour_ripple_threshold=ripple_threshold
            )
            if ripple >= ripple_threshold:
                confidence = min(1.0, 0.6 + 0.4 * (ripple - ripple_threshold) / ripple_threshold)
    # A screenshot: PNG, screen-sized, no camera EXIF, and noise-free flat areas.
    if image_format == "png":
        width, height = original_size
        screen_sized = width in _SCREEN_WIDTHS or height in _SCREEN_WIDTHS
        camera = _camera_exif(data)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        step = max(1, max(gray.shape) // 800)
        small = gray[::step, ::step].astype(np.int16)
        flat = float(np.mean(np.abs(np.diff(small, axis=1)) == 0))
        evidence.update(
            png=True, screen_sized=screen_sized, camera_exif=camera, noise_free_share=round(flat, 3)
        )
        if not camera:
            confidence = max(confidence, 0.3 + 0.3 * screen_sized + 0.4 * min(1.0, flat / 0.3))
    # Moire / subpixel grid: the card's interior in the decoded photo.
    if corners is not None:
        quad = corners.astype(np.float32)
        centre = quad.mean(axis=0)
        span = min(np.linalg.norm(quad[1] - quad[0]), np.linalg.norm(quad[3] - quad[0]))
        half = int(min(_SPECTRUM_SIZE, 0.6 * span) // 2)
    else:
        centre = np.array([image.shape[1] / 2, image.shape[0] / 2], np.float32)
        half = int(min(_SPECTRUM_SIZE, 0.5 * min(image.shape[:2])) // 2)
    n = (2 * half) // 8 * 8
    if n >= 64:
        cx, cy = int(centre[0]), int(centre[1])
        x0 = int(np.clip(cx - n // 2, 0, max(0, image.shape[1] - n)))
        y0 = int(np.clip(cy - n // 2, 0, max(0, image.shape[0] - n)))
        patch = image[y0 : y0 + n, x0 : x0 + n]
        if patch.shape[:2] == (n, n):
            lab = cv2.cvtColor(patch, cv2.COLOR_BGR2LAB).astype(np.float32)
            peak, channel, at = _screen_peak(
                _peak_excess(lab[:, :, 0]), _peak_excess(0.5 * (lab[:, :, 1] + lab[:, :, 2]))
            )
            evidence.update(
                spectral_peak=round(peak, 2),
                peak_channel=channel,
                peak_frequency=at,
                peak_threshold=peak_threshold,
            )
            if peak >= peak_threshold:
                confidence = max(confidence, min(1.0, 0.6 + (peak - peak_threshold) / 2.0))
    return _timed(RiskCode.SCREEN_RECAPTURE, started, confidence, evidence)

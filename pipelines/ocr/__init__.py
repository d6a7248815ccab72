"""The OCR engine interface.

Pipelines talk to an :class:`OcrEngine`, never to a model runtime. The default
engine runs PaddleOCR's PP-OCRv6 models as shipped in the ``rapidocr`` wheel on
ONNX Runtime (:mod:`pipelines.ocr.onnx`); a PaddlePaddle-backed engine is an
optional extra (:mod:`pipelines.ocr.paddle`). Engines are built once per
process with :func:`create_engine` and passed down as a parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from pydantic import BaseModel, ConfigDict, Field


class OcrConfig(BaseModel):
    """How the OCR engine is built. Frozen; unknown keys are an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["onnx", "paddle"] = "onnx"
    threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="ONNX Runtime intra-op threads per inference; the ID pipeline runs the "
        "two sides concurrently, so 1 uses two cores",
    )
    det_limit_side_len: int = Field(
        default=960, ge=320, le=4096, description="longest side the detector sees"
    )
    rec_batch_size: int = Field(
        default=2,
        ge=1,
        le=32,
        description="line crops per recognition call: the recogniser's output grows with batch "
        "x line length x its 18k-character dictionary (a batch of six long lines took ~230 MB); "
        "two was also faster on 2 cores",
    )
    rec_min_width_px: int = Field(
        default=48,
        ge=16,
        le=2048,
        description="narrowest input the recogniser is given (at its 48 px height); PaddleOCR "
        "pads to 320, which made a card's short fields (name, sex, date) cost as much as its "
        "longest lines. At 48 the ID front's recognition took 170 ms instead of 260 with the "
        "same answer on all 346 held-out cases of seeds 2066-2068",
    )
    paddle_model_dir: str | None = None


@dataclass(frozen=True, slots=True)
class TextLine:
    """One recognised line. ``box`` is a 4x2 float array in the input image's pixels,
    clockwise from the top-left of the text as written."""

    text: str
    score: float
    box: np.ndarray
    upside_down: bool = False

    @property
    def center(self) -> tuple[float, float]:
        c = self.box.mean(axis=0)
        return float(c[0]), float(c[1])

    @property
    def height(self) -> float:
        return float(np.linalg.norm(self.box[3] - self.box[0]))


@dataclass(frozen=True, slots=True)
class OcrResult:
    lines: tuple[TextLine, ...]
    elapsed_ms: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@runtime_checkable
class OcrEngine(Protocol):
    """What the pipelines need from a text engine."""

    name: str

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        """Text-line quadrilaterals (4x2 float32) in ``image`` pixels."""
        ...

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        """For each line crop: (is upside down, confidence)."""
        ...

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        """For each upright line crop: (text, confidence)."""
        ...

    def read(self, image: np.ndarray, *, classify: bool = True) -> OcrResult:
        """Detect, optionally classify direction, and recognise every line."""
        ...


def ctc_log_likelihood(log_probs: np.ndarray, labels: Sequence[int], blank: int = 0) -> float:
    """log P(labels) from per-step log-probabilities (T x C) by the CTC forward algorithm:
    the sum over every alignment of the label sequence with blanks and repeats."""
    extended = [blank]
    for label in labels:
        extended += [label, blank]
    steps, width = log_probs.shape[0], len(extended)
    alpha = np.full(width, -np.inf)
    alpha[0] = log_probs[0, blank]
    if width > 1:
        alpha[1] = log_probs[0, extended[1]]
    ext = np.array(extended)
    # a step may skip a blank between two different labels
    skip = np.zeros(width, bool)
    skip[2:] = (ext[2:] != blank) & (ext[2:] != ext[:-2])
    for t in range(1, steps):
        shifted1 = np.concatenate(([-np.inf], alpha[:-1]))
        shifted2 = np.concatenate(([-np.inf, -np.inf], alpha[:-2]))
        shifted2 = np.where(skip, shifted2, -np.inf)
        alpha = np.logaddexp(np.logaddexp(alpha, shifted1), shifted2) + log_probs[t, ext]
    tail = alpha[-1] if width == 1 else np.logaddexp(alpha[-1], alpha[-2])
    return float(tail)


def crop_line(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Perspective-crop one text quadrilateral to an upright strip."""
    import cv2

    box = box.astype(np.float32)
    width = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    height = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    width, height = max(width, 1), max(height, 1)
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(box, target)
    crop = cv2.warpPerspective(
        image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC
    )
    if height / width >= 1.5:  # a vertical line: read it turned
        crop = np.rot90(crop)
    return crop


def create_engine(config: OcrConfig | None = None) -> OcrEngine:
    """Build the configured engine; models load here, once."""
    config = config or OcrConfig()
    if config.backend == "paddle":
        from pipelines.ocr.paddle import PaddleOcrEngine

        return PaddleOcrEngine(config)
    from pipelines.ocr.onnx import OnnxOcrEngine

    return OnnxOcrEngine(config)

"""PP-OCRv6 on ONNX Runtime, with the model files shipped in the ``rapidocr`` wheel.

This is the only module that touches rapidocr's stage classes. Each model file
is checked against the SHA-256 recorded in ``models/registry.toml`` before it
is loaded, so a swapped or truncated file fails at start-up with its name.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models import ModelEntry, load_registry
from pipelines.errors import InferenceError
from pipelines.ocr import OcrConfig, OcrResult, TextLine, crop_line, ctc_log_likelihood


def _verify(entry: ModelEntry, path: Path) -> None:
    if not path.is_file():
        raise InferenceError(f"model file missing: {path} ({entry.name}); reinstall rapidocr")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != entry.sha256:
        raise InferenceError(
            f"model file {path} does not match models/registry.toml "
            f"(sha256 {digest}, expected {entry.sha256})"
        )


class OnnxOcrEngine:
    """Detection, direction classification and recognition as separate calls,
    so pipelines can detect on a small rectified card and recognise only the
    lines they need."""

    name = "rapidocr-onnx"

    def __init__(self, config: OcrConfig | None = None) -> None:
        from rapidocr import RapidOCR
        from rapidocr.ch_ppocr_rec import TextRecInput

        config = config or OcrConfig()
        self.config = config
        registry = load_registry()
        model_root = Path(__import__("rapidocr").__file__).parent / "models"
        for entry in registry.values():
            _verify(entry, model_root / entry.file)
        params = {
            "Global.log_level": "warning",
            "Global.text_score": 0.3,
            "EngineConfig.onnxruntime.intra_op_num_threads": config.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # Callers size images themselves; "max" stops the detector from
            # upscaling a small card crop to 736 px on its short side.
            "Det.limit_side_len": config.det_limit_side_len,
            "Det.limit_type": "max",
            "Rec.rec_batch_num": config.rec_batch_size,
        }
        try:
            self._rapid = RapidOCR(params=params)
            # Load all three sessions now: the first request must not pay for it.
            self._det = self._rapid._load_det_model()
            self._cls = self._rapid._load_cls_model()
            self._rec = self._rapid._load_rec_model()
        except Exception as exc:  # third-party boundary: anything here is an engine failure
            raise InferenceError(f"cannot load OCR models: {exc}") from exc
        self._rec_input = TextRecInput
        # PaddleOCR pads every recognition batch to at least its training width (320 px at
        # 48 px high): a 2-character name or a 1-character 男 then costs as much as a 7-character
        # line. The recogniser is convolutional along the line, so a batch is sized to its
        # widest crop instead, down to this floor.
        channels, height, _ = self._rec.rec_image_shape[:3]
        self._rec.rec_image_shape = [channels, height, config.rec_min_width_px]
        # What the recogniser can ever output: a declared name character outside it
        # cannot be read back, so matching must not hinge on it.
        self.charset: frozenset[str] = frozenset(self._rec.postprocess_op.character)
        self.models = {name: entry.version for name, entry in registry.items()}
        self.warm_up()

    def warm_up(self) -> None:
        """Run each model once on a tiny image so first-request latency is steady."""
        canvas = np.full((64, 256, 3), 255, np.uint8)
        import cv2

        cv2.putText(canvas, "0123", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
        self.read(canvas)

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        try:
            output = self._det(image)
        except Exception as exc:
            raise InferenceError(f"text detection failed: {exc}") from exc
        if output.boxes is None:
            return []
        return [np.asarray(box, dtype=np.float32) for box in output.boxes]

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        if not crops:
            return []
        try:
            output = self._cls([np.ascontiguousarray(c) for c in crops])
        except Exception as exc:
            raise InferenceError(f"direction classification failed: {exc}") from exc
        return [(label == "180", float(score)) for label, score in output.cls_res]

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        try:
            output = self._rec(self._rec_input(img=[np.ascontiguousarray(c) for c in crops]))
        except Exception as exc:
            raise InferenceError(f"text recognition failed: {exc}") from exc
        return [(str(t), float(s)) for t, s in zip(output.txts, output.scores, strict=True)]

    def text_log_likelihood(self, crop: np.ndarray, text: str) -> float | None:
        """log P(text | line crop) under the recogniser, summed over every CTC alignment.

        Asks the model "could this line say ``text``?" rather than "what does it say?":
        a rare character it misreads still keeps some probability where it is printed,
        while a different character that is not there gets almost none. ``None`` when
        ``text`` holds a character outside the recogniser's dictionary.
        """
        index = self._char_index
        labels = [index.get(ch) for ch in text]
        if not labels or any(label is None for label in labels):
            return None
        _, height, width = self._rec.rec_image_shape[:3]
        ratio = max(width / height, crop.shape[1] / max(crop.shape[0], 1))
        batch = self._rec.resize_norm_img(np.ascontiguousarray(crop), ratio)[np.newaxis]
        try:
            probs = np.asarray(self._rec.session(batch.astype(np.float32)))[0]
        except Exception as exc:
            raise InferenceError(f"text recognition failed: {exc}") from exc
        return ctc_log_likelihood(np.log(np.clip(probs, 1e-12, 1.0)), labels)

    @functools.cached_property
    def _char_index(self) -> dict[str, int]:
        return {ch: i for i, ch in enumerate(self._rec.postprocess_op.character) if i > 0}

    def read(self, image: np.ndarray, *, classify: bool = True) -> OcrResult:
        started = time.perf_counter()
        boxes = self.detect(image)
        detected = time.perf_counter()
        crops = [crop_line(image, box) for box in boxes]
        flags: list[tuple[bool, float]] = [(False, 1.0)] * len(crops)
        if classify and crops:
            flags = self.classify(crops)
            crops = [
                np.rot90(c, 2) if flip and conf >= 0.9 else c
                for c, (flip, conf) in zip(crops, flags, strict=True)
            ]
        classified = time.perf_counter()
        texts = self.recognize(crops)
        finished = time.perf_counter()
        lines = tuple(
            TextLine(text=t, score=s, box=b, upside_down=flip and conf >= 0.9)
            for (t, s), b, (flip, conf) in zip(texts, boxes, flags, strict=True)
            if t.strip()
        )
        return OcrResult(
            lines,
            {
                "detect": (detected - started) * 1000,
                "classify": (classified - detected) * 1000,
                "recognize": (finished - classified) * 1000,
            },
        )

"""PP-OCR on PaddlePaddle (optional extra: ``pip install 'ocr-service[paddle]'``).

Loads detection, line-orientation and recognition models from a local model
directory (``OcrConfig.paddle_model_dir`` with ``det/``, ``cls/`` and ``rec/``
sub-directories as exported by PaddleOCR 3.x); nothing is downloaded.

Status: written against PaddleOCR 3.x's module API but NOT exercised by the test
suite, because neither PaddlePaddle nor the Paddle-format model files are
installed here. ``tests/test_ocr_engine.py`` runs it when
``OCR_SERVICE_PADDLE_MODEL_DIR`` points at such a directory.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipelines.errors import InferenceError
from pipelines.ocr import OcrConfig, OcrResult, TextLine, crop_line


class PaddleOcrEngine:
    name = "paddleocr"

    def __init__(self, config: OcrConfig) -> None:
        if not config.paddle_model_dir:
            raise InferenceError("the paddle backend needs OcrConfig.paddle_model_dir")
        root = Path(config.paddle_model_dir)
        try:
            from paddleocr import TextDetection, TextLineOrientationClassification, TextRecognition

            self._det = TextDetection(model_dir=str(root / "det"))
            self._cls = TextLineOrientationClassification(model_dir=str(root / "cls"))
            self._rec = TextRecognition(model_dir=str(root / "rec"))
        except Exception as exc:  # third-party boundary
            raise InferenceError(f"cannot load PaddleOCR models from {root}: {exc}") from exc

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        try:
            (result,) = self._det.predict(image)
        except Exception as exc:
            raise InferenceError(f"text detection failed: {exc}") from exc
        return [np.asarray(poly, np.float32).reshape(4, 2) for poly in result["dt_polys"]]

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        if not crops:
            return []
        try:
            results = self._cls.predict(list(crops))
        except Exception as exc:
            raise InferenceError(f"direction classification failed: {exc}") from exc
        return [
            (r["label_names"][0] in ("180", "180_degree"), float(r["scores"][0])) for r in results
        ]

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        if not crops:
            return []
        try:
            results = self._rec.predict(list(crops))
        except Exception as exc:
            raise InferenceError(f"text recognition failed: {exc}") from exc
        return [(str(r["rec_text"]), float(r["rec_score"])) for r in results]

    def read(self, image: np.ndarray, *, classify: bool = True) -> OcrResult:
        started = time.perf_counter()
        boxes = self.detect(image)
        crops = [crop_line(image, box) for box in boxes]
        flags = self.classify(crops) if classify else [(False, 1.0)] * len(crops)
        crops = [np.rot90(c, 2) if down else c for c, (down, _) in zip(crops, flags, strict=True)]
        texts = self.recognize(crops)
        lines = tuple(
            TextLine(t, s, b, upside_down=down)
            for (t, s), b, (down, _) in zip(texts, boxes, flags, strict=True)
            if t.strip()
        )
        return OcrResult(lines, {"total": (time.perf_counter() - started) * 1000})

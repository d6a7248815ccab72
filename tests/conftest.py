"""Session-wide fixtures: the OCR models are loaded once for the whole run."""

from __future__ import annotations

import pytest

from pipelines.ocr import OcrConfig, OcrEngine, create_engine


@pytest.fixture(scope="session")
def ocr_engine() -> OcrEngine:
    """The real PP-OCRv6 ONNX engine, built once per test session."""
    return create_engine(OcrConfig())

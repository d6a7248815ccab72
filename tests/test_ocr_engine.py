"""The OCR engine seam: the real ONNX engine, model checksums, and the optional Paddle engine."""

from __future__ import annotations

import os

import numpy as np
import pytest

from models import load_registry
from pipelines.errors import InferenceError
from pipelines.ocr import OcrConfig, OcrEngine, create_engine
from pipelines.ocr import onnx as onnx_engine
from samples.id_card.identities import identities
from samples.id_card.render import render_front


def test_registry_lists_the_three_shipped_models() -> None:
    registry = load_registry()
    assert set(registry) == {"det", "rec", "cls"}
    assert all(len(entry.sha256) == 64 for entry in registry.values())


def test_engine_reads_a_rendered_card(ocr_engine: OcrEngine) -> None:
    identity = identities(3, 1)[0]
    card = render_front(identity)
    text = "".join(line.text for line in ocr_engine.read(card).lines)
    assert identity.id_number in text and identity.name in text


def test_upside_down_lines_are_classified(ocr_engine: OcrEngine) -> None:
    card = render_front(identities(4, 1)[0])
    upright = ocr_engine.read(card)
    turned = ocr_engine.read(np.ascontiguousarray(card[::-1, ::-1]))
    assert not any(line.upside_down for line in upright.lines if len(line.text) > 4)
    assert all(line.upside_down for line in turned.lines if len(line.text) > 4)


def test_a_changed_model_file_fails_at_start_up(tmp_path, monkeypatch) -> None:
    registry = load_registry()
    entry = registry["det"]
    fake = tmp_path / entry.file
    fake.write_bytes(b"not a model")
    with pytest.raises(InferenceError, match="does not match"):
        onnx_engine._verify(entry, fake)
    with pytest.raises(InferenceError, match="missing"):
        onnx_engine._verify(entry, tmp_path / "absent.onnx")


def test_thread_count_is_configurable() -> None:
    with pytest.raises(ValueError):
        OcrConfig(threads=0)
    with pytest.raises(ValueError):
        OcrConfig(thread=2)  # a typo is an error, not a silent default


@pytest.mark.skipif(
    not os.environ.get("OCR_SERVICE_PADDLE_MODEL_DIR"),
    reason="PaddlePaddle models are not installed here; set OCR_SERVICE_PADDLE_MODEL_DIR to run",
)
def test_paddle_engine_reads_a_card() -> None:
    engine = create_engine(
        OcrConfig(backend="paddle", paddle_model_dir=os.environ["OCR_SERVICE_PADDLE_MODEL_DIR"])
    )
    card = render_front(identities(3, 1)[0])
    assert engine.read(card).lines

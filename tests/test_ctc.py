"""CTC likelihood: the forward algorithm against brute force, and the recogniser asked
whether a card's name line could say a different name."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.ocr import ctc_log_likelihood


def _brute(log_probs: np.ndarray, labels: list[int]) -> float:
    total = 0.0
    steps, classes = log_probs.shape
    for path in itertools.product(range(classes), repeat=steps):
        collapsed, previous = [], None
        for c in path:
            if c != previous and c != 0:
                collapsed.append(c)
            previous = c
        if collapsed == labels:
            total += math.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
    return math.log(total) if total > 0 else -math.inf


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=1, max_value=5),
    st.lists(st.integers(min_value=1, max_value=2), min_size=1, max_size=3),
    st.integers(min_value=0, max_value=2**31),
)
def test_forward_algorithm_equals_the_sum_over_alignments(steps, labels, seed) -> None:
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet(np.ones(3), size=steps)
    log_probs = np.log(probs)
    expected = _brute(log_probs, labels)
    got = ctc_log_likelihood(log_probs, labels)
    if math.isinf(expected):
        assert got < -1e6 or math.isinf(got)
    else:
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


def test_the_recogniser_finds_a_different_name_far_less_likely(ocr_engine) -> None:
    from pipelines.id_card import IdCardConfig, Side
    from pipelines.id_card.fields import group_rows
    from pipelines.id_card.pipeline import inspect_side
    from pipelines.ocr import crop_line

    golden = Path(__file__).resolve().parents[1] / "samples" / "golden" / "id"
    inspection = inspect_side(
        (golden / "a_front.jpg").read_bytes(), Side.FRONT, ocr_engine, IdCardConfig()
    )
    card = inspection.reading.card
    row = next(r for _, text, r in group_rows(inspection.reading.lines) if "姓名" in text)
    line = next(ln for ln in row if ln.text.replace(" ", "") != "姓名")
    crop = crop_line(card, line.box)
    as_read = ocr_engine.text_log_likelihood(crop, line.text)
    other = line.text[:-1] + ("明" if line.text[-1] != "明" else "亮")
    assert as_read > -1.0  # the reading itself is likely
    assert (
        ocr_engine.text_log_likelihood(crop, other) - as_read
        < IdCardConfig().name_min_log_likelihood_ratio
    )
    assert ocr_engine.text_log_likelihood(crop, "姓名\U00020000") is None  # outside the dictionary

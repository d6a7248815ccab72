"""Metamorphic: a page skewed by theta measures theta +- epsilon (no OCR involved)."""

from __future__ import annotations

import random

import pytest

from pipelines.certificate.quality import ink_gray, ink_mask
from pipelines.certificate.skew import estimate_skew
from pipelines.geometry import resize_long_side
from samples.certificate.generate import make_scan, random_spec


@pytest.fixture(scope="module")
def specs():
    rng = random.Random(42)
    return [random_spec(rng, width_px=1100, noise=4.0) for _ in range(2)]


@pytest.mark.parametrize("theta", [-7.5, -2.2, -1.0, 0.0, 0.4, 1.9, 4.3])
def test_skew_measures_the_applied_angle(specs, theta: float) -> None:
    for i, spec in enumerate(specs):
        for rotation in (0, 90):
            page = make_scan(
                spec.__class__(**{**spec.__dict__, "skew_degrees": theta, "rotation": rotation}), i
            )
            work, _ = resize_long_side(page, 1200)
            result = estimate_skew(ink_mask(ink_gray(work)))
            assert result.degrees is not None
            assert abs(result.degrees - theta) < 0.3, (i, rotation, result)


def test_blank_mask_has_no_skew() -> None:
    import numpy as np

    assert estimate_skew(np.zeros((500, 400), np.uint8)).degrees is None

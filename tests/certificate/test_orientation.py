"""Which way up a page is: sideways phone photos whose lines the detector mostly misses."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from pipelines.certificate import validate_certificate
from pipelines.certificate.orientation import estimate_orientation
from samples.certificate_random.generate import make_case


@cache
def page(index: int, category: str, seed: int = 14) -> tuple[bytes, str, int, str]:
    case, data = make_case(index, category, seed)
    return data, case.file, case.rotation, case.capture


def test_sideways_phone_photo_with_one_line_found_is_sideways(ocr_engine) -> None:
    # A phone photo of a 学信网-style report turned a quarter: on the detector's small copy
    # only one line was found running down the page (the title), too few to tell which
    # way up, and the page was accepted with no reasons. The detector's second look at
    # the page turned a quarter finds its lines running across.
    data, name, rotation, capture = page(175, "sideways")
    assert (rotation, capture) == (270, "phone")
    report = validate_certificate(data, name, engine=ocr_engine)
    assert report.reason_codes == ["SIDEWAYS"], report.to_dict()
    assert report.checks["orientation_degrees"] == 270
    assert report.checks["orientation_second_look"] is True
    assert report.checks["text_down_px"] > 3 * report.checks["text_across_px"]
    assert report.fixable
    # the same page upright (the same draws but the turn) is accepted as upright
    data, name, rotation, _ = page(175, "good")
    assert rotation == 0
    upright = validate_certificate(data, name, engine=ocr_engine)
    assert upright.accepted, upright.to_dict()
    assert upright.checks["orientation_degrees"] == 0


class _Engine:
    """Reads every line the right way up; counts what it is asked."""

    def __init__(self) -> None:
        self.classified = 0

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        self.classified += len(crops)
        return [(False, 0.99) for _ in crops]


def _box(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def test_few_lines_are_looked_at_again_on_the_page_turned_a_quarter() -> None:
    image = np.full((600, 400, 3), 255, np.uint8)
    looked_at: list[tuple[int, ...]] = []

    def detect(turned: np.ndarray) -> list[np.ndarray]:
        looked_at.append(turned.shape)
        return [_box(40, 40 + 30 * k, 300, 20) for k in range(6)]  # across the turned page

    # one line running down the page as given: sideways once the second look agrees
    engine = _Engine()
    result = estimate_orientation(image, [_box(50, 50, 20, 300)], engine, detect=detect)  # type: ignore[arg-type]
    assert looked_at == [(400, 600, 3)]
    assert result.sideways and result.degrees == 270 and result.second_look
    assert engine.classified == 6
    # without the second look the one line is too few: orientation unknown
    old = estimate_orientation(image, [_box(50, 50, 20, 300)], _Engine())  # type: ignore[arg-type]
    assert old.degrees is None
    # enough lines running across: no second look, upright
    looked_at.clear()
    across = [_box(40, 40 + 30 * k, 300, 20) for k in range(6)]
    upright = estimate_orientation(image, across, _Engine(), detect=detect)  # type: ignore[arg-type]
    assert looked_at == [] and upright.degrees == 0 and not upright.second_look


def test_second_look_finding_lines_down_the_turned_page_keeps_it_upright() -> None:
    # Few lines across the page; the turned copy finds them again, now running down it.
    image = np.full((600, 400, 3), 255, np.uint8)
    across = [_box(40, 40 + 30 * k, 300, 20) for k in range(3)]
    result = estimate_orientation(
        image,
        across,
        _Engine(),  # type: ignore[arg-type]
        detect=lambda turned: [_box(500 - 30 * k, 40, 20, 300) for k in range(3)],
    )
    assert result.degrees == 0 and not result.sideways
    assert result.across_weight > 0 and result.down_weight == 0

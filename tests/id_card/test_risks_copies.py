"""Colour copies of the portrait side and two cards in one photo (issue 12), on images the
generators draw: ``samples.id_attacks`` (colour_copy, two_cards), ``samples.id_random``
(genuine captures) and the golden ``samples.id_card`` pairs."""

from __future__ import annotations

import random
from pathlib import Path

import cv2
import numpy as np
import pytest

from pipelines.id_card.config import IdCardConfig
from pipelines.id_card.result import Side
from pipelines.id_card.risks import RiskCode, count_cards, detect_photocopy

GOLDEN = Path(__file__).resolve().parents[2] / "samples" / "golden" / "id"


def _art(seed: int, side: str) -> object:
    from samples.id_attacks.generate import _card

    return _card(random.Random(seed), np.random.default_rng(seed), side)[1]


# --- colour copy of the portrait side: the card's art, no OCR -----------------------------


def _photographed(art: object, seed: int) -> np.ndarray:
    """``art`` photographed as samples.id_attacks does, rectified at its true corners."""
    from pipelines.id_card.outline import rectify_card
    from samples.id_attacks.generate import _photo

    data, truth = _photo(art, random.Random(seed + 100), np.random.default_rng(seed + 100))
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return rectify_card(image, np.array(truth.corners, np.float32), width=856, height=540)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_colour_copy_of_a_front_flags_and_its_original_does_not(seed: int) -> None:
    """The same card and the same shot, once genuine and once a colour copy
    (samples.id_attacks' _copy_art): only the copy flags, its labels and portrait faded."""
    from samples.id_attacks.generate import _copy_art

    art = _art(seed, "front")
    genuine = detect_photocopy(_photographed(art, seed), Side.FRONT)
    copy_art = _copy_art(art, np.random.default_rng(seed), colour=True, rng=random.Random(seed))
    copy = detect_photocopy(_photographed(copy_art, seed), Side.FRONT)
    assert genuine.confidence < 0.5, genuine.evidence
    assert genuine.evidence["front_colour"] >= genuine.evidence["front_colour_min_square"]
    assert copy.confidence >= 0.8, copy.evidence
    assert copy.evidence["finding"].startswith("faded_front")
    assert copy.evidence["front_colour"] < genuine.evidence["front_colour"] / 2


def test_a_front_copy_is_not_judged_where_the_portrait_is_not_placed() -> None:
    from samples.id_attacks.generate import _copy_art

    art = _art(4, "front")
    copy_art = _copy_art(art, np.random.default_rng(4), colour=True, rng=random.Random(4))
    signal = detect_photocopy(_photographed(copy_art, 4), Side.FRONT, region_placed=False)
    assert signal.confidence < 0.5 and "front_colour" not in signal.evidence


# --- two cards: the read card's layout repeated beside it, no OCR ------------------------


def _desk(seed: int, cards: int) -> tuple[np.ndarray, np.ndarray]:
    """A wood-like desk with ``cards`` cards of one side side by side (touching papers of
    printed lines under them); the corners of the first card."""
    rng = np.random.default_rng(seed)
    h, w = 900, 1600
    y, x = np.mgrid[0:h, 0:w]
    grain = 120 + 18 * np.sin(y / 7.0 + 2 * np.sin(x / 90.0))
    desk = np.stack([grain * 0.55, grain * 0.8, grain * 1.1], axis=2)
    sheet = np.full((620, 600, 3), 236.0)
    for row in range(40, 600, 22):  # a printed page overlapping both cards
        sheet[row : row + 7, 40 : 40 + int(rng.integers(300, 540))] = 70
    desk[150:770, 480:1080] = sheet
    first = None
    for k in range(cards):
        art = _art(7 + k, "back")
        card = cv2.resize(art.image, (640, 404), interpolation=cv2.INTER_AREA)
        x0, y0 = 60 + 760 * k, 240 + 30 * k
        desk[y0 : y0 + 404, x0 : x0 + 640] = card
        if first is None:
            first = np.array(
                [[x0, y0], [x0 + 640, y0], [x0 + 640, y0 + 404], [x0, y0 + 404]], np.float32
            )
    desk += rng.normal(0, 2.0, desk.shape)
    return np.clip(desk, 0, 255).astype(np.uint8), first


def test_a_second_card_of_the_same_layout_is_found_without_its_outline() -> None:
    image, corners = _desk(3, cards=2)
    signal = count_cards(image, (), corners)
    assert signal.evidence["layout_second_card"], signal.evidence
    assert signal.evidence["layout_match"] >= signal.evidence["layout_match_min"]
    assert signal.confidence >= 0.5


def test_one_card_beside_a_printed_page_is_one_card() -> None:
    image, corners = _desk(3, cards=1)
    signal = count_cards(image, (), corners)
    assert not signal.evidence["layout_second_card"], signal.evidence
    assert signal.confidence < 0.5


# --- end to end on generated photos (decode, outline, read, risks) -----------------------


def _risk_pipeline(engine: object, config: IdCardConfig) -> object:
    from pipelines.id_card.pipeline import side_pipeline

    return side_pipeline(engine, config).until("risks")  # type: ignore[arg-type]


def _assess(pipeline: object, data: bytes, side: Side) -> tuple[list[str], dict, dict]:
    report = pipeline.run({"data": data, "side": side})  # type: ignore[attr-defined]
    assessment = report["risks"].output
    return (
        [s.code.value for s in assessment.flagged],
        dict(assessment[RiskCode.PHOTOCOPY].evidence),
        dict(assessment[RiskCode.MULTIPLE_CARDS].evidence),
    )


@pytest.mark.slow
def test_generated_colour_copy_fronts_flag_and_genuine_fronts_do_not(ocr_engine) -> None:
    """samples.id_attacks colour_copy fronts of seed 2026 (0/13 before this check) flag
    PHOTOCOPY as faded fronts; a samples.id_random genuine front and a golden one do not."""
    from samples.id_attacks.generate import build_attack
    from samples.id_random.generate import build_case

    pipeline = _risk_pipeline(ocr_engine, IdCardConfig())
    for i in (2, 16, 25):
        case, data = build_attack("colour_copy", i, 2026)
        assert case["side"] == "front"
        flagged, copy, _ = _assess(pipeline, data, Side.FRONT)
        assert "PHOTOCOPY" in flagged, (i, copy)
        assert copy["finding"].startswith("faded_front"), (i, copy)
    _, images = build_case(1, 2026)  # good_flat
    for data in (images["front"], (GOLDEN / "a_front.jpg").read_bytes()):
        flagged, copy, _ = _assess(pipeline, data, Side.FRONT)
        assert "PHOTOCOPY" not in flagged, copy
        assert copy["front_colour"] >= copy["front_colour_min_square"], copy


@pytest.mark.slow
def test_generated_two_cards_missed_by_outlines_flag_by_layout(ocr_engine) -> None:
    """samples.id_attacks two_cards of seed 2026 whose outlines did not close (cards on
    papers, touching, of another tint) flag MULTIPLE_CARDS by the layout match; genuine
    captures (samples.id_random, golden) match nothing beside the card."""
    from samples.id_attacks.generate import build_attack
    from samples.id_random.generate import build_case

    pipeline = _risk_pipeline(ocr_engine, IdCardConfig())
    for i in (17, 30, 34):
        case, data = build_attack("two_cards", i, 2026)
        flagged, _, cards = _assess(pipeline, data, Side(case["side"]))
        assert "MULTIPLE_CARDS" in flagged, (i, cards)
        assert cards["layout_second_card"], (i, cards)
    _, images = build_case(1, 2026)
    for data, side in (
        (images["front"], Side.FRONT),
        (images["back"], Side.BACK),
        ((GOLDEN / "a_front.jpg").read_bytes(), Side.FRONT),
        ((GOLDEN / "a_back.jpg").read_bytes(), Side.BACK),
    ):
        flagged, _, cards = _assess(pipeline, data, side)
        assert "MULTIPLE_CARDS" not in flagged, cards
        assert cards["layout_match"] < cards["layout_match_min"], cards


class _Drawn:
    """A stand-in for ``random.Random`` that hands ``_copy_art`` chosen values in turn."""

    def __init__(self, *values: float) -> None:
        self._values = list(values)

    def uniform(self, low: float, high: float) -> float:
        return self._values.pop(0)


def test_an_emblem_copy_that_kept_some_colour_flags_only_with_square_corners() -> None:
    """A colour copy whose emblem kept more colour than a copier usually leaves (52-59 on
    the attack seeds, under the 60 of genuine emblems but over the 45 that flags alone)
    flags where the card has square corners, cut from the copy's sheet; the genuine card
    photographed the same way, rounded corners and a saturated emblem, does not."""
    from samples.id_attacks.generate import _copy_art

    art = _art(6, "back")
    genuine = detect_photocopy(_photographed(art, 6), Side.BACK)
    kept = 53.0 / genuine.evidence["emblem_chroma"]  # the copy's emblem at about 53
    copy_art = _copy_art(art, np.random.default_rng(6), colour=True, rng=_Drawn(kept, 0.97, 248))
    copy = detect_photocopy(_photographed(copy_art, 6), Side.BACK)
    assert genuine.confidence < 0.5 and genuine.evidence["emblem_chroma"] >= 60, genuine.evidence
    assert 45 <= copy.evidence["emblem_chroma"] < 60, copy.evidence
    assert copy.confidence >= 0.8, copy.evidence
    assert copy.evidence["finding"] == "faded_emblem_square_corners"
    assert copy.evidence["corner_tip_difference"] < copy.evidence["square_corner_max"]

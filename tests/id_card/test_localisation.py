"""Genuine cards framed as users frame them, from the independent generator (samples.id_random),
end to end on the real models: each must verify, and the way the card was found is recorded.
Defects that depend on framing get the right code. Cases are drawn with their own seed, so
none of them belongs to the evaluation set the thresholds were tuned or judged on."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from pipelines.id_card import Declaration, IdVerification, verify_id_card
from pipelines.id_card.pipeline import inspect_side
from pipelines.id_card.result import Side
from samples.id_random.generate import TODAY, build_case

SEED = 77
MAX_SIDE = 1600  # phone photos are decoded at 2000 px at most; 1600 keeps the suite quick


@pytest.fixture(scope="module")
def cases() -> dict[str, tuple[dict[str, Any], dict[str, bytes]]]:
    built = {}
    for i, category in enumerate(
        (
            "good_fill",
            "good_flat",
            "good_white_paper",
            "good_busy",
            "good_hand",
            "good_rotated",
            "good_near_edge",
            "good_bright",
            "cut_off",
            "no_card",
        )
    ):
        built[category] = build_case(i, SEED, max_side=MAX_SIDE, category=category)
    return built


def _verify(case: tuple[dict[str, Any], dict[str, bytes]], engine) -> IdVerification:
    entry, images = case
    return verify_id_card(
        images["front"],
        images["back"],
        Declaration(entry["declared_name"], entry["declared_id_number"]),
        engine=engine,
        today=date.fromisoformat(str(TODAY)),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "category",
    [
        "good_fill",
        "good_flat",
        "good_white_paper",
        "good_busy",
        "good_hand",
        "good_rotated",
        "good_near_edge",
        "good_bright",
    ],
)
def test_genuine_cards_framed_as_users_frame_them_verify(cases, category, ocr_engine) -> None:
    result = _verify(cases[category], ocr_engine)
    assert result.status == "verified", result.to_dict()["reasons"]
    for side in ("front", "back"):
        stages = result.measurements[side]["stages"]
        assert stages["read"]["measured"]["path"] in ("contour", "text")
        assert stages["capture"]["passed"] and stages["capture"]["limits"]


@pytest.mark.slow
def test_a_card_cut_by_the_frame_is_incomplete_and_no_card_is_not_found(cases, ocr_engine) -> None:
    for category, code in (("cut_off", "CARD_INCOMPLETE"), ("no_card", "CARD_NOT_FOUND")):
        entry, _ = cases[category]
        expected = {(r["code"], r["side"]) for r in entry["expected_reasons"]}
        result = _verify(cases[category], ocr_engine)
        assert result.status == "rejected"
        given = {(r.code.value, r.side.value if r.side else None) for r in result.reasons}
        assert expected <= given, (category, given)
        assert code in result.reason_codes


@pytest.mark.slow
def test_a_flat_crop_is_found_by_its_text(cases, ocr_engine) -> None:
    """A crop that is only the card has no outline to find: the text-anchored path reads it."""
    from pipelines.id_card import IdCardConfig

    entry, images = cases["good_flat"]
    card = images["front"]
    import cv2
    import numpy as np

    from pipelines.io import decode_image, encode_jpeg

    pixels = decode_image(card).pixels
    corners = np.array(entry["images"]["front"]["corners"], np.float32)
    x0, y0 = np.floor(corners.min(axis=0)).astype(int).clip(0)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    crop = pixels[y0:y1, x0:x1]
    crop = cv2.resize(crop, (crop.shape[1] * 3 // 4, crop.shape[0] * 3 // 4))
    inspection = inspect_side(encode_jpeg(crop), Side.FRONT, ocr_engine, IdCardConfig())
    assert inspection.reasons == []
    read = inspection.measurements["stages"]["read"]["measured"]
    assert read["path"] == "text" and read["field_scores"]["id_number"] >= 0.8


def test_a_stage_of_the_side_pipeline_can_be_swapped(ocr_engine) -> None:
    """The runner takes the stage list as data: a test replaces the outline search with one
    that finds nothing, and the card is still found by its text."""
    from pathlib import Path

    from pipelines.compose import StageResult
    from pipelines.id_card import IdCardConfig
    from pipelines.id_card.outline import OutlineResult
    from pipelines.id_card.pipeline import side_pipeline

    golden = Path(__file__).resolve().parents[2] / "samples" / "golden" / "id"
    config = IdCardConfig()
    blind = side_pipeline(ocr_engine, config).replace(
        "outline", lambda context: StageResult(output=OutlineResult(False))
    )
    inspection = inspect_side(
        (golden / "a_front.jpg").read_bytes(), Side.FRONT, ocr_engine, config, pipeline=blind
    )
    assert inspection.reasons == []
    assert inspection.measurements["stages"]["read"]["measured"]["path"] == "text"

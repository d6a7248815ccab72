"""The synthetic ID-card generator: true identities, honest ground truth, determinism,
and a committed golden set that matches the code that made it."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps
from stdnum.cn import ric

from samples.id_card.generate import REASON_CODES, golden_cases, golden_identities
from samples.id_card.identities import (
    Identity,
    add_years,
    age_on,
    identities,
    make_identity,
    validity_years,
)
from samples.id_card.photo import PhotoSpec, photograph
from samples.id_card.render import card_size, render, render_back, render_front

GOLDEN = Path(__file__).resolve().parents[2] / "samples" / "golden" / "id"


def _decode(data: bytes) -> np.ndarray:
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def people() -> list[Identity]:
    return identities(seed=11, count=80)


def test_identities_are_valid_resident_numbers(people: list[Identity]) -> None:
    for person in people:
        assert ric.is_valid(person.id_number), person
        assert ric.get_birth_date(person.id_number) == person.birth_date
        assert (int(person.id_number[16]) % 2 == 1) == (person.sex == "男")
        assert person.valid_from > person.birth_date
    assert any(p.id_number.endswith("X") for p in people), "X check characters must occur"
    assert any(len(p.name) == 2 for p in people) and any(len(p.name) == 3 for p in people)
    assert make_identity(5, check_x=True).id_number.endswith("X")
    assert make_identity(5, compound_surname=True).name.startswith("欧阳")
    assert make_identity(5, rare_name=True).name[-1] in "堃喆昇赟燊玥犇淼"


@pytest.mark.parametrize(("age", "years"), [(0, 5), (15, 5), (16, 10), (25, 10), (26, 20),
                                            (45, 20), (46, None), (70, None)])
def test_validity_rule(age: int, years: int | None) -> None:
    assert validity_years(age) == years
    person = make_identity(age, age_at_issue=age)
    assert age_on(person.birth_date, person.valid_from) == age
    expected = None if years is None else add_years(person.valid_from, years)
    assert person.valid_until == expected


def test_generated_periods_follow_the_rule_and_are_current(people: list[Identity]) -> None:
    for person in people:
        years = validity_years(age_on(person.birth_date, person.valid_from))
        if years is None:
            assert person.valid_until is None
        else:
            assert person.valid_until == add_years(person.valid_from, years)
            assert person.valid_until > date(2031, 12, 31)


def test_negative_overrides() -> None:
    expired = make_identity(3, expired=True)
    assert expired.valid_until is not None and expired.valid_until < date(2026, 1, 1)
    hmt = make_identity(3, hmt_prefix="810000")
    assert hmt.id_number.startswith("810000")
    assert hmt.id_number[-1] == ric.calc_check_digit(hmt.id_number)
    assert not ric.is_valid(hmt.id_number)  # stdnum rejects the region; the check digit is right
    printed = make_identity(3, printed_birth_date=date(1990, 1, 2))
    assert printed.birth_date != ric.get_birth_date(printed.id_number)


def test_layout_boxes_lie_on_the_card() -> None:
    person = golden_identities()["j"]
    width, height = card_size()
    for side, keys in (("front", {"name", "sex", "ethnicity", "birth", "address", "id_number"}),
                       ("back", {"title", "issuing_authority", "validity"})):
        image, layout = render(person, side)
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        assert keys <= set(layout)
        for x0, y0, x1, y1 in layout.values():
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    # The number is printed in black inside its box.
    image, layout = render(person, "front")
    x0, y0, x1, y1 = layout["id_number"]
    assert image[y0:y1, x0:x1].min() < 60


@pytest.mark.parametrize("spec", [
    PhotoSpec(seed=1, background="wood", skew_deg=4),
    PhotoSpec(seed=2, background="fabric", hand=True, rotation=90, skew_deg=-3),
    PhotoSpec(seed=3, background="paper", rotation=180, tilt=0.04),
    PhotoSpec(seed=4, background="dark", rotation=270, card_scale=0.5),
])
def test_truth_corners_of_an_in_frame_card(spec: PhotoSpec) -> None:
    person = golden_identities()["a"]
    card, layout = render(person, "front")
    data, truth = photograph(card, spec, layout)
    assert truth.out_of_frame == ()
    assert truth.corners is not None
    for x, y in truth.corners:
        assert 0 <= x < spec.frame[0] and 0 <= y < spec.frame[1]
    assert abs((truth.rotation - spec.rotation - spec.skew_deg + 180) % 360 - 180) < 8
    # Rectifying the photo with the true corners gives back the card.
    image = _decode(data)
    w, h = card.shape[1], card.shape[0]
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(np.array(truth.corners, np.float32), target)
    flat = cv2.warpPerspective(image, m, (w, h))
    x0, y0, x1, y1 = layout["id_number"]
    a = cv2.cvtColor(flat[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float32)
    b = cv2.cvtColor(card[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float32)
    if spec.hand:
        return  # the thumb may touch the bottom edge
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.8


@pytest.mark.parametrize(("edge", "expected"), [("left", {"left"}), ("top_left", {"top", "left"}),
                                                ("bottom_right", {"bottom", "right"})])
def test_out_of_frame_edges(edge: str, expected: set[str]) -> None:
    card, layout = render(golden_identities()["b"], "back")
    _, truth = photograph(card, PhotoSpec(seed=5, out_of_frame=edge), layout)  # type: ignore[arg-type]
    assert set(truth.out_of_frame) == expected


def test_photos_are_deterministic_and_seed_dependent() -> None:
    card, layout = render(golden_identities()["c"], "front")
    spec = PhotoSpec(seed=9, background="paper", hand=True, noise=3, glare_field="name")
    first, truth = photograph(card, spec, layout)
    again, truth_again = photograph(card, spec, layout)
    other, _ = photograph(card, replace(spec, seed=10), layout)
    assert first == again and truth == truth_again
    assert other != first


def test_defects_are_unambiguous() -> None:
    card, layout = render(golden_identities()["b"], "front")
    _, glare = photograph(card, PhotoSpec(seed=1, glare_field="id_number"), layout)
    assert glare.glare_saturated_fraction > 0.4
    _, dark = photograph(card, PhotoSpec(seed=1, gain=0.2), layout)
    assert dark.card_luminance < 50
    _, over = photograph(card, PhotoSpec(seed=1, gain=1.9, lift=45), layout)
    assert over.card_luminance > 235
    sharp, _ = photograph(card, PhotoSpec(seed=1), layout)
    blurry, _ = photograph(card, PhotoSpec(seed=1, defocus=7), layout)

    def sharpness(data: bytes) -> float:
        grey = cv2.cvtColor(_decode(data), cv2.COLOR_BGR2GRAY)
        return float(cv2.Laplacian(grey, cv2.CV_64F).var())

    assert sharpness(blurry) < sharpness(sharp) / 4


def test_exif_orientation_is_written_and_truth_is_upright() -> None:
    card, layout = render(golden_identities()["c"], "front")
    data, truth = photograph(card, PhotoSpec(seed=2, exif_orientation=6), layout)
    stored = Image.open(io.BytesIO(data))
    assert stored.getexif()[0x0112] == 6
    assert stored.size == (1200, 1600) and truth.stored == (1200, 1600)
    assert _decode(data).shape[:2] == (1200, 1600)  # rows, columns once upright
    upright, _ = photograph(card, PhotoSpec(seed=2), layout)
    a, b = _decode(data).astype(np.int16), _decode(upright).astype(np.int16)
    assert np.abs(a - b).mean() < 3  # same scene, only JPEG differs


def test_no_card_photo() -> None:
    data, truth = photograph(None, PhotoSpec(seed=3, background="paper"))
    assert not truth.card_present and truth.corners is None
    assert _decode(data).shape == (1200, 1600, 3)


def test_golden_manifest_matches_the_code() -> None:
    manifest = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))
    cases = golden_cases()
    assert [p["name"] for p in manifest["pairs"]] == [c.name for c in cases.cases]
    for pair, case in zip(manifest["pairs"], cases.cases, strict=True):
        assert pair["expected_codes"] == case.expected_codes
        assert set(pair["expected_codes"]) <= set(REASON_CODES)
        assert (pair["expected_status"] == "verified") == (pair["expected_codes"] == [])
        assert pair["declared_id_number"] == case.declared_id_number
    for key, person in cases.identities.items():
        assert manifest["identities"][key] == person.to_json()
    total = 0
    for name, info in manifest["images"].items():
        path = GOLDEN / name
        size = path.stat().st_size
        total += size
        assert size == info["bytes"]
        if "4000x3000" not in name:
            assert size <= 200 * 1024, name
    assert total < 6 * 1024 * 1024


def test_golden_set_covers_the_brief() -> None:
    codes = {code for case in golden_cases().cases for code in case.expected_codes}
    assert codes == set(REASON_CODES)
    names = {case.name for case in golden_cases().cases}
    assert {"rotated_90", "rotated_180", "rotated_270", "phone_4000x3000",
            "exif_orientation", "long_term_validity"} <= names
    assert sum(case.name.startswith("good_") for case in golden_cases().cases) >= 4


@pytest.mark.slow
def test_real_ocr_reads_a_clean_card(ocr_engine) -> None:
    person = golden_identities()["j"]  # rare characters 玥淼
    def read(image: np.ndarray) -> str:
        return "".join(line.text.replace(" ", "") for line in ocr_engine.read(image).lines)

    front, back = read(render_front(person)), read(render_back(person))
    assert person.name in front
    assert person.id_number in front
    assert person.issuing_authority in back
    assert person.validity_text in back


def test_random_set_command_writes_pairs(tmp_path: Path) -> None:
    from samples.id_card.generate import main

    assert main([str(tmp_path), "--count", "2", "--seed", "4"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["pairs"]) == 2
    for pair in manifest["pairs"]:
        assert (tmp_path / pair["front"]).is_file() and (tmp_path / pair["back"]).is_file()
        assert pair["expected_status"] in ("verified", "rejected")
        assert ric.is_valid(pair["declared_id_number"])

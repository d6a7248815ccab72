"""The second, domain-randomised ID-card generator (samples.id_random): deterministic, split
stably, true identities, and ground truth that matches each category. No OCR here."""

from __future__ import annotations

import io
import random
from datetime import date
from typing import Any

import pytest
from PIL import Image, ImageOps
from stdnum.cn import ric

from samples.id_random.generate import (
    CATEGORIES,
    DEFECTS,
    GOOD,
    TODAY,
    build_case,
    category_of,
    split_of,
)
from samples.id_random.people import NEWER_THAN_BIRTH, make_person

SMALL = 480  # long side of the test photos: enough for geometry, fast to make


@pytest.fixture(scope="module")
def one_per_category() -> dict[str, tuple[dict[str, Any], dict[str, bytes]]]:
    return {cat: build_case(i, 11, max_side=SMALL, category=cat)
            for i, cat in enumerate(CATEGORIES)}


def _inside(corners: list[list[float]], size: list[int] | tuple[int, int]) -> bool:
    w, h = size
    return all(-0.5 <= x <= w + 0.5 and -0.5 <= y <= h + 0.5 for x, y in corners)


def test_same_seed_same_case_other_seed_other_case() -> None:
    a_case, a_images = build_case(3, 5, max_side=320)
    b_case, b_images = build_case(3, 5, max_side=320)
    assert a_case == b_case
    assert a_images == b_images
    c_case, _ = build_case(3, 6, max_side=320)
    assert c_case["person"] != a_case["person"]


def test_split_is_stable_and_both_halves_are_used() -> None:
    names = [f"r{i:04d}_{category_of(i, 2026)}" for i in range(60)]
    splits = [split_of(n) for n in names]
    assert splits == [split_of(n) for n in names]
    assert set(splits) == {"tune", "heldout"}
    assert split_of("r0000_good") == split_of("r0000_good")


def test_categories_are_balanced() -> None:
    cats = [category_of(i, 2026) for i in range(98)]
    good = sum(c in GOOD for c in cats)
    assert 0.5 <= good / len(cats) <= 0.6
    assert set(cats) == set(CATEGORIES)


def test_numbers_have_valid_check_digits_and_old_births_in_new_regions() -> None:
    people = [make_person(random.Random(k), TODAY) for k in range(200)]
    for p in people:
        assert p.id_number[-1] == ric.calc_check_digit(p.id_number[:17] + "0")
        assert p.id_number[6:14] == p.birth_date.strftime("%Y%m%d")
        assert 2 <= len(p.name) <= 4
        if p.valid_until is not None:
            assert p.valid_until > TODAY
    newer = [p for p in people
             if p.region in NEWER_THAN_BIRTH and p.birth_date.year < NEWER_THAN_BIRTH[p.region]]
    assert newer, "no region code newer than its holder's birth year"
    assert any(p.name[:2] in ("欧阳", "司马", "诸葛", "上官", "皇甫", "东方") for p in people)


def test_every_category_has_consistent_ground_truth(one_per_category: dict) -> None:
    for cat, (case, images) in one_per_category.items():
        assert case["category"] == cat
        assert set(images) == {"front", "back"}
        truths = case["images"]
        if cat in GOOD or cat in ("name_mismatch", "number_mismatch", "expired"):
            for slot in ("front", "back"):
                t = truths[slot]
                assert t["shows"] == slot
                assert _inside(t["corners"], t["size"]), (cat, slot, t["corners"])
                assert t["visible_fraction"] > 0.999
        if cat in GOOD:
            assert case["expected_status"] == "verified"
            assert case["expected_reasons"] == []
            continue
        assert case["expected_status"] == "rejected"
        codes = {r["code"] for r in case["expected_reasons"]}
        assert codes == {DEFECTS[cat]}


def test_defect_geometry(one_per_category: dict) -> None:
    def defect_slot(cat: str) -> dict[str, Any]:
        case = one_per_category[cat][0]
        side = case["expected_reasons"][0]["side"]
        assert case["images"][side]["defect"] == cat
        return case["images"][side]

    cut = defect_slot("cut_off")
    assert not _inside(cut["corners"], cut["size"])
    assert cut["visible_fraction"] < 0.92
    assert set(cut["fields_outside"]) - {"portrait", "emblem"}
    assert defect_slot("too_small")["fill"] < 0.08
    assert defect_slot("no_card")["corners"] is None
    assert defect_slot("no_card")["shows"] is None
    glare = defect_slot("glare")
    assert glare["shot"]["glare_field"] in ("name", "id_number")
    assert glare["glare_cover"] > 0.2
    assert defect_slot("dark")["card_brightness"] < 40
    assert defect_slot("overexposed")["card_brightness"] > 225


def test_good_framing(one_per_category: dict) -> None:
    fill = one_per_category["good_fill"][0]["images"]
    assert all(fill[s]["fill"] >= 0.8 for s in ("front", "back"))
    for slot in ("front", "back"):
        t = one_per_category["good_near_edge"][0]["images"][slot]
        w, h = t["size"]
        xs = [x for x, _ in t["corners"]]
        ys = [y for _, y in t["corners"]]
        gaps = {"left": min(xs) / w, "right": 1 - max(xs) / w, "top": min(ys) / h,
                "bottom": 1 - max(ys) / h}
        if not t["messenger"]:
            assert all(0.008 <= gaps[e] <= 0.032 for e in t["shot"]["edges"]), gaps
        assert _inside(t["corners"], t["size"])


def test_content_defects(one_per_category: dict) -> None:
    case = one_per_category["expired"][0]
    assert date.fromisoformat(case["person"]["valid_until"]) < TODAY
    assert 2019 <= date.fromisoformat(case["person"]["valid_until"]).year <= 2023
    case = one_per_category["number_mismatch"][0]
    printed, declared = case["person"]["id_number"], case["declared_id_number"]
    assert printed != declared
    assert 1 <= sum(a != b for a, b in zip(printed[:17], declared[:17], strict=True)) <= 2
    case = one_per_category["name_mismatch"][0]
    assert case["declared_name"] != case["person"]["name"]
    case = one_per_category["wrong_side"][0]
    shows = {slot: case["images"][slot]["shows"] for slot in ("front", "back")}
    wrong = {r["side"] for r in case["expected_reasons"]}
    assert wrong == {slot for slot, side in shows.items() if side != slot}


def test_exif_orientation_is_undone_by_a_viewer() -> None:
    for i in range(6):
        case, images = build_case(i, 4, max_side=320, category="good_rotated")
        for slot, data in images.items():
            t = case["images"][slot]
            raw = Image.open(io.BytesIO(data))
            shown = ImageOps.exif_transpose(raw)
            assert tuple(shown.size) == tuple(t["size"])
            assert tuple(raw.size) == tuple(t["stored_size"])
            if t["exif_orientation"] in (6, 8):
                assert raw.size == shown.size[::-1]

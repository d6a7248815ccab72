"""ID-number normalisation, validation and masking, with property-based tests."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.idnumber import (
    IdNumberKind,
    RegionStatus,
    check_character,
    check_id_number,
    differing_positions,
    mask_id_number,
    mask_name,
    normalize_id_number,
    normalize_name,
    region_status,
    repair_ocr_id_number,
)

REGIONS = ["110105", "110101", "310104", "420300"]  # valid for every birth year 1930-2020


@st.composite
def valid_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(REGIONS))
    birth = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)))
    sequence = draw(st.integers(min_value=0, max_value=999))
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + check_character(body)


def to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@given(valid_numbers())
def test_valid_numbers_pass_and_report_birth_and_sex(number: str) -> None:
    check = check_id_number(number)
    assert check.valid and check.kind is IdNumberKind.RESIDENT
    assert check.birth_date == date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    assert check.sex == ("男" if int(number[16]) % 2 else "女")


@given(
    valid_numbers(), st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=9)
)
def test_any_single_character_change_is_caught(number: str, position: int, delta: int) -> None:
    chars = "0123456789X" if position == 17 else "0123456789"
    current = chars.index(number[position])
    changed = number[:position] + chars[(current + delta) % len(chars)] + number[position + 1 :]
    assert changed != number
    assert not check_id_number(changed).valid


@given(valid_numbers(), st.sampled_from([" ", "  ", "\t", "-"]))
def test_normalisation_ignores_full_width_case_and_spacing(number: str, separator: str) -> None:
    typed = to_full_width(number[:6]) + separator + number[6:14] + separator + number[14:].lower()
    assert normalize_id_number(typed) == number
    assert normalize_id_number(normalize_id_number(typed)) == number


@given(st.text(max_size=40))
def test_normalisation_is_idempotent_and_never_raises(text: str) -> None:
    once = normalize_id_number(text)
    assert normalize_id_number(once) == once
    check_id_number(text)  # must not raise on any input


@given(valid_numbers())
def test_ocr_confusions_are_repaired(number: str) -> None:
    misread = number[:17].replace("0", "O").replace("1", "I") + number[17].lower()
    assert repair_ocr_id_number(misread) == number


def test_hmt_and_foreign_prefixes_are_recognised_not_just_invalid() -> None:
    for prefix, kind in (
        ("810000", IdNumberKind.HMT_RESIDENCE_PERMIT),
        ("830000", IdNumberKind.HMT_RESIDENCE_PERMIT),
        ("910000", IdNumberKind.FOREIGN_PERMANENT_RESIDENT),
    ):
        body = f"{prefix}19900101123"
        check = check_id_number(body + check_character(body))
        assert check.kind is kind and not check.valid and check.problem is None


def test_invalid_numbers_say_why() -> None:
    assert check_id_number("4201021990010112").problem == "length"
    assert check_id_number("42010219900101123A").problem == "characters"
    body = "42010219901301123"  # month 13
    assert check_id_number(body + check_character(body)).problem == "birth_date"
    body = "00000019900101123"
    assert check_id_number(body + check_character(body)).problem == "region"


@given(valid_numbers())
def test_masking_keeps_first_six_and_last_four(number: str) -> None:
    masked = mask_id_number(number)
    assert masked[:6] == number[:6] and masked[-4:] == number[-4:]
    assert set(masked[6:14]) == {"*"} and len(masked) == 18


def test_names_and_positions() -> None:
    assert mask_name("欧阳娜娜") == "欧***"
    assert normalize_name(" 张 三 ") == "张三"
    assert normalize_name("买买提•艾力") == normalize_name("买买提·艾力")
    assert differing_positions("420102199001011234", "420112199001011234") == [5]


def _number(region: str, birth: str, serial: str = "123") -> str:
    body = f"{region}{birth}{serial}"
    return body + check_character(body)


@pytest.mark.parametrize(
    ("region", "birth", "why"),
    [
        ("420115", "19880512", "江夏区 created 1995, holder born 1988"),
        ("429005", "19850101", "潜江市 code from 1994, holder born 1985"),
        ("421002", "19700630", "沙市区 code from 1994, holder born 1970"),
        ("412723", "19900101", "商水县 code abolished in 2000 (python-stdnum #442)"),
        ("412723", "20050101", "abolished code on a card issued after abolition"),
        ("420102", "19900101", "an ordinary current code"),
    ],
)
def test_real_world_region_codes_are_valid(region: str, birth: str, why: str) -> None:
    check = check_id_number(_number(region, birth))
    assert check.valid, why
    assert check.region is RegionStatus.KNOWN
    assert check.birth_date is not None and check.birth_date.strftime("%Y%m%d") == birth


def test_region_codes_that_never_existed_are_invalid() -> None:
    for region in ("000000", "770101", "430099", "425501"):  # no province / no prefecture
        assert check_id_number(_number(region, "19900101")).problem == "region", region


def test_unlisted_county_of_a_listed_prefecture_is_accepted_and_marked() -> None:
    # 421099: 荆州市 (4210) is listed, county 99 is not. The table (Wikipedia's) misses
    # some county-level codes, so this is accepted and flagged rather than rejected.
    check = check_id_number(_number("421099", "19900101"))
    assert check.valid and check.region is RegionStatus.PREFECTURE_KNOWN
    assert region_status("421099") is RegionStatus.PREFECTURE_KNOWN
    assert region_status("420115") is RegionStatus.KNOWN


def test_birth_date_must_be_real_and_between_1900_and_today() -> None:
    today = date(2026, 11, 30)
    assert check_id_number(_number("420102", "18991231"), today=today).problem == "birth_date"
    assert check_id_number(_number("420102", "20270101"), today=today).problem == "birth_date"
    assert check_id_number(_number("420102", "20000230"), today=today).problem == "birth_date"
    assert check_id_number(_number("420102", "20261130"), today=today).valid
    assert check_id_number(_number("420102", "19000101"), today=today).valid


def test_wrong_check_character_is_a_checksum_problem() -> None:
    number = _number("420115", "19880512")
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    assert check_id_number(wrong).problem == "checksum"

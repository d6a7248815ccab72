"""Cross-field validation and the declaration match. A mismatch must never pass."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.id_card.fields import BackFields, FrontFields
from pipelines.id_card.result import Declaration
from pipelines.id_card.validation import (
    check_declaration,
    expected_validity_years,
    match_declaration,
    names_match,
    validate_back,
    validate_front,
)
from pipelines.idnumber import check_character

NUMBER = "420300199003070019"
assert check_character(NUMBER[:17]) == NUMBER[17]
FRONT = FrontFields("张晓明", "男", "汉", date(1990, 3, 7), "湖北省十堰市", NUMBER)
TODAY = date(2026, 11, 25)


def codes(reasons) -> list[str]:
    return [r.code.value for r in reasons]


@pytest.mark.parametrize(
    ("age", "years"), [(0, 5), (15, 5), (16, 10), (25, 10), (26, 20), (45, 20), (46, None)]
)
def test_validity_length_by_age_at_issue(age: int, years: int | None) -> None:
    assert expected_validity_years(age) == years


def test_consistent_card_passes() -> None:
    assert validate_front(FRONT) == []
    back = BackFields("十堰市公安局", date(2016, 5, 1), date(2036, 5, 1))  # 26 at issue: 20 years
    assert validate_back(back, FRONT.birth_date, TODAY) == []


def test_expired_and_inconsistent_validity() -> None:
    expired = BackFields(
        "十堰市公安局", date(2005, 5, 1), date(2015, 5, 1)
    )  # 25 at issue: 10 years
    assert codes(validate_back(expired, date(1980, 1, 1), TODAY)) == ["EXPIRED"]
    wrong_length = BackFields(
        "十堰市公安局", date(2016, 5, 1), date(2026, 5, 1)
    )  # 26: must be 20 years
    assert "FIELDS_INCONSISTENT" in codes(validate_back(wrong_length, FRONT.birth_date, TODAY))
    before_birth = BackFields("十堰市公安局", date(1989, 5, 1), date(1994, 5, 1))
    assert "FIELDS_INCONSISTENT" in codes(validate_back(before_birth, FRONT.birth_date, TODAY))
    long_term_too_young = BackFields("十堰市公安局", date(2016, 5, 1), None, long_term=True)
    assert "FIELDS_INCONSISTENT" in codes(
        validate_back(long_term_too_young, FRONT.birth_date, TODAY)
    )


def test_printed_birth_date_and_sex_must_agree_with_number() -> None:
    wrong_birth = FrontFields("张晓明", "男", "汉", date(1990, 3, 8), None, NUMBER)
    assert codes(validate_front(wrong_birth)) == ["FIELDS_INCONSISTENT"]
    wrong_sex = FrontFields("张晓明", "女", "汉", date(1990, 3, 7), None, NUMBER)
    assert codes(validate_front(wrong_sex)) == ["FIELDS_INCONSISTENT"]


def test_declared_hmt_number_is_routed_to_its_document_type() -> None:
    body = "81000019900101123"
    reasons = check_declaration(Declaration("陈大文", body + check_character(body)))
    assert codes(reasons) == ["ID_NUMBER_INVALID"]
    assert reasons[0].detail["document_type"] == "hmt_residence_permit"
    assert "港澳台居民居住证" in reasons[0].message


def test_number_mismatch_names_the_positions() -> None:
    typo = NUMBER[:4] + "1" + NUMBER[5:]
    reasons = match_declaration(FRONT, Declaration("张晓明", typo))
    assert codes(reasons) == ["ID_NUMBER_MISMATCH"]
    assert reasons[0].detail["positions"] == [5] and "第5位" in reasons[0].message


def test_declaration_normalisation_accepts_full_width_and_lower_x() -> None:
    front = FrontFields("李娜", "女", "汉", None, None, "11010519881102002X")
    assert (
        match_declaration(front, Declaration(" 李 娜 ", "１１０１０５１９８８１１０２００２x"))
        == []
    )


@given(st.text(min_size=1, max_size=4).filter(lambda s: s.strip() and s.strip() != "张晓明"))
def test_any_other_name_is_rejected(other: str) -> None:
    reasons = match_declaration(FRONT, Declaration(other, NUMBER))
    if names_match("张晓明", other):  # only normalisation-equal spellings may pass
        assert "".join(other.split()) == "张晓明"
    else:
        assert codes(reasons) == ["NAME_MISMATCH"]


def test_rare_character_outside_the_recogniser_matches_only_at_its_position() -> None:
    charset = frozenset("张王三李")
    assert names_match("张三", "张𠀾", charset) is False  # one known, one unknown: half unknown
    assert names_match("王李三", "王𠀾三", charset)
    assert not names_match("王李四", "王𠀾三", charset)  # known characters must still agree
    assert not names_match("王三", "王𠀾三", charset)  # and so must the length


def test_a_declared_name_with_a_character_outside_gb2312_counts_as_rare() -> None:
    """琍 and 骉 are outside GB 2312: the recogniser reads them as a common look-alike with
    full confidence, so such a name gets the likelihood second look however sure it was."""
    from pipelines.id_card.pipeline import _has_rare_character

    assert _has_rare_character("梁琍静") and _has_rare_character("骉")
    assert not _has_rare_character("诸葛亮") and not _has_rare_character("张伟")

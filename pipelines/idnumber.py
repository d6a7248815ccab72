"""Resident ID numbers (GB 11643-1999): normalisation, validation, masking.

The check character comes from python-stdnum's ``stdnum.cn.ric`` and region codes
from its table, but validity is decided here (see :func:`check_id_number`), together
with what the service needs around it: full-width and whitespace normalisation, OCR
confusion repair, recognition of numbers that look like resident numbers but
belong to other documents (港澳台居民居住证, 外国人永久居留身份证), and masking.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import opencc
from stdnum import numdb
from stdnum.cn import ric

_SEPARATORS = re.compile(r"[\s\-_.·,，。:：/]+")
# Characters the recogniser confuses with digits on the number line.
_OCR_DIGIT_FIXES = str.maketrans(
    {
        "O": "0",
        "o": "0",
        "D": "0",
        "Q": "0",
        "I": "1",
        "l": "1",
        "|": "1",
        "i": "1",
        "Z": "2",
        "z": "2",
        "S": "5",
        "s": "5",
        "B": "8",
        "G": "6",
        "b": "6",
        "g": "9",
        "q": "9",
        "×": "X",
        "Ｘ": "X",
        "x": "X",
        "乂": "X",
        "X": "X",
    }
)
HMT_PREFIXES = ("810000", "820000", "830000")


class IdNumberKind(StrEnum):
    RESIDENT = "resident"  # 居民身份证
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit"  # 港澳台居民居住证 (810000/820000/830000)
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"  # 外国人永久居留身份证 (9...)
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class IdNumberCheck:
    number: str
    kind: IdNumberKind
    valid: bool
    problem: str | None = None  # length | characters | checksum | birth_date | region
    birth_date: date | None = None
    sex: str | None = None  # "男" | "女"
    region: RegionStatus | None = None  # how the region code was found in the table


def normalize_id_number(text: str) -> str:
    """Canonical form of a typed number: NFKC (full-width to ASCII), no separators, upper X."""
    folded = unicodedata.normalize("NFKC", text)
    return unicodedata.normalize("NFKC", _SEPARATORS.sub("", folded).upper())


def repair_ocr_id_number(text: str) -> str:
    """Normalise an OCR'd number and undo letter/digit confusions (O->0, I->1, ...)."""
    folded = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    repaired = folded.translate(_OCR_DIGIT_FIXES)
    # X is only legitimate as the check character; inside the body it is a misread.
    if len(repaired) == 18:
        repaired = (
            repaired[:17].replace("X", "") + repaired[17] if "X" in repaired[:17] else repaired
        )
    return repaired


class RegionStatus(StrEnum):
    KNOWN = "known"  # the code is in the table, in any period (existing now or abolished)
    PREFECTURE_KNOWN = "prefecture_known"  # the county is not listed but its prefecture is
    UNKNOWN = "unknown"


def check_character(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits.

    (``stdnum.cn.ric.calc_check_digit`` expects all 18 characters and ignores the
    last one; passing 17 silently gives a wrong answer.)
    """
    return ric.calc_check_digit(first17 + "0")


def classify_id_number(number: str) -> IdNumberKind:
    if len(number) != 18 or not re.fullmatch(r"\d{17}[\dX]", number):
        return IdNumberKind.INVALID
    if number.startswith(HMT_PREFIXES):
        return IdNumberKind.HMT_RESIDENCE_PERMIT
    if number.startswith("9"):
        return IdNumberKind.FOREIGN_PERMANENT_RESIDENT
    return IdNumberKind.RESIDENT


def _region_entries(code: str) -> tuple[dict[str, str], dict[str, str]]:
    """(province entry, county entry) of a 6-digit code in stdnum's table, empty when absent."""
    parts = dict(_region_table().info(code))
    return parts.get(code[:2], {}), parts.get(code[2:], {})


@functools.cache
def _region_table() -> numdb.NumDB:
    return numdb.get("cn/loc")


def region_status(code: str) -> RegionStatus:
    """Whether a 6-digit administrative code ever existed.

    Numbers are assigned where a person registers, and keep their code for life, so a
    code is checked against every period of the table, never against the birth year:
    420115 (江夏区, since 1995) is on the cards of people born in 1988, and abolished
    codes such as 412723 (商水县 until 2000) stay on valid cards. The table (from
    Wikipedia, shipped in python-stdnum) misses some county-level codes, so a code whose
    province and prefecture are listed is accepted as ``PREFECTURE_KNOWN``.
    """
    if not re.fullmatch(r"\d{6}", code):
        return RegionStatus.UNKNOWN
    province, county = _region_entries(code)
    if not province:
        return RegionStatus.UNKNOWN
    if county.get("county"):
        return RegionStatus.KNOWN
    _, prefecture = _region_entries(code[:4] + "00")
    if code[2:4] != "00" and prefecture.get("county"):
        return RegionStatus.PREFECTURE_KNOWN
    return RegionStatus.UNKNOWN


def _birth_date(number: str, today: date) -> date | None:
    """The 8 digits after the region as a real date between 1900-01-01 and today."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    return born if date(1900, 1, 1) <= born <= today else None


def check_id_number(text: str, *, today: date | None = None) -> IdNumberCheck:
    """Validate a number (normalised or not) by GB 11643-1999, as real numbers are issued.

    Checks the check character, a real birth date (not before 1900, not after
    ``today``) and a region code that existed in *some* period of the table (see
    :func:`region_status`). python-stdnum's ``ric.validate`` is not used: it ties the
    region to the birth year and rejects many valid numbers.
    """
    number = normalize_id_number(text)
    if len(number) != 18:
        return IdNumberCheck(number, IdNumberKind.INVALID, False, "length")
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return IdNumberCheck(number, IdNumberKind.INVALID, False, "characters")
    kind = classify_id_number(number)
    checksum_ok = check_character(number[:17]) == number[17]
    if kind is not IdNumberKind.RESIDENT:
        # Other documents with the same structure: routed by the caller, never verified here.
        return IdNumberCheck(number, kind, False, None if checksum_ok else "checksum")
    if not checksum_ok:
        return IdNumberCheck(number, IdNumberKind.INVALID, False, "checksum")
    born = _birth_date(number, today or date.today())
    if born is None:
        return IdNumberCheck(number, IdNumberKind.INVALID, False, "birth_date")
    region = region_status(number[:6])
    if region is RegionStatus.UNKNOWN:
        return IdNumberCheck(number, IdNumberKind.INVALID, False, "region")
    return IdNumberCheck(
        number,
        kind,
        True,
        birth_date=born,
        sex="男" if int(number[16]) % 2 else "女",
        region=region,
    )


def differing_positions(a: str, b: str) -> list[int]:
    """1-based positions where two numbers differ (length differences count from the end)."""
    positions = [i + 1 for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    positions.extend(range(min(len(a), len(b)) + 1, max(len(a), len(b)) + 1))
    return positions


def mask_id_number(number: str) -> str:
    """First 6 and last 4 characters kept: ``420102********123X``."""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_name(name: str) -> str:
    """Family name kept: ``张*``, ``欧阳**``-style for any length beyond one character."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


@functools.cache
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Fold traditional characters to simplified ones (悅 -> 悦, 漢 -> 汉): the recogniser
    sometimes answers with the traditional form of a character the card prints simplified."""
    return _to_simplified().convert(text)


def normalize_name(text: str) -> str:
    """Canonical form of a name for comparison: NFKC, simplified characters, no whitespace,
    one middle dot."""
    folded = to_simplified(unicodedata.normalize("NFKC", text))
    folded = re.sub(r"[·•‧∙・\.]", "·", folded)
    return re.sub(r"\s+", "", folded)

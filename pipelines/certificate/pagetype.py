"""What the page is, read from its title and key phrases, and what ID number it prints.

The page types and their keywords are data (``certificate_types.toml``,
``[page_types]``), tried in order, most specific first: a 学位验证报告 also says 学信网,
a 学位证书 page may say 毕业. A keyword also matches with one character misread (five
characters or more), as the recogniser sometimes does on decorative title fonts; exact
matches anywhere win over such near matches.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.certificate.types import CertificateTypeTable, normalize_type_name
from pipelines.idnumber import check_id_number

_DIGIT_FIXES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1", "x": "X"})
_FUZZY_MIN = 5
_RUN = re.compile(r"[0-9]{17,}X?")


@dataclass(frozen=True, slots=True)
class PageTypeResult:
    page_type: str | None  # None: no keyword found
    keyword: str | None
    from_title: bool


def _fuzzy_contains(text: str, keyword: str) -> bool:
    """``keyword`` in ``text`` with at most one character different."""
    n = len(keyword)
    for i in range(len(text) - n + 1):
        window = text[i : i + n]
        if sum(a != b for a, b in zip(window, keyword, strict=True)) <= 1:
            return True
    return False


def classify_page(
    title_lines: Sequence[str], other_lines: Sequence[str], table: CertificateTypeTable
) -> PageTypeResult:
    """The first page type (in table order) whose keyword what was read shows exactly;
    failing that, the same with one character misread (keywords of five characters or more
    only: 执业证书 and 毕业证书 differ by one). Table order, not line order, decides: the
    学信网 banner of a 学位 report is larger than its 学位在线验证报告 line."""
    title = normalize_type_name("".join(title_lines))
    text = normalize_type_name("".join([*title_lines, *other_lines]))
    for fuzzy in (False, True):
        for page_type, (keywords, _) in table.page_types.items():
            for keyword in keywords:
                if fuzzy:
                    hit = len(keyword) >= _FUZZY_MIN and _fuzzy_contains(text, keyword)
                else:
                    hit = keyword in text
                if hit:
                    return PageTypeResult(page_type, keyword, keyword in title)
    return PageTypeResult(None, None, False)


def find_id_numbers(lines: Sequence[str]) -> list[str]:
    """18-character numbers on the page that pass the GB 11643 check (a misread digit fails
    the check and is dropped rather than reported as a different number). Lines read side
    by side in one strip can run two numbers together, so every 18-character window of a
    longer run is tried."""
    found: list[str] = []
    for line in lines:
        text = unicodedata.normalize("NFKC", line).translate(_DIGIT_FIXES)
        text = re.sub(r"(?<=[0-9])[\s·.\-](?=[0-9X])", "", text)
        for match in _RUN.finditer(text):
            run = match.group(0)
            for start in range(len(run) - 17):
                number = run[start : start + 18]
                if "X" in number[:17]:
                    continue
                if check_id_number(number).problem is None and number not in found:
                    found.append(number)
    return found

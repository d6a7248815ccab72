"""Turn OCR lines of an upright card into named fields.

Lines are grouped into rows by their vertical centre and joined left to
right, which copes with the shapes PP-OCR produces on cards: label and value
in one line (``姓名张三``), split over several (``出生1990年`` ``年3月7`` ``日``), or a
value read before its label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from pipelines.idnumber import repair_ocr_id_number
from pipelines.ocr import TextLine

_DATE = re.compile(r"(\d{4})\s*[年.\-/]+\s*(\d{1,2})\s*[月.\-/]+\s*(\d{1,2})")
_VALIDITY = re.compile(
    r"(\d{4})[.\-/年]+(\d{1,2})[.\-/月]+(\d{1,2})日?\s*[-—–~至一]+\s*"
    r"(长期|(\d{4})[.\-/年]+(\d{1,2})[.\-/月]+(\d{1,2}))"
)
_NUMBER_CANDIDATE = re.compile(r"[0-9OoDQIl|ZzSsBGbgqXx×]{17,19}")
_LABELS = (
    "公民身份号码",
    "身份号码",
    "签发机关",
    "有效期限",
    "姓名",
    "性别",
    "民族",
    "出生",
    "住址",
)


@dataclass(frozen=True, slots=True)
class FrontFields:
    name: str | None = None
    sex: str | None = None
    ethnicity: str | None = None
    birth_date: date | None = None
    address: str | None = None
    id_number: str | None = None  # repaired for OCR confusions, not yet validated


@dataclass(frozen=True, slots=True)
class BackFields:
    issuing_authority: str | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    long_term: bool = False  # 长期


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _vertical_span(line: TextLine) -> tuple[float, float]:
    ys = line.box[:, 1]
    return float(ys.min()), float(ys.max())


def group_rows(lines: tuple[TextLine, ...]) -> list[tuple[float, str, list[TextLine]]]:
    """(centre y, joined text, lines) per visual row, top to bottom.

    Two lines share a row when their vertical extents overlap by more than half
    of the shorter one, which survives the slight tilt a rectified photo keeps.
    """
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: ln.center[1]):
        top, bottom = _vertical_span(line)
        for row in rows:
            row_top = min(_vertical_span(ln)[0] for ln in row)
            row_bottom = max(_vertical_span(ln)[1] for ln in row)
            overlap = min(bottom, row_bottom) - max(top, row_top)
            shorter = min(
                bottom - top, max(_vertical_span(ln)[1] - _vertical_span(ln)[0] for ln in row)
            )
            if overlap > 0.5 * shorter:
                row.append(line)
                break
        else:
            rows.append([line])
    out = []
    for row in rows:
        row.sort(key=lambda ln: ln.center[0])
        centre = sum(ln.center[1] for ln in row) / len(row)
        out.append((centre, _clean("".join(ln.text for ln in row)), row))
    out.sort(key=lambda r: r[0])
    return out


def _parse_date(match: re.Match[str] | None, offset: int = 1) -> date | None:
    if not match:
        return None
    try:
        return date(
            int(match.group(offset)), int(match.group(offset + 1)), int(match.group(offset + 2))
        )
    except (ValueError, TypeError):
        return None


def _strip_label(text: str, label: str) -> str:
    index = text.find(label)
    if index < 0:
        return text
    return text[:index] + text[index + len(label) :]


def find_id_number(rows: list[tuple[float, str, list[TextLine]]]) -> str | None:
    """The 18-character number: the longest digit-like run, bottom rows first."""
    for _, text, _ in reversed(rows):
        body = _strip_label(_strip_label(text, "公民身份号码"), "身份号码")
        candidates = _NUMBER_CANDIDATE.findall(body)
        for candidate in sorted(candidates, key=len, reverse=True):
            repaired = repair_ocr_id_number(candidate)
            if len(repaired) == 18:
                return repaired
    return None


_NAME_ONLY = re.compile(r"[\u4e00-\u9fff·]{2,20}")


def name_row(rows: list[tuple[float, str, list[TextLine]]]) -> tuple[str, list[TextLine]] | None:
    """The name's row and its value: the row labelled 姓名 (a label read alone has its
    value as a separate line on the same row; the next row belongs to another field), else,
    when the label itself was not detected (the labels are the faintest print on the card),
    the row just above 性别/民族 if it holds nothing but a name's characters."""
    for _, text, row in rows:
        if "姓名" in text:
            return _strip_label(text, "姓名"), row
    for index, (_, text, _) in enumerate(rows):
        if "性别" in text or "民族" in text:
            if index > 0 and _NAME_ONLY.fullmatch(rows[index - 1][1]):
                return rows[index - 1][1], rows[index - 1][2]
            break
    return None


def parse_front(lines: tuple[TextLine, ...]) -> FrontFields:
    rows = group_rows(lines)
    named = name_row(rows)
    name = named[0] if named else None
    sex = ethnicity = address = None
    birth = None
    address_parts: list[str] = []
    in_address = False
    for _, text, _ in rows:
        if "姓名" in text:
            in_address = False
            continue
        if "性别" in text or "民族" in text:
            sex_match = re.search(r"[男女]", _strip_label(text, "性别"))
            sex = sex_match.group(0) if sex_match else sex
            if "民族" in text:
                ethnicity = text.split("民族", 1)[1] or ethnicity
            in_address = False
            continue
        if "出生" in text or (_DATE.search(text) and birth is None and not in_address):
            birth = _parse_date(_DATE.search(text.replace("年年", "年"))) or birth
            in_address = False
            continue
        if "住址" in text:
            in_address = True
            rest = _strip_label(text, "住址")
            if rest:
                address_parts.append(rest)
            continue
        if "身份号码" in text or _NUMBER_CANDIDATE.search(text):
            in_address = False
            continue
        if in_address:
            address_parts.append(text)
    if address_parts:
        address = "".join(address_parts)
    if name:
        name = re.sub(r"[^\w·]", "", name)
    return FrontFields(
        name=name or None,
        sex=sex,
        ethnicity=ethnicity or None,
        birth_date=birth,
        address=address,
        id_number=find_id_number(rows),
    )


def parse_back(lines: tuple[TextLine, ...]) -> BackFields:
    rows = group_rows(lines)
    authority = None
    valid_from = valid_until = None
    long_term = False
    for _, text, _ in rows:
        if "签发机关" in text:
            authority = _strip_label(text, "签发机关") or None
        match = _VALIDITY.search(_strip_label(text, "有效期限"))
        if match:
            valid_from = _parse_date(match, 1)
            long_term = match.group(4) == "长期"
            valid_until = None if long_term else _parse_date(match, 5)
    return BackFields(authority or None, valid_from, valid_until, long_term)


def _row_score(row: list[TextLine]) -> float:
    return min(line.score for line in row)


def front_field_scores(lines: tuple[TextLine, ...]) -> dict[str, float | None]:
    """The recogniser's confidence in each key field of the portrait side (the lowest of
    the lines its row is made of), ``None`` where the field was not found."""
    rows = group_rows(lines)
    scores: dict[str, float | None] = {"name": None, "id_number": None}
    named = name_row(rows)
    if named and named[0]:
        scores["name"] = _row_score(named[1])
    for _, text, row in reversed(rows):
        body = _strip_label(_strip_label(text, "公民身份号码"), "身份号码")
        if any(len(repair_ocr_id_number(c)) == 18 for c in _NUMBER_CANDIDATE.findall(body)):
            number_lines = [ln for ln in row if _NUMBER_CANDIDATE.search(_clean(ln.text))]
            scores["id_number"] = _row_score(number_lines or row)
            break
    return scores


def back_field_scores(lines: tuple[TextLine, ...]) -> dict[str, float | None]:
    """As :func:`front_field_scores`, for the emblem side's authority and validity."""
    scores: dict[str, float | None] = {"issuing_authority": None, "validity": None}
    for _, text, row in group_rows(lines):
        if "签发机关" in text and _strip_label(text, "签发机关"):
            scores["issuing_authority"] = _row_score(row)
        if _VALIDITY.search(_strip_label(text, "有效期限")):
            scores["validity"] = _row_score(row)
    return scores

"""Parse 姓名+身份证号+证书名称+第几页 out of a file name.

Separators between the parts may be ``+``, ``_``, ``-``, a space, or nothing; the
page is ``1`` or ``第1页`` (also ``第一页``, ``P1``). The ID number is checked by
GB 11643 (python-stdnum via :mod:`pipelines.idnumber`); the certificate name
against :mod:`pipelines.certificate.types`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pipelines.certificate.types import CertificateTypeTable
from pipelines.idnumber import IdNumberKind, check_id_number, mask_id_number, mask_name

_SEP = r"[\s+＋_\-－—]"
_ANY_DIGIT_RUN = re.compile(r"\d{15,}[XxＸｘ]?")  # \d: every Unicode digit, as NFKC folds them
_DIGIT_RUN = re.compile(r"(?<![0-9])([0-9]{15,}[Xx]?)(?![0-9])")
_PAGE = re.compile(
    rf"{_SEP}*(?:第\s*(?P<a>[0-9]{{1,3}}|[一二三四五六七八九十]{{1,3}})\s*页|[Pp](?:age)?\s*(?P<b>[0-9]{{1,3}})|(?P<c>[0-9]{{1,3}}))\s*$"
)
_NAME = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff·A-Za-z]{2,30}$")
_CN_NUM = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}


@dataclass(frozen=True, slots=True)
class ParsedFilename:
    """What the name says. Raw values stay inside the pipeline; ``masked`` is for records."""

    stem: str
    extension: str  # lower case, no dot; "" when missing
    name: str | None = None
    id_number: str | None = None
    id_valid: bool = False
    id_problem: str | None = None
    id_kind: str | None = None
    certificate_text: str | None = None  # as written
    certificate_type: str | None = None  # canonical
    certificate_candidates: tuple[str, ...] = ()
    page: int | None = None
    missing: tuple[str, ...] = ()  # parts that could not be found

    @property
    def complete(self) -> bool:
        return not self.missing and self.id_valid and self.certificate_type is not None

    def canonical(self, extension: str | None = None) -> str | None:
        """``张三+420102199003071234+医师资格证+1.jpg``, or None if a part is unknown."""
        if not self.complete or self.name is None or self.page is None:
            return None
        ext = extension or self.extension or "jpg"
        return f"{self.name}+{self.id_number}+{self.certificate_type}+{self.page}.{ext}"

    def masked(self) -> dict[str, object]:
        return {
            "name": mask_name(self.name) if self.name else None,
            "id_number": mask_id_number(self.id_number) if self.id_number else None,
            "id_valid": self.id_valid,
            "certificate_type": self.certificate_type,
            "certificate_text": self.certificate_text,
            "page": self.page,
            "extension": self.extension,
        }

    def masked_filename(self, original: str) -> str:
        """The original name with every ID-like digit run (15 digits or more, any width:
        full-width digits count) and the given name masked."""
        out = _ANY_DIGIT_RUN.sub(lambda m: mask_id_number(m.group(0)), original)
        if self.name and len(self.name) > 1:
            out = out.replace(self.name, mask_name(self.name))
        return out


def split_extension(filename: str) -> tuple[str, str]:
    base = re.split(r"[\\/]", filename)[-1]
    if "." in base.strip(".") and not base.endswith("."):
        stem, _, ext = base.rpartition(".")
        return stem, ext.lower().strip()
    return base, ""


def parse_filename(filename: str, table: CertificateTypeTable) -> ParsedFilename:
    """Split a file name into its four parts; never raises."""
    stem, ext = split_extension(filename)
    text = unicodedata.normalize("NFKC", stem).strip()
    runs = list(_DIGIT_RUN.finditer(text))
    if not runs:
        return ParsedFilename(stem, ext, missing=("id_number",))
    run = max(runs, key=lambda m: len(m.group(1)))
    number = run.group(1).upper()
    name_part = re.sub(rf"{_SEP}+", "", text[: run.start()]).strip()
    rest = text[run.end() :]
    name = name_part if _NAME.match(name_part) else None

    check = check_id_number(number)
    problem = check.problem
    valid = check.valid
    if check.kind in (IdNumberKind.HMT_RESIDENCE_PERMIT, IdNumberKind.FOREIGN_PERMANENT_RESIDENT):
        # 港澳台居民居住证 / 外国人永久居留身份证 numbers share the GB 11643 check digit;
        # a correct one makes the number a valid identity for a certificate filename.
        valid = check.problem is None

    page = None
    match = _PAGE.search(rest)
    if match:
        raw = match.group("a") or match.group("b") or match.group("c")
        page = int(raw) if raw.isdigit() else _chinese_number(raw)
        rest = rest[: match.start()]
    cert_text = re.sub(rf"^{_SEP}+|{_SEP}+$", "", rest).strip() or None
    cert_type = table.lookup(cert_text) if cert_text else None
    candidates = table.candidates(cert_text) if cert_text and not cert_type else ()

    missing = tuple(
        part
        for part, value in (("name", name), ("certificate_type", cert_text), ("page", page))
        if value is None
    )
    return ParsedFilename(
        stem=stem,
        extension=ext,
        name=name,
        id_number=number,
        id_valid=valid,
        id_problem=None if valid else (problem or "invalid"),
        id_kind=check.kind.value,
        certificate_text=cert_text,
        certificate_type=cert_type,
        certificate_candidates=candidates,
        page=page,
        missing=missing,
    )


def _chinese_number(text: str) -> int | None:
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + _CN_NUM.get(text[1:], 0)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CN_NUM.get(tens, 0) * 10 + _CN_NUM.get(ones, 0)
    return _CN_NUM.get(text)

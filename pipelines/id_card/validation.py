"""Checks on what was read: the number by GB 11643, the front against the number,
the back against the front, the validity period against today, and the
declaration against the card."""

from __future__ import annotations

from datetime import date

from pipelines.id_card.fields import BackFields, FrontFields
from pipelines.id_card.messages import reason
from pipelines.id_card.result import Declaration, Reason, ReasonCode, Side
from pipelines.idnumber import (
    IdNumberKind,
    check_id_number,
    differing_positions,
    normalize_id_number,
    normalize_name,
)

_OTHER_DOCUMENT = {
    IdNumberKind.HMT_RESIDENCE_PERMIT: (
        "hmt_residence_permit",
        "该号码属于港澳台居民居住证，请在证件类型中选择“港澳台居民居住证”并提交人工审核",
    ),
    IdNumberKind.FOREIGN_PERMANENT_RESIDENT: (
        "foreign_permanent_resident_card",
        "该号码属于外国人永久居留身份证，请选择对应证件类型并提交人工审核",
    ),
}


def _years_between(earlier: date, later: date) -> int:
    return later.year - earlier.year - ((later.month, later.day) < (earlier.month, earlier.day))


def expected_validity_years(age_at_issue: int) -> int | None:
    """Years of validity the law gives at this age (None = 长期)."""
    if age_at_issue < 16:
        return 5
    if age_at_issue <= 25:
        return 10
    if age_at_issue <= 45:
        return 20
    return None


def _add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def check_declaration(declaration: Declaration) -> list[Reason]:
    """Reject a declared number that cannot be a resident ID card before any OCR runs."""
    check = check_id_number(declaration.id_number)
    if check.kind in _OTHER_DOCUMENT:
        document_type, text = _OTHER_DOCUMENT[check.kind]
        return [
            Reason(
                ReasonCode.ID_NUMBER_INVALID,
                None,
                text,
                {"source": "declared", "document_type": document_type},
            )
        ]
    if not check.valid:
        return [
            Reason(
                ReasonCode.ID_NUMBER_INVALID,
                None,
                "您填写的身份证号码格式或校验位有误，请核对后重新填写",
                {"source": "declared", "problem": check.problem},
            )
        ]
    if not normalize_name(declaration.name):
        return [
            Reason(ReasonCode.NAME_MISMATCH, None, "请填写身份证上的姓名", {"source": "declared"})
        ]
    return []


def validate_front(front: FrontFields) -> list[Reason]:
    reasons: list[Reason] = []
    if not front.id_number:
        return [reason(ReasonCode.TEXT_UNREADABLE, Side.FRONT, "号码", field="id_number")]
    check = check_id_number(front.id_number)
    if check.kind in _OTHER_DOCUMENT:
        document_type, text = _OTHER_DOCUMENT[check.kind]
        return [
            Reason(
                ReasonCode.ID_NUMBER_INVALID,
                Side.FRONT,
                text,
                {"source": "card", "document_type": document_type},
            )
        ]
    if not check.valid:
        return [
            Reason(
                ReasonCode.ID_NUMBER_INVALID,
                Side.FRONT,
                "证件上的身份证号码未通过校验，请确认证件真实有效，或重新拍摄清晰照片",
                {"source": "card", "problem": check.problem},
            )
        ]
    if not front.name:
        reasons.append(reason(ReasonCode.TEXT_UNREADABLE, Side.FRONT, "姓名", field="name"))
    if front.birth_date and check.birth_date and front.birth_date != check.birth_date:
        reasons.append(
            reason(
                ReasonCode.FIELDS_INCONSISTENT,
                Side.FRONT,
                "出生日期与身份证号码不符",
                field="birth_date",
            )
        )
    if front.sex and check.sex and front.sex != check.sex:
        reasons.append(
            reason(ReasonCode.FIELDS_INCONSISTENT, Side.FRONT, "性别与身份证号码不符", field="sex")
        )
    return reasons


def validate_back(back: BackFields, birth_date: date | None, today: date) -> list[Reason]:
    if back.valid_from is None or (back.valid_until is None and not back.long_term):
        return [reason(ReasonCode.TEXT_UNREADABLE, Side.BACK, "有效期限", field="validity")]
    reasons: list[Reason] = []
    if back.valid_until is not None and back.valid_until < today:
        reasons.append(
            reason(
                ReasonCode.EXPIRED,
                Side.BACK,
                f"有效期至{back.valid_until:%Y.%m.%d}",
                valid_until=back.valid_until.isoformat(),
            )
        )
    if birth_date is not None:
        if back.valid_from <= birth_date:
            reasons.append(
                reason(
                    ReasonCode.FIELDS_INCONSISTENT,
                    Side.BACK,
                    "签发日期早于出生日期",
                    field="valid_from",
                )
            )
        else:
            years = expected_validity_years(_years_between(birth_date, back.valid_from))
            expected_until = None if years is None else _add_years(back.valid_from, years)
            if (years is None) != back.long_term or (
                expected_until is not None and back.valid_until != expected_until
            ):
                reasons.append(
                    reason(
                        ReasonCode.FIELDS_INCONSISTENT,
                        Side.BACK,
                        "有效期限与持证人年龄不符",
                        field="validity",
                        expected_years=years if years else "长期",
                    )
                )
    return reasons


def match_declaration(
    front: FrontFields, declaration: Declaration, charset: frozenset[str] | None = None
) -> list[Reason]:
    """Compare what the card says with what the candidate declared. Never lenient on digits."""
    reasons: list[Reason] = []
    declared_number = normalize_id_number(declaration.id_number)
    if front.id_number and front.id_number != declared_number:
        positions = differing_positions(declared_number, front.id_number)
        where = "、".join(f"第{p}位" for p in positions[:4]) + "不一致"
        reasons.append(
            reason(ReasonCode.ID_NUMBER_MISMATCH, Side.FRONT, where, positions=positions)
        )
    if front.name and not names_match(front.name, declaration.name, charset):
        reasons.append(reason(ReasonCode.NAME_MISMATCH, Side.FRONT))
    return reasons


def names_match(read: str, declared: str, charset: frozenset[str] | None = None) -> bool:
    """Equal after normalisation. A declared character the recogniser cannot output at all
    (outside its dictionary) matches any one character at its position; every other
    character must be identical, and so must the length."""
    read_n, declared_n = normalize_name(read), normalize_name(declared)
    if read_n == declared_n:
        return True
    if charset is None or len(read_n) != len(declared_n):
        return False
    unknown = [c not in charset for c in declared_n]
    if not any(unknown) or sum(unknown) * 2 >= len(declared_n):
        return False
    return all(u or a == b for a, b, u in zip(read_n, declared_n, unknown, strict=True))

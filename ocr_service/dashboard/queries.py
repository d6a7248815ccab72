"""Read and write queries of the QA dashboard over the service's tables and its own.

The service's repository (``ocr_service.storage.repository``) is used where it has what
we need; what is dashboard-specific lives here. Every list is bounded: the rejections
list pages by keyset on ``(created_at, id)`` newest first, which the
``(status, created_at)``, ``(kind, status, created_at)`` and reason-code indexes serve.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from ocr_service.dashboard.tables import AuditEvent, ReviewFeedback
from ocr_service.storage import repository as repo
from ocr_service.storage.tables import Record, RecordReason

PASSED = ("verified", "accepted")
REJECTED = ("rejected", "locked", "failed", "expired")
KINDS = ("id_verification", "certificate")
VERDICTS = ("correct", "false_rejection")


# -- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days ``first``..``last`` (inclusive) and their UTC bounds."""

    first: date
    last: date
    since: datetime
    until: datetime

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def local_period(first: date, last: date, timezone: str) -> Period:
    if last < first:
        first, last = last, first
    if (last - first).days > 366:
        first = last - timedelta(days=366)
    zone = ZoneInfo(timezone)
    since = datetime.combine(first, time(0), zone).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return Period(first, last, since, until)


def today_in(timezone: str) -> date:
    return datetime.now(ZoneInfo(timezone)).date()


def _local_day(session: Session, column: Any, timezone: str) -> ColumnElement[Any]:
    """``column`` (UTC) as a local 'YYYY-MM-DD' string, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(timezone, column), "YYYY-MM-DD")
    # SQLite stores naive UTC text; the offset of a zone without DST (Asia/Shanghai) is fixed
    offset = datetime.now(ZoneInfo(timezone)).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds()):+d} seconds")


# -- overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCount:
    day: date
    passed: int
    rejected: int
    other: int

    @property
    def decided(self) -> int:
        return self.passed + self.rejected

    @property
    def rate(self) -> float | None:
        return self.rejected / self.decided if self.decided else None


@dataclass(frozen=True)
class ReasonCount:
    code: str
    count: int
    reviewed: int = 0
    false_rejections: int = 0


@dataclass(frozen=True)
class FeedbackSummary:
    reviewed: int
    false_rejections: int

    @property
    def rate(self) -> float | None:
        return self.false_rejections / self.reviewed if self.reviewed else None


@dataclass(frozen=True)
class KindOverview:
    kind: str
    days: list[DayCount]
    reasons: list[ReasonCount]
    feedback: FeedbackSummary
    total: int = field(init=False)
    passed: int = field(init=False)
    rejected: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(d.passed + d.rejected + d.other for d in self.days))
        object.__setattr__(self, "passed", sum(d.passed for d in self.days))
        object.__setattr__(self, "rejected", sum(d.rejected for d in self.days))

    @property
    def rate(self) -> float | None:
        decided = self.passed + self.rejected
        return self.rejected / decided if decided else None


def daily_counts(
    session: Session, *, kind: str, period: Period, timezone: str, source: str | None = None
) -> list[DayCount]:
    """Passed / rejected / other per local day, every day of the period present."""
    day = _local_day(session, Record.created_at, timezone).label("day")
    stmt = (
        select(day, Record.status, func.count())
        .where(
            Record.kind == kind, Record.created_at >= period.since, Record.created_at < period.until
        )
        .group_by(day, Record.status)
    )
    if source:
        stmt = stmt.where(Record.source == source)
    buckets: dict[str, list[int]] = {}
    for day_text, status, n in session.execute(stmt):
        slot = buckets.setdefault(str(day_text), [0, 0, 0])
        slot[0 if status in PASSED else 1 if status in REJECTED else 2] += int(n)
    return [DayCount(d, *buckets.get(d.isoformat(), [0, 0, 0])) for d in period.days]


def _reviewed(
    session: Session, *, kind: str | None, period: Period | None, source: str | None
) -> dict[str, str]:
    """record id -> verdict of the reviewed records matching the filters.

    Driven from the (small) feedback table through a correlated ``EXISTS``, so the
    planner never walks the records table to find the few reviewed rows."""
    match = select(Record.id).where(Record.id == ReviewFeedback.record_id)
    if kind:
        match = match.where(Record.kind == kind)
    if period:
        match = match.where(Record.created_at >= period.since, Record.created_at < period.until)
    if source:
        match = match.where(Record.source == source)
    stmt = select(ReviewFeedback.record_id, ReviewFeedback.verdict).where(match.exists())
    return {record_id: verdict for record_id, verdict in session.execute(stmt)}


def reason_counts(
    session: Session, *, kind: str, period: Period, source: str | None = None
) -> list[ReasonCount]:
    """Rejections per reason code, most frequent first, with reviewer feedback per code."""
    counts = repo.count_by_reason(
        session, kind=kind, since=period.since, until=period.until, source=source
    )
    verdicts = _reviewed(session, kind=kind, period=period, source=source)
    reviewed: dict[str, int] = {}
    false: dict[str, int] = {}
    ids = list(verdicts)
    for start in range(0, len(ids), 500):
        stmt = select(RecordReason.record_id, RecordReason.code).where(
            RecordReason.record_id.in_(ids[start : start + 500])
        )
        for record_id, code in session.execute(stmt):
            reviewed[code] = reviewed.get(code, 0) + 1
            if verdicts[record_id] == "false_rejection":
                false[code] = false.get(code, 0) + 1
    return sorted(
        (
            ReasonCount(code, n, reviewed.get(code, 0), false.get(code, 0))
            for code, n in counts.items()
        ),
        key=lambda r: (-r.count, r.code),
    )


def feedback_summary(
    session: Session, *, kind: str | None, period: Period | None = None, source: str | None = None
) -> FeedbackSummary:
    """Reviewed rejections and how many of them were false rejections."""
    verdicts = list(_reviewed(session, kind=kind, period=period, source=source).values())
    return FeedbackSummary(len(verdicts), verdicts.count("false_rejection"))


def overview(
    session: Session, *, period: Period, timezone: str, source: str | None = None
) -> list[KindOverview]:
    return [
        KindOverview(
            kind,
            daily_counts(session, kind=kind, period=period, timezone=timezone, source=source),
            reason_counts(session, kind=kind, period=period, source=source),
            feedback_summary(session, kind=kind, period=period, source=source),
        )
        for kind in KINDS
    ]


# -- the rejections list -------------------------------------------------------------------


@dataclass(frozen=True)
class RejectionFilter:
    kind: str | None = None
    reason_code: str | None = None
    document_type: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's (created_at, id). Opaque in URLs."""

    created_at: datetime
    record_id: str

    def encode(self) -> str:
        raw = f"{self.created_at.isoformat()}|{self.record_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        if not text or len(text) > 200:
            return None
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            stamp, _, record_id = raw.partition("|")
            created = datetime.fromisoformat(stamp)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return None
        if created.tzinfo is None or not record_id.isalnum() or len(record_id) > 32:
            return None
        return cls(created, record_id)


@dataclass(frozen=True)
class Page:
    rows: Sequence[Record]
    next_cursor: Cursor | None


def _rejections(
    stmt: Select[Any], flt: RejectionFilter, statuses: Sequence[str] = REJECTED
) -> Select[Any]:
    stmt = stmt.where(
        Record.status.in_(statuses) if len(statuses) > 1 else Record.status == statuses[0]
    )
    if flt.reason_code:
        codes = select(RecordReason.record_id).where(RecordReason.code == flt.reason_code)
        if flt.kind:
            codes = codes.where(RecordReason.kind == flt.kind)
        stmt = stmt.where(Record.id.in_(codes))
    return _filters(stmt, flt)


def _filters(stmt: Select[Any], flt: RejectionFilter) -> Select[Any]:
    return repo.where_record_columns(
        stmt,
        kind=flt.kind,
        document_type=flt.document_type,
        source=flt.source,
        since=flt.since,
        until=flt.until,
    )


def list_rejections(
    session: Session, *, flt: RejectionFilter, after: Cursor | None = None, limit: int = 50
) -> Page:
    """Rejected records newest first, ``limit`` at a time after ``after``.

    One query per rejected status, each an in-order walk of the ``(status, created_at)``
    or ``(kind, status, created_at)`` index with no sort, merged here: an ``IN`` over the
    statuses would make the database sort every rejection to find the newest fifty.
    """
    rows: list[Record] = []
    for status in REJECTED:
        stmt = _rejections(select(Record), flt, (status,))
        if after is not None:
            stmt = stmt.where(
                or_(
                    Record.created_at < after.created_at,
                    and_(Record.created_at == after.created_at, Record.id < after.record_id),
                )
            )
        rows.extend(
            session.scalars(
                stmt.order_by(Record.created_at.desc(), Record.id.desc()).limit(limit + 1)
            ).all()
        )
    rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = Cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return Page(rows, cursor)


def count_rejections(session: Session, *, flt: RejectionFilter, cap: int = 10_000) -> int:
    """How many rows match, counted up to ``cap``: a bounded index scan however large the
    table (the page says "more than" at the cap). With a reason code the count walks
    that code's rows in ``record_reasons`` instead of every rejection."""
    if flt.reason_code:
        stmt = (
            select(Record.id)
            .join(RecordReason, RecordReason.record_id == Record.id)
            .where(RecordReason.code == flt.reason_code, Record.status.in_(REJECTED))
        )
        if flt.kind:
            stmt = stmt.where(RecordReason.kind == flt.kind)
        rest = RejectionFilter(
            document_type=flt.document_type, source=flt.source, since=flt.since, until=flt.until
        )
        stmt = _filters(stmt, rest).limit(cap).subquery()
        return int(session.scalar(select(func.count()).select_from(stmt)) or 0)
    total = 0
    for status in REJECTED:
        inner = _rejections(select(Record.id), flt, (status,)).limit(cap - total).subquery()
        total += int(session.scalar(select(func.count()).select_from(inner)) or 0)
        if total >= cap:
            break
    return total


def list_sources(session: Session) -> list[str]:
    return repo.list_sources(session)


def document_types(session: Session) -> list[str]:
    return list(
        session.scalars(select(Record.document_type).distinct().order_by(Record.document_type))
    )


# -- feedback -----------------------------------------------------------------------------


def get_feedback(session: Session, *, record_id: str) -> ReviewFeedback | None:
    return session.get(ReviewFeedback, record_id)


def feedback_for(session: Session, *, record_ids: Sequence[str]) -> dict[str, str]:
    if not record_ids:
        return {}
    stmt = select(ReviewFeedback.record_id, ReviewFeedback.verdict).where(
        ReviewFeedback.record_id.in_(record_ids)
    )
    return {record_id: verdict for record_id, verdict in session.execute(stmt)}


def save_feedback(
    session: Session, *, record_id: str, verdict: str, note: str, reviewer: str, now: datetime
) -> None:
    """Upsert the reviewer's verdict on a rejection."""
    if verdict not in VERDICTS:
        raise ValueError(f"unknown verdict {verdict!r}")
    row = session.get(ReviewFeedback, record_id, with_for_update=True)
    if row is None:
        session.add(
            ReviewFeedback(
                record_id=record_id,
                verdict=verdict,
                note=note,
                reviewer=reviewer,
                created_at=now,
                updated_at=now,
            )
        )
    else:
        row.verdict, row.note, row.reviewer, row.updated_at = verdict, note, reviewer, now


# -- audit log ----------------------------------------------------------------------------


def list_audit(
    session: Session,
    *,
    record_id: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> Sequence[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if record_id:
        stmt = stmt.where(AuditEvent.record_id == record_id)
    if before_id:
        stmt = stmt.where(AuditEvent.id < before_id)
    return session.scalars(stmt).all()

"""Repository functions: keyword-only, taking the session; the caller owns the transaction.

Used by the API, the queue workers, the CLI and the QA dashboard. Nothing here
sees a raw ID number or an image: callers pass masked values and keyed hashes.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ocr_service.storage.tables import (
    ApiKey,
    AttemptCounter,
    Batch,
    BatchFile,
    FlaggedNumber,
    ManualReview,
    Record,
    RecordReason,
)

# -- helpers ----------------------------------------------------------------------


def _insert(session: Session, table: Any) -> Any:
    """A dialect ``INSERT`` that supports ``on_conflict_*`` (SQLite and PostgreSQL)."""
    name = session.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


# -- API keys ---------------------------------------------------------------------


def add_api_key(session: Session, *, key_id: str, name: str, key_hash: str, now: datetime) -> None:
    session.add(ApiKey(key_id=key_id, name=name, key_hash=key_hash, created_at=now))


def find_api_key(session: Session, *, key_id: str) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def api_key_name_taken(session: Session, *, name: str) -> bool:
    """Any key ever created under ``name``, revoked ones included (records name their key)."""
    return session.scalar(select(ApiKey.key_id).where(ApiKey.name == name).limit(1)) is not None


def list_api_keys(session: Session) -> Sequence[ApiKey]:
    return session.scalars(select(ApiKey).order_by(ApiKey.created_at)).all()


def revoke_api_key(session: Session, *, key_id_or_name: str, now: datetime) -> int:
    """Revoke by key id or by name; returns how many keys were revoked."""
    result = session.execute(
        update(ApiKey)
        .where(
            or_(ApiKey.key_id == key_id_or_name, ApiKey.name == key_id_or_name),
            ApiKey.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_api_keys(session: Session) -> int:
    """Every key ever created, revoked ones included."""
    return int(session.scalar(select(func.count()).select_from(ApiKey)) or 0)


def count_active_api_keys(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.revoked_at.is_(None)))
        or 0
    )


# -- attempt counters -------------------------------------------------------------


class Scope(enum.StrEnum):
    """What a day's counter counts (see ``services.id_verification`` for the abuse model)."""

    USER_NUMBER = "user_number"  # one end user's failures on one number: the day-lock
    ID_NUMBER = "id_number"  # failures on a number across end users: flags, never locks
    REQUESTER = "requester"  # one end user's (or address's) failures on any number
    API_KEY = "api_key"  # a calling system's failures: its daily budget


def _ensure_counter(
    session: Session, *, scope: Scope, key_hash: str, day: str, now: datetime
) -> None:
    """Create the day's counter row if it does not exist yet (race-free upsert)."""
    session.execute(
        _insert(session, AttemptCounter)
        .values(
            scope=scope.value,
            key_hash=key_hash,
            day=day,
            failures=0,
            in_flight=0,
            reserved_until=now,
        )
        .on_conflict_do_nothing()
    )


def reserve_attempt(
    session: Session,
    *,
    scope: Scope,
    key_hash: str,
    day: str,
    limit: int,
    now: datetime,
    hold: timedelta,
) -> bool:
    """Reserve one attempt if failures plus attempts in flight are under ``limit``.

    One conditional ``UPDATE ... RETURNING``, so it is atomic on SQLite and
    PostgreSQL alike: of 20 concurrent callers with ``limit=3`` at most 3 win.
    A reservation older than ``hold`` (a crashed process) no longer counts.
    """
    _ensure_counter(session, scope=scope, key_hash=key_hash, day=day, now=now)
    stale = AttemptCounter.reserved_until < now
    live_in_flight = case((stale, 0), else_=AttemptCounter.in_flight)
    row = session.execute(
        update(AttemptCounter)
        .where(
            AttemptCounter.scope == scope.value,
            AttemptCounter.key_hash == key_hash,
            AttemptCounter.day == day,
            AttemptCounter.failures + live_in_flight < limit,
        )
        .values(in_flight=live_in_flight + 1, reserved_until=now + hold)
        .returning(AttemptCounter.failures)
    ).first()
    return row is not None


def settle_attempt(
    session: Session, *, scope: Scope, key_hash: str, day: str, failed: bool
) -> None:
    """Release a reservation, counting it as a failure or not."""
    session.execute(
        update(AttemptCounter)
        .where(
            AttemptCounter.scope == scope.value,
            AttemptCounter.key_hash == key_hash,
            AttemptCounter.day == day,
        )
        .values(
            in_flight=case((AttemptCounter.in_flight > 0, AttemptCounter.in_flight - 1), else_=0),
            failures=AttemptCounter.failures + (1 if failed else 0),
        )
    )


def record_failure(
    session: Session, *, scope: Scope, key_hash: str, day: str, now: datetime
) -> int:
    """Count a failure without a reservation (e.g. a locked answer against the requester);
    returns the day's count including this one."""
    _ensure_counter(session, scope=scope, key_hash=key_hash, day=day, now=now)
    row = session.execute(
        update(AttemptCounter)
        .where(
            AttemptCounter.scope == scope.value,
            AttemptCounter.key_hash == key_hash,
            AttemptCounter.day == day,
        )
        .values(failures=AttemptCounter.failures + 1)
        .returning(AttemptCounter.failures)
    ).first()
    return int(row[0]) if row else 0


def flag_number(
    session: Session,
    *,
    id_number_hash: str,
    day: str,
    masked_id_number: str,
    failures: int,
    now: datetime,
) -> None:
    """Flag a number for operators (an upsert: one row per number and day)."""
    session.execute(
        _insert(session, FlaggedNumber)
        .values(
            id_number_hash=id_number_hash,
            day=day,
            masked_id_number=masked_id_number,
            failures=failures,
            flagged_at=now,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=[FlaggedNumber.id_number_hash, FlaggedNumber.day],
            set_={"failures": failures, "updated_at": now},
        )
    )


def list_flagged_numbers(
    session: Session, *, since_day: str | None = None, limit: int = 100
) -> Sequence[FlaggedNumber]:
    stmt = select(FlaggedNumber).order_by(FlaggedNumber.flagged_at.desc()).limit(limit)
    if since_day:
        stmt = stmt.where(FlaggedNumber.day >= since_day)
    return session.scalars(stmt).all()


def count_flagged_numbers(session: Session, *, since_day: str | None = None) -> int:
    stmt = select(func.count()).select_from(FlaggedNumber)
    if since_day:
        stmt = stmt.where(FlaggedNumber.day >= since_day)
    return int(session.scalar(stmt) or 0)


def failures_on(session: Session, *, scope: Scope, key_hash: str, day: str) -> int:
    return int(
        session.scalar(
            select(AttemptCounter.failures).where(
                AttemptCounter.scope == scope.value,
                AttemptCounter.key_hash == key_hash,
                AttemptCounter.day == day,
            )
        )
        or 0
    )


# -- records ----------------------------------------------------------------------


def save_record(
    session: Session,
    *,
    record_id: str,
    kind: str,
    document_type: str,
    source: str,
    status: str,
    now: datetime,
    reasons: Sequence[dict[str, Any]] = (),
    warnings: Sequence[dict[str, Any]] = (),
    measurements: dict[str, Any] | None = None,
    checks: dict[str, Any] | None = None,
    timings: dict[str, Any] | None = None,
    fields: dict[str, Any] | None = None,
    masked_name: str | None = None,
    masked_id_number: str | None = None,
    id_number_hash: str | None = None,
    filename: str | None = None,
    batch_id: str | None = None,
    batch_index: int | None = None,
    preview_path: str | None = None,
    fixed_path: str | None = None,
    fixed_filename: str | None = None,
    fingerprint: str | None = None,
) -> None:
    """Insert or replace a record and its reason rows (an upsert on the record id)."""
    values = {
        "kind": kind,
        "document_type": document_type,
        "source": source,
        "status": status,
        "updated_at": now,
        "reasons": list(reasons),
        "warnings": list(warnings),
        "measurements": measurements or {},
        "checks": checks or {},
        "timings": timings or {},
        "fields": fields or {},
        "masked_name": masked_name,
        "masked_id_number": masked_id_number,
        "id_number_hash": id_number_hash,
        "filename": filename,
        "batch_id": batch_id,
        "batch_index": batch_index,
        "preview_path": preview_path,
        "fixed_path": fixed_path,
        "fixed_filename": fixed_filename,
        "fingerprint": fingerprint,
    }
    session.execute(
        _insert(session, Record)
        .values(id=record_id, created_at=now, **values)
        .on_conflict_do_update(index_elements=[Record.id], set_=values)
    )
    replace_reason_codes(
        session, record_id=record_id, kind=kind, codes=[r["code"] for r in reasons]
    )


def replace_reason_codes(
    session: Session, *, record_id: str, kind: str, codes: Iterable[str]
) -> None:
    """One row per distinct code, carrying the record's creation time (for ordering)."""
    session.execute(RecordReason.__table__.delete().where(RecordReason.record_id == record_id))
    created_at = session.scalar(select(Record.created_at).where(Record.id == record_id))
    rows = [
        {"record_id": record_id, "kind": kind, "code": code, "created_at": created_at}
        for code in dict.fromkeys(codes)
    ]
    if rows:
        session.execute(RecordReason.__table__.insert(), rows)


def set_record_status(
    session: Session,
    *,
    record_id: str,
    status: str,
    now: datetime,
    reasons: Sequence[dict[str, Any]] | None = None,
) -> None:
    values: dict[str, Any] = {"status": status, "updated_at": now}
    if reasons is not None:
        values["reasons"] = list(reasons)
    session.execute(update(Record).where(Record.id == record_id).values(**values))
    if reasons is not None:
        kind = session.scalar(select(Record.kind).where(Record.id == record_id)) or ""
        replace_reason_codes(
            session, record_id=record_id, kind=kind, codes=[r["code"] for r in reasons]
        )


def get_record(session: Session, *, record_id: str, source: str | None = None) -> Record | None:
    """A record; with ``source``, only if that API key created it."""
    stmt = select(Record).where(Record.id == record_id)
    if source is not None:
        stmt = stmt.where(Record.source == source)
    return session.scalars(stmt).first()


@dataclass(frozen=True)
class RecordFilter:
    """What the dashboard filters records by; every field optional."""

    kind: str | None = None
    statuses: tuple[str, ...] = ()
    reason_code: str | None = None
    document_type: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(stmt: Select[Any], flt: RecordFilter) -> Select[Any]:
    if flt.reason_code:
        # Driven from the child table: its (kind, code, created_at) index yields the
        # matching rows newest first, each joined to its record by primary key.
        stmt = stmt.join(RecordReason, RecordReason.record_id == Record.id).where(
            RecordReason.code == flt.reason_code
        )
        if flt.kind:
            stmt = stmt.where(RecordReason.kind == flt.kind)
        if flt.since:
            stmt = stmt.where(RecordReason.created_at >= flt.since)
        if flt.until:
            stmt = stmt.where(RecordReason.created_at < flt.until)
    return where_record_columns(
        stmt,
        kind=flt.kind,
        statuses=flt.statuses,
        document_type=flt.document_type,
        source=flt.source,
        since=flt.since,
        until=flt.until,
    )


def where_record_columns(
    stmt: Select[Any],
    *,
    kind: str | None = None,
    statuses: Sequence[str] = (),
    document_type: str | None = None,
    source: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Any]:
    """The filters on the records table's own columns, shared by every record listing."""
    if kind:
        stmt = stmt.where(Record.kind == kind)
    if statuses:
        stmt = stmt.where(Record.status.in_(statuses))
    if document_type:
        stmt = stmt.where(Record.document_type == document_type)
    if source:
        stmt = stmt.where(Record.source == source)
    if since:
        stmt = stmt.where(Record.created_at >= since)
    if until:
        stmt = stmt.where(Record.created_at < until)
    return stmt


def list_records(
    session: Session, *, flt: RecordFilter = RecordFilter(), limit: int = 50, offset: int = 0
) -> Sequence[Record]:
    """Newest first. Filtering by reason code orders on the reason rows' copy of the
    record's creation time, so the index does the ordering."""
    order = (RecordReason.created_at if flt.reason_code else Record.created_at).desc()
    stmt = _filtered(select(Record), flt).order_by(order, Record.id.desc())
    return session.scalars(stmt.limit(limit).offset(offset)).all()


def count_records(session: Session, *, flt: RecordFilter = RecordFilter()) -> int:
    return int(session.scalar(_filtered(select(func.count(Record.id)), flt)) or 0)


def count_by_status(session: Session, *, flt: RecordFilter = RecordFilter()) -> dict[str, int]:
    stmt = _filtered(select(Record.status, func.count(Record.id)), flt).group_by(Record.status)
    return {status: int(n) for status, n in session.execute(stmt)}


def count_by_reason(
    session: Session,
    *,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    source: str | None = None,
) -> dict[str, int]:
    stmt = select(RecordReason.code, func.count(RecordReason.id)).group_by(RecordReason.code)
    if kind:
        stmt = stmt.where(RecordReason.kind == kind)
    if since:
        stmt = stmt.where(RecordReason.created_at >= since)
    if until:
        stmt = stmt.where(RecordReason.created_at < until)
    if source:
        stmt = stmt.where(
            RecordReason.record_id.in_(select(Record.id).where(Record.source == source))
        )
    return {code: int(n) for code, n in session.execute(stmt)}


def list_sources(session: Session) -> list[str]:
    return list(session.scalars(select(Record.source).distinct().order_by(Record.source)))


# -- certificate batches (the job rows) -------------------------------------------


@dataclass(frozen=True)
class NewBatchFile:
    file_id: str
    index: int
    filename: str
    stored_path: str | None
    refusal: dict[str, Any] | None = None  # a member refused before validation (zip hostility)


def create_batch(
    session: Session, *, batch_id: str, source: str, files: Sequence[NewBatchFile], now: datetime
) -> None:
    """The batch and one job row per file, committed before anything is enqueued."""
    session.add(Batch(id=batch_id, created_at=now, source=source, total=len(files)))
    session.flush()
    session.execute(
        BatchFile.__table__.insert(),
        [
            {
                "id": f.file_id,
                "batch_id": batch_id,
                "index": f.index,
                "filename": f.filename,
                "stored_path": f.stored_path,
                "refusal": f.refusal,
                "state": "queued",
                "deliveries": 0,
                "enqueued_at": now,
            }
            for f in files
        ],
    )


def get_batch(session: Session, *, batch_id: str, source: str | None = None) -> Batch | None:
    stmt = select(Batch).where(Batch.id == batch_id)
    if source is not None:
        stmt = stmt.where(Batch.source == source)
    return session.scalars(stmt).first()


def batch_file_states(session: Session, *, batch_id: str) -> dict[str, int]:
    stmt = (
        select(BatchFile.state, func.count(BatchFile.id))
        .where(BatchFile.batch_id == batch_id)
        .group_by(BatchFile.state)
    )
    return {state: int(n) for state, n in session.execute(stmt)}


def list_batch_files(
    session: Session, *, batch_id: str
) -> Sequence[tuple[BatchFile, Record | None]]:
    stmt = (
        select(BatchFile, Record)
        .outerjoin(Record, Record.id == BatchFile.id)
        .where(BatchFile.batch_id == batch_id)
        .order_by(BatchFile.index)
    )
    return [(f, r) for f, r in session.execute(stmt)]


def get_batch_file(
    session: Session, *, batch_id: str, index: int
) -> tuple[BatchFile, Record | None] | None:
    stmt = (
        select(BatchFile, Record)
        .outerjoin(Record, Record.id == BatchFile.id)
        .where(BatchFile.batch_id == batch_id, BatchFile.index == index)
    )
    row = session.execute(stmt).first()
    return (row[0], row[1]) if row else None


class Claim(enum.StrEnum):
    RUN = "run"  # go ahead
    SKIP = "skip"  # already done, or being run by a live worker
    POISON = "poison"  # delivered too often: mark it failed


def claim_batch_file(
    session: Session, *, file_id: str, now: datetime, stale_before: datetime, max_deliveries: int
) -> tuple[Claim, int]:
    """Count a delivery and mark the file running, unless it is terminal or running elsewhere
    (started after ``stale_before``; pass ``now`` to take over a job whose worker is known dead)."""
    row = session.execute(
        update(BatchFile)
        .where(
            BatchFile.id == file_id,
            or_(
                BatchFile.state == "queued",
                and_(BatchFile.state == "running", BatchFile.started_at <= stale_before),
            ),
        )
        .values(state="running", deliveries=BatchFile.deliveries + 1, started_at=now)
        .returning(BatchFile.deliveries)
    ).first()
    if row is None:
        return Claim.SKIP, 0
    deliveries = int(row[0])
    return (Claim.POISON if deliveries > max_deliveries else Claim.RUN), deliveries


def finish_batch_file(
    session: Session, *, file_id: str, state: str, now: datetime, error: str | None = None
) -> None:
    session.execute(
        update(BatchFile)
        .where(BatchFile.id == file_id)
        .values(state=state, finished_at=now, error=error)
    )


def stale_batch_files(
    session: Session,
    *,
    queued_before: datetime,
    running_before: datetime,
    now: datetime,
    limit: int = 500,
) -> list[str]:
    """Jobs a lost message or a dead worker left behind; their ``enqueued_at`` is bumped so
    that concurrent sweepers do not both re-enqueue the same job."""
    candidates = session.scalars(
        select(BatchFile.id)
        .where(
            or_(
                and_(BatchFile.state == "queued", BatchFile.enqueued_at < queued_before),
                and_(
                    BatchFile.state == "running",
                    BatchFile.started_at < running_before,
                    BatchFile.enqueued_at < running_before,
                ),
            )
        )
        .limit(limit)
    ).all()
    won = []
    for file_id in candidates:
        result = session.execute(
            update(BatchFile)
            .where(
                BatchFile.id == file_id,
                BatchFile.state.in_(("queued", "running")),
                BatchFile.enqueued_at < max(queued_before, running_before),
            )
            .values(enqueued_at=now)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            won.append(file_id)
    return won


def requeue_running_batch_files(session: Session) -> int:
    """Embedded default at start-up: a job still 'running' belonged to the previous process.
    Its delivery count is kept, so a file that kills the server every time still ends failed."""
    result = session.execute(
        update(BatchFile).where(BatchFile.state == "running").values(state="queued")
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def pending_batch_files(session: Session) -> list[str]:
    """Every file not yet terminal (the embedded queue re-enqueues them at start-up)."""
    return list(
        session.scalars(
            select(BatchFile.id)
            .where(BatchFile.state.in_(("queued", "running")))
            .order_by(BatchFile.enqueued_at, BatchFile.index)
        )
    )


def certificate_backlog(session: Session) -> tuple[int, datetime | None]:
    """Certificate jobs not yet terminal and the oldest one's enqueue time (for /metrics)."""
    count, oldest = session.execute(
        select(func.count(BatchFile.id), func.min(BatchFile.enqueued_at)).where(
            BatchFile.state.in_(("queued", "running"))
        )
    ).one()
    return int(count or 0), oldest


def count_locked_numbers(session: Session, *, since: datetime) -> int:
    """Distinct ID numbers (by keyed hash) answered ``locked`` since ``since`` (for /metrics)."""
    return int(
        session.scalar(
            select(func.count(func.distinct(Record.id_number_hash))).where(
                Record.kind == "id_verification",
                Record.status == "locked",
                Record.created_at >= since,
            )
        )
        or 0
    )


def forget_certificate_files(session: Session, *, before: datetime) -> int:
    """Clear the stored paths of certificate uploads, previews and fixed files created
    before ``before`` (retention; the sweeper deletes the files themselves)."""
    records = session.execute(
        update(Record)
        .where(
            Record.kind == "certificate",
            Record.created_at < before,
            or_(Record.preview_path.is_not(None), Record.fixed_path.is_not(None)),
        )
        .values(preview_path=None, fixed_path=None)
    )
    uploads = session.execute(
        update(BatchFile)
        .where(
            BatchFile.stored_path.is_not(None),
            BatchFile.batch_id.in_(select(Batch.id).where(Batch.created_at < before)),
        )
        .values(stored_path=None)
    )
    return int(records.rowcount or 0) + int(uploads.rowcount or 0)  # type: ignore[attr-defined]


def batch_exists(session: Session, *, batch_id: str) -> bool:
    return session.get(Batch, batch_id) is not None


def claim_batch_finalization(session: Session, *, batch_id: str, now: datetime) -> bool:
    """True for exactly one caller once every file of the batch is terminal."""
    remaining = session.scalar(
        select(func.count(BatchFile.id)).where(
            BatchFile.batch_id == batch_id, BatchFile.state.in_(("queued", "running"))
        )
    )
    if remaining:
        return False
    result = session.execute(
        update(Batch)
        .where(Batch.id == batch_id, Batch.finalized_at.is_(None))
        .values(finalized_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def batch_records(session: Session, *, batch_id: str) -> Sequence[Record]:
    return session.scalars(
        select(Record).where(Record.batch_id == batch_id).order_by(Record.batch_index)
    ).all()


# -- manual review ----------------------------------------------------------------


def create_manual_review(
    session: Session,
    *,
    record_id: str,
    sealed_declaration: bytes,
    image_dir: str,
    now: datetime,
    retention: timedelta,
    pending_key: str | None = None,
) -> None:
    """``pending_key`` is unique among pending reviews: a second pending submission under
    the same key raises :class:`AlreadyPendingError` (and the transaction must end)."""
    session.add(
        ManualReview(
            record_id=record_id,
            state="pending",
            submitted_at=now,
            expires_at=now + retention,
            sealed_declaration=sealed_declaration,
            image_dir=image_dir,
            pending_key=pending_key,
        )
    )
    try:
        session.flush()
    except IntegrityError as exc:
        raise AlreadyPendingError(record_id) from exc


class AlreadyPendingError(Exception):
    """Another submission under the same pending key is waiting for review."""


def pending_review_exists(session: Session, *, pending_key: str) -> bool:
    return (
        session.scalar(
            select(ManualReview.record_id).where(ManualReview.pending_key == pending_key)
        )
        is not None
    )


def get_manual_review(session: Session, *, record_id: str) -> ManualReview | None:
    return session.get(ManualReview, record_id)


def list_manual_reviews(
    session: Session, *, state: str = "pending", limit: int = 50, offset: int = 0
) -> Sequence[tuple[ManualReview, Record]]:
    """Oldest first, so the queue is worked in order."""
    stmt = (
        select(ManualReview, Record)
        .join(Record, Record.id == ManualReview.record_id)
        .where(ManualReview.state == state)
        .order_by(ManualReview.submitted_at, ManualReview.record_id)
        .limit(limit)
        .offset(offset)
    )
    return [(m, r) for m, r in session.execute(stmt)]


def count_manual_reviews(session: Session, *, state: str = "pending") -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(ManualReview).where(ManualReview.state == state)
        )
        or 0
    )


REVIEW_RECORD_STATUS = {
    "approved": "verified",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
    "expired": "expired",
}


def close_manual_review(
    session: Session,
    *,
    record_id: str,
    state: str,
    now: datetime,
    decided_by: str | None = None,
    reason: str | None = None,
) -> str | None:
    """Move a pending review to a terminal state, drop its sealed declaration, and return
    the image directory the caller must delete (``None`` if it was not pending)."""
    if state not in REVIEW_RECORD_STATUS:
        raise ValueError(f"unknown review state {state!r}")
    review = session.get(ManualReview, record_id, with_for_update=True)
    if review is None or review.state != "pending":
        return None
    image_dir = review.image_dir
    review.state = state
    review.decided_at = now
    review.decided_by = decided_by
    review.decision_reason = reason
    review.sealed_declaration = None
    review.image_dir = None
    review.pending_key = None
    reasons = None
    if state == "rejected":
        reasons = [
            {"code": "MANUAL_REVIEW_REJECTED", "side": None, "message": reason or "人工审核未通过"}
        ]
    set_record_status(
        session, record_id=record_id, status=REVIEW_RECORD_STATUS[state], now=now, reasons=reasons
    )
    return image_dir


def expired_manual_reviews(session: Session, *, now: datetime, limit: int = 100) -> list[str]:
    return list(
        session.scalars(
            select(ManualReview.record_id)
            .where(ManualReview.state == "pending", ManualReview.expires_at < now)
            .limit(limit)
        )
    )


# -- audit trail ------------------------------------------------------------------


def add_audit_event(
    session: Session,
    *,
    action: str,
    actor: str | None,
    now: datetime,
    record_id: str | None = None,
    client: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """One row of the audit trail (``qa_audit_log``): reviewers' actions, and what the
    service does to personal data on its own (withdrawal, retention expiry)."""
    from ocr_service.dashboard.tables import AuditEvent  # its table shares our metadata

    session.add(
        AuditEvent(
            at=now,
            reviewer=actor,
            action=action,
            record_id=record_id,
            client=(client or "")[:64],
            detail=detail or {},
        )
    )

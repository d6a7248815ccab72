"""Database tables (SQLAlchemy 2 declarative). API schemas live in ``ocr_service.api.schemas``.

What is never stored: ID images (except manual-review submissions, encrypted),
raw ID numbers, full names, birth dates (a birth year at most), API keys (only their
SHA-256), the secret key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on SQLite (which stores them naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ApiKey(Base):
    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # records name their key
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Batch(Base):
    __tablename__ = "batches"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(100))
    total: Mapped[int] = mapped_column(Integer)
    finalized_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class Record(Base):
    """One ID verification, manual-review submission or certificate check."""

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_kind_created", "kind", "created_at"),
        Index("ix_records_kind_status_created", "kind", "status", "created_at"),
        Index("ix_records_source_created", "source", "created_at"),
        Index("ix_records_doctype_created", "document_type", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(20))  # id_verification | certificate
    document_type: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    measurements: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    timings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # masked values only
    masked_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    masked_id_number: Mapped[str | None] = mapped_column(String(32), nullable=True)
    id_number_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    filename: Mapped[str | None] = mapped_column(Text, nullable=True)
    batch_id: Mapped[str | None] = mapped_column(
        ForeignKey("batches.id", ondelete="CASCADE"), nullable=True, index=True
    )
    batch_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preview_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    fixed_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    fixed_filename: Mapped[str | None] = mapped_column(Text, nullable=True)
    fingerprint: Mapped[str | None] = mapped_column(Text, nullable=True)


class RecordReason(Base):
    """One row per reason code of a record, so the dashboard filters by code on an index."""

    __tablename__ = "record_reasons"
    __table_args__ = (
        Index("ix_record_reasons_code_created", "code", "created_at"),
        Index("ix_record_reasons_kind_code_created", "kind", "code", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BatchFile(Base):
    """A certificate file of a batch: the job row. Its id is also its record's id."""

    __tablename__ = "batch_files"
    __table_args__ = (
        UniqueConstraint("batch_id", "index", name="uq_batch_files_batch_index"),
        Index("ix_batch_files_state_enqueued", "state", "enqueued_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    batch_id: Mapped[str] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(Text)
    stored_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    refusal: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # queued | running | completed | failed
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class AttemptCounter(Base):
    """Failures per (scope, keyed hash, local day); ``in_flight`` reserves attempts being run."""

    __tablename__ = "attempt_counters"

    # user_number | id_number | requester | api_key (see repository.Scope)
    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, local
    failures: Mapped[int] = mapped_column(Integer, default=0)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)
    reserved_until: Mapped[datetime] = mapped_column(UtcDateTime())


class ManualReview(Base):
    """A submission for 人工审核. Images and the declaration are encrypted, deleted on decision."""

    __tablename__ = "manual_reviews"
    __table_args__ = (Index("ix_manual_reviews_state_submitted", "state", "submitted_at"),)

    record_id: Mapped[str] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(16))  # pending|approved|rejected|withdrawn|expired
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    sealed_declaration: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    image_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    # keyed hash of (API key, end user, document type) while pending, NULL once closed:
    # the unique index makes "one pending submission each" hold under concurrency
    pending_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)


class FlaggedNumber(Base):
    """An ID number that failed verification too often today across end users: shown to
    operators on the dashboard instead of being locked (a stranger must not lock the owner
    out). Only the masked number and the keyed hash are kept."""

    __tablename__ = "flagged_numbers"
    __table_args__ = (Index("ix_flagged_numbers_flagged_at", "flagged_at"),)

    id_number_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD, local
    masked_id_number: Mapped[str] = mapped_column(String(32))
    failures: Mapped[int] = mapped_column(Integer)
    flagged_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())

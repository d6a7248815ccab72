"""The dashboard's own tables: reviewers, their sessions, feedback on rejections, the audit log.

They share the service's declarative ``Base`` (one metadata, one naming convention,
one Alembic history); migration ``0100_dashboard`` creates them. The index on
``records (status, created_at)`` serves the rejections list, which filters on
status and pages newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ocr_service.storage.tables import Base, Record, UtcDateTime


class Reviewer(Base):
    """An operator who may use ``/qa``. Created from the CLI; password hashed with argon2id."""

    __tablename__ = "qa_reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # reviewer | operator: only an operator may apply calibrated thresholds (0300)
    role: Mapped[str] = mapped_column(String(20), default="reviewer", server_default="reviewer")


class ReviewerSession(Base):
    """A login. The cookie carries a random token; only its SHA-256 is stored."""

    __tablename__ = "qa_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reviewer_id: Mapped[int] = mapped_column(
        ForeignKey("qa_reviewers.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ReviewFeedback(Base):
    """A reviewer's verdict on one rejection: correct, or a false rejection. Latest wins;
    every change is also in the audit log."""

    __tablename__ = "qa_feedback"
    __table_args__ = (Index("ix_qa_feedback_verdict", "verdict"),)

    record_id: Mapped[str] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(20))  # correct | false_rejection
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """Who did what, when: logins, review decisions, every view of a manual-review image.
    No foreign keys, so the trail outlives the records it names."""

    __tablename__ = "qa_audit_log"
    __table_args__ = (
        Index("ix_qa_audit_log_at", "at"),
        Index("ix_qa_audit_log_record", "record_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    reviewer: Mapped[str | None] = mapped_column(String(100), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    client: Mapped[str | None] = mapped_column(String(64), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ThresholdChange(Base):
    """One threshold applied from calibration, or rolled back: the history behind the
    thresholds file (0300). ``file_before``/``file_after`` are the file's entry (None: not
    in the file, the default or environment applies); a rollback writes ``file_before`` of
    the change it reverts."""

    __tablename__ = "qa_threshold_changes"
    __table_args__ = (Index("ix_qa_threshold_changes_check_at", "check_name", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    operator: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(20))  # apply | rollback
    check_name: Mapped[str] = mapped_column(String(80))
    section: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(80))
    value_before: Mapped[float] = mapped_column(Float)
    value_after: Mapped[float] = mapped_column(Float)
    file_before: Mapped[float | None] = mapped_column(Float, nullable=True)
    file_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    reverts_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


#: The rejections list filters on status and pages by (created_at, id) newest first.
RECORDS_STATUS_CREATED = Index("ix_records_status_created", Record.status, Record.created_at)

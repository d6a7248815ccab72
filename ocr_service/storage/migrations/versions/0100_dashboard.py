"""QA dashboard: reviewers, sessions, feedback, audit log; records (status, created_at) index

Revision ID: 0100
Revises: 0001
Create Date: 2026-11-25

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qa_reviewers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_reviewers")),
        sa.UniqueConstraint("name", name=op.f("uq_qa_reviewers_name")),
    )
    op.create_table(
        "qa_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["qa_reviewers.id"],
            name=op.f("fk_qa_sessions_reviewer_id_qa_reviewers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_qa_sessions")),
    )
    with op.batch_alter_table("qa_sessions") as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_sessions_reviewer_id"), ["reviewer_id"])

    op.create_table(
        "qa_feedback",
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["records.id"],
            name=op.f("fk_qa_feedback_record_id_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_qa_feedback")),
    )
    with op.batch_alter_table("qa_feedback") as batch_op:
        batch_op.create_index("ix_qa_feedback_verdict", ["verdict"])

    op.create_table(
        "qa_audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_audit_log")),
    )
    with op.batch_alter_table("qa_audit_log") as batch_op:
        batch_op.create_index("ix_qa_audit_log_at", ["at"])
        batch_op.create_index("ix_qa_audit_log_record", ["record_id"])

    with op.batch_alter_table("records") as batch_op:
        batch_op.create_index("ix_records_status_created", ["status", "created_at"])


def downgrade() -> None:
    with op.batch_alter_table("records") as batch_op:
        batch_op.drop_index("ix_records_status_created")
    op.drop_table("qa_audit_log")
    op.drop_table("qa_feedback")
    op.drop_table("qa_sessions")
    op.drop_table("qa_reviewers")

"""Threshold calibration: the operator role and the history of applied thresholds

Revision ID: 0300
Revises: 0200
Create Date: 2026-12-09

* ``qa_reviewers.role``: ``reviewer`` (every existing account) or ``operator``; only an
  operator may write calibrated thresholds.
* ``qa_threshold_changes``: every threshold applied from ``/qa/calibration`` or
  ``ocr-service calibrate --apply``, and every rollback, with the values before and after
  and the evidence counts. The thresholds file is what the service reads; this is its
  history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0300"
down_revision: str | Sequence[str] | None = "0200"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("qa_reviewers") as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=20), nullable=False, server_default="reviewer")
        )
    op.create_table(
        "qa_threshold_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("check_name", sa.String(length=80), nullable=False),
        sa.Column("section", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value_before", sa.Float(), nullable=False),
        sa.Column("value_after", sa.Float(), nullable=False),
        sa.Column("file_before", sa.Float(), nullable=True),
        sa.Column("file_after", sa.Float(), nullable=True),
        sa.Column("reverts_id", sa.Integer(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_threshold_changes")),
    )
    with op.batch_alter_table("qa_threshold_changes") as batch_op:
        batch_op.create_index("ix_qa_threshold_changes_check_at", ["check_name", "at"])


def downgrade() -> None:
    with op.batch_alter_table("qa_threshold_changes") as batch_op:
        batch_op.drop_index("ix_qa_threshold_changes_check_at")
    op.drop_table("qa_threshold_changes")
    with op.batch_alter_table("qa_reviewers") as batch_op:
        batch_op.drop_column("role")

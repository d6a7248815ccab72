"""Privacy and abuse hardening: flagged numbers, one pending review each, unique key names,
stored ID fields cut to a birth year

Revision ID: 0200
Revises: 0100
Create Date: 2026-12-02

* ``flagged_numbers``: numbers that failed too often across end users, for operators.
* ``manual_reviews.pending_key`` (unique while pending): one pending submission per
  (API key, end user, document type).
* ``api_keys.name`` unique: a created key can no longer share a name (and so the records)
  of another key. Existing duplicates are renamed ``NAME-KEYID`` first.
* ``records.fields``: a stored ``birth_date`` beside the masked number rebuilds the whole
  number; existing rows keep only ``birth_year``. (Not reversible: the dates are gone.)
* ``attempt_counters`` needs no change: the ``id_number`` scope keeps counting failures
  per number across end users (now only to flag), ``user_number`` is the new day-lock.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0200"
down_revision: str | Sequence[str] | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flagged_numbers",
        sa.Column("id_number_hash", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("masked_id_number", sa.String(length=32), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_number_hash", "day", name=op.f("pk_flagged_numbers")),
    )
    with op.batch_alter_table("flagged_numbers") as batch_op:
        batch_op.create_index("ix_flagged_numbers_flagged_at", ["flagged_at"])

    with op.batch_alter_table("manual_reviews") as batch_op:
        batch_op.add_column(sa.Column("pending_key", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(op.f("uq_manual_reviews_pending_key"), ["pending_key"])

    conn = op.get_bind()
    keys = sa.table("api_keys", sa.column("key_id", sa.String), sa.column("name", sa.String))
    seen: set[str] = set()
    for key_id, name in conn.execute(sa.select(keys.c.key_id, keys.c.name).order_by(keys.c.key_id)):
        if name in seen:
            conn.execute(
                keys.update().where(keys.c.key_id == key_id).values(name=f"{name[:80]}-{key_id}")
            )
        seen.add(name)
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.create_unique_constraint(op.f("uq_api_keys_name"), ["name"])

    records = sa.table(
        "records",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("fields", sa.JSON),
    )
    rows = conn.execute(
        sa.select(records.c.id, records.c.fields).where(records.c.kind == "id_verification")
    )
    for record_id, fields in rows:
        if isinstance(fields, dict) and "birth_date" in fields:
            kept = {k: v for k, v in fields.items() if k != "birth_date"}
            birth = fields.get("birth_date")
            year = birth[:4] if isinstance(birth, str) else ""
            kept["birth_year"] = year if year.isdigit() else None
            conn.execute(records.update().where(records.c.id == record_id).values(fields=kept))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_constraint(op.f("uq_api_keys_name"), type_="unique")
    with op.batch_alter_table("manual_reviews") as batch_op:
        batch_op.drop_constraint(op.f("uq_manual_reviews_pending_key"), type_="unique")
        batch_op.drop_column("pending_key")
    op.drop_table("flagged_numbers")

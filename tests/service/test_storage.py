"""Storage: migrations on SQLite and PostgreSQL, repository functions, indexed filters."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from ocr_service.storage import repository as repo
from ocr_service.storage.db import make_engine, make_session_factory, migrate, session_scope
from ocr_service.storage.tables import Base, Record, RecordReason


def _migrations_round_trip(url: str) -> None:
    from alembic import command

    from ocr_service.storage.db import _alembic_config

    migrate(url)
    migrate(url)  # idempotent: start-up runs it every time
    engine = make_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("record_reasons")}
    assert "ix_record_reasons_kind_code_created" in indexes
    engine.dispose()
    command.downgrade(_alembic_config(url), "base")
    command.upgrade(_alembic_config(url), "head")


def test_migrations_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _migrations_round_trip(f"sqlite:///{tmp_path / 'm.db'}")


@pytest.mark.services
def test_migrations_postgresql(pg_url) -> None:  # type: ignore[no-untyped-def]
    _migrations_round_trip(pg_url)


def _fill(url: str, n: int) -> None:
    migrate(url)
    engine = make_engine(url)
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    codes = ["BLURRY", "GLARE", "SKEWED", "TOO_DARK", "NAME_MISMATCH", "UPSIDE_DOWN"]
    records, reasons = [], []
    for i in range(n):
        kind = "certificate" if i % 2 else "id_verification"
        created = start + timedelta(seconds=i * 30)
        rejected = rng.random() < 0.4
        records.append(
            {
                "id": f"{i:032x}",
                "created_at": created,
                "updated_at": created,
                "kind": kind,
                "document_type": "certificate" if kind == "certificate" else "resident_id_card",
                "source": rng.choice(["unit-a", "unit-b", "mini-program"]),
                "status": "rejected"
                if rejected
                else ("accepted" if kind == "certificate" else "verified"),
                "reasons": [],
                "warnings": [],
                "measurements": {},
                "checks": {},
                "timings": {},
                "fields": {},
            }
        )
        if rejected:
            reasons.append(
                {
                    "record_id": f"{i:032x}",
                    "kind": kind,
                    "code": rng.choice(codes),
                    "created_at": created,
                }
            )
    with engine.begin() as conn:
        conn.execute(Record.__table__.insert(), records)
        conn.execute(RecordReason.__table__.insert(), reasons)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))  # what autovacuum does on a live database
    engine.dispose()


def _dashboard_queries_are_fast(url: str) -> None:
    _fill(url, 100_000)
    factory = make_session_factory(make_engine(url))
    flt = repo.RecordFilter(kind="certificate", reason_code="SKEWED", statuses=("rejected",))
    with session_scope(factory) as session:
        started = time.perf_counter()
        page = repo.list_records(session, flt=flt, limit=50)
        first_page = time.perf_counter() - started
        started = time.perf_counter()
        deep = repo.list_records(session, flt=flt, limit=50, offset=2000)
        deep_page = time.perf_counter() - started
        total = repo.count_records(session, flt=flt)
        by_reason = repo.count_by_reason(session, kind="certificate")
    assert len(page) == 50 and len(deep) == 50
    assert all(r.kind == "certificate" and r.status == "rejected" for r in page)
    assert page[0].created_at >= page[-1].created_at
    assert 2500 < total < 4500 and by_reason["SKEWED"] == total
    assert first_page < 1.0 and deep_page < 1.5, (first_page, deep_page)


def test_dashboard_filters_100k_records_fast_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'big.db'}"
    _dashboard_queries_are_fast(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        plan = " ".join(
            str(r)
            for r in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT record_id FROM record_reasons "
                    "WHERE kind='certificate' AND code='SKEWED'"
                )
            )
        )
    assert "ix_record_reasons_kind_code_created" in plan
    engine.dispose()


@pytest.mark.services
def test_dashboard_filters_100k_records_fast_postgresql(pg_url) -> None:  # type: ignore[no-untyped-def]
    _dashboard_queries_are_fast(pg_url)


def test_manual_review_repository_for_the_dashboard(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'r.db'}"
    migrate(url)
    factory = make_session_factory(make_engine(url))
    now = datetime.now(UTC)
    with session_scope(factory) as session:
        for i in range(3):
            repo.save_record(
                session,
                record_id=f"{i:032x}",
                kind="id_verification",
                document_type="passport",
                source="s",
                status="pending_review",
                now=now + timedelta(seconds=i),
            )
            repo.create_manual_review(
                session,
                record_id=f"{i:032x}",
                sealed_declaration=b"x",
                image_dir=f"reviews/{i:032x}",
                now=now + timedelta(seconds=i),
                retention=timedelta(days=30),
            )
    with session_scope(factory) as session:
        pending = repo.list_manual_reviews(session, state="pending")
        assert [m.record_id for m, _ in pending] == [f"{i:032x}" for i in range(3)]
        assert repo.count_manual_reviews(session) == 3
        assert (
            repo.close_manual_review(
                session, record_id=f"{0:032x}", state="approved", now=now, decided_by="qa"
            )
            == f"reviews/{0:032x}"
        )
        assert (
            repo.close_manual_review(session, record_id=f"{0:032x}", state="rejected", now=now)
            is None
        )
    with session_scope(factory) as session:
        review = repo.get_manual_review(session, record_id=f"{0:032x}")
        assert (
            review.state == "approved"
            and review.sealed_declaration is None
            and review.image_dir is None
        )
        assert repo.get_record(session, record_id=f"{0:032x}").status == "verified"
        assert repo.count_manual_reviews(session) == 2

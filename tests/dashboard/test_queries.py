"""Dashboard queries, measurements against thresholds and chart geometry, on a small
database made by the real migrations."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from ocr_service.dashboard import queries as q
from ocr_service.dashboard.charts import _nice_max, daily_chart, reason_chart
from ocr_service.dashboard.measures import certificate_checks, id_side_checks
from ocr_service.storage.db import (
    SessionFactory,
    make_engine,
    make_session_factory,
    migrate,
    session_scope,
)
from pipelines.certificate.config import CertificateConfig
from pipelines.id_card.config import IdCardConfig
from tests.dashboard import seed
from tests.service.support import PostgresCluster, have_postgres

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[PostgresCluster]:
    if not have_postgres():
        pytest.skip("PostgreSQL binaries are not installed")
    cluster = PostgresCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionFactory]:
    """A migrated database: SQLite (the embedded default) and PostgreSQL (production)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'q.db'}"
    else:
        url = request.getfixturevalue("pg_cluster").create_database()
    migrate(url)
    engine = make_engine(url)
    yield make_session_factory(engine)
    engine.dispose()


def test_migration_0100_goes_down_and_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate(url)
    engine = make_engine(url)
    assert {"qa_reviewers", "qa_sessions", "qa_feedback", "qa_audit_log"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()
    from alembic import command

    from ocr_service.storage.db import _alembic_config

    command.downgrade(_alembic_config(url), "0001")
    engine = make_engine(url)
    assert not {"qa_reviewers", "qa_feedback"} & set(inspect(engine).get_table_names())
    engine.dispose()
    migrate(url)


def test_the_migration_matches_the_tables(tmp_path: Path) -> None:
    """Autogenerate finds nothing to do for the dashboard's tables and index."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import ocr_service.dashboard.tables  # noqa: F401
    from ocr_service.storage.tables import Base

    url = f"sqlite:///{tmp_path / 'c.db'}"
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    ours = [d for d in diffs if "qa_" in repr(d) or "ix_records_status_created" in repr(d)]
    assert ours == []


def test_overview_counts_rates_and_feedback(factory: SessionFactory) -> None:
    rng = random.Random(3)
    now = datetime.now(UTC)
    with session_scope(factory) as s:
        rejected = [
            seed.save(
                s,
                seed.certificate_record(
                    rng, rejected=True, now=now - timedelta(hours=1), reasons=[("SKEWED", "m")]
                ),
            )
            for _ in range(3)
        ]
        for _ in range(5):
            seed.save(s, seed.certificate_record(rng, rejected=False, now=now - timedelta(hours=1)))
        seed.save(
            s,
            seed.certificate_record(
                rng,
                rejected=True,
                now=now - timedelta(days=2),
                reasons=[("BLURRY", "m")],
                source="unit-b",
            ),
        )
        seed.save(s, seed.id_record(rng, rejected=True, now=now, reasons=[("GLARE", "front", "m")]))
        q.save_feedback(
            s, record_id=rejected[0], verdict="false_rejection", note="", reviewer="r", now=now
        )
        q.save_feedback(s, record_id=rejected[1], verdict="correct", note="", reviewer="r", now=now)
        q.save_feedback(
            s, record_id=rejected[1], verdict="false_rejection", note="改", reviewer="r2", now=now
        )
        q.save_feedback(s, record_id=rejected[2], verdict="correct", note="", reviewer="r", now=now)
    today = q.today_in(TZ)
    period = q.local_period(today - timedelta(days=6), today, TZ)
    with factory() as s:
        ids, certs = q.overview(s, period=period, timezone=TZ)
        only_b = q.overview(s, period=period, timezone=TZ, source="unit-b")[1]
    assert (certs.total, certs.passed, certs.rejected) == (9, 5, 4)
    assert certs.rate == pytest.approx(4 / 9)
    assert len(certs.days) == 7 and sum(d.rejected for d in certs.days) == 4
    assert (certs.feedback.reviewed, certs.feedback.false_rejections) == (
        3,
        2,
    )  # latest verdict wins
    skewed = next(r for r in certs.reasons if r.code == "SKEWED")
    assert (skewed.count, skewed.reviewed, skewed.false_rejections) == (3, 3, 2)
    assert ids.total == 1 and ids.feedback.rate is None
    assert (only_b.total, only_b.feedback.reviewed) == (1, 0)


def test_days_are_local_days(factory: SessionFactory) -> None:
    # 23:30 UTC on the 1st is 07:30 on the 2nd in Shanghai
    stamp = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    with session_scope(factory) as s:
        seed.save(s, seed.id_record(random.Random(1), rejected=False, now=stamp))
    period = q.local_period(date(2026, 3, 1), date(2026, 3, 2), TZ)
    with factory() as s:
        days = q.daily_counts(s, kind="id_verification", period=period, timezone=TZ)
    assert [(d.day.day, d.passed) for d in days] == [(1, 0), (2, 1)]


def test_rejections_filter_and_page(factory: SessionFactory) -> None:
    rng = random.Random(4)
    base = datetime(2026, 5, 1, tzinfo=UTC)
    with session_scope(factory) as s:
        for i in range(30):
            seed.save(
                s,
                seed.id_record(
                    rng,
                    rejected=True,
                    now=base + timedelta(minutes=i),
                    reasons=[("BLURRY" if i % 2 else "GLARE", "front", "m")],
                ),
            )
            seed.save(
                s, seed.id_record(rng, rejected=False, now=base + timedelta(minutes=i, seconds=1))
            )
        # same instant, different ids: the id breaks the tie
        for _ in range(3):
            seed.save(
                s, seed.certificate_record(rng, rejected=True, now=base, reasons=[("SKEWED", "m")])
            )
    with factory() as s:
        seen, cursor = [], None
        while True:
            page = q.list_rejections(s, flt=q.RejectionFilter(), after=cursor, limit=7)
            seen.extend(page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert len(seen) == len({r.id for r in seen}) == 33
        assert [(r.created_at, r.id) for r in seen] == sorted(
            ((r.created_at, r.id) for r in seen), reverse=True
        )
        blurry = q.list_rejections(s, flt=q.RejectionFilter(reason_code="BLURRY"), limit=100).rows
        assert (
            len(blurry) == 15
            and q.count_rejections(s, flt=q.RejectionFilter(reason_code="BLURRY")) == 15
        )
        window = q.RejectionFilter(
            since=base + timedelta(minutes=10), until=base + timedelta(minutes=20)
        )
        assert q.count_rejections(s, flt=window) == 10
        assert q.count_rejections(s, flt=q.RejectionFilter(kind="certificate")) == 3
        assert (
            q.count_rejections(
                s, flt=q.RejectionFilter(document_type="certificate", reason_code="SKEWED")
            )
            == 3
        )


def test_cursor_round_trip_and_garbage() -> None:
    cursor = q.Cursor(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "ab" * 16)
    assert q.Cursor.decode(cursor.encode()) == cursor
    for junk in ("", "!!!", "x" * 500, "MjAyNi0wMS0wMnxhYg", "bm90IGEgZGF0ZXxhYg"):
        assert q.Cursor.decode(junk) is None or q.Cursor.decode(junk).created_at.tzinfo is not None


def test_id_measurements_against_thresholds() -> None:
    stages = {
        "read": {
            "passed": True,
            "measured": {
                "path": "text",
                "field_scores": {"name": 0.62, "id_number": 0.99},
                "card_long_edge_px": 900,
                "orientation_degrees": 180,
            },
            "limits": {},
        },
        "capture": {
            "passed": False,
            "measured": {
                "sharpness": 0.21,
                "text_contrast": 140.0,
                "glare_fields": {"name": 0.5, "id_number": 0.0},
            },
            # the limits in force when the photo was judged, not today's settings
            "limits": {
                "min_field_confidence": 0.85,
                "min_sharpness": 0.3,
                "min_text_contrast": 60.0,
                "glare_field_fraction": 0.2,
                "min_card_width_px": 480,
            },
        },
    }
    rows = {c.key: c for c in id_side_checks({"stages": stages}, IdCardConfig())}
    assert rows["sharpness"].ok is False and rows["sharpness"].limit == "≥ 0.3"
    assert rows["text_contrast"].ok and rows["card_long_edge_px"].ok
    assert rows["glare_fields"].ok is False and "name" in rows["glare_fields"].label
    assert rows["field_confidence"].ok is False and "name" in rows["field_confidence"].label
    assert rows["path"].value == "文字定位" and rows["path"].ok is None
    assert rows["orientation_degrees"].ok is None and rows["orientation_degrees"].value == "180°"
    assert rows["capture"].ok is False
    assert id_side_checks({}, IdCardConfig()) == []


def test_certificate_measurements_against_thresholds() -> None:
    cfg = CertificateConfig()
    rows = {
        c.key: c
        for c in certificate_checks(
            {
                "skew_degrees": -2.5,
                "orientation_degrees": 180,
                "edge_px": 1.2,
                "char_height_px": 9.0,
                "stages": {"sharpness": {"limits": {"max_edge_px": 2.4}}},
                "width": 900,
                "height": 1300,
                "ink_ratio": 0.05,
                "bytes": 4 * 2**20,
            },
            cfg,
        )
    }
    assert rows["skew_degrees"].ok is False and rows["skew_degrees"].value == "-2.50°"
    assert (
        rows["orientation_degrees"].ok is False
        and rows["edge_px"].ok
        and rows["edge_px"].limit == "≤ 2.4"
    )
    assert rows["char_height_px"].ok is False
    assert rows["page_px"].ok is None and rows["page_px"].value == "900×1300"
    assert rows["bytes"].ok is False and rows["ink_ratio"].ok
    assert certificate_checks({"skew_degrees": None}, cfg) == []


def test_chart_geometry() -> None:
    days = [q.DayCount(date(2026, 1, d), passed=d, rejected=d % 3, other=0) for d in range(1, 11)]
    chart = daily_chart(days, width=700, height=200)
    assert len(chart.bars) == 10 and not chart.empty
    base = chart.height - chart.bottom
    for bar, d in zip(chart.bars, days, strict=True):
        assert bar.passed_y + bar.passed_h == pytest.approx(base, abs=0.2)
        assert bar.rejected_y + bar.rejected_h == pytest.approx(bar.passed_y, abs=0.2)
        assert (bar.passed, bar.rejected) == (d.passed, d.rejected)
    tallest = max(chart.bars, key=lambda b: b.passed + b.rejected)
    assert tallest.rejected_y >= chart.top
    assert len(chart.rate_dots) == 10
    assert daily_chart([q.DayCount(date(2026, 1, 1), 0, 0, 0)]).empty
    assert [_nice_max(v) for v in (0, 3, 5, 9, 11, 33, 99, 101, 750)] == [
        4,
        4,
        8,
        10,
        20,
        40,
        100,
        200,
        800,
    ]
    reasons = reason_chart(
        [q.ReasonCount("SKEWED", 10, 4, 1), q.ReasonCount("BLURRY", 5)], {"SKEWED": "图片歪斜"}
    )
    assert reasons.bars[0].label == "图片歪斜" and reasons.bars[1].label == "BLURRY"
    assert reasons.bars[0].false_width == pytest.approx(reasons.bars[0].width / 4, abs=0.1)
    assert reasons.bars[1].width == pytest.approx(reasons.bars[0].width / 2, abs=0.1)


def test_every_reason_code_has_a_chinese_label() -> None:
    from ocr_service.dashboard.labels import CERTIFICATE_REASONS, ID_REASONS
    from pipelines.certificate.result import CertReasonCode
    from pipelines.id_card.result import ReasonCode

    assert {str(c) for c in ReasonCode} <= {str(k) for k in ID_REASONS}
    assert {str(c) for c in CertReasonCode} <= {str(k) for k in CERTIFICATE_REASONS}

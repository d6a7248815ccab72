"""The (end user, number) day-lock holds under concurrency, on SQLite and on PostgreSQL.

Requests go through the real app (embedded queue, real engine). The declared
number is a well-formed 港澳台居民居住证 number, which the pipeline rejects as the
wrong document before reading the photos, so each failure is real but cheap.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ocr_service.main import create_app
from ocr_service.storage import repository as repo
from ocr_service.storage.db import make_engine, make_session_factory, migrate, session_scope
from tests.service.conftest import HEADERS
from tests.service.support import id_photo_pair
from tests.service.test_api_id import hmt_number


async def hammer(app, number: str, n: int = 20) -> Counter[str]:  # type: ignore[no-untyped-def]
    front, back, name, _ = id_photo_pair(11)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", timeout=120
        ) as client:

            async def one(i: int) -> str:
                r = await client.post(
                    "/v1/id-verifications",
                    headers={**HEADERS, "X-End-User": "one-user"},
                    files={
                        "front": ("f.jpg", front, "image/jpeg"),
                        "back": ("b.jpg", back, "image/jpeg"),
                    },
                    data={"declared_name": name, "declared_id_number": number},
                )
                if r.status_code == 429:  # refused while other attempts were still running
                    assert r.headers["retry-after"]
                    assert "in progress" in r.json()["error"]["message"]
                    return "in_progress"
                assert r.status_code == 200, r.text
                return r.json()["status"]

            statuses = await asyncio.gather(*(one(i) for i in range(n)))
    return Counter(statuses)


def check(app, number: str) -> None:  # type: ignore[no-untyped-def]
    counts = asyncio.run(hammer(app, number))
    assert counts["rejected"] <= 3, counts
    assert counts["rejected"] + counts["locked"] + counts["in_progress"] == 20, counts
    runtime = app.state.runtime
    with session_scope(runtime.session_factory) as session:
        from sqlalchemy import select

        rows = session.execute(
            select(repo.AttemptCounter.failures, repo.AttemptCounter.in_flight).where(
                repo.AttemptCounter.scope == "user_number"
            )
        ).all()
    assert rows == [(counts["rejected"], 0)]


def test_twenty_parallel_failures_on_sqlite_let_at_most_three_through(
    make_settings, ocr_engine
) -> None:  # type: ignore[no-untyped-def]
    # the requester limit (locked answers count against it) is not this test's subject
    app = create_app(
        make_settings(failures_per_requester=100), engine=ocr_engine, configure_logs=False
    )
    check(app, hmt_number(7))


@pytest.mark.services
def test_twenty_parallel_failures_on_postgresql_let_at_most_three_through(
    make_settings, ocr_engine, pg_url
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(
        make_settings(database_url=pg_url, failures_per_requester=100),
        engine=ocr_engine,
        configure_logs=False,
    )
    check(app, hmt_number(8))


def _reserve_race(url: str) -> None:
    """Repository level: 20 threads reserving at once; exactly `limit` win."""
    from concurrent.futures import ThreadPoolExecutor

    migrate(url)
    factory = make_session_factory(make_engine(url))
    now = datetime.now(UTC)

    def reserve(_: int) -> bool:
        with session_scope(factory) as session:
            return repo.reserve_attempt(
                session,
                scope=repo.Scope.ID_NUMBER,
                key_hash="h" * 64,
                day="2026-01-01",
                limit=3,
                now=now,
                hold=timedelta(minutes=1),
            )

    with ThreadPoolExecutor(20) as pool:
        wins = list(pool.map(reserve, range(20)))
    assert sum(wins) == 3
    # a reservation older than its hold no longer counts (a crashed process)
    later = now + timedelta(minutes=2)
    with session_scope(factory) as session:
        assert repo.reserve_attempt(
            session,
            scope=repo.Scope.ID_NUMBER,
            key_hash="h" * 64,
            day="2026-01-01",
            limit=3,
            now=later,
            hold=timedelta(minutes=1),
        )


def test_reservation_race_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _reserve_race(f"sqlite:///{tmp_path / 'race.db'}")


@pytest.mark.services
def test_reservation_race_postgresql(pg_url) -> None:  # type: ignore[no-untyped-def]
    _reserve_race(pg_url)

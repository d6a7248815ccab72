"""The sweeper: re-enqueues jobs a lost message or a dead worker left behind, and
deletes manual-review images past their retention. Runs as a daemon thread in
every ``serve`` and ``worker`` process; a conditional update makes sure that
only one sweeper re-enqueues a given job per timeout."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from ocr_service.config import Settings
from ocr_service.storage import repository as repo
from ocr_service.storage.db import SessionFactory, session_scope
from ocr_service.storage.files import FileStore

log = logging.getLogger("ocr_service.sweeper")


def sweep_once(
    *,
    settings: Settings,
    session_factory: SessionFactory,
    store: FileStore,
    enqueue: Callable[[list[str]], None],
    now: datetime | None = None,
) -> dict[str, int]:
    now = now or datetime.now(UTC)
    with session_scope(session_factory) as session:
        stale = repo.stale_batch_files(
            session,
            queued_before=now - timedelta(seconds=settings.job_queued_timeout_s),
            running_before=now - timedelta(seconds=settings.job_running_timeout_s),
            now=now,
        )
    if stale:
        log.info("re-enqueuing stale jobs", extra={"count": len(stale)})
        enqueue(stale)
    expired = 0
    with session_scope(session_factory) as session:
        ids = repo.expired_manual_reviews(session, now=now)
    for record_id in ids:
        with session_scope(session_factory) as session:
            image_dir = repo.close_manual_review(
                session, record_id=record_id, state="expired", now=now
            )
            if image_dir is not None:
                repo.add_audit_event(
                    session,
                    action="review_expired",
                    actor=None,
                    now=now,
                    record_id=record_id,
                    detail={"retention_days": settings.review_retention_days},
                )
        store.delete_dir(image_dir)
        expired += 1
    return {"requeued": len(stale), "expired_reviews": expired}


class Sweeper:
    def __init__(self, interval_s: float, run: Callable[[], object]) -> None:
        self._interval = interval_s
        self._run = run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ocr-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._run()
            except Exception:  # the database may be down for a moment; try next round
                log.warning("sweep failed", exc_info=True)

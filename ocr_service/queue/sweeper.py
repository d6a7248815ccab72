"""The sweeper: re-enqueues jobs a lost message or a dead worker left behind, and
deletes manual-review images and certificate files past their retention. Runs as a daemon thread in
every ``serve`` and ``worker`` process; a conditional update makes sure that
only one sweeper re-enqueues a given job per timeout."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
    files = sweep_certificate_files(
        settings=settings, session_factory=session_factory, store=store, now=now
    )
    return {"requeued": len(stale), "expired_reviews": expired, **files}


def sweep_certificate_files(
    *,
    settings: Settings,
    session_factory: SessionFactory,
    store: FileStore,
    now: datetime,
) -> dict[str, int]:
    """Retention for certificate files (they carry names and ID numbers printed on the
    certificates): uploads, previews and fixed files older than ``cert_retention_days``
    are deleted, and the folder of a batch whose upload failed (no batch row) once it is
    older than the queued timeout.

    The files on disk drive it, not the rows: a deletion that fails (a busy file, a
    permission problem) leaves the file where the next sweep finds it again, so it is
    retried every round until it goes, and an orphan left by an aborted upload is found
    the same way. The rows' paths are cleared so nothing points at a deleted file."""
    cutoff = (now - timedelta(days=settings.cert_retention_days)).timestamp()
    orphan_cutoff = (now - timedelta(seconds=settings.job_queued_timeout_s)).timestamp()
    deleted = failed = 0
    batches = store.root / "batches"
    folders = sorted(p for p in batches.iterdir() if p.is_dir()) if batches.is_dir() else []
    for folder in folders:
        old_folder = _mtime(folder) < orphan_cutoff  # never race a batch being uploaded
        orphan = False
        if old_folder:
            with session_scope(session_factory) as session:
                orphan = not repo.batch_exists(session, batch_id=folder.name)
        for path in sorted(folder.iterdir()):
            if path.is_file() and (orphan or _mtime(path) < cutoff):
                ok = _unlink(path)
                deleted += ok
                failed += not ok
        if old_folder:
            with contextlib.suppress(OSError):  # only once empty
                folder.rmdir()
    singles = store.single_dir()
    for path in sorted(singles.iterdir()) if singles.is_dir() else []:
        if path.is_file() and _mtime(path) < cutoff:
            ok = _unlink(path)
            deleted += ok
            failed += not ok
    with session_scope(session_factory) as session:
        forgotten = repo.forget_certificate_files(
            session, before=now - timedelta(days=settings.cert_retention_days)
        )
    if deleted or failed:
        log.info(
            "certificate files past retention",
            extra={"deleted": deleted, "failed": failed, "rows_cleared": forgotten},
        )
    return {"certificate_files_deleted": deleted, "certificate_files_failed": failed}


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # gone meanwhile: nothing to do


def _unlink(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        log.warning("could not delete a certificate file; retried next sweep", exc_info=True)
        return False
    return True


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

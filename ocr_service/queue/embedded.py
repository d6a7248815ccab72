"""The embedded default: an in-process queue, one worker thread per queue.

ID payloads are Python objects handed from the request to the ID thread; they
are never serialised, so they never reach disk. Certificate jobs carry ids;
at start-up every unfinished job from an earlier run is re-enqueued.

``close`` is the graceful stop: the ID thread finishes what was handed to it,
the certificate thread finishes the file it is on and takes no other; the
files still queued are handed back (their rows stay ``queued`` in the
database, and the next start enqueues them again).

Each queue measures its per-job service time for admission
(:mod:`ocr_service.admission`) and counts outcomes for ``/metrics``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from ocr_service import metrics
from ocr_service.admission import DeadlineExceededError, ServiceTimes
from ocr_service.errors import QueueUnavailableError
from ocr_service.queue.jobs import (
    IdJob,
    WorkerContext,
    process_certificate_file,
    run_id_verification,
)

log = logging.getLogger("ocr_service.queue")

_STOP = object()


class EmbeddedQueue:
    def __init__(
        self,
        context: Callable[[], WorkerContext],
        *,
        max_pending_ids: int,
        id_deadline_s: float | None = None,
        id_times: ServiceTimes | None = None,
        cert_times: ServiceTimes | None = None,
        cert_workers: int = 1,
    ) -> None:
        self._context = context
        self._cert_workers = max(1, cert_workers)  # one thread per certificate process
        self._ids: queue.Queue[Any] = queue.Queue(maxsize=max_pending_ids)
        self._certs: queue.Queue[Any] = queue.Queue()
        self._queued: set[str] = set()
        self._queued_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._stopping = threading.Event()
        self._id_deadline_s = id_deadline_s
        self.id_times = id_times or ServiceTimes(20, 1.0)
        self.cert_times = cert_times or ServiceTimes(20, 1.0)
        self._outstanding: dict[int, float] = {}  # ID jobs waiting or running: enqueue time
        self._outstanding_lock = threading.Lock()

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._threads = [
                threading.Thread(target=self._run_ids, name="ocr-id-worker", daemon=True),
                *(
                    threading.Thread(target=self._run_certs, name=f"ocr-cert-{i}", daemon=True)
                    for i in range(self._cert_workers)
                ),
            ]
            for thread in self._threads:
                thread.start()

    # TaskQueue --------------------------------------------------------------
    def verify_id(self, job: IdJob, timeout: float) -> dict[str, Any]:
        """Run one verification; wait at most ``timeout``, and never past the client-facing
        deadline (the job is then cancelled if it has not started)."""
        if self._id_deadline_s is not None:
            timeout = min(timeout, self._id_deadline_s)
        future: Future[dict[str, Any]] = Future()
        key = id(future)
        with self._outstanding_lock:
            self._outstanding[key] = time.monotonic()
        try:
            try:
                self._ids.put_nowait((job, future, time.monotonic() + timeout))
            except queue.Full as exc:
                raise QueueUnavailableError(
                    "too many verifications waiting, retry shortly", retry_after=2
                ) from exc
            try:
                return future.result(timeout=timeout)
            except FutureTimeout as exc:
                future.cancel()
                raise QueueUnavailableError(
                    "verification timed out, retry shortly", retry_after=5
                ) from exc
        finally:
            with self._outstanding_lock:
                self._outstanding.pop(key, None)

    def id_backlog(self) -> tuple[int, float | None]:
        """ID jobs waiting or running in this process, and the oldest one's age (s)."""
        with self._outstanding_lock:
            times = list(self._outstanding.values())
        if not times:
            return 0, None
        return len(times), time.monotonic() - min(times)

    def certificate_backlog(self) -> int:
        """Certificate jobs waiting in this process's queue."""
        return self._certs.qsize()

    def enqueue_certificate_files(self, file_ids: Iterable[str]) -> None:
        with self._queued_lock:
            for file_id in file_ids:
                if file_id not in self._queued:  # the sweeper may offer a job twice
                    self._queued.add(file_id)
                    self._certs.put(file_id)

    def ensure_available(self) -> None:
        return None

    def close(self, timeout: float = 10.0) -> None:
        """Stop: ID jobs already handed over are answered; the certificate thread finishes
        its file (within ``timeout``) and hands the queued ones back."""
        if self._started:
            self._stopping.set()
            self._ids.put(_STOP)
            for _ in range(self._cert_workers):
                self._certs.put(_STOP)
            deadline = time.monotonic() + timeout
            for thread in self._threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            handed_back = sum(1 for item in _drain(self._certs) if item is not _STOP)
            if handed_back:
                log.info(
                    "certificate jobs handed back for the next start",
                    extra={"count": handed_back},
                )
            self._started = False

    # workers ----------------------------------------------------------------
    def _run_ids(self) -> None:
        while True:
            item = self._ids.get()
            if item is _STOP:
                return
            job, future, give_up_at = item
            if not future.set_running_or_notify_cancel():
                continue
            if time.monotonic() + 0.5 * self.id_times.estimate() > give_up_at:
                # Its waiter would give up before even a quick verification (half the
                # 90th-percentile time) could be done: the cores go to a job that can still
                # be answered in time instead of one whose answer would be dropped.
                future.set_exception(DeadlineExceededError("no time left to verify in time"))
                del job, item
                continue
            started = time.perf_counter()
            try:
                ctx = self._context()
                result = run_id_verification(job, engine=ctx.engine, settings=ctx.settings)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)
                metrics.observe_stages("id", result.get("timings_ms"))
            finally:
                self.id_times.record(time.perf_counter() - started)
                del job, item  # drop the image bytes as soon as possible

    def _run_certs(self) -> None:
        while True:
            file_id = self._certs.get()
            if file_id is _STOP or self._stopping.is_set():
                if file_id is not _STOP:
                    self._certs.put(file_id)  # counted as handed back by close()
                return
            with self._queued_lock:
                self._queued.discard(file_id)
            started = time.perf_counter()
            try:
                ctx = self._context()
                outcome = process_certificate_file(ctx, file_id)
            except Exception:
                # The job row stays 'running'; the sweeper retries it and, after
                # the delivery limit, marks it failed.
                log.exception("certificate job crashed", extra={"job_id": file_id})
                continue
            if outcome != "skip":
                self.cert_times.record(time.perf_counter() - started)
                observe_certificate_job(ctx, file_id)


def observe_certificate_job(ctx: WorkerContext, file_id: str) -> None:
    """Count a finished batch file by its recorded outcome and reasons (for /metrics)."""
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import session_scope

    try:
        with session_scope(ctx.session_factory) as session:
            record = repo.get_record(session, record_id=file_id)
            if record is None:
                return
            status, reasons, timings = record.status, list(record.reasons), dict(record.timings)
    except Exception:  # metrics never fail a job
        log.warning("metrics: certificate outcome unavailable", exc_info=True)
        return
    metrics.observe_certificate(status, reasons, path="batch")
    metrics.observe_stages("certificate", timings)


def _drain(q: queue.Queue[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            return items

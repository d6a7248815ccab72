"""The embedded default: an in-process queue, one worker thread per queue.

ID payloads are Python objects handed from the request to the ID thread; they
are never serialised, so they never reach disk. Certificate jobs carry ids;
at start-up every unfinished job from an earlier run is re-enqueued.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

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
    def __init__(self, context: Callable[[], WorkerContext], *, max_pending_ids: int) -> None:
        self._context = context
        self._ids: queue.Queue[Any] = queue.Queue(maxsize=max_pending_ids)
        self._certs: queue.Queue[Any] = queue.Queue()
        self._queued: set[str] = set()
        self._queued_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._threads = [
                threading.Thread(target=self._run_ids, name="ocr-id-worker", daemon=True),
                threading.Thread(target=self._run_certs, name="ocr-cert-worker", daemon=True),
            ]
            for thread in self._threads:
                thread.start()

    # TaskQueue --------------------------------------------------------------
    def verify_id(self, job: IdJob, timeout: float) -> dict[str, Any]:
        future: Future[dict[str, Any]] = Future()
        try:
            self._ids.put_nowait((job, future))
        except queue.Full as exc:
            raise QueueUnavailableError(
                "too many verifications waiting, retry shortly", retry_after=2
            ) from exc
        try:
            return future.result(timeout=timeout)
        except FutureTimeout as exc:
            future.cancel()
            raise QueueUnavailableError("verification timed out, retry shortly") from exc

    def enqueue_certificate_files(self, file_ids: Iterable[str]) -> None:
        with self._queued_lock:
            for file_id in file_ids:
                if file_id not in self._queued:  # the sweeper may offer a job twice
                    self._queued.add(file_id)
                    self._certs.put(file_id)

    def ensure_available(self) -> None:
        return None

    def close(self) -> None:
        if self._started:
            self._ids.put(_STOP)
            self._certs.put(_STOP)
            for thread in self._threads:
                thread.join(timeout=10)
            self._started = False

    # workers ----------------------------------------------------------------
    def _run_ids(self) -> None:
        while True:
            item = self._ids.get()
            if item is _STOP:
                return
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                ctx = self._context()
                future.set_result(
                    run_id_verification(job, engine=ctx.engine, settings=ctx.settings)
                )
            except BaseException as exc:
                future.set_exception(exc)
            finally:
                del job, item  # drop the image bytes as soon as possible

    def _run_certs(self) -> None:
        while True:
            file_id = self._certs.get()
            if file_id is _STOP:
                return
            with self._queued_lock:
                self._queued.discard(file_id)
            try:
                process_certificate_file(self._context(), file_id)
            except Exception:
                # The job row stays 'running'; the sweeper retries it and, after
                # the delivery limit, marks it failed.
                log.exception("certificate job crashed", extra={"job_id": file_id})

"""Job queues: two of them, ``id`` (interactive, never behind a batch) and ``certificates``.

* :class:`~ocr_service.queue.embedded.EmbeddedQueue` — the one-machine default:
  one worker thread per queue inside the API process; ID payloads stay in memory.
* :class:`~ocr_service.queue.celery_app.CeleryQueue` — production: Celery over
  Redis, any number of API and worker processes. Only this package imports Celery.

Both offer the same three calls; the database is the source of truth for
certificate jobs, and the sweeper (:mod:`ocr_service.queue.sweeper`) re-enqueues
what a lost message or a killed worker left behind.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from ocr_service.queue.jobs import IdJob

ID_QUEUE = "id"
CERTIFICATE_QUEUE = "certificates"


class TaskQueue(Protocol):
    def verify_id(self, job: IdJob, timeout: float) -> dict[str, Any]:
        """Run one ID verification and wait for its result (blocking; call from a thread)."""
        ...

    def enqueue_certificate_files(self, file_ids: Iterable[str]) -> None:
        """Enqueue certificate jobs whose rows are already committed."""
        ...

    def ensure_available(self) -> None:
        """Raise QueueUnavailableError if work cannot be enqueued right now."""
        ...

    def close(self) -> None: ...


__all__ = ["CERTIFICATE_QUEUE", "ID_QUEUE", "IdJob", "TaskQueue"]

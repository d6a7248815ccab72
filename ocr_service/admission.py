"""Admission by expected wait: refuse at once what cannot be answered in time.

A job is admitted only when ``(jobs ahead + 1) x recent per-job service time /
parallelism`` fits within the client-facing deadline; otherwise the caller gets
503 with a ``Retry-After`` computed from the expected wait. Refusing early is
cheaper for everyone than letting work queue up and time out: a request that
cannot finish in time is not admitted, so one that is admitted is answered
within its deadline (the queue's wait is also capped at the deadline).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

from ocr_service import metrics
from ocr_service.errors import QueueUnavailableError

MAX_RETRY_AFTER_S = 300


class ServiceTimes:
    """A high percentile of the last ``window`` per-job service times (thread-safe).

    The mean lags when load jumps, which admitted jobs that then ran into their deadline;
    the 90th percentile of the same window keeps a margin without waiting for more data."""

    def __init__(self, window: int, initial_s: float) -> None:
        self._samples: deque[float] = deque(maxlen=window)
        self._initial = initial_s
        self._lock = threading.Lock()

    def record(self, seconds: float) -> None:
        if seconds >= 0:
            with self._lock:
                self._samples.append(seconds)

    def estimate(self) -> float:
        with self._lock:
            if not self._samples:
                return self._initial
            ordered = sorted(self._samples)
            return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def retry_after_for(expected_wait_s: float, deadline_s: float) -> int:
    """Seconds until the backlog ahead has shrunk enough for a new job to fit the deadline."""
    return max(1, min(MAX_RETRY_AFTER_S, math.ceil(expected_wait_s - deadline_s)))


class ExpectedWaitGate:
    """Admits a job while its expected wait fits the deadline; counts jobs it admitted
    until they finish. A context manager, like the fixed-length gate it replaces."""

    def __init__(
        self,
        queue: str,
        *,
        deadline_s: float,
        times: ServiceTimes,
        parallelism: int = 1,
        ahead: Callable[[], int] | None = None,
        draining: Callable[[], bool] | None = None,
        headroom: float = 1.0,
    ) -> None:
        self.queue = queue
        self.deadline_s = deadline_s
        self.budget_s = deadline_s * headroom  # what the expected wait may fill
        self.times = times
        self._parallelism = max(1, parallelism)
        self._ahead = ahead
        self._draining = draining
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return self._pending

    def expected_wait(self, extra_jobs: int = 1) -> float:
        """Seconds until ``extra_jobs`` more jobs would be done, given the jobs ahead."""
        ahead = self._pending + (self._ahead() if self._ahead else 0)
        service = self.times.estimate()
        metrics.SERVICE_TIME.labels(self.queue).set(service)
        return (ahead + extra_jobs) * service / self._parallelism

    def check(self, extra_jobs: int = 1) -> float:
        """Raise QueueUnavailableError (503 + Retry-After) unless the work fits; returns the
        expected wait."""
        if self._draining is not None and self._draining():
            metrics.SHED.labels(self.queue, "draining").inc()
            raise QueueUnavailableError("the service is restarting, retry shortly", retry_after=5)
        wait = self.expected_wait(extra_jobs)
        metrics.EXPECTED_WAIT.labels(self.queue).set(wait)
        if wait > self.budget_s:
            metrics.SHED.labels(self.queue, "expected_wait").inc()
            raise QueueUnavailableError(
                f"busy: the expected wait ({wait:.0f} s) exceeds {self.budget_s:.0f} s, "
                "retry later",
                retry_after=retry_after_for(wait, self.budget_s),
            )
        return wait

    def __enter__(self) -> ExpectedWaitGate:
        with self._lock:
            self.check()
            self._pending += 1
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._pending -= 1

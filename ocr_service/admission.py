"""Admission by expected wait: refuse at once what cannot be answered in time.

A job is admitted only when ``(jobs ahead + 1) x recent per-job service time /
parallelism`` fits within the client-facing deadline; otherwise the caller gets
503 with a ``Retry-After`` computed from the expected wait. Refusing early is
cheaper for everyone than letting work queue up and time out: a request that
cannot finish in time is not admitted.

Admission is an estimate; the deadline is a promise. A :class:`Deadline` starts when the
request arrives (arrival + the client-facing deadline, set by the HTTP layer in a context
variable) and travels with the work: before the expensive step (the queue) an admitted job
that no longer fits what remains is given up with :class:`DeadlineExceededError` (503 +
``Retry-After``, counted as ``cause="deadline"``), the wait on the queue ends with what
remains less a reserve for storing the answer, and an answer that would be late is not
sent. So an admitted request is answered by its deadline or refused, never answered late.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

from ocr_service import metrics
from ocr_service.errors import QueueUnavailableError

MAX_RETRY_AFTER_S = 300
# Share of a deadline kept for the work after the queue (storing the record, the answer).
FINISH_SHARE = 0.05


class DeadlineExceededError(QueueUnavailableError):
    """503 + Retry-After: admitted, but what remains of the deadline no longer covers the rest
    of the work, so it is given up rather than answered late. Not the candidate's failure."""

    code = "DEADLINE_EXCEEDED"


@dataclass(frozen=True)
class Deadline:
    """When the caller stops waiting (``time.monotonic()`` seconds), and the part of it kept
    for the work after the queue."""

    at: float
    reserve_s: float = 0.0

    @classmethod
    def after(cls, seconds: float, *, now: float | None = None) -> Deadline:
        start = time.monotonic() if now is None else now
        return cls(at=start + seconds, reserve_s=FINISH_SHARE * seconds)

    def remaining(self) -> float:
        """Seconds until the answer must have been sent."""
        return self.at - time.monotonic()

    def for_work(self) -> float:
        """Seconds the queued work may still take (the remaining time less the reserve)."""
        return self.remaining() - self.reserve_s


_DEADLINE: ContextVar[Deadline | None] = ContextVar("ocr_request_deadline", default=None)


def start_deadline(seconds: float) -> Token[Deadline | None]:
    """The request arrived now: its deadline is ``seconds`` away (for the code it calls)."""
    return _DEADLINE.set(Deadline.after(seconds))


def end_deadline(token: Token[Deadline | None]) -> None:
    _DEADLINE.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline of the request being served, or None outside one (CLI, tests)."""
    return _DEADLINE.get()


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

    def check_deadline(self, deadline: Deadline, extra_jobs: int = 1) -> float:
        """Before the expensive step of an admitted job: raise DeadlineExceededError unless
        what remains of ``deadline`` covers the expected wait (the jobs ahead and this one);
        returns the seconds the work may take."""
        left = deadline.for_work()
        if self.expected_wait(extra_jobs) > left:
            raise self.out_of_time(f"{max(0.0, left):.1f} s of the deadline left")
        return left

    def out_of_time(self, why: str) -> DeadlineExceededError:
        """The refusal of an admitted job that ran out of time (counted as ``deadline``)."""
        metrics.SHED.labels(self.queue, "deadline").inc()
        return DeadlineExceededError(
            f"busy: {why}, not enough to finish in time; retry later",
            retry_after=retry_after_for(self.expected_wait(), self.budget_s),
        )

    @contextmanager
    def admitted(self, deadline: Deadline | None = None) -> Iterator[float | None]:
        """Admission at the queue's door: the expected wait must fit the budget and, given a
        ``deadline``, what remains of it. Yields the seconds the work may take (None without
        a deadline); the job counts as pending until the block ends."""
        with self._lock:
            self.check()
            left = self.check_deadline(deadline) if deadline is not None else None
            self._pending += 1
        try:
            yield left
        finally:
            with self._lock:
                self._pending -= 1

    def __enter__(self) -> ExpectedWaitGate:
        with self._lock:
            self.check()
            self._pending += 1
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._pending -= 1

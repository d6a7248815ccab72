"""Prometheus metrics: what operators alert on (docs/monitoring.md).

Counters and histograms are recorded where the work happens (the HTTP
middleware, the queues, the record of an outcome) with ``prometheus-client``;
with ``PROMETHEUS_MULTIPROC_DIR`` set (``ocr-service serve`` and ``worker`` set
it before anything imports ``prometheus_client``) every API process and Celery
worker of a host writes its own files there and ``/metrics`` adds them up.
Gauges read from the database or the queue (backlog, oldest job, locked numbers,
pending reviews) are computed when scraped, by the scraping process only, so
they are never double counted.

Metric names start with ``ocr_``; labels are closed sets (route templates,
reason codes, outcomes), never ids, names or numbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("ocr_service.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 30.0, 60.0)
_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "ocr_http_requests",
    "HTTP requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "ocr_http_request_duration_seconds",
    "Time from the request head to the end of the answer, by route template",
    ["route", "method"],
    buckets=_LATENCY_BUCKETS,
)
ID_VERIFICATIONS = Counter(
    "ocr_id_verifications",
    "ID verifications answered, by outcome (verified, rejected, locked, pending_review)",
    ["outcome", "document_type"],
)
ID_REASONS = Counter(
    "ocr_id_verification_reasons",
    "Reason codes of ID verifications that were not verified (one per code)",
    ["outcome", "reason", "document_type"],
)
CERT_FILES = Counter(
    "ocr_certificate_files",
    "Certificate files checked, by outcome (accepted, rejected, failed) and path",
    ["outcome", "path"],
)
CERT_REASONS = Counter(
    "ocr_certificate_reasons",
    "Reason codes of certificate files not accepted (one per code)",
    ["outcome", "reason"],
)
STAGE_SECONDS = Histogram(
    "ocr_stage_duration_seconds",
    "Time per pipeline stage, as the pipelines measure it",
    ["pipeline", "stage"],
    buckets=_STAGE_BUCKETS,
)
SHED = Counter(
    "ocr_admission_refused",
    "Requests refused at admission (503 + Retry-After) because the expected wait "
    "exceeded the deadline, or because the process was draining",
    ["queue", "cause"],
)
EXPECTED_WAIT = Gauge(
    "ocr_admission_expected_wait_seconds",
    "Expected wait of the next job at its last admission decision",
    ["queue"],
    multiprocess_mode="max",
)
SERVICE_TIME = Gauge(
    "ocr_admission_service_time_seconds",
    "Recent per-job service time the admission estimate uses",
    ["queue"],
    multiprocess_mode="max",
)
IN_FLIGHT = Gauge(
    "ocr_http_requests_in_flight",
    "Requests being answered now",
    multiprocess_mode="livesum",
)


# -- recording ------------------------------------------------------------------------------


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(seconds)


def observe_stages(pipeline: str, timings_ms: Mapping[str, Any] | None) -> None:
    """Stage timings as the pipelines report them, in ms: ``{"front.outline": 12.3, ...,
    "total": 480.0}``; a per-side prefix is dropped so both sides share a series."""
    for key, value in (timings_ms or {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            stage = str(key).rsplit(".", 1)[-1].removesuffix("_ms")
            STAGE_SECONDS.labels(pipeline, stage).observe(max(0.0, float(value)) / 1000)


def observe_id_verification(body: Mapping[str, Any]) -> None:
    """One answered verification, from the body the API sends (its status and reasons)."""
    outcome = str(body.get("status") or "unknown")
    document_type = str(body.get("document_type") or "unknown")
    ID_VERIFICATIONS.labels(outcome, document_type).inc()
    if outcome != "verified":
        for code in _codes(body.get("reasons")):
            ID_REASONS.labels(outcome, code, document_type).inc()


def observe_certificate(status: str, reasons: Iterable[Mapping[str, Any]], *, path: str) -> None:
    """One checked certificate file (``path``: batch or single)."""
    CERT_FILES.labels(status, path).inc()
    if status != "accepted":
        for code in _codes(reasons):
            CERT_REASONS.labels(status, code).inc()


def _codes(reasons: Any) -> list[str]:
    out = []
    for reason in reasons or ():
        code = reason.get("code") if isinstance(reason, Mapping) else None
        if code:
            out.append(str(code))
    return list(dict.fromkeys(out))


# -- scraping ---------------------------------------------------------------------------------


class StateCollector(Collector):
    """Gauges read when scraped: queue backlogs and ages, locked numbers, pending reviews,
    readiness. Each source is optional; one that fails is left out of that scrape."""

    def __init__(
        self,
        *,
        session_factory: Any,
        timezone: str,
        id_queue: Callable[[], tuple[int, float | None]] | None = None,
        ready: Callable[[], bool] | None = None,
        draining: Callable[[], bool] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._zone = ZoneInfo(timezone)
        self._id_queue = id_queue
        self._ready = ready
        self._draining = draining

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterator[Any]:
        from ocr_service.storage import repository as repo
        from ocr_service.storage.db import session_scope

        depth = GaugeMetricFamily(
            "ocr_queue_depth", "Jobs waiting or running, per queue", labels=["queue"]
        )
        age = GaugeMetricFamily(
            "ocr_queue_oldest_job_age_seconds",
            "Age of the oldest job not yet finished, per queue (0 when empty)",
            labels=["queue"],
        )
        if self._id_queue is not None:
            try:
                count, oldest = self._id_queue()
                depth.add_metric(["id"], count)
                age.add_metric(["id"], oldest or 0.0)
            except Exception:
                log.warning("metrics: ID queue state unavailable", exc_info=True)
        locked = GaugeMetricFamily(
            "ocr_id_numbers_locked_today",
            "Distinct ID numbers answered 'locked' since local midnight (TIMEZONE)",
        )
        reviews = GaugeMetricFamily(
            "ocr_manual_reviews_pending", "Manual-review submissions waiting for a reviewer"
        )
        try:
            now = datetime.now(UTC)
            local = now.astimezone(self._zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            with session_scope(self._session_factory) as session:
                count, oldest_at = repo.certificate_backlog(session)
                locked_count = repo.count_locked_numbers(
                    session, since=midnight.astimezone(UTC)
                )
                pending = repo.count_manual_reviews(session, state="pending")
            depth.add_metric(["certificates"], count)
            age.add_metric(["certificates"], _age(oldest_at, now))
            locked.add_metric([], locked_count)
            reviews.add_metric([], pending)
        except Exception:
            log.warning("metrics: database state unavailable", exc_info=True)
        yield depth
        yield age
        yield locked
        yield reviews
        if self._ready is not None:
            yield GaugeMetricFamily(
                "ocr_ready", "1 when this process is ready to take work", value=int(self._ready())
            )
        if self._draining is not None:
            yield GaugeMetricFamily(
                "ocr_draining",
                "1 while this process drains after SIGTERM",
                value=int(self._draining()),
            )


def _age(oldest: datetime | None, now: datetime) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return max(0.0, (now - oldest) / timedelta(seconds=1))


def scrape_registry(state: Collector | None = None) -> CollectorRegistry:
    """What a scrape sees: every process's counters (multiprocess mode) or this one's,
    plus the scrape-time gauges."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = _Chain(REGISTRY)
    if state is not None:
        registry.register(state)
    return registry


def render(state: Collector | None = None) -> tuple[bytes, str]:
    """The exposition in the Prometheus text format."""
    return generate_latest(scrape_registry(state)), CONTENT_TYPE_LATEST


class _Chain(CollectorRegistry):
    """The default registry plus collectors registered here (single-process mode)."""

    def __init__(self, base: CollectorRegistry) -> None:
        super().__init__(auto_describe=False)
        self._base = base

    def collect(self) -> Iterator[Any]:
        yield from self._base.collect()
        yield from super().collect()

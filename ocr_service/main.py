"""The FastAPI application.

``create_app(settings, engine=None)`` builds everything once: the database
(migrated at start-up), the queue (in-process threads by default, Celery when
``BROKER_URL`` is set), the sweeper, and the OCR engine, which loads in the
background so that ``/healthz`` answers 503 until the models are ready.

Operations (docs/monitoring.md): ``/metrics`` (Prometheus), ``/livez`` (the
process answers), ``/readyz`` (models loaded, storage and broker reachable, not
draining), admission by expected wait (:mod:`ocr_service.admission`), and the
drain that ``ocr-service serve`` starts on SIGTERM (:class:`Drain`).
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.util
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import Token
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocr_service import metrics
from ocr_service.admission import (
    Deadline,
    ExpectedWaitGate,
    ServiceTimes,
    end_deadline,
    start_deadline,
)
from ocr_service.api import routes_certificates, routes_id
from ocr_service.api.deps import CallerDep
from ocr_service.api.schemas import ErrorResponse, HealthResponse
from ocr_service.config import Settings
from ocr_service.errors import (
    ERROR_SCHEMA,
    NotReadyError,
    ServiceError,
    error_responses,
    install_error_handlers,
)
from ocr_service.logs import configure_logging
from ocr_service.ops_config import OpsConfig
from ocr_service.queue.jobs import WorkerContext
from ocr_service.queue.sweeper import Sweeper, sweep_once
from ocr_service.runtime import Runtime
from ocr_service.services.access import Authenticator, RateLimiter
from ocr_service.services.certificate_checks import close_worker_context
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.thresholds import install_reload_signal
from pipelines.ocr import OcrEngine

log = logging.getLogger("ocr_service.http")


_OPERATIONS_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/metrics"})


class Drain:
    """The graceful stop: once started, new work is refused (503, ``Connection: close``)
    while requests already in flight are answered; ``wait`` returns when none is left."""

    def __init__(self) -> None:
        self.draining = False
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def start(self) -> None:
        self.draining = True

    def enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight <= 0:
            self._in_flight = 0
            self._idle.set()

    async def wait(self, timeout: float) -> bool:
        """True when every request in flight was answered within ``timeout``."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


def _error_response(exc: ServiceError, *, close: bool = False) -> JSONResponse:
    headers = exc.headers()
    if close:
        headers["Connection"] = "close"
    return JSONResponse(
        {"error": {"code": exc.code, "message": exc.message}},
        status_code=exc.status_code,
        headers=headers,
    )


class RequestLogMiddleware:
    """One JSON log line per request with a request id; security headers on every answer;
    request metrics; refusals while draining and for batches the backlog cannot take.
    Pure ASGI, so it never buffers or touches request bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        app_state = scope["app"].state if "app" in scope else None
        drain: Drain | None = getattr(app_state, "drain", None)
        counted = drain is not None and scope["path"] not in _OPERATIONS_PATHS

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", request_id.encode()))
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if b"cache-control" not in names and scope["path"].startswith("/v1/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        if counted:
            assert drain is not None
            drain.enter()
            metrics.IN_FLIGHT.inc()
        deadline_token = _start_id_deadline(scope, app_state)
        try:
            refusal = await _refusal(scope, app_state, drain) if counted else None
            if refusal is not None:
                await refusal(scope, receive, send_wrapper)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            if deadline_token is not None:
                end_deadline(deadline_token)
            if counted:
                assert drain is not None
                drain.leave()
                metrics.IN_FLIGHT.dec()
            route = scope.get("route")
            path = getattr(route, "path", None)
            seconds = time.perf_counter() - started
            metrics.observe_request(path or "<unmatched>", scope["method"], status, seconds)
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": path or scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                    "source": scope.get("state", {}).get("source"),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )


def _start_id_deadline(scope: Scope, state: Any) -> Token[Deadline | None] | None:
    """An ID verification's deadline starts when its head has arrived; the service gives the
    work up rather than answer after it (:mod:`ocr_service.admission`). A token for the reset."""
    gate: ExpectedWaitGate | None = getattr(state, "id_gate", None)
    if gate is None or scope["method"] != "POST" or scope["path"] != "/v1/id-verifications":
        return None
    return start_deadline(gate.deadline_s)


async def _refusal(scope: Scope, state: Any, drain: Drain | None) -> ASGIApp | None:
    """An answer given before the request is read: 503 while draining, and for an ID
    verification or a batch upload whose expected wait already exceeds its deadline."""
    if drain is not None and drain.draining:
        metrics.SHED.labels("http", "draining").inc()
        return _error_response(
            NotReadyError("the service is restarting, retry shortly", retry_after=5), close=True
        )
    # Refusing before the upload is read matters under overload: parsing the photos of
    # hundreds of requests that are refused anyway takes the cores the admitted ones need.
    early = {"/v1/certificate-batches": ("batch_gate", 0), "/v1/id-verifications": ("id_gate", 1)}
    if scope["method"] == "POST" and scope["path"] in early:
        name, extra_jobs = early[scope["path"]]
        gate: ExpectedWaitGate | None = getattr(state, name, None)
        if gate is not None:
            try:
                await run_in_threadpool(gate.check, extra_jobs)
            except ServiceError as exc:
                return _error_response(exc, close=True)
    return None


def _build_queue(runtime: Runtime, ops: OpsConfig) -> Any:
    settings = runtime.settings
    id_times = ServiceTimes(ops.service_time_window, ops.initial_id_service_s)
    cert_times = ServiceTimes(ops.service_time_window, ops.initial_cert_service_s)
    if settings.embedded:
        from ocr_service.queue.embedded import EmbeddedQueue
        from ocr_service.services.certificate_checks import certificate_processes, worker_context

        def context() -> WorkerContext:
            return worker_context(runtime)

        return EmbeddedQueue(
            context,
            max_pending_ids=settings.id_max_pending,
            id_deadline_s=ops.id_deadline_s,
            id_times=id_times,
            cert_times=cert_times,
            cert_workers=certificate_processes(runtime),
        )
    from ocr_service.queue.celery_app import CeleryQueue

    return CeleryQueue(settings, runtime.keys, id_times=id_times, cert_times=cert_times)


_SLOT_STARTED: contextvars.ContextVar[float] = contextvars.ContextVar("slot_started")


class AdmittedSlots:
    """``async with``: admission by expected wait, then one of ``slots`` inline
    certificate checks at a time; the time holding a slot is the per-file service time."""

    def __init__(self, gate: ExpectedWaitGate, slots: int) -> None:
        self._gate = gate
        self._slots = asyncio.Semaphore(slots)

    async def __aenter__(self) -> None:
        self._gate.__enter__()
        try:
            await self._slots.acquire()
        except BaseException:
            self._gate.__exit__(None, None, None)
            raise
        _SLOT_STARTED.set(time.perf_counter())

    async def __aexit__(self, *_: object) -> None:
        self._gate.times.record(time.perf_counter() - _SLOT_STARTED.get(time.perf_counter()))
        self._slots.release()
        self._gate.__exit__(None, None, None)


def create_app(
    settings: Settings | None = None,
    engine: OcrEngine | None = None,
    *,
    run_worker: bool = True,
    configure_logs: bool = True,
) -> FastAPI:
    """The application. ``engine`` injects a pre-built OCR engine (tests, benchmarks);
    ``run_worker=False`` (``serve --no-worker``) leaves the work to Celery workers."""
    settings = settings or Settings()
    if configure_logs:
        configure_logging(settings.log_level)

    ops: OpsConfig = settings.ops
    runtime = Runtime.build(settings, engine)  # migrations run here, before serving
    queue = _build_queue(runtime, ops)
    drain = Drain()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.cert_slots = AdmittedSlots(
            ExpectedWaitGate(
                "certificate",
                deadline_s=ops.single_cert_deadline_s,
                headroom=ops.admission_headroom,
                times=queue.cert_times,
                parallelism=_CERT_SLOTS,
            ),
            _CERT_SLOTS,
        )
        install_reload_signal()  # SIGHUP: re-read the calibrated thresholds file
        if not runtime.engine.ready.is_set():
            threading.Thread(
                target=_load_quietly, args=(runtime,), name="ocr-model-loader", daemon=True
            ).start()
        if settings.embedded and run_worker:
            queue.start()  # type: ignore[attr-defined]
            with session_scope(runtime.session_factory) as session:
                repo.requeue_running_batch_files(session)
                pending = repo.pending_batch_files(session)
            queue.enqueue_certificate_files(pending)  # jobs of an earlier run survive restarts
        sweeper = None
        if run_worker or not settings.embedded:
            sweeper = Sweeper(
                settings.sweep_interval_s,
                lambda: sweep_once(
                    settings=settings,
                    session_factory=runtime.session_factory,
                    store=runtime.store,
                    enqueue=queue.enqueue_certificate_files,
                ),
            )
            sweeper.start()
        try:
            yield
        finally:
            drain.start()
            if sweeper is not None:
                sweeper.stop()
            queue.close()
            close_worker_context(runtime)
            runtime.db_engine.dispose()

    app = FastAPI(
        title="ocr-service",
        version="1.0.0",
        summary="Document-image validation: resident ID verification and certificate-scan checks",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.queue = queue
    app.state.authenticator = Authenticator(settings, runtime.session_factory)
    app.state.rate_limiter = RateLimiter()
    app.state.drain = drain
    app.state.id_gate = ExpectedWaitGate(
        "id",
        deadline_s=ops.id_deadline_s,
        headroom=ops.admission_headroom,
        times=queue.id_times,
        parallelism=ops.id_parallelism or (1 if settings.embedded else settings.worker_processes),
        ahead=None if settings.embedded else queue.id_waiting,
    )
    app.state.batch_gate = ExpectedWaitGate(
        "certificate_batch",
        deadline_s=ops.batch_deadline_s,
        times=queue.cert_times,
        ahead=lambda: _certificate_backlog(runtime),
    )
    app.add_middleware(RequestLogMiddleware)
    install_error_handlers(app)
    app.include_router(routes_id.router)
    app.include_router(routes_certificates.router)

    @app.get(
        "/healthz",
        tags=["Operations"],
        response_model=HealthResponse,
        responses=error_responses(503),
        summary="200 once the OCR models are loaded",
    )
    def healthz() -> dict[str, Any]:
        if not runtime.engine.loaded:
            raise NotReadyError()
        return {
            "status": "ok",
            "models_loaded": True,
            "queue": "embedded" if settings.embedded else "celery",
        }

    @app.get(
        "/livez",
        tags=["Operations"],
        response_model=LivenessResponse,
        summary="200 while the process answers",
    )
    def livez() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["Operations"],
        response_model=ReadinessResponse,
        responses=error_responses(503),
        summary="200 when models are loaded, storage and broker reachable, and not draining; "
        "503 names the problems",
    )
    def readyz() -> dict[str, Any]:
        problems = _readiness_problems(runtime, queue, drain)
        if problems:
            raise NotReadyError("not ready: " + ", ".join(problems))
        return {"status": "ready", "problems": []}

    state_collector = metrics.StateCollector(
        session_factory=runtime.session_factory,
        timezone=settings.timezone,
        id_queue=queue.id_backlog,
        ready=lambda: not _readiness_problems(runtime, queue, drain, deep=False),
        draining=lambda: drain.draining,
    )
    app.state.metrics_collector = state_collector
    if ops.metrics_enabled and ops.metrics_port is None:

        @app.get(
            "/metrics",
            tags=["Operations"],
            response_class=Response,
            responses={
                200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
                **error_responses(401),
            },
            summary="Prometheus metrics (text format), behind an API key like the API",
        )
        def metrics_endpoint(_caller: CallerDep) -> Response:
            body, content_type = metrics.render(state_collector)
            return Response(body, media_type=content_type)

    _mount_dashboard(app, settings, runtime)
    _customise_openapi(app)
    return app


_CERT_SLOTS = 2


class LivenessResponse(BaseModel):
    status: str


class ReadinessResponse(BaseModel):
    status: str = Field(description="ready | not_ready")
    problems: list[str] = Field(
        description="draining, models_loading, models_failed, storage_unreachable, "
        "broker_unreachable"
    )


def _certificate_backlog(runtime: Runtime) -> int:
    with session_scope(runtime.session_factory) as session:
        return repo.certificate_backlog(session)[0]


def _readiness_problems(
    runtime: Runtime, queue: Any, drain: Drain, *, deep: bool = True
) -> list[str]:
    """Why this process should not be sent work now (empty: ready)."""
    problems = []
    if drain.draining:
        problems.append("draining")
    if not runtime.engine.loaded:
        problems.append("models_loading" if runtime.engine.error is None else "models_failed")
    if deep:
        try:
            with runtime.db_engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:
            problems.append("storage_unreachable")
        try:
            queue.ensure_available()
        except ServiceError:
            problems.append("broker_unreachable")
    return problems


def _load_quietly(runtime: Runtime) -> None:
    try:
        runtime.engine.load()
    except BaseException:
        log.exception("OCR models failed to load")


def _mount_dashboard(app: FastAPI, settings: Settings, runtime: Runtime) -> None:
    """The QA dashboard (its own package) mounts itself if present. It finds the file
    store and keys (for manual-review images) at ``app.state.runtime``."""
    if importlib.util.find_spec("ocr_service.dashboard") is None:
        return
    from ocr_service import dashboard

    mount = getattr(dashboard, "mount", None)
    if mount is not None:
        mount(app, settings, runtime.session_factory)


def _customise_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ErrorResponse"] = ERROR_SCHEMA
        components.setdefault(
            "ErrorDetail", ErrorResponse.model_json_schema()["$defs"]["ErrorDetail"]
        )
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                if "422" in responses:  # FastAPI's own validation schema is not what we send
                    responses["422"] = error_responses(422)[422]
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

"""The FastAPI application.

``create_app(settings, engine=None)`` builds everything once: the database
(migrated at start-up), the queue (in-process threads by default, Celery when
``BROKER_URL`` is set), the sweeper, and the OCR engine, which loads in the
background so that ``/healthz`` answers 503 until the models are ready.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocr_service.api import routes_certificates, routes_id
from ocr_service.api.schemas import ErrorResponse, HealthResponse
from ocr_service.config import Settings
from ocr_service.errors import ERROR_SCHEMA, NotReadyError, error_responses, install_error_handlers
from ocr_service.logs import configure_logging
from ocr_service.queue import TaskQueue
from ocr_service.queue.jobs import WorkerContext
from ocr_service.queue.sweeper import Sweeper, sweep_once
from ocr_service.runtime import Runtime
from ocr_service.services.access import AdmissionGate, Authenticator, RateLimiter
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from pipelines.ocr import OcrEngine

log = logging.getLogger("ocr_service.http")


class RequestLogMiddleware:
    """One JSON log line per request with a request id; security headers on every answer.
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

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": getattr(route, "path", scope["path"]),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "source": scope.get("state", {}).get("source"),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )


def _build_queue(runtime: Runtime) -> TaskQueue:
    settings = runtime.settings
    if settings.embedded:
        from ocr_service.queue.embedded import EmbeddedQueue

        def context() -> WorkerContext:
            return WorkerContext(
                settings=settings,
                engine=runtime.engine.get(),
                session_factory=runtime.session_factory,
                store=runtime.store,
                keys=runtime.keys,
            )

        return EmbeddedQueue(context, max_pending_ids=settings.id_max_pending)
    from ocr_service.queue.celery_app import CeleryQueue

    return CeleryQueue(settings, runtime.keys)


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

    runtime = Runtime.build(settings, engine)  # migrations run here, before serving
    queue = _build_queue(runtime)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.cert_slots = asyncio.Semaphore(2)
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
            if sweeper is not None:
                sweeper.stop()
            queue.close()
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
    app.state.id_gate = AdmissionGate(settings.id_max_pending)
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

    _mount_dashboard(app, settings, runtime)
    _customise_openapi(app)
    return app


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

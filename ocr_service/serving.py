"""Running the API under Granian: bounded request heads, one process or several, the drain.

Granian (a Rust HTTP server, hyper underneath) closes a connection whose request
line and headers have not all arrived within ``OPS__HEAD_TIMEOUT_S`` and refuses
heads larger than ``OPS__MAX_HEAD_BYTES``; the body timeout stays the service's
own (``BODY_TIMEOUT_S``, 408). uvicorn has no head timeout, so a few hundred
connections trickling their headers kept it from answering anyone.

* One process (the embedded default, and ``--workers 1``): the application is
  built here and served in this process's event loop (Granian's embedded
  server), so the in-process queue and the models live beside it. Its engine
  already runs one model call per core.
* Several processes (``--no-worker`` with Celery: one per core by default):
  Granian's process manager; each worker builds the application itself.

SIGTERM (or SIGINT) starts the drain: ``/readyz`` turns 503, new requests get
503 + ``Retry-After`` with ``Connection: close``, requests in flight are
answered, then the server stops and the lifespan shuts the queue down (the
embedded queue hands queued certificate jobs back). The process exits within
``OPS__DRAIN_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any

from ocr_service.config import Settings

log = logging.getLogger("ocr_service.serving")

# Seconds kept back from the drain timeout for stopping the server and the lifespan.
_STOP_MARGIN_S = 3.0


def _http1_settings(settings: Settings) -> Any:
    from granian.http import HTTP1Settings

    ops = settings.ops
    return HTTP1Settings(
        header_read_timeout=int(ops.head_timeout_s * 1000),
        keep_alive=True,
        max_buffer_size=max(ops.max_head_bytes, 8192 + 4096),
    )


def serve_in_process(app: Any, settings: Settings, *, host: str, port: int) -> None:
    """Serve ``app`` in this process until SIGTERM/SIGINT, then drain and return."""
    asyncio.run(_serve_embedded(app, settings, host=host, port=port))


async def _serve_embedded(app: Any, settings: Settings, *, host: str, port: int) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.server.embed import Server

    ops = settings.ops
    server = Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,
        backlog=1024,
        http1_settings=_http1_settings(settings),
        log_enabled=False,
    )
    # Stopping the HTTP worker waits for its connections at most this long.
    server.workers_kill_timeout = max(1, int(_STOP_MARGIN_S) - 1)
    loop = asyncio.get_running_loop()
    drained = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def drain_then_stop() -> None:
        state = app.state
        state.drain.start()
        log.info("draining", extra={"in_flight": state.drain.in_flight})
        answered = await state.drain.wait(max(0.5, ops.drain_timeout_s - _STOP_MARGIN_S))
        if not answered:
            log.warning("drain timeout", extra={"in_flight": state.drain.in_flight})
        server.stop()
        drained.set()

    def on_signal() -> None:
        if not tasks:
            tasks.append(loop.create_task(drain_then_stop()))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    await server.serve()


def serve_processes(settings: Settings, *, host: str, port: int, workers: int) -> None:
    """Several API processes under Granian's process manager (``--no-worker``)."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    os.environ["OCR_SERVICE_SERVE_NO_WORKER"] = "1"
    Granian(
        "ocr_service.serving:application_for_worker",
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        http=HTTPModes.http1,
        websockets=False,
        workers=workers,
        factory=True,
        backlog=1024,
        http1_settings=_http1_settings(settings),
        workers_kill_timeout=int(settings.ops.drain_timeout_s),
        log_enabled=False,
    ).serve()


def application_for_worker() -> Any:
    """Factory run in each Granian worker process: the API without the embedded worker."""
    from ocr_service.main import create_app

    return create_app(Settings(), run_worker=os.environ.get("OCR_SERVICE_SERVE_NO_WORKER") != "1")


def default_workers(settings: Settings, *, no_worker: bool) -> int:
    """One process with the embedded queue (its engine already fills the cores and its
    queue lives in the process); one per core when Celery workers do the OCR."""
    if settings.ops.workers:
        return settings.ops.workers
    return (os.cpu_count() or 1) if no_worker else 1


def start_metrics_server(app: Any, settings: Settings) -> None:
    """``/metrics`` on its own loopback port, without an API key (``OPS__METRICS_PORT``)."""
    from prometheus_client import start_http_server

    from ocr_service import metrics

    ops = settings.ops
    if not ops.metrics_enabled or ops.metrics_port is None:
        return
    start_http_server(
        ops.metrics_port,
        addr=ops.metrics_host,
        registry=metrics.scrape_registry(app.state.metrics_collector),
    )

"""The production queue: Celery over Redis.

* ``certificates`` tasks take a job id, are acknowledged late with
  ``task_reject_on_worker_lost``, and are idempotent (see :mod:`.jobs`).
* ``id`` tasks carry the images, so their message is a Fernet token (key derived
  from ``SECRET_KEY``) that also expires: Redis only ever holds ciphertext, for
  seconds. They are acknowledged on receipt: a retry after a crash would answer
  a request that has already timed out. The result comes back, encrypted, on a
  per-request Redis list the API pops (``BLPOP``), which expires by itself.

Run the broker's Redis with persistence off (``save ""``, ``appendonly no``):
the database is the source of truth for jobs and the sweeper re-enqueues what
a Redis restart loses. See docs/service.md.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any

from celery import Celery, signals
from kombu import Queue
from kombu.exceptions import KombuError, OperationalError

from ocr_service import metrics
from ocr_service.admission import ServiceTimes
from ocr_service.config import Settings
from ocr_service.errors import QueueUnavailableError
from ocr_service.queue import CERTIFICATE_QUEUE, ID_QUEUE
from ocr_service.queue.jobs import (
    IdJob,
    WorkerContext,
    process_certificate_file,
    run_id_verification,
)
from ocr_service.security import CipherError, Keys
from pipelines import errors as pipeline_errors

log = logging.getLogger("ocr_service.queue")

VERIFY_ID = "ocr_service.verify_id"
PROCESS_CERTIFICATE_FILE = "ocr_service.process_certificate_file"

_BROKER_DOWN = (OperationalError, KombuError, ConnectionError, OSError)


def create_celery(settings: Settings) -> Celery:
    assert settings.broker_url, "the Celery queue needs OCR_SERVICE_BROKER_URL"
    # No result backend: Celery's Redis result consumer gives up for good after a Redis
    # outage ("the Celery application must be restarted"). ID results come back on a
    # per-request Redis list instead (see CeleryQueue.verify_id).
    app = Celery("ocr_service", broker=settings.broker_url)
    transport = {
        "visibility_timeout": settings.broker_visibility_timeout_s,
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_queues=(Queue(ID_QUEUE), Queue(CERTIFICATE_QUEUE)),
        task_default_queue=CERTIFICATE_QUEUE,
        task_routes={
            VERIFY_ID: {"queue": ID_QUEUE},
            PROCESS_CERTIFICATE_FILE: {"queue": CERTIFICATE_QUEUE},
        },
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=transport,
        task_ignore_result=True,
        task_publish_retry=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 1,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        redis_socket_connect_timeout=3,
        redis_socket_timeout=10,
        redis_retry_on_timeout=True,
    )
    keys = Keys.from_secret(settings.secret)
    ttl = int(settings.id_timeout_s) + 5
    state: dict[str, WorkerContext] = {}
    lock = threading.Lock()

    def context() -> WorkerContext:
        with lock:
            if "ctx" not in state:
                state["ctx"] = build_worker_context(settings)
            return state["ctx"]

    @signals.worker_process_init.connect(weak=False)
    def _load_models(**_: Any) -> None:
        state.clear()  # never use a context inherited from the parent across fork
        context()

    def reply(reply_to: str, payload: dict[str, Any]) -> None:
        client = redis_client(settings.broker_url or "")
        pipe = client.pipeline()
        pipe.lpush(reply_to, encode_result(keys, payload))
        pipe.expire(reply_to, ttl)
        pipe.execute()

    @app.task(name=VERIFY_ID, acks_late=False)
    def verify_id(token: str, reply_to: str) -> None:
        try:
            job = decode_id_job(keys, token, ttl=ttl)
        except CipherError:
            reply(reply_to, {"error": {"type": "Expired", "message": "payload expired"}})
            return
        ctx = context()
        try:
            result = run_id_verification(job, engine=ctx.engine, settings=ctx.settings)
        except pipeline_errors.PipelineError as exc:
            reply(reply_to, {"error": {"type": type(exc).__name__, "message": str(exc)}})
            return
        finally:
            del job
        reply(reply_to, {"result": result})

    @app.task(name=PROCESS_CERTIFICATE_FILE, bind=True, acks_late=True, reject_on_worker_lost=True)
    def process_file(self: Any, file_id: str) -> None:
        from ocr_service.queue.embedded import observe_certificate_job

        redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
        ctx = context()
        if process_certificate_file(ctx, file_id, redelivered=redelivered) != "skip":
            observe_certificate_job(ctx, file_id)

    app.ocr_context = context  # type: ignore[attr-defined]
    return app


_REDIS: dict[str, Any] = {}


def redis_client(url: str) -> Any:
    """One redis-py client per process and URL (it reconnects by itself after an outage)."""
    import redis

    if url not in _REDIS:
        _REDIS[url] = redis.Redis.from_url(
            url, socket_connect_timeout=3, socket_timeout=10, health_check_interval=15
        )
    return _REDIS[url]


def build_worker_context(settings: Settings) -> WorkerContext:
    from ocr_service.runtime import Runtime
    from ocr_service.services.certificate_checks import worker_context

    runtime = Runtime.build(settings.model_copy(update={"auto_migrate": False}))
    runtime.engine.load()
    # inline: a Celery child is already one process of Celery's own pool
    return worker_context(runtime, inline=True)


# payload encryption --------------------------------------------------------------


def encode_id_job(keys: Keys, job: IdJob) -> str:
    body = json.dumps(
        {
            "front": base64.b64encode(job.front).decode(),
            "back": base64.b64encode(job.back).decode(),
            "name": job.declared_name,
            "number": job.declared_id_number,
            "today": job.today.isoformat(),
        }
    ).encode()
    return keys.queue_payloads.encrypt(body).decode()


def decode_id_job(keys: Keys, token: str, *, ttl: int) -> IdJob:
    body = json.loads(keys.queue_payloads.decrypt(token.encode(), ttl=ttl))
    return IdJob(
        front=base64.b64decode(body["front"]),
        back=base64.b64decode(body["back"]),
        declared_name=body["name"],
        declared_id_number=body["number"],
        today=date.fromisoformat(body["today"]),
    )


def encode_result(keys: Keys, payload: dict[str, Any]) -> str:
    return keys.queue_payloads.encrypt(json.dumps(payload, ensure_ascii=False).encode()).decode()


_PIPELINE_ERRORS = {
    cls.__name__: cls
    for cls in (
        pipeline_errors.UnsupportedFormatError,
        pipeline_errors.ImageTooLargeError,
        pipeline_errors.CorruptImageError,
        pipeline_errors.InputError,
        pipeline_errors.InferenceError,
    )
}


class CeleryQueue:
    """The API side of the Celery queue."""

    def __init__(
        self,
        settings: Settings,
        keys: Keys,
        *,
        id_times: ServiceTimes | None = None,
        cert_times: ServiceTimes | None = None,
    ) -> None:
        self.app = create_celery(settings)
        self.keys = keys
        self.broker_url = settings.broker_url or ""
        self.id_times = id_times or ServiceTimes(20, 1.0)
        self.cert_times = cert_times or ServiceTimes(20, 1.0)

    def id_backlog(self) -> tuple[int, float | None]:
        """ID messages waiting on the broker (all API processes); their age is not known."""
        return int(redis_client(self.broker_url).llen(ID_QUEUE)), None

    def id_waiting(self) -> int:
        try:
            return self.id_backlog()[0]
        except Exception:  # admission falls back to this process's own count
            return 0

    def verify_id(self, job: IdJob, timeout: float) -> dict[str, Any]:
        import redis

        token = encode_id_job(self.keys, job)
        reply_to = f"ocr-service:reply:{uuid.uuid4().hex}"
        try:
            self.app.send_task(
                VERIFY_ID,
                args=[token, reply_to],
                queue=ID_QUEUE,
                expires=timeout,
                argsrepr="(<sealed ID payload>)",
            )
        except _BROKER_DOWN as exc:
            raise QueueUnavailableError() from exc
        finally:
            del token
        client = redis_client(self.broker_url)
        try:
            answer = client.blpop([reply_to], timeout=max(0.05, timeout))  # float: Redis >= 6
        except (redis.RedisError, OSError) as exc:
            raise QueueUnavailableError() from exc
        if answer is None:
            raise QueueUnavailableError("verification timed out, retry shortly")
        sealed = answer[1].decode()
        payload = json.loads(self.keys.queue_payloads.decrypt(sealed.encode()))
        if "error" in payload:
            kind = _PIPELINE_ERRORS.get(payload["error"]["type"])
            if kind is None:
                raise QueueUnavailableError("verification expired in the queue, retry")
            raise kind(payload["error"]["message"])
        result = payload["result"]
        timings = result.get("timings_ms") or {}
        if isinstance(timings.get("total"), int | float):
            self.id_times.record(float(timings["total"]) / 1000)  # the worker's own time
        metrics.observe_stages("id", timings)
        return result

    def enqueue_certificate_files(self, file_ids: Iterable[str]) -> None:
        try:
            for file_id in file_ids:
                self.app.send_task(
                    PROCESS_CERTIFICATE_FILE, args=[file_id], queue=CERTIFICATE_QUEUE
                )
        except _BROKER_DOWN as exc:
            # The job rows are committed: the sweeper enqueues them once the broker is back.
            log.warning("broker unavailable; jobs left for the sweeper", extra={"error": str(exc)})

    def ensure_available(self) -> None:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except _BROKER_DOWN as exc:
            raise QueueUnavailableError() from exc

    def close(self) -> None:
        self.app.close()

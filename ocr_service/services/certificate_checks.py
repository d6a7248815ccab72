"""The certificate use case: check one file, keep what may be kept, record the outcome.

Called alike by the queue (a batch file, by job id) and the routes (a single upload):

* :func:`worker_context` builds the :class:`WorkerContext` in one place, per process;
* :func:`check_file` is the compute: validate, preview, fix. Pure bytes in, results out;
  it runs in a pool process (:class:`CheckPool`, models loaded once per process) or
  inline with the process's engine;
* :func:`build_certificate_record` writes the preview and the fixed file and returns
  the record's fields; :func:`process_certificate_file` is the idempotent job.

What is stored never rebuilds a name or an ID number: the record's ``filename`` and
``fixed_filename`` are masked; the clear corrected name is rebuilt from the sealed
upload name when the unit downloads its fixed file (:func:`clear_fixed_filename`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocr_service.config import Settings
from ocr_service.security import Keys
from ocr_service.storage import repository as repo
from ocr_service.storage.db import SessionFactory, session_scope
from ocr_service.storage.files import FileStore
from ocr_service.thresholds import live_settings
from pipelines.certificate.config import CertificateConfig
from pipelines.certificate.filename import parse_filename
from pipelines.certificate.messages import reason
from pipelines.certificate.result import CertificateReport, CertReasonCode, FixedFile
from pipelines.certificate.types import load_certificate_types
from pipelines.ocr import OcrConfig, OcrEngine

if TYPE_CHECKING:
    from ocr_service.runtime import Runtime

log = logging.getLogger("ocr_service.certificates")


# -- compute: bytes in, results out -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """What checking one file produced: the report, a preview, a fix where one applies."""

    report: CertificateReport
    preview: bytes | None
    fixed: FixedFile | None
    elapsed_ms: float


def check_file(
    data: bytes, filename: str, *, engine: OcrEngine, config: CertificateConfig
) -> CheckedFile:
    """Validate, render the preview, fix what is mechanically fixable."""
    import pipelines.certificate as certificate  # looked up per call: fault tests patch it
    from pipelines.errors import InputError

    started = time.perf_counter()
    report = certificate.validate_certificate(data, filename, engine=engine, config=config)
    preview = None
    if report.checks.get("format") in ("jpeg", "png"):
        try:
            preview = certificate.render_preview(data, report)
        except InputError:  # an undecodable file has no preview
            preview = None
    fixed = certificate.fix_certificate(data, report, config=config) if report.fixable else None
    return CheckedFile(report, preview, fixed, (time.perf_counter() - started) * 1000)


_WORKER_ENGINE: OcrEngine | None = None


# Certificate checks are background work; an ID verification has a candidate waiting on it.
# The pool's processes yield the cores to the service's own threads when both want them.
POOL_NICENESS = 10


def _init_pool_process(ocr: OcrConfig) -> None:
    """Pool initializer: lower priority, then the models load once per process."""
    global _WORKER_ENGINE
    import os

    from pipelines.ocr import create_engine

    os.nice(POOL_NICENESS)

    _WORKER_ENGINE = create_engine(ocr)


def _check_in_pool(data: bytes, filename: str, config: CertificateConfig) -> CheckedFile:
    assert _WORKER_ENGINE is not None, "pool process started without its engine"
    return check_file(data, filename, engine=_WORKER_ENGINE, config=config)


def _validate_in_pool(job: tuple[bytes, str, CertificateConfig]) -> CertificateReport:
    import pipelines.certificate as certificate

    assert _WORKER_ENGINE is not None, "pool process started without its engine"
    data, filename, config = job
    return certificate.validate_certificate(data, filename, engine=_WORKER_ENGINE, config=config)


def resolve_processes(requested: int) -> int:
    """0 means one process per core this process may run on (affinity, not the machine)."""
    if requested > 0:
        return requested
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class CheckPool:
    """A process pool sized to the cores; each process loads the OCR models once.

    Processes are spawned (never forked from a threaded server) and started lazily, so a
    process that never checks a certificate never pays for the models."""

    def __init__(self, ocr: OcrConfig, processes: int) -> None:
        self.processes = processes
        self._ocr = ocr
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                import multiprocessing

                self._executor = ProcessPoolExecutor(
                    max_workers=self.processes,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_pool_process,
                    initargs=(self._ocr,),
                )
            return self._executor

    def warm_up(self) -> None:
        """Start every process now (each loads its models) instead of on the first files."""
        pool = self._pool()
        list(pool.map(_noop, range(self.processes)))

    def check(self, data: bytes, filename: str, config: CertificateConfig) -> CheckedFile:
        return self._pool().submit(_check_in_pool, data, filename, config).result()

    def validate_all(
        self, jobs: Iterable[tuple[bytes, str]], config: CertificateConfig
    ) -> Iterator[CertificateReport]:
        """Validate many files across the processes; reports come back in input order.
        At most two files per process are in flight, so a large folder is never all in
        memory at once (``Executor.map`` would read every file first)."""
        pool = self._pool()
        pending: deque[Future[CertificateReport]] = deque()
        for data, filename in jobs:
            pending.append(pool.submit(_validate_in_pool, (data, filename, config)))
            if len(pending) >= 2 * self.processes:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


def _noop(_: int) -> None:
    return None


# -- the worker context, built in one place ---------------------------------------------


@dataclass
class WorkerContext:
    """What a worker (thread or process) needs, built once per process by
    :func:`worker_context`."""

    settings: Settings
    engine: OcrEngine
    session_factory: SessionFactory
    store: FileStore
    keys: Keys
    pool: CheckPool | None = None  # None: check inline with ``engine``

    def check(self, data: bytes, filename: str, *, inline: bool = False) -> CheckedFile:
        """``inline``: in this process with its shared engine (a single interactive upload:
        no hand-over to another process, and a server that never batches never starts the
        pool); otherwise in the pool when there is one."""
        config = live_settings(self.settings).certificate  # calibrated, reloaded on SIGHUP
        if self.pool is not None and not inline:
            return self.pool.check(data, filename, config)
        return check_file(data, filename, engine=self.engine, config=config)


_CONTEXTS: dict[int, WorkerContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def certificate_processes(runtime: Runtime, *, inline: bool = False) -> int:
    """Processes that check certificates for this runtime: one per core by default; 1
    (inline) for Celery children (their pool is Celery's) and for an injected engine,
    which cannot travel to another process."""
    if inline or getattr(runtime.engine, "injected", False):
        return 1
    return resolve_processes(runtime.settings.cert_processes)


def worker_context(runtime: Runtime, *, inline: bool = False) -> WorkerContext:
    """The one place a :class:`WorkerContext` is built; one per runtime, so one pool."""
    with _CONTEXTS_LOCK:
        ctx = _CONTEXTS.get(id(runtime))
        if ctx is None:
            processes = certificate_processes(runtime, inline=inline)
            ctx = WorkerContext(
                settings=runtime.settings,
                engine=runtime.engine.get(),
                session_factory=runtime.session_factory,
                store=runtime.store,
                keys=runtime.keys,
                pool=CheckPool(runtime.settings.ocr, processes) if processes > 1 else None,
            )
            _CONTEXTS[id(runtime)] = ctx
        return ctx


def close_worker_context(runtime: Runtime) -> None:
    with _CONTEXTS_LOCK:
        ctx = _CONTEXTS.pop(id(runtime), None)
    if ctx is not None and ctx.pool is not None:
        ctx.pool.close()


# -- records ------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def masked_filename(filename: str) -> str:
    """The uploaded name with its ID number and given name masked (for storage)."""
    table = load_certificate_types()
    return parse_filename(filename, table).masked_filename(filename)


def clear_fixed_filename(uploaded: str, config: CertificateConfig, fallback: str) -> str:
    """The corrected file's canonical name, rebuilt from the (sealed) uploaded name at
    download time: the one place the clear name exists, and only in the response."""
    parsed = parse_filename(uploaded, load_certificate_types(config.extra_certificate_types_file))
    return parsed.canonical("jpg") or fallback


def _failed_reason() -> dict[str, Any]:
    return reason(CertReasonCode.PROCESSING_FAILED).to_dict()


def build_certificate_record(
    ctx: WorkerContext,
    *,
    filename: str,
    stored_path: str | None,
    refusal: dict[str, Any] | None,
    batch_id: str | None,
    file_id: str,
    data: bytes | None = None,
    inline: bool = False,
) -> dict[str, Any]:
    """Check the file, write its preview (and fixed file), return ``save_record`` fields."""
    started = time.perf_counter()
    masked = masked_filename(filename)
    if refusal is not None:
        return {
            "kind": "certificate",
            "document_type": "certificate",
            "status": "rejected",
            "reasons": [refusal],
            "filename": masked,
        }
    if data is None:
        assert stored_path is not None
        data = ctx.store.read(stored_path)
    checked = ctx.check(data, filename, inline=inline)
    report = checked.report
    folder = ctx.store.batch_dir(batch_id) if batch_id else ctx.store.single_dir()
    preview_path = fixed_path = None
    if checked.preview:
        preview_path = ctx.store.write(folder / f"{file_id}.preview.jpg", checked.preview)
    if checked.fixed is not None:
        suffix = ".png" if checked.fixed.data[:4] == b"\x89PNG" else ".jpg"
        fixed_path = ctx.store.write(folder / f"{file_id}.fixed{suffix}", checked.fixed.data)
    body = report.to_dict()
    timings = dict(body.get("timings_ms") or {})
    timings["check_ms"] = round(checked.elapsed_ms, 1)
    timings["total_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return {
        "kind": "certificate",
        "document_type": "certificate",
        "status": report.status,
        "reasons": body["reasons"],
        "warnings": body["warnings"],
        "checks": body["checks"],
        "timings": timings,
        "measurements": {
            k: body["checks"].get(k)
            for k in (
                "skew_degrees",
                "orientation_degrees",
                "width",
                "height",
                "bytes",
                "char_height_px",
                "page_type",
            )
            if k in body["checks"]
        },
        "filename": body["filename"],
        "fingerprint": report.fingerprint,
        "preview_path": preview_path,
        "fixed_path": fixed_path,
        # masked like every stored name; the clear one is rebuilt on download
        "fixed_filename": masked_filename(checked.fixed.filename) if checked.fixed else None,
    }


def process_certificate_file(ctx: WorkerContext, file_id: str, *, redelivered: bool = False) -> str:
    """Validate one file of a batch. Returns what happened: run | skip | poison.

    Idempotent: a repeated delivery of a finished job does nothing, and the result is
    upserted on the job id. ``redelivered``: the broker gave the message back because its
    worker died, so a 'running' row is taken over at once instead of after the running
    timeout; a poison file so fails after 3 quick tries.
    """
    settings = ctx.settings
    now = _now()
    stale_before = now if redelivered else now - timedelta(seconds=settings.job_running_timeout_s)
    with session_scope(ctx.session_factory) as session:
        claim, deliveries = repo.claim_batch_file(
            session,
            file_id=file_id,
            now=now,
            stale_before=stale_before,
            max_deliveries=settings.job_max_deliveries,
        )
        row = session.get(repo.BatchFile, file_id) if claim is not repo.Claim.SKIP else None
        job = None
        if row is not None:
            job = (row.batch_id, row.index, row.filename, row.stored_path, row.refusal)
        source = ""
        if row is not None:
            batch = session.get(repo.Batch, row.batch_id)
            source = batch.source if batch else ""
    if claim is repo.Claim.SKIP or job is None:
        return "skip"
    batch_id, index, sealed_name, stored_path, refusal = job
    filename = ctx.keys.review_images.decrypt(sealed_name.encode()).decode()
    if claim is repo.Claim.POISON:
        log.error(
            "certificate job failed after repeated deliveries",
            extra={"job_id": file_id, "deliveries": deliveries},
        )
        with session_scope(ctx.session_factory) as session:
            repo.save_record(
                session,
                record_id=file_id,
                kind="certificate",
                document_type="certificate",
                source=source,
                status="failed",
                now=_now(),
                batch_id=batch_id,
                batch_index=index,
                filename=masked_filename(filename),
                reasons=[_failed_reason()],
            )
            repo.finish_batch_file(
                session,
                file_id=file_id,
                state="failed",
                now=_now(),
                error=f"failed after {deliveries - 1} deliveries",
            )
        _maybe_finalize(ctx, batch_id)
        return "poison"

    record = build_certificate_record(
        ctx,
        filename=filename,
        stored_path=stored_path,
        refusal=refusal,
        batch_id=batch_id,
        file_id=file_id,
    )
    with session_scope(ctx.session_factory) as session:
        repo.save_record(
            session,
            record_id=file_id,
            source=source,
            now=_now(),
            batch_id=batch_id,
            batch_index=index,
            **record,
        )
        repo.finish_batch_file(session, file_id=file_id, state="completed", now=_now())
    _maybe_finalize(ctx, batch_id)
    return "run"


def report_from_record(
    record: Any, filename: str, *, fixable: bool | None = None
) -> CertificateReport:
    """A stored record as a report again (for the CSV and duplicate marking). Every stored
    code is in the one catalogue, PROCESSING_FAILED included, so none is translated."""
    from pipelines.certificate.result import CertReason

    def to_reason(d: dict[str, Any], warning: bool) -> CertReason:
        return CertReason(
            CertReasonCode(d["code"]), d.get("message", ""), d.get("detail") or {}, warning
        )

    return CertificateReport(
        filename=filename,
        status="accepted" if record.status == "accepted" else "rejected",
        reasons=tuple(to_reason(d, False) for d in record.reasons),
        warnings=tuple(to_reason(d, True) for d in record.warnings),
        checks=record.checks,
        fingerprint=record.fingerprint,
        fixable=bool(record.fixed_path) if fixable is None else fixable,
        timings_ms={},
        masked_filename=record.filename or "",
    )


def _maybe_finalize(ctx: WorkerContext, batch_id: str) -> None:
    """Once every file is terminal, exactly one worker marks duplicates across the batch."""
    from pipelines.certificate import mark_duplicates

    with session_scope(ctx.session_factory) as session:
        if not repo.claim_batch_finalization(session, batch_id=batch_id, now=_now()):
            return
        records = repo.batch_records(session, batch_id=batch_id)
        candidates = [r for r in records if r.fingerprint and r.status in ("accepted", "rejected")]
        if len(candidates) < 2:
            return
        reports = [report_from_record(r, r.filename or "", fixable=False) for r in candidates]
        marked = mark_duplicates(reports, ctx.settings.certificate)
        for record, before, after in zip(candidates, reports, marked, strict=True):
            if after.reason_codes != before.reason_codes:
                repo.set_record_status(
                    session,
                    record_id=record.id,
                    status="rejected",
                    now=_now(),
                    reasons=[r.to_dict() for r in after.reasons],
                )

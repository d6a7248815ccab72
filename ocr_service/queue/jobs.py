"""The work itself, shared by the in-process queue and the Celery tasks.

* :func:`run_id_verification` is pure compute: bytes and a declaration in, the
  masked result out. It touches no disk and no database; the API process
  records the outcome.
* :func:`process_certificate_file` takes a job id, re-reads the job row, and is
  idempotent: a repeated delivery of a finished job does nothing, and the
  result is upserted on the job id, so every file ends with exactly one record.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ocr_service.config import Settings
from ocr_service.security import Keys
from ocr_service.storage import repository as repo
from ocr_service.storage.db import SessionFactory, session_scope
from ocr_service.storage.files import FileStore
from pipelines.idnumber import mask_id_number
from pipelines.ocr import OcrEngine

log = logging.getLogger("ocr_service.jobs")


@dataclass
class WorkerContext:
    """What a worker (thread or process) needs, built once per process."""

    settings: Settings
    engine: OcrEngine
    session_factory: SessionFactory
    store: FileStore
    keys: Keys


@dataclass(frozen=True)
class IdJob:
    """An ID verification travelling through the queue. Lives in memory only."""

    front: bytes
    back: bytes
    declared_name: str
    declared_id_number: str
    today: date

    def __repr__(self) -> str:  # never print the payload
        return "IdJob(<redacted>)"


def run_id_verification(job: IdJob, *, engine: OcrEngine, settings: Settings) -> dict[str, Any]:
    from pipelines.id_card import Declaration, verify_id_card

    result = verify_id_card(
        job.front,
        job.back,
        Declaration(name=job.declared_name, id_number=job.declared_id_number),
        engine=engine,
        config=settings.id_card,
        today=job.today,
    )
    return result.to_dict()


def _now() -> datetime:
    return datetime.now(UTC)


def process_certificate_file(ctx: WorkerContext, file_id: str, *, redelivered: bool = False) -> str:
    """Validate one file of a batch. Returns what happened: run | skip | poison.

    ``redelivered``: the broker gave the message back because its worker died
    (``task_reject_on_worker_lost``), so a 'running' row is taken over at once
    instead of after the running timeout; a poison file so fails after 3 quick tries.
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
                filename=_masked_filename(filename),
                reasons=[
                    {"code": "PROCESSING_FAILED", "message": "文件无法处理，请重新扫描后上传"}
                ],
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


_NUMBER_RUN = re.compile(r"\d{14,17}[\dXx]")


def _masked_filename(filename: str) -> str:
    """The filename with any ID-number-like run masked (前6后4)."""
    return _NUMBER_RUN.sub(lambda m: mask_id_number(m.group(0)), filename)


def build_certificate_record(
    ctx: WorkerContext,
    *,
    filename: str,
    stored_path: str | None,
    refusal: dict[str, Any] | None,
    batch_id: str | None,
    file_id: str,
    data: bytes | None = None,
) -> dict[str, Any]:
    """Validate, write the preview (and the fixed file), and return ``save_record`` fields."""
    from pipelines.certificate import fix_certificate, render_preview, validate_certificate

    started = time.perf_counter()
    if refusal is not None:
        return {
            "kind": "certificate",
            "document_type": "certificate",
            "status": "rejected",
            "reasons": [refusal],
            "filename": _masked_filename(filename),
        }
    if data is None:
        assert stored_path is not None
        data = ctx.store.read(stored_path)
    report = validate_certificate(
        data, filename, engine=ctx.engine, config=ctx.settings.certificate
    )
    folder = ctx.store.batch_dir(batch_id) if batch_id else ctx.store.single_dir()
    preview_path = fixed_path = fixed_name = None
    try:
        preview = render_preview(data, report)
    except Exception:  # a preview is a convenience; an undecodable file has none
        preview = None
    if preview:
        preview_path = ctx.store.write(folder / f"{file_id}.preview.jpg", preview)
    if report.fixable:
        fixed = fix_certificate(data, report, engine=ctx.engine, config=ctx.settings.certificate)
        if fixed is not None:
            suffix = ".png" if fixed.data[:4] == b"\x89PNG" else ".jpg"
            fixed_path = ctx.store.write(folder / f"{file_id}.fixed{suffix}", fixed.data)
            fixed_name = fixed.filename
    body = report.to_dict()
    timings = dict(body.get("timings_ms") or {})
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
            for k in ("skew_degrees", "orientation_degrees", "width", "height", "bytes")
            if k in body["checks"]
        },
        "filename": body["filename"],
        "fingerprint": report.fingerprint,
        "preview_path": preview_path,
        "fixed_path": fixed_path,
        "fixed_filename": fixed_name,
    }


def _maybe_finalize(ctx: WorkerContext, batch_id: str) -> None:
    """Once every file is terminal, exactly one worker marks duplicates across the batch."""
    with session_scope(ctx.session_factory) as session:
        if not repo.claim_batch_finalization(session, batch_id=batch_id, now=_now()):
            return
        records = repo.batch_records(session, batch_id=batch_id)
        for record_id, reasons in _duplicate_reasons(ctx, records).items():
            repo.set_record_status(
                session, record_id=record_id, status="rejected", now=_now(), reasons=reasons
            )


def _duplicate_reasons(ctx: WorkerContext, records: Any) -> dict[str, list[dict[str, Any]]]:
    """Reasons lists to store for records that ``mark_duplicates`` newly rejects."""
    from pipelines.certificate import mark_duplicates
    from pipelines.certificate.result import CertificateReport, CertReason, CertReasonCode

    candidates = [r for r in records if r.fingerprint and r.status in ("accepted", "rejected")]
    if len(candidates) < 2:
        return {}

    def reason(d: dict[str, Any]) -> CertReason:
        return CertReason(CertReasonCode(d["code"]), d.get("message", ""), d.get("detail") or {})

    reports = [
        CertificateReport(
            filename=r.filename or "",
            status=r.status,
            reasons=tuple(reason(d) for d in r.reasons),
            warnings=tuple(reason(d) for d in r.warnings),
            checks=r.checks,
            fingerprint=r.fingerprint,
            fixable=False,
            timings_ms={},
            masked_filename=r.filename or "",
        )
        for r in candidates
    ]
    marked = mark_duplicates(reports, ctx.settings.certificate)
    changed: dict[str, list[dict[str, Any]]] = {}
    for record, before, after in zip(candidates, reports, marked, strict=True):
        if after.reason_codes != before.reason_codes:
            changed[record.id] = [r.to_dict() for r in after.reasons]
    return changed

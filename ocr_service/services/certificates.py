"""Certificate checks as a service: single files inline, batches on the certificate queue."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ocr_service import metrics
from ocr_service.api.uploads import FilePart, FileSink, ParsedForm
from ocr_service.errors import ValidationFailedError
from ocr_service.queue import TaskQueue
from ocr_service.runtime import Runtime
from ocr_service.services.certificate_checks import (
    build_certificate_record,
    clear_fixed_filename,
    report_from_record,
    worker_context,
)
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.storage.files import new_id


def validate_single(runtime: Runtime, *, data: bytes, filename: str, source: str) -> dict[str, Any]:
    """Validate one file now (in the calling thread), record it, and answer the report."""
    record_id = new_id()
    runtime.engine.get(timeout=0)  # 503 while models load
    ctx = worker_context(runtime)
    fields = build_certificate_record(
        ctx,
        filename=filename,
        stored_path=None,
        refusal=None,
        batch_id=None,
        file_id=record_id,
        data=data,
        inline=True,  # one interactive file: checked here, batches go to the pool
    )
    with session_scope(runtime.session_factory) as session:
        repo.save_record(
            session, record_id=record_id, source=source, now=datetime.now(UTC), **fields
        )
    metrics.observe_certificate(fields["status"], fields["reasons"], path="single")
    return {
        "id": record_id,
        "filename": filename,
        "status": fields["status"],
        "reasons": fields["reasons"],
        "warnings": fields["warnings"],
        "checks": fields["checks"],
        "fixable": fields["fixed_path"] is not None,
    }


class DiskSink:
    """Streams one uploaded file into the batch's folder under a generated name."""

    def __init__(self, runtime: Runtime, batch_id: str) -> None:
        self._runtime = runtime
        self.path: Path = runtime.store.new_batch_upload(batch_id)
        self._fh = open(self.path, "wb")  # noqa: SIM115 - closed in close()/discard()

    def write(self, data: bytes) -> None:
        self._fh.write(data)

    def close(self) -> str:
        self._fh.close()
        return self._runtime.store.relative(self.path)

    def discard(self) -> None:
        self._fh.close()
        self.path.unlink(missing_ok=True)


def sink_factory(runtime: Runtime, batch_id: str):  # type: ignore[no-untyped-def]
    def make(_part: FilePart) -> FileSink:
        return DiskSink(runtime, batch_id)

    return make


def create_batch(
    runtime: Runtime, queue: TaskQueue, *, batch_id: str, form: ParsedForm, source: str
) -> dict[str, Any]:
    """Turn uploaded parts (already on disk) into job rows, commit, then enqueue."""
    from pipelines.certificate.archive import iter_archive
    from pipelines.certificate.messages import reason
    from pipelines.certificate.result import CertReasonCode

    seal = runtime.keys.review_images
    files: list[repo.NewBatchFile] = []
    for part in form.files:
        if part.field == "files":
            files.append(
                repo.NewBatchFile(
                    new_id(), len(files), seal.encrypt(part.filename.encode()).decode(), part.stored
                )
            )
    for part in form.files:
        if part.field != "archive" or part.stored is None:
            continue
        archive_path = runtime.store.absolute(part.stored)
        data = archive_path.read_bytes()
        archive_path.unlink(missing_ok=True)
        for member in iter_archive(data):
            name = member.name or f"member-{member.index}"
            stored = None
            refusal = None
            if member.data is None:
                refusal = (
                    member.refusal.to_dict()
                    if member.refusal
                    else reason(CertReasonCode.ARCHIVE_MEMBER_CORRUPT).to_dict()
                )
            else:
                stored = runtime.store.write(runtime.store.new_batch_upload(batch_id), member.data)
            files.append(
                repo.NewBatchFile(
                    new_id(), len(files), seal.encrypt(name.encode()).decode(), stored, refusal
                )
            )
            if len(files) > runtime.settings.batch_max_files:
                raise ValidationFailedError(
                    f"at most {runtime.settings.batch_max_files} files per batch"
                )
    if not files:
        raise ValidationFailedError("files: at least one file or an archive is required")
    if len(files) > runtime.settings.batch_max_files:
        raise ValidationFailedError(f"at most {runtime.settings.batch_max_files} files per batch")
    with session_scope(runtime.session_factory) as session:
        repo.create_batch(
            session, batch_id=batch_id, source=source, files=files, now=datetime.now(UTC)
        )
    queue.enqueue_certificate_files([f.file_id for f in files])
    return {"id": batch_id, "status": "queued", "total": len(files)}


def _batch_status(states: dict[str, int], finalized: bool) -> str:
    total = sum(states.values())
    if finalized:
        return "failed" if states.get("failed", 0) == total else "completed"
    if states.get("queued", 0) == total:
        return "queued"
    return "running"


def get_batch(runtime: Runtime, *, batch_id: str, source: str) -> dict[str, Any] | None:
    seal = runtime.keys.review_images
    with session_scope(runtime.session_factory) as session:
        batch = repo.get_batch(session, batch_id=batch_id, source=source)
        if batch is None:
            return None
        rows = repo.list_batch_files(session, batch_id=batch_id)
        states: dict[str, int] = {}
        for job, _ in rows:
            states[job.state] = states.get(job.state, 0) + 1
        results = []
        for job, record in rows:
            done = job.state in ("completed", "failed") and record is not None
            results.append(
                {
                    "index": job.index,
                    "filename": seal.decrypt(job.filename.encode()).decode(),
                    "state": job.state,
                    "status": record.status if done and record else None,
                    "reasons": _public(record.reasons) if done and record else [],
                    "warnings": _public(record.warnings) if done and record else [],
                    "checks": record.checks if done and record else {},
                    "fixed_available": bool(done and record and record.fixed_path),
                }
            )
        finalized = batch.finalized_at is not None
        return {
            "id": batch.id,
            "status": _batch_status(states, finalized),
            "total": batch.total,
            "processed": states.get("completed", 0) + states.get("failed", 0),
            "accepted": sum(1 for r in results if r["status"] == "accepted"),
            "rejected": sum(1 for r in results if r["status"] in ("rejected", "failed")),
            "created_at": batch.created_at.isoformat(),
            "results": results,
        }


def _public(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"code": r["code"], "message": r.get("message", "")} for r in reasons]


def batch_report_csv(runtime: Runtime, *, batch_id: str, source: str) -> bytes | None:
    """The batch's report as CSV (UTF-8 with BOM, for Excel), via the pipeline's writer."""
    from pipelines.certificate.report import write_report_csv

    seal = runtime.keys.review_images
    with session_scope(runtime.session_factory) as session:
        if repo.get_batch(session, batch_id=batch_id, source=source) is None:
            return None
        reports = [
            report_from_record(record, seal.decrypt(job.filename.encode()).decode())
            for job, record in repo.list_batch_files(session, batch_id=batch_id)
            if record is not None
        ]
    stream = io.StringIO()
    write_report_csv(reports, stream)
    text = stream.getvalue()
    return (text if text.startswith("\ufeff") else "\ufeff" + text).encode("utf-8")


def fixed_file(
    runtime: Runtime, *, batch_id: str, index: int, source: str
) -> tuple[str, bytes] | None:
    with session_scope(runtime.session_factory) as session:
        if repo.get_batch(session, batch_id=batch_id, source=source) is None:
            return None
        row = repo.get_batch_file(session, batch_id=batch_id, index=index)
        if row is None or row[1] is None or not row[1].fixed_path:
            return None
        job, record = row
        uploaded = runtime.keys.review_images.decrypt(job.filename.encode()).decode()
        name = clear_fixed_filename(uploaded, runtime.settings.certificate, f"{index}.jpg")
        path = record.fixed_path
    assert path is not None
    return name, runtime.store.read(path)


def fixed_zip(runtime: Runtime, *, batch_id: str, source: str) -> bytes | None:
    with session_scope(runtime.session_factory) as session:
        if repo.get_batch(session, batch_id=batch_id, source=source) is None:
            return None
        seal = runtime.keys.review_images
        items = [
            (
                record.batch_index,
                clear_fixed_filename(
                    seal.decrypt(job.filename.encode()).decode(),
                    runtime.settings.certificate,
                    f"{record.batch_index}.jpg",
                ),
                record.fixed_path,
            )
            for job, record in repo.list_batch_files(session, batch_id=batch_id)
            if record is not None and record.fixed_path
        ]
    buffer = io.BytesIO()
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index, name, path in items:
            arcname = Path(name or f"{index}.jpg").name
            if arcname in seen:
                arcname = f"{index}_{arcname}"
            seen.add(arcname)
            archive.writestr(arcname, runtime.store.read(path or ""))
    return buffer.getvalue()

"""/v1/certificates and /v1/certificate-batches."""

from __future__ import annotations

import shutil
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ocr_service.api.deps import CallerDep, QueueDep, RuntimeDep
from ocr_service.api.schemas import (
    BINARY,
    BatchCreatedResponse,
    BatchStatusResponse,
    CertificateValidationResponse,
    multipart_body,
)
from ocr_service.api.uploads import MultipartLimits, read_multipart
from ocr_service.errors import NotFoundError, ValidationFailedError, error_responses
from ocr_service.services import certificates as service
from ocr_service.storage.files import new_id

router = APIRouter(tags=["Certificates"])

BatchId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
FileIndex = Annotated[int, Path(ge=0, le=100_000)]

_DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _attachment(name: str) -> str:
    ascii_name = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@router.post(
    "/v1/certificates/validate",
    summary="Validate one certificate scan (the upload's filename is checked too)",
    response_model=CertificateValidationResponse,
    responses=error_responses(400, 401, 408, 413, 415, 422, 429, 503),
    openapi_extra=multipart_body({"file": BINARY}, ["file"]),
)
async def validate_certificate(request: Request, caller: CallerDep, runtime: RuntimeDep) -> dict:
    settings = runtime.settings
    limits = MultipartLimits(
        max_body_bytes=settings.cert_max_file_bytes + 64 * 1024,
        max_file_bytes=settings.cert_max_file_bytes,
        max_files=1,
        max_fields=settings.max_form_fields,
        max_field_bytes=settings.max_field_bytes,
        timeout_s=settings.body_timeout_s,
        file_fields=frozenset({"file"}),
        text_fields=frozenset(),
    )
    form = await read_multipart(request, limits)
    part = form.file("file")
    if part is None or part.data is None:
        raise ValidationFailedError("file: required")
    runtime.engine.get(timeout=0)  # 503 while models load
    async with request.app.state.cert_slots:
        return await run_in_threadpool(
            service.validate_single,
            runtime,
            data=part.data,
            filename=part.filename,
            source=caller.source,
        )


@router.post(
    "/v1/certificate-batches",
    summary="Upload a batch (files repeated and/or a zip); validated on the certificate queue",
    status_code=202,
    response_model=BatchCreatedResponse,
    responses=error_responses(400, 401, 408, 413, 415, 422, 429, 503),
    openapi_extra=multipart_body(
        {"files": {"type": "array", "items": BINARY}, "archive": BINARY}, []
    ),
)
async def create_batch(
    request: Request, caller: CallerDep, runtime: RuntimeDep, queue: QueueDep
) -> dict:
    settings = runtime.settings
    await run_in_threadpool(
        queue.ensure_available
    )  # 503 before reading a byte if the broker is down
    batch_id = new_id()
    limits = MultipartLimits(
        max_body_bytes=settings.batch_max_body_bytes,
        max_file_bytes=settings.cert_max_file_bytes,
        max_files=settings.batch_max_files,
        max_fields=settings.max_form_fields,
        max_field_bytes=settings.max_field_bytes,
        timeout_s=settings.batch_body_timeout_s,
        file_fields=frozenset({"files", "archive"}),
        text_fields=frozenset(),
        file_caps={"archive": settings.batch_max_body_bytes},
    )
    try:
        form = await read_multipart(request, limits, service.sink_factory(runtime, batch_id))
        return await run_in_threadpool(
            service.create_batch, runtime, queue, batch_id=batch_id, form=form, source=caller.source
        )
    except BaseException:
        # what this cannot delete (a busy file), the sweeper removes later: a batch folder
        # without a batch row is an orphan (queue/sweeper.sweep_certificate_files)
        shutil.rmtree(runtime.store.root / "batches" / batch_id, ignore_errors=True)
        raise


@router.get(
    "/v1/certificate-batches/{batch_id}",
    summary="Progress and per-file results of a batch",
    response_model=BatchStatusResponse,
    responses=error_responses(401, 404, 422, 429, 503),
)
def get_batch(batch_id: BatchId, caller: CallerDep, runtime: RuntimeDep) -> dict:
    body = service.get_batch(runtime, batch_id=batch_id, source=caller.source)
    if body is None:
        raise NotFoundError()
    return body


@router.get(
    "/v1/certificate-batches/{batch_id}/report.csv",
    summary="The batch's report as CSV (UTF-8 with BOM, opens in Excel)",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
        **error_responses(401, 404, 422, 429, 503),
    },
)
def batch_report(batch_id: BatchId, caller: CallerDep, runtime: RuntimeDep) -> Response:
    data = service.batch_report_csv(runtime, batch_id=batch_id, source=caller.source)
    if data is None:
        raise NotFoundError()
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={**_DOWNLOAD_HEADERS, "Content-Disposition": _attachment(f"{batch_id}.csv")},
    )


@router.get(
    "/v1/certificate-batches/{batch_id}/files/{index}/fixed",
    summary="The automatically corrected version of one file, if there is one",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {"schema": BINARY}, "image/png": {"schema": BINARY}}},
        **error_responses(401, 404, 422, 429, 503),
    },
)
def fixed_file(
    batch_id: BatchId, index: FileIndex, caller: CallerDep, runtime: RuntimeDep
) -> Response:
    found = service.fixed_file(runtime, batch_id=batch_id, index=index, source=caller.source)
    if found is None:
        raise NotFoundError()
    name, data = found
    media = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return Response(
        data,
        media_type=media,
        headers={**_DOWNLOAD_HEADERS, "Content-Disposition": _attachment(name)},
    )


@router.get(
    "/v1/certificate-batches/{batch_id}/fixed.zip",
    summary="Every corrected file of the batch as one zip",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {"schema": BINARY}}},
        **error_responses(401, 404, 422, 429, 503),
    },
)
def fixed_zip(batch_id: BatchId, caller: CallerDep, runtime: RuntimeDep) -> Response:
    data = service.fixed_zip(runtime, batch_id=batch_id, source=caller.source)
    if data is None:
        raise NotFoundError()
    return Response(
        data,
        media_type="application/zip",
        headers={**_DOWNLOAD_HEADERS, "Content-Disposition": _attachment(f"{batch_id}-fixed.zip")},
    )

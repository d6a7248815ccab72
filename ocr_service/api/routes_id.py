"""/v1/id-verifications: automatic verification, manual-review submissions, status, 撤回."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ocr_service import metrics
from ocr_service.api.deps import CallerDep, QueueDep, RuntimeDep
from ocr_service.api.schemas import (
    BINARY,
    IdVerificationResponse,
    ManualSubmissionResponse,
    multipart_body,
)
from ocr_service.api.uploads import MultipartLimits, read_multipart
from ocr_service.errors import NotFoundError, error_responses
from ocr_service.services import id_verification as service

router = APIRouter(prefix="/v1/id-verifications", tags=["ID verification"])

RecordId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="the verification id")]

_FORM = multipart_body(
    {
        "front": {**BINARY, "description": "人像面 photo, JPEG or PNG"},
        "back": {**BINARY, "description": "国徽面 photo, JPEG or PNG"},
        "declared_name": {"type": "string", "minLength": 1, "maxLength": 64},
        "declared_id_number": {
            "type": "string",
            "minLength": 6,
            "maxLength": 40,
            "description": "18 characters for resident_id_card; the document's number otherwise",
        },
        "document_type": {
            "type": "string",
            "enum": list(service.DOCUMENT_TYPES),
            "default": service.AUTOMATIC,
        },
    },
    ["front", "back", "declared_name", "declared_id_number"],
)


@router.post(
    "",
    summary="Verify a resident ID card, or submit another document for manual review",
    response_model=IdVerificationResponse,
    responses={
        202: {"model": ManualSubmissionResponse, "description": "submitted for 人工审核"},
        **error_responses(400, 401, 408, 409, 413, 415, 422, 429, 503),
    },
    openapi_extra=_FORM,
)
async def create_verification(
    request: Request, caller: CallerDep, runtime: RuntimeDep, queue: QueueDep
) -> JSONResponse:
    settings = runtime.settings
    limits = MultipartLimits(
        max_body_bytes=settings.id_max_body_bytes,
        max_file_bytes=settings.id_max_part_bytes,
        max_files=2,
        max_fields=settings.max_form_fields,
        max_field_bytes=settings.max_field_bytes,
        timeout_s=settings.body_timeout_s,
        file_fields=frozenset({"front", "back"}),
        text_fields=frozenset({"declared_name", "declared_id_number", "document_type"}),
    )
    form = await read_multipart(request, limits)  # in memory only: ID images never touch disk
    front, back = form.file("front"), form.file("back")
    submission = service.parse_submission(
        form.fields,
        front.data if front else None,
        back.data if back else None,
        max_pixels=settings.id_card.max_pixels,
    )
    del form, front, back
    status, body = await run_in_threadpool(
        service.verify,
        runtime,
        queue,
        submission=submission,
        source=caller.source,
        requester=caller.requester,
        gate=request.app.state.id_gate,
    )
    metrics.observe_id_verification(body)
    return JSONResponse(body, status_code=status)


@router.get(
    "/{verification_id}",
    summary="Status of a verification or manual-review submission (待认证 → 认证成功/认证失败)",
    response_model=IdVerificationResponse,
    responses=error_responses(401, 404, 422, 429, 503),
)
def get_verification(verification_id: RecordId, caller: CallerDep, runtime: RuntimeDep) -> dict:
    body = service.get_verification(runtime, record_id=verification_id, source=caller.source)
    if body is None:
        raise NotFoundError()
    return body


@router.post(
    "/{verification_id}/withdraw",
    summary="Withdraw (撤回) a pending manual-review submission; its images are deleted",
    response_model=IdVerificationResponse,
    responses=error_responses(401, 404, 409, 422, 429, 503),
)
def withdraw(verification_id: RecordId, caller: CallerDep, runtime: RuntimeDep) -> dict:
    body = service.withdraw_manual_review(runtime, record_id=verification_id, source=caller.source)
    if body is None:
        raise NotFoundError()
    return body

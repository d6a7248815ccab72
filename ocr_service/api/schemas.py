"""API response schemas (kept apart from the tables in ``ocr_service.storage``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["INVALID_FIELD"])
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Reason(BaseModel):
    code: str = Field(examples=["BLURRY"])
    side: Literal["front", "back"] | None = None
    message: str = Field(description="what the candidate should do, in Simplified Chinese")


class Risk(BaseModel):
    code: str = Field(examples=["SCREEN_RECAPTURE"])
    confidence: float = Field(ge=0, le=1)
    evidence: dict[str, Any] = Field(description="what the signal measured, for operators")
    side: Literal["front", "back"] | None = None
    policy: Literal["warn", "reject", "manual_review"] | None = None


VerificationStatus = Literal[
    "verified", "rejected", "locked", "pending_review", "withdrawn", "expired"
]


class IdVerificationResponse(BaseModel):
    id: str
    status: VerificationStatus
    status_label: str = Field(description="待认证 / 认证成功 / 认证失败 / 已撤回")
    document_type: str
    reasons: list[Reason]
    attempts_remaining: int | None = Field(
        None, description="failed attempts left today for this ID number (automatic checks only)"
    )
    fields: dict[str, str | None] = Field(description="masked values read from the card")
    risks: list[Risk] = Field(
        default_factory=list, description="capture risks flagged (screen, copy, edit, ...)"
    )
    created_at: str


class ManualSubmissionResponse(BaseModel):
    id: str
    status: Literal["pending_review"]
    status_label: str
    document_type: str
    message: str | None = Field(
        None, description="why an automatic verification went to manual review (capture risk)"
    )
    risks: list[Risk] = Field(default_factory=list)
    created_at: str


class CertReason(BaseModel):
    code: str = Field(examples=["SKEWED"])
    message: str


class CertificateValidationResponse(BaseModel):
    id: str
    filename: str
    status: Literal["accepted", "rejected"]
    reasons: list[CertReason]
    warnings: list[CertReason]
    checks: dict[str, Any]
    fixable: bool


class BatchCreatedResponse(BaseModel):
    id: str
    status: Literal["queued", "running", "completed", "failed"]
    total: int


class BatchFileResult(BaseModel):
    index: int
    filename: str
    state: Literal["queued", "running", "completed", "failed"]
    status: Literal["accepted", "rejected", "failed"] | None
    reasons: list[CertReason]
    warnings: list[CertReason]
    checks: dict[str, Any]
    fixed_available: bool


class BatchStatusResponse(BaseModel):
    id: str
    status: Literal["queued", "running", "completed", "failed"]
    total: int
    processed: int
    accepted: int
    rejected: int
    created_at: str
    results: list[BatchFileResult]


class HealthResponse(BaseModel):
    status: Literal["ok"]
    models_loaded: bool
    queue: Literal["embedded", "celery"]


def multipart_body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """An OpenAPI ``requestBody`` for routes that parse multipart themselves."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": properties, "required": required},
                }
            },
        }
    }


BINARY = {"type": "string", "format": "binary"}

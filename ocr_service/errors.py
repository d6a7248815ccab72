"""Errors raised by the service, and their one HTTP mapping.

Every failure answers ``{"error": {"code": ..., "message": ...}}``; bad input is
always a 4xx, never a 500; a broker or database that is down is a 503 with
``Retry-After``::

    ServiceError
    ├── AuthenticationError       401 missing, unknown or revoked API key (one message for all)
    ├── NotFoundError             404 (also for records of another API key)
    ├── ConflictError             409 e.g. withdrawing a decided review
    ├── RequestTimeoutError       408 the body did not arrive within the body timeout
    ├── MalformedRequestError     400 broken multipart, too many parts or headers
    ├── PayloadTooLargeError      413 body, part or file over its cap
    ├── UnsupportedMediaError     415 not multipart / not JPEG or PNG
    ├── ValidationFailedError     422 a field is missing or invalid
    ├── RateLimitedError          429 with Retry-After
    └── UnavailableError          503 with Retry-After
        ├── QueueUnavailableError     the broker cannot be reached or the queue is full
        │   └── DeadlineExceededError     (ocr_service.admission) admitted, but what is left
        │                                 of the deadline no longer covers the work
        ├── StorageUnavailableError   the database cannot be reached
        └── NotReadyError             models still loading

Pipeline errors (:mod:`pipelines.errors`) and framework errors are translated
here, in :func:`install_error_handlers`, and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pipelines.errors import (
    CorruptImageError,
    ImageTooLargeError,
    InferenceError,
    InputError,
    UnsupportedFormatError,
)

log = logging.getLogger("ocr_service.errors")


class ServiceError(Exception):
    status_code = 500
    code = "INTERNAL_ERROR"
    default_message = "服务内部错误，请稍后重试"

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}


class AuthenticationError(ServiceError):
    status_code = 401
    code = "UNAUTHORIZED"
    default_message = "missing or invalid API key"


class NotFoundError(ServiceError):
    status_code = 404
    code = "NOT_FOUND"
    default_message = "not found"


class ConflictError(ServiceError):
    status_code = 409
    code = "CONFLICT"
    default_message = "the resource is not in a state that allows this"


class RequestTimeoutError(ServiceError):
    status_code = 408
    code = "REQUEST_TIMEOUT"
    default_message = "the request body did not arrive in time"


class MalformedRequestError(ServiceError):
    status_code = 400
    code = "MALFORMED_REQUEST"
    default_message = "malformed request"


class PayloadTooLargeError(ServiceError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "request too large"


class UnsupportedMediaError(ServiceError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "unsupported media type"


class ValidationFailedError(ServiceError):
    status_code = 422
    code = "INVALID_FIELD"
    default_message = "invalid field"


class RateLimitedError(ServiceError):
    status_code = 429
    code = "RATE_LIMITED"
    default_message = "too many requests, retry later"


class UnavailableError(ServiceError):
    status_code = 503
    code = "UNAVAILABLE"
    default_message = "service temporarily unavailable, retry later"

    def __init__(self, message: str | None = None, *, retry_after: int | None = 5) -> None:
        super().__init__(message, retry_after=retry_after)


class QueueUnavailableError(UnavailableError):
    code = "QUEUE_UNAVAILABLE"
    default_message = "the job queue is unavailable or full, retry later"


class StorageUnavailableError(UnavailableError):
    code = "STORAGE_UNAVAILABLE"
    default_message = "the database is unavailable, retry later"


class NotReadyError(UnavailableError):
    code = "NOT_READY"
    default_message = "models are still loading"


_PIPELINE_ERRORS: list[tuple[type[Exception], int, str]] = [
    (UnsupportedFormatError, 415, "UNSUPPORTED_FORMAT"),
    (ImageTooLargeError, 413, "IMAGE_TOO_LARGE"),
    (CorruptImageError, 422, "CORRUPT_IMAGE"),
    (InputError, 422, "INVALID_INPUT"),
]

_HTTP_CODES = {
    400: "MALFORMED_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


_BODY_ERRORS = (PayloadTooLargeError, RequestTimeoutError, MalformedRequestError)


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def to_response(exc: Exception) -> JSONResponse:
    """The one mapping from an exception to an HTTP answer."""
    if isinstance(exc, ServiceError):
        headers = exc.headers()
        if isinstance(exc, _BODY_ERRORS):
            # The rest of the body is still on the wire: close the connection rather
            # than let the server drain whatever the client keeps sending.
            headers = {**(headers or {}), "Connection": "close"}
        return error_response(exc.status_code, exc.code, exc.message, headers)
    for kind, status, code in _PIPELINE_ERRORS:
        if isinstance(exc, kind):
            code = getattr(exc, "code", None) or code
            return error_response(status, code, str(exc) or code)
    if isinstance(exc, InferenceError):
        log.error("inference failed", exc_info=exc)
        return error_response(
            503, "INFERENCE_FAILED", "识别引擎暂时不可用，请稍后重试", {"Retry-After": "5"}
        )
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        detail = first.get("msg", "invalid")
        return error_response(422, "INVALID_FIELD", f"{where}: {detail}" if where else detail)
    if isinstance(exc, StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return error_response(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))
    log.error("unhandled error", exc_info=exc)
    return error_response(500, "INTERNAL_ERROR", ServiceError.default_message)


def install_error_handlers(app: FastAPI) -> None:
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        return to_response(exc)

    for kind in (
        ServiceError,
        InputError,
        InferenceError,
        RequestValidationError,
        StarletteHTTPException,
        Exception,
    ):
        app.add_exception_handler(kind, handle)


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error statuses."""
    descriptions = {
        400: "Malformed request",
        401: "Missing or invalid API key",
        404: "Not found",
        408: "Body did not arrive in time",
        409: "Conflict",
        413: "Too large",
        415: "Unsupported media type",
        422: "Invalid field",
        429: "Rate limited (Retry-After)",
        503: "Temporarily unavailable (Retry-After)",
    }
    return {
        s: {
            "description": descriptions.get(s, "Error"),
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }
        for s in statuses
    }

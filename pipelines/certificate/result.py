"""Typed results of certificate validation: reason codes, reasons, the report, a fixed file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal


class CertReasonCode(StrEnum):
    """Every reason a certificate file can get, from the pipeline, the archive reader and
    the service: one catalogue per document kind, so stored records, the CSV report and the
    dashboard never translate one code into another."""

    # the file itself
    EMPTY_FILE = "EMPTY_FILE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    CORRUPT_IMAGE = "CORRUPT_IMAGE"
    BAD_FILENAME = "BAD_FILENAME"
    FILENAME_ID_INVALID = "FILENAME_ID_INVALID"
    UNKNOWN_CERTIFICATE_TYPE = "UNKNOWN_CERTIFICATE_TYPE"
    SKEWED = "SKEWED"
    UPSIDE_DOWN = "UPSIDE_DOWN"
    SIDEWAYS = "SIDEWAYS"
    BLANK_PAGE = "BLANK_PAGE"
    LOW_RESOLUTION = "LOW_RESOLUTION"
    BLURRY = "BLURRY"
    DUPLICATE = "DUPLICATE"
    NAME_NOT_ON_DOCUMENT = "NAME_NOT_ON_DOCUMENT"
    # what the page says against what the file name says
    TEXT_NOT_FOUND = "TEXT_NOT_FOUND"
    CERTIFICATE_TYPE_MISMATCH = "CERTIFICATE_TYPE_MISMATCH"
    ID_NUMBER_MISMATCH = "ID_NUMBER_MISMATCH"
    # archive members (pipelines.certificate.archive)
    ARCHIVE_UNSAFE_PATH = "ARCHIVE_UNSAFE_PATH"
    ARCHIVE_SYMLINK = "ARCHIVE_SYMLINK"
    ARCHIVE_BAD_NAME = "ARCHIVE_BAD_NAME"
    ARCHIVE_ENCRYPTED = "ARCHIVE_ENCRYPTED"
    ARCHIVE_NESTED = "ARCHIVE_NESTED"
    ARCHIVE_UNSUPPORTED_COMPRESSION = "ARCHIVE_UNSUPPORTED_COMPRESSION"
    ARCHIVE_MEMBER_TOO_LARGE = "ARCHIVE_MEMBER_TOO_LARGE"
    ARCHIVE_BOMB = "ARCHIVE_BOMB"
    ARCHIVE_TOO_LARGE = "ARCHIVE_TOO_LARGE"
    ARCHIVE_TOO_MANY_FILES = "ARCHIVE_TOO_MANY_FILES"
    ARCHIVE_MEMBER_CORRUPT = "ARCHIVE_MEMBER_CORRUPT"
    # the service (ocr_service.services.certificates)
    PROCESSING_FAILED = "PROCESSING_FAILED"
    MANUAL_REVIEW_REJECTED = "MANUAL_REVIEW_REJECTED"


#: Rejections an automatic fix can cure (rotate, deskew, re-encode, rename).
FIXABLE_CODES = frozenset(
    {
        CertReasonCode.SKEWED,
        CertReasonCode.UPSIDE_DOWN,
        CertReasonCode.SIDEWAYS,
        CertReasonCode.FILE_TOO_LARGE,
    }
)


@dataclass(frozen=True, slots=True)
class CertReason:
    """Why a file was rejected or warned about: a code for machines, a message for the work
    unit (Simplified Chinese, saying what to do), and measured details for operators."""

    code: CertReasonCode
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    warning: bool = False  # told to the unit, does not reject the file

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


@dataclass(frozen=True, slots=True)
class CertificateReport:
    """The verdict on one file, with every measurement behind it.

    ``filename`` is the name as uploaded, which may contain a full ID number: it is for
    the uploader's eyes. :meth:`to_dict` masks it (``masked_filename``) unless told not to,
    so what gets stored or logged never carries the raw number.
    """

    filename: str
    status: Literal["accepted", "rejected"]
    reasons: tuple[CertReason, ...]
    warnings: tuple[CertReason, ...]
    checks: Mapping[str, Any]
    fingerprint: str | None
    fixable: bool
    timings_ms: Mapping[str, float]
    masked_filename: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @property
    def reason_codes(self) -> list[str]:
        return [r.code.value for r in self.reasons]

    @property
    def warning_codes(self) -> list[str]:
        return [r.code.value for r in self.warnings]

    def with_reason(self, reason: CertReason) -> CertificateReport:
        """A copy with one more rejection reason (status and ``fixable`` follow)."""
        reasons = (*self.reasons, reason)
        return replace(self, reasons=reasons, status="rejected", fixable=is_fixable(reasons))

    def to_dict(self, *, mask: bool = True) -> dict[str, Any]:
        """The issue's response shape (filename, status, reasons, warnings, checks) plus
        fingerprint, fixable and timings. JSON-ready."""
        return {
            "filename": (self.masked_filename or self.filename) if mask else self.filename,
            "status": self.status,
            "reasons": [r.to_dict() for r in self.reasons],
            "warnings": [w.to_dict() for w in self.warnings],
            "checks": _plain(self.checks),
            "fingerprint": self.fingerprint,
            "fixable": self.fixable,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }


def is_fixable(reasons: tuple[CertReason, ...]) -> bool:
    return bool(reasons) and all(r.code in FIXABLE_CODES for r in reasons)


@dataclass(frozen=True, slots=True)
class FixedFile:
    """A corrected file offered to the unit: canonical name, JPEG/PNG bytes, what was done."""

    filename: str
    data: bytes
    applied: tuple[str, ...]


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value

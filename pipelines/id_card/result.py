"""Typed results of the ID-card pipeline: reasons, the verification, its sides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Side(StrEnum):
    FRONT = "front"  # 人像面
    BACK = "back"  # 国徽面


class ReasonCode(StrEnum):
    CARD_NOT_FOUND = "CARD_NOT_FOUND"
    CARD_INCOMPLETE = "CARD_INCOMPLETE"
    CARD_TOO_SMALL = "CARD_TOO_SMALL"
    BLURRY = "BLURRY"
    GLARE = "GLARE"
    TOO_DARK = "TOO_DARK"
    OVEREXPOSED = "OVEREXPOSED"
    WRONG_SIDE = "WRONG_SIDE"
    TEXT_UNREADABLE = "TEXT_UNREADABLE"
    NAME_MISMATCH = "NAME_MISMATCH"
    ID_NUMBER_MISMATCH = "ID_NUMBER_MISMATCH"
    ID_NUMBER_INVALID = "ID_NUMBER_INVALID"
    FIELDS_INCONSISTENT = "FIELDS_INCONSISTENT"
    EXPIRED = "EXPIRED"
    SCREEN_RECAPTURE = "SCREEN_RECAPTURE"  # capture risks whose policy is "reject"
    PHOTOCOPY = "PHOTOCOPY"
    EDITED_IMAGE = "EDITED_IMAGE"
    TEMPORARY_ID = "TEMPORARY_ID"
    PORTRAIT = "PORTRAIT"
    MULTIPLE_CARDS = "MULTIPLE_CARDS"
    COVERED_FIELD = "COVERED_FIELD"
    ATTEMPTS_EXCEEDED = "ATTEMPTS_EXCEEDED"  # decided by the service, never by the pipeline


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a verification was rejected: a code for machines, a message for the candidate
    (Simplified Chinese, saying what to do), and measured details for operators."""

    code: ReasonCode
    side: Side | None
    message: str
    detail: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code.value,
            "side": self.side.value if self.side else None,
            "message": self.message,
        }
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


@dataclass(frozen=True, slots=True)
class Declaration:
    """What the candidate typed in the mini-program."""

    name: str
    id_number: str


# Stages whose rejection asks the candidate for a new photo.
_RETAKE_STAGES = ("decode", "read", "capture", "side")


@dataclass(frozen=True, slots=True)
class IdVerification:
    """The pipeline's answer. ``fields`` are masked; raw values never leave the pipeline."""

    status: Literal["verified", "rejected"]
    reasons: tuple[Reason, ...]
    fields: Mapping[str, str | None]
    measurements: Mapping[str, Mapping[str, Any]]  # per side: quality values, outline, orientation
    timings_ms: Mapping[str, float]

    @property
    def verified(self) -> bool:
        return self.status == "verified"

    @property
    def reason_codes(self) -> list[str]:
        return [r.code.value for r in self.reasons]

    @property
    def risks(self) -> list[dict[str, Any]]:
        """Capture risks flagged on either side (``risks`` stage), with their policy."""
        out: list[dict[str, Any]] = []
        for side in self.measurements.values():
            stage = (side.get("stages") or {}).get("risks") or {}
            out.extend((stage.get("measured") or {}).get("risks") or [])
        return out

    @property
    def manual_review(self) -> bool:
        """A flagged risk whose policy sends the document to a person (and none rejects),
        unless a side must be photographed again anyway (not found, blurred, cut off, the
        wrong side...): the candidate is asked for a new photo first, not sent to a queue."""
        policies = {r.get("policy") for r in self.risks}
        if "manual_review" not in policies or "reject" in policies:
            return False
        return not any(
            ((side.get("stages") or {}).get(stage) or {}).get("reasons")
            for side in self.measurements.values()
            for stage in _RETAKE_STAGES
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reasons": [r.to_dict() for r in self.reasons],
            "fields": dict(self.fields),
            "risks": self.risks,
            "manual_review": self.manual_review,
            "measurements": {k: dict(v) for k, v in self.measurements.items()},
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
        }

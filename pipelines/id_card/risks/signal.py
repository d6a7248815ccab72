"""The risk signal types shared by every check."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np


class RiskCode(StrEnum):
    SCREEN_RECAPTURE = "SCREEN_RECAPTURE"
    PHOTOCOPY = "PHOTOCOPY"
    EDITED_IMAGE = "EDITED_IMAGE"
    TEMPORARY_ID = "TEMPORARY_ID"
    PORTRAIT = "PORTRAIT"
    MULTIPLE_CARDS = "MULTIPLE_CARDS"
    COVERED_FIELD = "COVERED_FIELD"


@dataclass(frozen=True, slots=True)
class RiskSignal:
    """One signal's verdict. ``confidence`` 0 means nothing was seen."""

    code: RiskCode
    confidence: float
    evidence: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "confidence": round(float(self.confidence), 3),
            "evidence": dict(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """Every signal computed on one side, and which of them reached the flag threshold."""

    signals: tuple[RiskSignal, ...]
    threshold: float
    thresholds: Mapping[str, float] = field(default_factory=dict)  # per signal, overriding

    def threshold_of(self, code: RiskCode) -> float:
        return self.thresholds.get(code.value, self.threshold)

    @property
    def flagged(self) -> tuple[RiskSignal, ...]:
        return tuple(s for s in self.signals if s.confidence >= self.threshold_of(s.code))

    def __getitem__(self, code: RiskCode) -> RiskSignal:
        return next(s for s in self.signals if s.code is code)


def _timed(
    code: RiskCode, started: float, confidence: float, evidence: dict[str, Any]
) -> RiskSignal:
    return RiskSignal(
        code,
        float(np.clip(confidence, 0.0, 1.0)),
        evidence,
        (time.perf_counter() - started) * 1000,
    )


def _region(card: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = card.shape[:2]
    x0, y0, x1, y1 = box
    return card[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)]

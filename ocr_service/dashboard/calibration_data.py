"""Calibration against the database and the thresholds file: the evidence for one check,
and applying or rolling back a threshold (shared by ``/qa/calibration`` and
``ocr-service calibrate``).

Evidence is read from ``records`` (status, measurements, checks: the stored stage records)
and ``qa_feedback`` only. Applying writes the thresholds file, keeps a row of history in
``qa_threshold_changes``, writes an audit entry, and asks this process to reload its
thresholds; other processes reload on SIGHUP or at their next start.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ocr_service.calibration import (
    CHECKS,
    PASSED,
    REJECTED,
    CalibratedCheck,
    Observation,
    Proposal,
    StoredRecord,
    WhatIf,
    observations,
    propose,
    what_if,
)
from ocr_service.dashboard.auth import log_event
from ocr_service.dashboard.tables import ReviewFeedback, ThresholdChange
from ocr_service.storage.tables import Record, RecordReason
from ocr_service.thresholds import live_settings, read_thresholds, request_reload, write_thresholds

#: Accepted captures drawn per check (newest first): enough for the histogram.
MAX_ACCEPTED = 5000
#: Rejections behind one check read at most (newest first).
MAX_REJECTED = 50_000

_apply_lock = threading.Lock()


class CalibrationError(ValueError):
    """A threshold cannot be applied or rolled back as asked (shown to the operator)."""


def env_name(check: CalibratedCheck) -> str:
    return f"OCR_SERVICE_{check.section.upper()}__{check.key.upper()}"


def load_records(session: Session, check: CalibratedCheck) -> list[StoredRecord]:
    """Rejections behind the check (with their verdicts) and recent accepted records."""
    rejected_ids = (
        select(RecordReason.record_id)
        .where(RecordReason.kind == check.kind, RecordReason.code.in_(sorted(check.reasons)))
        .distinct()
    )
    columns = (Record.id, Record.kind, Record.status, Record.measurements, Record.checks)
    rows = list(
        session.execute(
            select(*columns, ReviewFeedback.verdict)
            .outerjoin(ReviewFeedback, ReviewFeedback.record_id == Record.id)
            .where(Record.id.in_(rejected_ids), Record.status.in_(REJECTED))
            .order_by(Record.created_at.desc())
            .limit(MAX_REJECTED)
        )
    )
    rows += list(
        session.execute(
            select(*columns, ReviewFeedback.verdict)
            .outerjoin(ReviewFeedback, ReviewFeedback.record_id == Record.id)
            .where(Record.kind == check.kind, Record.status.in_(PASSED))
            .order_by(Record.created_at.desc())
            .limit(MAX_ACCEPTED)
        )
    )
    return [StoredRecord(r.id, r.kind, r.status, r.measurements, r.checks, r.verdict) for r in rows]


@dataclass(frozen=True)
class Evidence:
    """Everything the calibration page and the CLI show for one check."""

    check: CalibratedCheck
    observations: list[Observation]
    current: float
    source: str  # default | environment | file | code
    proposal: Proposal
    current_outcome: WhatIf

    @property
    def env_name(self) -> str:
        return env_name(self.check)

    @property
    def can_apply(self) -> bool:
        """The file decides the value only when neither code nor environment sets it."""
        return self.source in ("default", "file")


def current_value(settings: Any, check: CalibratedCheck) -> tuple[float, str]:
    live = live_settings(settings)
    value = float(getattr(getattr(live, check.section), check.key))
    return value, live.thresholds.source_of(check.section, check.key)


def gather(session: Session, settings: Any, check: CalibratedCheck) -> Evidence:
    obs = observations(check, load_records(session, check))
    cfg = settings.calibration
    value, source = current_value(settings, check)
    return Evidence(
        check=check,
        observations=obs,
        current=value,
        source=source,
        proposal=propose(
            check, obs, target_recall=cfg.target_recall, min_reviewed=cfg.min_reviewed
        ),
        current_outcome=what_if(check, obs, value),
    )


def _typed(settings: Any, check: CalibratedCheck, value: float) -> float | int:
    """The value as the config field's type, validated by the config itself."""
    model = getattr(settings, check.section)
    annotation = type(model).model_fields[check.key].annotation
    typed: float | int = value
    if annotation is int:
        if value != int(value):
            raise CalibrationError(f"{check.name} 必须是整数")
        typed = int(value)
    try:
        type(model).model_validate({**model.model_dump(), check.key: typed})
    except ValueError as exc:
        raise CalibrationError(f"{check.name} = {value}: {exc}") from exc
    return typed


def apply_threshold(
    session: Session,
    *,
    settings: Any,
    check: CalibratedCheck,
    value: float,
    operator: str,
    client: str | None,
    evidence: Evidence,
    now: datetime | None = None,
) -> ThresholdChange:
    """Write ``value`` to the thresholds file and record who did it, from which value, on
    what evidence. Refused when the environment (or code) sets the threshold: the file
    would not take effect."""
    if not evidence.can_apply:
        raise CalibrationError(
            f"{check.name} 由环境变量 {env_name(check)} 设定，写入阈值文件不会生效；"
            "请先从部署配置中删除该变量。"
        )
    outcome = what_if(check, evidence.observations, value)
    counts = _counts(evidence.proposal, outcome)
    return _write(
        session,
        settings=settings,
        check=check,
        file_after=value,
        action="apply",
        operator=operator,
        client=client,
        evidence=counts,
        reverts_id=None,
        now=now,
    )


def rollback(
    session: Session,
    *,
    settings: Any,
    change_id: int,
    operator: str,
    client: str | None,
    now: datetime | None = None,
) -> ThresholdChange:
    """Put the file entry a change replaced back (removing it when there was none)."""
    change = session.get(ThresholdChange, change_id)
    if change is None or change.check_name not in CHECKS:
        raise CalibrationError("没有这条阈值变更。")
    check = CHECKS[change.check_name]
    _, source = current_value(settings, check)
    if source not in ("default", "file"):
        raise CalibrationError(f"{check.name} 由环境变量 {env_name(check)} 设定，回滚不会生效。")
    return _write(
        session,
        settings=settings,
        check=check,
        file_after=change.file_before,
        action="rollback",
        operator=operator,
        client=client,
        evidence={"reverts": change.id, "reverted_value": change.value_after},
        reverts_id=change.id,
        now=now,
    )


def _counts(proposal: Proposal, outcome: WhatIf) -> dict[str, Any]:
    return {
        "reviewed": proposal.reviewed,
        "confirmed": outcome.confirmed_total,
        "false_rejections": outcome.false_total,
        "accepted": outcome.accepted_total,
        "false_would_pass": len(outcome.false_passing),
        "confirmed_would_pass": len(outcome.confirmed_passing),
        "accepted_would_fail": len(outcome.accepted_failing),
        "proposed": proposal.threshold,
        "target_recall": proposal.target_recall,
    }


def _write(
    session: Session,
    *,
    settings: Any,
    check: CalibratedCheck,
    file_after: float | None,
    action: str,
    operator: str,
    client: str | None,
    evidence: dict[str, Any],
    reverts_id: int | None,
    now: datetime | None,
) -> ThresholdChange:
    now = now or datetime.now(UTC)
    path = settings.thresholds_file
    with _apply_lock:
        values = read_thresholds(path)
        before, _ = current_value(settings, check)
        file_before = values.get(check.section, {}).get(check.key)
        section = dict(values.get(check.section, {}))
        if file_after is None:
            section.pop(check.key, None)
            default = type(getattr(settings, check.section)).model_fields[check.key].default
            after = float(default)
        else:
            section[check.key] = _typed(settings, check, file_after)
            after = float(file_after)
        values[check.section] = section
        change = ThresholdChange(
            at=now,
            operator=operator,
            action=action,
            check_name=check.name,
            section=check.section,
            key=check.key,
            value_before=before,
            value_after=after,
            file_before=None if file_before is None else float(file_before),
            file_after=file_after,
            reverts_id=reverts_id,
            evidence=evidence,
        )
        session.add(change)
        session.flush()
        log_event(
            session,
            action=f"threshold_{action}",
            reviewer=operator,
            client=client,
            detail={
                "check": check.name,
                "from": before,
                "to": after,
                "change": change.id,
                "file": str(path),
                "evidence": evidence,
            },
            now=now,
        )
        # the file last: a failure above leaves it as it was; the caller's commit follows
        write_thresholds(
            path,
            values,
            header=f"Calibrated thresholds, written by ocr-service ({action} by {operator}, "
            f"{now:%Y-%m-%d %H:%M:%S} UTC).\nHistory: /qa/calibration. Environment variables "
            "override these values.",
        )
    request_reload()
    return change


def history(
    session: Session, *, check: str | None = None, limit: int = 50
) -> list[ThresholdChange]:
    stmt = select(ThresholdChange).order_by(ThresholdChange.id.desc()).limit(limit)
    if check is not None:
        stmt = stmt.where(ThresholdChange.check_name == check)
    return list(session.scalars(stmt))

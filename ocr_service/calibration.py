"""Threshold calibration from reviewer feedback: pure computations over stored stage records.

A :class:`CalibratedCheck` names one threshold (``id_card.min_sharpness``), the stage
record that carries the value it is compared with, and the reason codes it is behind.
Everything here reads only what records already keep (each stage's ``measured``,
``limits`` and ``reasons``) and the reviewers' verdicts; no image is needed or read.

* :func:`observations` sorts a check's values into reviewer-confirmed rejections,
  reviewer-marked false rejections, unreviewed rejections and accepted captures. A
  rejection is one observation per record (its worst side for ID cards: the record passes
  the check only when every side that was rejected for it does); an accepted capture is one
  per side.
* :func:`what_if` counts, for a threshold, the false rejections that would have passed,
  the confirmed rejections that would now pass, and the accepted captures that would now
  fail, with the record ids behind each count.
* :func:`propose` picks the loosest threshold on the check's step grid that still rejects
  at least ``target_recall`` of the confirmed rejections (so it removes as many false
  rejections as any threshold can at that recall), and refuses with fewer than
  ``min_reviewed`` reviewed rejections.

For ID capture checks, passing a threshold means this reason would not have been given;
the capture stage may still blame another cause when a key field stays unreadable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

PASSED = ("verified", "accepted")
REJECTED = ("rejected", "locked", "failed", "expired")


class Direction(StrEnum):
    """How a value meets its threshold."""

    AT_LEAST = "at_least"  # passes when value >= threshold (sharpness, contrast, size)
    BELOW = "below"  # passes when value < threshold (glare share)
    AT_MOST = "at_most"  # passes when value <= threshold (|skew|)

    def passes(self, value: float, threshold: float) -> bool:
        if self is Direction.AT_LEAST:
            return value >= threshold
        if self is Direction.BELOW:
            return value < threshold
        return value <= threshold

    @property
    def symbol(self) -> str:
        return {"at_least": "≥", "below": "<", "at_most": "≤"}[self.value]


class Group(StrEnum):
    CONFIRMED = "confirmed"  # rejected for this check; a reviewer said the rejection was right
    FALSE = "false_rejection"  # rejected for this check; a reviewer said it was wrong
    UNREVIEWED = "unreviewed"  # rejected for this check; nobody has looked yet
    ACCEPTED = "accepted"  # passed (one observation per captured side)


Extract = Callable[[Mapping[str, Any]], float | None]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _measured(stage: str, key: str, *, absolute: bool = False) -> Extract:
    def extract(stages: Mapping[str, Any]) -> float | None:
        value = _number(((stages.get(stage) or {}).get("measured") or {}).get(key))
        return abs(value) if value is not None and absolute else value

    return extract


def _over_fields(stage: str, key: str, pick: Callable[[Iterable[float]], float]) -> Extract:
    """One number from a per-field mapping (worst glare share, weakest field score); a field
    that was not read at all scores 0."""

    def extract(stages: Mapping[str, Any]) -> float | None:
        values = ((stages.get(stage) or {}).get("measured") or {}).get(key)
        if not isinstance(values, Mapping) or not values:
            return None
        return pick((_number(v) or 0.0) for v in values.values())

    return extract


@dataclass(frozen=True)
class CalibratedCheck:
    """One threshold that a measured value is compared with, and where the value is kept."""

    name: str  # "<section>.<key>"
    kind: str  # id_verification | certificate
    label: str
    value: Extract  # the value, from one side's (or the page's) stage records
    limit_stage: str  # the stage whose ``limits`` carry ``key``
    reason_stage: str  # the stage whose ``reasons`` carry the codes below
    reasons: frozenset[str]
    direction: Direction
    step: str  # proposals are multiples of this
    unit: str = ""

    @property
    def section(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(".", 1)[1]

    def limit_in(self, stages: Mapping[str, Any]) -> float | None:
        return _number(((stages.get(self.limit_stage) or {}).get("limits") or {}).get(self.key))

    def rejected_for(self, stages: Mapping[str, Any]) -> bool:
        codes = (stages.get(self.reason_stage) or {}).get("reasons") or []
        return any(str(code) in self.reasons for code in codes)


_ID_CAPTURE = {"capture"}

#: Every calibrated threshold. The key after the dot is the config field and the stage
#: ``limits`` key alike.
CHECKS: dict[str, CalibratedCheck] = {
    c.name: c
    for c in (
        CalibratedCheck(
            "id_card.min_sharpness",
            "id_verification",
            "身份证：文字笔画清晰度",
            _measured("capture", "sharpness"),
            "capture",
            "capture",
            frozenset({"BLURRY"}),
            Direction.AT_LEAST,
            "0.01",
        ),
        CalibratedCheck(
            "id_card.min_text_contrast",
            "id_verification",
            "身份证：文字对比度（过暗 / 过曝）",
            _measured("capture", "text_contrast"),
            "capture",
            "capture",
            frozenset({"TOO_DARK", "OVEREXPOSED"}),
            Direction.AT_LEAST,
            "1",
            "灰阶",
        ),
        CalibratedCheck(
            "id_card.glare_field_fraction",
            "id_verification",
            "身份证：关键字段反光占比（最大）",
            _over_fields("capture", "glare_fields", max),
            "capture",
            "capture",
            frozenset({"GLARE"}),
            Direction.BELOW,
            "0.01",
        ),
        CalibratedCheck(
            "id_card.min_card_width_px",
            "id_verification",
            "身份证：证件长边（像素）",
            _measured("read", "card_long_edge_px"),
            "capture",
            "capture",
            frozenset({"CARD_TOO_SMALL"}),
            Direction.AT_LEAST,
            "1",
            "像素",
        ),
        CalibratedCheck(
            "certificate.skew_reject_degrees",
            "certificate",
            "证书：歪斜角度（绝对值）",
            _measured("skew", "skew_degrees", absolute=True),
            "skew",
            "skew",
            frozenset({"SKEWED"}),
            Direction.AT_MOST,
            "0.1",
            "°",
        ),
        CalibratedCheck(
            "certificate.min_char_height_px",
            "certificate",
            "证书：文字高度（像素）",
            _measured("resolution", "char_height_px"),
            "resolution",
            "resolution",
            frozenset({"LOW_RESOLUTION"}),
            Direction.AT_LEAST,
            "0.1",
            "像素",
        ),
        CalibratedCheck(
            "certificate.blank_max_ink_ratio",
            "certificate",
            "证书：墨迹占比（空白页）",
            _measured("content", "ink_ratio"),
            "content",
            "content",
            frozenset({"BLANK_PAGE"}),
            Direction.AT_LEAST,
            "0.0001",
        ),
    )
}


def units_of(record_kind: str, measurements: Any, checks: Any) -> list[tuple[str | None, Any]]:
    """(side, stage records) per captured unit: both sides of an ID verification, the page of
    a certificate. Records written before the stage model have no stage records and give
    nothing."""
    if record_kind == "certificate":
        stages = (checks or {}).get("stages") if isinstance(checks, Mapping) else None
        return [(None, stages)] if isinstance(stages, Mapping) else []
    out: list[tuple[str | None, Any]] = []
    for side in ("front", "back"):
        m = (measurements or {}).get(side) if isinstance(measurements, Mapping) else None
        stages = m.get("stages") if isinstance(m, Mapping) else None
        if isinstance(stages, Mapping):
            out.append((side, stages))
    return out


@dataclass(frozen=True)
class StoredRecord:
    """The parts of a record calibration reads: never images, never identities."""

    id: str
    kind: str
    status: str
    measurements: Any
    checks: Any
    verdict: str | None  # correct | false_rejection | None


@dataclass(frozen=True)
class Observation:
    record_id: str
    sides: tuple[str, ...]  # empty for certificates
    value: float
    limit: float | None  # the limit in force when it was measured
    group: Group


def observations(check: CalibratedCheck, records: Iterable[StoredRecord]) -> list[Observation]:
    out: list[Observation] = []
    for record in records:
        if record.kind != check.kind:
            continue
        units = units_of(record.kind, record.measurements, record.checks)
        if record.status in PASSED:
            for side, stages in units:
                value = check.value(stages)
                if value is not None:
                    out.append(
                        Observation(
                            record.id,
                            (side,) if side else (),
                            value,
                            check.limit_in(stages),
                            Group.ACCEPTED,
                        )
                    )
            continue
        if record.status not in REJECTED:
            continue
        behind = [
            (side, stages, v)
            for side, stages in units
            if check.rejected_for(stages) and (v := check.value(stages)) is not None
        ]
        if not behind:
            continue
        # the side farthest from passing decides whether the record would pass
        worst = (min if check.direction is Direction.AT_LEAST else max)(
            behind, key=lambda item: item[2]
        )
        group = {"correct": Group.CONFIRMED, "false_rejection": Group.FALSE}.get(
            record.verdict or "", Group.UNREVIEWED
        )
        out.append(
            Observation(
                record.id,
                tuple(s for s, _, _ in behind if s),
                worst[2],
                check.limit_in(worst[1]),
                group,
            )
        )
    return out


@dataclass(frozen=True)
class WhatIf:
    """What a threshold would have done to the observations."""

    threshold: float
    false_passing: tuple[str, ...]  # false rejections that would have passed
    confirmed_passing: tuple[str, ...]  # confirmed rejections that would now pass
    accepted_failing: tuple[str, ...]  # accepted captures that would now fail (record ids)
    false_total: int
    confirmed_total: int
    accepted_total: int

    @property
    def recall(self) -> float | None:
        """Share of confirmed rejections still rejected."""
        if not self.confirmed_total:
            return None
        return 1 - len(self.confirmed_passing) / self.confirmed_total


def what_if(check: CalibratedCheck, obs: Sequence[Observation], threshold: float) -> WhatIf:
    def ids(group: Group, passing: bool) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                o.record_id
                for o in obs
                if o.group is group and check.direction.passes(o.value, threshold) == passing
            )
        )

    return WhatIf(
        threshold=threshold,
        false_passing=ids(Group.FALSE, True),
        confirmed_passing=ids(Group.CONFIRMED, True),
        accepted_failing=ids(Group.ACCEPTED, False),
        false_total=sum(o.group is Group.FALSE for o in obs),
        confirmed_total=sum(o.group is Group.CONFIRMED for o in obs),
        accepted_total=sum(o.group is Group.ACCEPTED for o in obs),
    )


@dataclass(frozen=True)
class Proposal:
    check: str
    threshold: float | None  # None: refused, see ``refused``
    refused: str | None
    reviewed: int  # reviewed rejections behind the check (confirmed + false)
    confirmed: int
    false_rejections: int
    target_recall: float
    min_reviewed: int
    kept_rejected: int = 0  # confirmed rejections the proposal must keep rejecting
    outcome: WhatIf | None = field(default=None)


def _on_grid(value: float, step: Decimal, rounding: str, *, strictly: int = 0) -> Decimal:
    """The multiple of ``step`` next to ``value`` (``strictly`` +1: above it, -1: below)."""
    exact = Decimal(repr(value)) / step
    units = exact.to_integral_value(rounding=rounding)
    if strictly > 0 and units <= exact:
        units += 1
    if strictly < 0 and units >= exact:
        units -= 1
    return (units * step).normalize()


def required_kept(confirmed: int, target_recall: float) -> int:
    """Confirmed rejections that must stay rejected: ceil(recall × n), exactly."""
    return math.ceil(round(Decimal(repr(target_recall)) * confirmed, 9))


def propose(
    check: CalibratedCheck,
    obs: Sequence[Observation],
    *,
    target_recall: float,
    min_reviewed: int,
) -> Proposal:
    confirmed = sorted(o.value for o in obs if o.group is Group.CONFIRMED)
    false_count = sum(o.group is Group.FALSE for o in obs)
    reviewed = len(confirmed) + false_count
    base = dict(
        check=check.name,
        reviewed=reviewed,
        confirmed=len(confirmed),
        false_rejections=false_count,
        target_recall=target_recall,
        min_reviewed=min_reviewed,
    )
    if reviewed < min_reviewed:
        return Proposal(
            threshold=None,
            refused=f"只有 {reviewed} 条已复核的拒绝（至少需要 {min_reviewed} 条）",
            **base,  # type: ignore[arg-type]
        )
    if not confirmed:
        return Proposal(threshold=None, refused="没有复核确认的拒绝，无法保证召回率", **base)  # type: ignore[arg-type]
    k = required_kept(len(confirmed), target_recall)
    step = Decimal(check.step)
    if check.direction is Direction.AT_LEAST:
        # rejected below t: the k-th smallest confirmed value must stay below t
        t = _on_grid(confirmed[k - 1], step, ROUND_FLOOR, strictly=+1)
    elif check.direction is Direction.BELOW:
        # rejected at or above t: the k-th largest must stay at or above t
        t = _on_grid(confirmed[-k], step, ROUND_FLOOR)
    else:
        # rejected above t: the k-th largest must stay above t
        t = _on_grid(confirmed[-k], step, ROUND_CEILING, strictly=-1)
    threshold = float(t)
    return Proposal(
        threshold=threshold,
        refused=None,
        kept_rejected=k,
        outcome=what_if(check, obs, threshold),
        **base,  # type: ignore[arg-type]
    )


# -- histograms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    counts: dict[Group, int]


def histogram(
    obs: Sequence[Observation], *, bins: int, marks: Iterable[float | None] = ()
) -> list[Bin]:
    """Equal-width bins over every value and every marked threshold."""
    values = [o.value for o in obs] + [m for m in marks if m is not None]
    if not values:
        return []
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / bins
    out = [Bin(low + i * width, low + (i + 1) * width, {g: 0 for g in Group}) for i in range(bins)]
    for o in obs:
        index = min(bins - 1, int((o.value - low) / width))
        out[index].counts[o.group] += 1
    return out

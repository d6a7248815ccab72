"""``/qa/calibration``: what each threshold costs, a proposal from reviewer feedback, and
(operators only) applying it to the thresholds file or rolling a change back.

Every reviewer may look; only an account with the ``operator`` role may write. The pages
read stored measured values, reasons and verdicts only (no image is ever opened)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from ocr_service.calibration import CHECKS, Bin, CalibratedCheck, Group, histogram, what_if
from ocr_service.dashboard import auth
from ocr_service.dashboard import calibration_data as data
from ocr_service.dashboard.routes_records import SOURCE_LABELS
from ocr_service.dashboard.web import (
    CsrfField,
    DashboardDep,
    NotFound,
    PageError,
    ReviewerDep,
    check_csrf,
    render,
)
from ocr_service.storage.db import session_scope

router = APIRouter(prefix="/qa", include_in_schema=False)

#: Record links listed per group under the what-if counts.
MAX_LINKS = 100

GROUP_LABELS = {
    Group.CONFIRMED: "复核确认的拒绝",
    Group.FALSE: "复核为误拒",
    Group.ACCEPTED: "通过的采集",
}


# -- the histogram's geometry ---------------------------------------------------------------


@dataclass(frozen=True)
class HistBar:
    group: str
    x: float
    y: float
    width: float
    height: float
    count: int
    share: float
    low: float
    high: float


@dataclass(frozen=True)
class Mark:
    kind: str  # current | proposed | what-if
    label: str
    x: float
    value: float


@dataclass(frozen=True)
class HistogramChart:
    width: int
    height: int
    left: int
    top: int
    plot_w: float
    plot_h: float
    bars: list[HistBar]
    marks: list[Mark]
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    empty: bool


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def histogram_chart(
    bins: Sequence[Bin],
    marks: Sequence[tuple[str, str, float | None]],
    *,
    width: int = 760,
    height: int = 260,
) -> HistogramChart:
    """Bars per bin for the three groups side by side, each as its share of its group (the
    groups differ in size by orders of magnitude); vertical lines for the thresholds."""
    left, right, top, bottom = 48, 16, 24, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    groups = (Group.CONFIRMED, Group.FALSE, Group.ACCEPTED)
    totals = {g: sum(b.counts[g] for b in bins) for g in groups}
    peak = max((b.counts[g] / totals[g] for b in bins for g in groups if totals[g]), default=0.0)
    peak = peak or 1.0
    bars: list[HistBar] = []
    lines: list[Mark] = []
    if bins:
        low, high = bins[0].low, bins[-1].high
        slot = plot_w / len(bins)
        bar_w = slot * 0.9 / len(groups)
        for i, b in enumerate(bins):
            for j, g in enumerate(groups):
                share = b.counts[g] / totals[g] if totals[g] else 0.0
                h = plot_h * share / peak
                bars.append(
                    HistBar(
                        g.value,
                        round(left + i * slot + slot * 0.05 + j * bar_w, 1),
                        round(top + plot_h - h, 1),
                        round(bar_w, 1),
                        round(h, 1),
                        b.counts[g],
                        share,
                        b.low,
                        b.high,
                    )
                )
        for kind, label, value in marks:
            if value is not None and low <= value <= high:
                x = left + plot_w * (value - low) / (high - low)
                lines.append(Mark(kind, label, round(x, 1), value))
        x_ticks = [
            (round(left + plot_w * f, 1), _fmt(low + (high - low) * f))
            for f in (0, 0.25, 0.5, 0.75, 1)
        ]
    else:
        x_ticks = []
    y_ticks = [(round(top + plot_h - plot_h * f, 1), f"{peak * f:.0%}") for f in (0, 0.5, 1)]
    return HistogramChart(
        width,
        height,
        left,
        top,
        plot_w,
        plot_h,
        bars,
        lines,
        x_ticks,
        y_ticks,
        empty=not any(totals.values()),
    )


# -- pages ----------------------------------------------------------------------------------


def _check_or_404(name: str) -> CalibratedCheck:
    check = CHECKS.get(name)
    if check is None:
        raise NotFound()
    return check


@router.get("/calibration")
def calibration_index(request: Request, dash: DashboardDep, identity: ReviewerDep) -> Response:
    rows = []
    with session_scope(dash.session_factory) as session:
        for check in CHECKS.values():
            rows.append(data.gather(session, dash.settings, check))
        changes = data.history(session, limit=30)
    return render(
        request,
        dash,
        "calibration.html",
        rows=rows,
        changes=changes,
        source_labels=SOURCE_LABELS,
        calibration=dash.settings.calibration,
        thresholds_file=str(dash.settings.thresholds_file),
    )


def _parse_threshold(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        number = float(value.strip()[:40])
    except ValueError as exc:
        raise PageError("请输入数字阈值。") from exc
    if not math.isfinite(number):
        raise PageError("请输入数字阈值。")
    return number


@router.get("/calibration/{name}")
def calibration_check(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    name: str,
    t: str | None = None,
    applied: str | None = None,
) -> Response:
    check = _check_or_404(name)
    with session_scope(dash.session_factory) as session:
        ev = data.gather(session, dash.settings, check)
        changes = data.history(session, check=check.name, limit=20)
    proposal = ev.proposal
    chosen = _parse_threshold(t)
    if chosen is None:
        chosen = proposal.threshold if proposal.threshold is not None else ev.current
    outcome = what_if(check, ev.observations, chosen)
    marks = [
        ("current", f"当前 {_fmt(ev.current)}", ev.current),
        ("proposed", f"建议 {_fmt(proposal.threshold or 0)}", proposal.threshold),
        ("what-if", f"假设 {_fmt(chosen)}", chosen),
    ]
    bins = histogram(
        [o for o in ev.observations if o.group is not Group.UNREVIEWED],
        bins=dash.settings.calibration.histogram_bins,
        marks=(ev.current, proposal.threshold, chosen),
    )
    counts = {g: sum(o.group is g for o in ev.observations) for g in Group}
    return render(
        request,
        dash,
        "calibration_check.html",
        check=check,
        ev=ev,
        proposal=proposal,
        chosen=chosen,
        outcome=outcome,
        chart=histogram_chart(bins, marks),
        counts=counts,
        group_labels=GROUP_LABELS,
        source_labels=SOURCE_LABELS,
        changes=changes,
        applied=applied,
        max_links=MAX_LINKS,
        fmt=_fmt,
    )


def _require_operator(identity: auth.ReviewerIdentity) -> None:
    if not identity.operator:
        raise PageError("只有具备“运维”角色的账号可以修改阈值。", 403)


@router.post("/calibration/{name}/apply")
def calibration_apply(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    name: str,
    csrf_token: CsrfField = "",
    value: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    check_csrf(request, identity, csrf_token)
    check = _check_or_404(name)
    _require_operator(identity)
    threshold = _parse_threshold(value)
    if threshold is None:
        raise PageError("请输入数字阈值。")
    try:
        with session_scope(dash.session_factory) as session:
            ev = data.gather(session, dash.settings, check)
            change = data.apply_threshold(
                session,
                settings=dash.settings,
                check=check,
                value=threshold,
                operator=identity.name,
                client=dash.client(request),
                evidence=ev,
            )
            change_id = change.id
    except data.CalibrationError as exc:
        raise PageError(str(exc), 409) from exc
    return RedirectResponse(f"/qa/calibration/{check.name}?applied={change_id}", status_code=303)


@router.post("/calibration-changes/{change_id}/rollback")
def calibration_rollback(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    change_id: str,
    csrf_token: CsrfField = "",
) -> Response:
    check_csrf(request, identity, csrf_token)
    _require_operator(identity)
    if not change_id.isdigit() or len(change_id) > 12:
        raise NotFound()
    try:
        with session_scope(dash.session_factory) as session:
            change = data.rollback(
                session,
                settings=dash.settings,
                change_id=int(change_id),
                operator=identity.name,
                client=dash.client(request),
            )
            target, new_id = change.check_name, change.id
    except data.CalibrationError as exc:
        raise PageError(str(exc), 409) from exc
    return RedirectResponse(f"/qa/calibration/{target}?applied={new_id}", status_code=303)

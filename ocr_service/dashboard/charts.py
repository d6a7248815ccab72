"""Chart geometry for inline SVG: pure functions from counts to coordinates.

The templates draw what these return; no JavaScript, no chart library. Every mark
carries its numbers (``data-*`` attributes and an SVG ``<title>`` tooltip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ocr_service.dashboard.queries import DayCount, ReasonCount


@dataclass(frozen=True)
class DayBar:
    label: str  # MM-DD
    day: str  # YYYY-MM-DD
    x: float
    width: float
    passed_y: float
    passed_h: float
    rejected_y: float
    rejected_h: float
    passed: int
    rejected: int
    rate: float | None


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bars: list[DayBar]
    count_ticks: list[Tick]
    rate_ticks: list[Tick]
    rate_points: str  # an SVG polyline; days without decisions are left out
    rate_dots: list[tuple[float, float, str, str]]  # x, y, day, rate text
    label_every: int
    empty: bool


def _nice_max(value: int) -> int:
    """The smallest of 4, 8, 10, 20, 40, 80, 100, 200 ... not below ``value``: quarters of it
    are round numbers for the axis."""
    if value <= 4:
        return 4
    magnitude = 10 ** int(math.log10(value))
    for step in (1, 2, 4, 8, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return 10 * magnitude


def daily_chart(days: Sequence[DayCount], *, width: int = 720, height: int = 240) -> DailyChart:
    left, right, top, bottom = 48, 48, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((d.passed + d.rejected for d in days), default=0))
    slot = plot_w / max(len(days), 1)
    bar_w = max(2.0, slot * 0.7)
    bars: list[DayBar] = []
    points: list[str] = []
    dots: list[tuple[float, float, str, str]] = []
    base = top + plot_h
    for i, d in enumerate(days):
        x = left + i * slot + (slot - bar_w) / 2
        passed_h = plot_h * d.passed / peak
        rejected_h = plot_h * d.rejected / peak
        bars.append(
            DayBar(
                label=d.day.strftime("%m-%d"),
                day=d.day.isoformat(),
                x=round(x, 1),
                width=round(bar_w, 1),
                passed_y=round(base - passed_h, 1),
                passed_h=round(passed_h, 1),
                rejected_y=round(base - passed_h - rejected_h, 1),
                rejected_h=round(rejected_h, 1),
                passed=d.passed,
                rejected=d.rejected,
                rate=d.rate,
            )
        )
        if d.rate is not None:
            cx, cy = round(x + bar_w / 2, 1), round(base - plot_h * d.rate, 1)
            points.append(f"{cx},{cy}")
            dots.append((cx, cy, d.day.isoformat(), f"{d.rate:.1%}"))
    count_ticks = [
        Tick(round(base - plot_h * f, 1), f"{peak * f:g}") for f in (0, 0.25, 0.5, 0.75, 1)
    ]
    rate_ticks = [Tick(round(base - plot_h * f, 1), f"{f:.0%}") for f in (0, 0.5, 1)]
    return DailyChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        bars=bars,
        count_ticks=count_ticks,
        rate_ticks=rate_ticks,
        rate_points=" ".join(points),
        rate_dots=dots,
        label_every=max(1, math.ceil(len(days) / 10)),
        empty=not any(d.passed or d.rejected for d in days),
    )


@dataclass(frozen=True)
class ReasonBar:
    code: str
    label: str
    y: float
    count: int
    width: float
    false_width: float
    reviewed: int
    false_rejections: int


@dataclass(frozen=True)
class ReasonChart:
    width: int
    height: int
    label_w: int
    bar_h: int
    bars: list[ReasonBar]


def reason_chart(
    reasons: Sequence[ReasonCount], labels: dict[str, str], *, width: int = 720, limit: int = 15
) -> ReasonChart:
    label_w, bar_h, gap = 260, 18, 6
    shown = list(reasons)[:limit]
    peak = max((r.count for r in shown), default=1) or 1
    plot_w = width - label_w - 110  # room for "12345（误拒 12/34）"
    bars = []
    for i, r in enumerate(shown):
        w = plot_w * r.count / peak
        # the share of this code's reviewed rejections that were false, scaled onto its bar
        false_w = w * (r.false_rejections / r.reviewed) if r.reviewed else 0.0
        bars.append(
            ReasonBar(
                r.code,
                labels.get(r.code, r.code),
                4 + i * (bar_h + gap),
                r.count,
                round(max(w, 1.0), 1),
                round(false_w, 1),
                r.reviewed,
                r.false_rejections,
            )
        )
    return ReasonChart(width, 8 + len(shown) * (bar_h + gap), label_w, bar_h, bars)

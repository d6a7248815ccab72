"""The stage runner: order, context, stopping, swapping, records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from pipelines.compose import Pipeline, StageResult


def _double(context: Mapping[str, Any]) -> StageResult:
    return StageResult(output=context["value"] * 2, measured={"value": context["value"]})


def _check(context: Mapping[str, Any]) -> StageResult:
    doubled = context["double"]
    ok = doubled < 10
    return StageResult(
        passed=ok,
        reasons=() if ok else ("TOO_BIG",),
        measured={"doubled": doubled},
        limits={"max": 10},
        stop=not ok,
        output=doubled,
    )


def _never(context: Mapping[str, Any]) -> StageResult:
    raise AssertionError("ran after a hard failure")


PIPELINE = Pipeline([("double", _double), ("check", _check), ("after", _never)])


def test_stages_see_earlier_outputs_and_a_hard_failure_stops_the_run() -> None:
    report = PIPELINE.run({"value": 7})
    assert [r.name for r in report.results] == ["double", "check"]
    assert not report.passed and report.stopped_at == "check"
    assert report.reasons == ["TOO_BIG"]
    assert report["check"].measured == {"doubled": 14}
    assert report.to_record()["check"] == {
        "passed": False,
        "measured": {"doubled": 14},
        "limits": {"max": 10},
        "reasons": ["TOO_BIG"],
        "elapsed_ms": report["check"].elapsed_ms.__round__(1),
    }
    assert all(r.elapsed_ms >= 0 for r in report.results)


def test_a_stage_can_be_swapped_by_name() -> None:
    fake = Pipeline([("double", _double), ("check", _check)]).replace(
        "double", lambda context: StageResult(output=1)
    )
    report = fake.run({"value": 7})
    assert report.passed and report["check"].output == 1
    with pytest.raises(KeyError):
        PIPELINE.replace("missing", _double)


def test_a_pipeline_can_be_cut_after_a_stage() -> None:
    first = PIPELINE.until("double")
    assert first.names == ("double",)
    assert [r.name for r in first.run({"value": 7}).results] == ["double"]
    assert PIPELINE.until("after").names == PIPELINE.names
    with pytest.raises(KeyError):
        PIPELINE.until("missing")


def test_context_is_read_only_and_names_unique() -> None:
    def mutate(context: Mapping[str, Any]) -> StageResult:
        context["value"] = 0  # type: ignore[index]
        return StageResult()

    with pytest.raises(TypeError):
        Pipeline([("mutate", mutate)]).run({"value": 1})
    with pytest.raises(ValueError):
        Pipeline([("a", _double), ("a", _double)])

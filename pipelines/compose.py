"""Pipelines as ordered lists of named stages, and the one runner that executes them.

A stage is a function ``(context) -> StageResult``. ``context`` is a read-only
mapping of the pipeline's inputs and of every earlier stage's ``output`` under that
stage's name, so a stage names what it reads (``context["outline"]``) and stays a
plain function that tests can call alone. The runner times each stage, collects the
results into a :class:`Report`, and stops after a result marked ``stop`` (a hard
failure: no card, nothing to read). :meth:`Pipeline.replace` swaps a stage by name,
which is how tests inject a fake.

Each result carries what a QA operator needs to judge a threshold: whether the check
passed, the measured values, the limits in force and the reasons. Records store
:meth:`StageResult.to_record`; the image data in ``output`` never leaves the process.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one stage found. ``output`` feeds later stages and is not recorded."""

    passed: bool = True
    reasons: tuple[Any, ...] = ()
    measured: Mapping[str, Any] = field(default_factory=dict)
    limits: Mapping[str, Any] = field(default_factory=dict)
    output: Any = None
    stop: bool = False
    name: str = ""
    elapsed_ms: float = 0.0

    def to_record(self) -> dict[str, Any]:
        """The JSON-safe part: no image data, no raw text."""
        return {
            "passed": self.passed,
            "measured": dict(self.measured),
            "limits": dict(self.limits),
            "reasons": [getattr(r, "code", r) for r in self.reasons],
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


Stage = Callable[[Mapping[str, Any]], StageResult]


@dataclass(frozen=True, slots=True)
class Report:
    """Every stage that ran, in order, and their outputs by stage name."""

    results: tuple[StageResult, ...]
    outputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def stopped_at(self) -> str | None:
        return next((r.name for r in self.results if r.stop), None)

    @property
    def reasons(self) -> list[Any]:
        return [reason for r in self.results for reason in r.reasons]

    def __getitem__(self, name: str) -> StageResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(r.name == name for r in self.results)

    def timings_ms(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{r.name}": r.elapsed_ms for r in self.results}

    def to_record(self) -> dict[str, dict[str, Any]]:
        return {r.name: r.to_record() for r in self.results}


class Pipeline:
    """An ordered list of named stages."""

    def __init__(self, stages: Sequence[tuple[str, Stage]]) -> None:
        names = [name for name, _ in stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names must be unique: {names}")
        self._stages = tuple(stages)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self._stages)

    def __iter__(self) -> Iterator[tuple[str, Stage]]:
        return iter(self._stages)

    def replace(self, name: str, stage: Stage) -> Pipeline:
        """A copy with the stage called ``name`` swapped (tests pass fakes this way)."""
        if name not in self.names:
            raise KeyError(name)
        return Pipeline([(n, stage if n == name else s) for n, s in self._stages])

    def until(self, name: str) -> Pipeline:
        """The stages up to and including ``name`` (evaluations that need only the first)."""
        if name not in self.names:
            raise KeyError(name)
        return Pipeline(self._stages[: self.names.index(name) + 1])

    def run(self, inputs: Mapping[str, Any]) -> Report:
        """Run the stages in order; stop after the first result marked ``stop``."""
        context: dict[str, Any] = dict(inputs)
        results: list[StageResult] = []
        outputs: dict[str, Any] = {}
        for name, stage in self._stages:
            started = time.perf_counter()
            result = stage(MappingProxyType(context))
            result = dataclasses.replace(
                result, name=name, elapsed_ms=(time.perf_counter() - started) * 1000
            )
            results.append(result)
            context[name] = outputs[name] = result.output
            if result.stop:
                break
        return Report(tuple(results), outputs)

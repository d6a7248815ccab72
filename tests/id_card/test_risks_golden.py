"""Golden capture-risk cases on the real models: every risk's committed attack still
raises it, and the committed good pairs raise none."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from pipelines.compose import Pipeline
from pipelines.id_card.config import IdCardConfig
from pipelines.id_card.pipeline import side_pipeline
from pipelines.id_card.result import Side
from pipelines.id_card.risks import RiskCode

ROOT = Path(__file__).resolve().parents[2]
RISKS = ROOT / "samples" / "golden" / "id_risks"
GOOD = ROOT / "samples" / "golden" / "id"
CASES = json.loads((RISKS / "manifest.json").read_text(encoding="utf-8"))["cases"]
PAIRS = [
    p
    for p in json.loads((GOOD / "manifest.json").read_text(encoding="utf-8"))["pairs"]
    if p["expected_status"] == "verified"
]


@functools.cache
def _pipeline(engine: object) -> Pipeline:
    stages = []
    for name, stage in side_pipeline(engine, IdCardConfig()):  # type: ignore[arg-type]
        stages.append((name, stage))
        if name == "risks":
            break
    return Pipeline(stages)


def _flagged(engine: object, path: Path, side: Side) -> dict[str, float]:
    report = _pipeline(engine).run({"data": path.read_bytes(), "side": side})
    return {s.code.value: s.confidence for s in report["risks"].output.flagged}


def test_every_risk_has_a_golden_case() -> None:
    assert {c["expected_risk"] for c in CASES} == {code.value for code in RiskCode}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_attack_raises_its_risk(ocr_engine, case) -> None:
    flagged = _flagged(ocr_engine, RISKS / case["file"], Side(case["side"]))
    assert case["expected_risk"] in flagged, flagged


@pytest.mark.parametrize("pair", PAIRS, ids=[p["name"] for p in PAIRS])
def test_golden_good_pair_raises_no_risk(ocr_engine, pair) -> None:
    for side in (Side.FRONT, Side.BACK):
        assert _flagged(ocr_engine, GOOD / pair[side.value], side) == {}

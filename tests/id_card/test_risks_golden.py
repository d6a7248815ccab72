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


def _portrait(engine: object, data: bytes) -> tuple[dict[str, float], dict]:
    report = _pipeline(engine).run({"data": data, "side": Side.FRONT})
    assessment = report["risks"].output
    flagged = {s.code.value: s.confidence for s in assessment.flagged}
    return flagged, dict(assessment[RiskCode.PORTRAIT].evidence)


def test_two_faces_in_the_portrait_flag_and_a_genuine_front_does_not(ocr_engine) -> None:
    from samples.id_attacks.generate import build_attack
    from samples.id_random.generate import build_case

    _, attack = build_attack("portrait_two_faces", 0, 2026)
    flagged, evidence = _portrait(ocr_engine, attack)
    assert "PORTRAIT" in flagged and evidence["finding"] == "several_faces", evidence
    assert evidence["faces"] >= 2
    case, images = build_case(1, 2026)  # good_flat: a samples.id_random genuine capture
    flagged, evidence = _portrait(ocr_engine, images["front"])
    assert case["expected_status"] == "verified" and flagged == {}, (flagged, evidence)
    assert evidence["faces"] == 1 and evidence["finding"] == "one_figure"

"""The committed golden set, end to end on the real PP-OCRv6 models.

Every pair must end in its expected status with (at least) its expected reason
codes, and no pair that should be rejected may ever be verified.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.id_card import Declaration, IdVerification, verify_id_card
from pipelines.ocr import OcrEngine

GOLDEN = Path(__file__).resolve().parents[2] / "samples" / "golden" / "id"
PAIRS = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))["pairs"]
# Known limits, kept visible: the test fails if one of these starts passing.
KNOWN_LIMITS: dict[str, str] = {}


def run_pair(pair: dict, engine: OcrEngine) -> IdVerification:
    return verify_id_card(
        (GOLDEN / pair["front"]).read_bytes(),
        (GOLDEN / pair["back"]).read_bytes(),
        Declaration(pair["declared_name"], pair["declared_id_number"]),
        engine=engine,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "pair",
    [
        pytest.param(
            p,
            id=p["name"],
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_LIMITS[p["name"]])]
            if p["name"] in KNOWN_LIMITS
            else [],
        )
        for p in PAIRS
    ],
)
def test_golden_pair(pair: dict, ocr_engine: OcrEngine) -> None:
    result = run_pair(pair, ocr_engine)
    if pair["expected_status"] == "rejected":
        assert result.status == "rejected", "a defective document must never be verified"
    assert result.status == pair["expected_status"], result.to_dict()
    assert set(pair["expected_codes"]) <= set(result.reason_codes), result.to_dict()
    for reason in result.reasons:
        assert reason.message and not reason.message.isascii()  # a Chinese sentence
    expected_sides = {(r["code"], r["side"]) for r in pair.get("expected_reasons", [])}
    actual_sides = {(r.code.value, r.side.value if r.side else None) for r in result.reasons}
    # a declared number that is not a resident ID is answered before either photo is read
    actual_sides |= {
        (r.code.value, s)
        for r in result.reasons
        if r.detail.get("source") == "declared"
        for s in ("front", "back")
    }
    assert expected_sides <= actual_sides, result.to_dict()


@pytest.mark.slow
def test_known_limit_is_still_rejected(ocr_engine: OcrEngine) -> None:
    """Even where the reason is not the ideal one, the answer is a rejection with a retake hint."""
    for pair in PAIRS:
        if pair["name"] in KNOWN_LIMITS:
            result = run_pair(pair, ocr_engine)
            assert result.status == "rejected" and result.reasons


@pytest.mark.slow
def test_verified_result_is_masked_and_timed(ocr_engine: OcrEngine) -> None:
    pair = next(p for p in PAIRS if p["name"] == "good_a")
    result = run_pair(pair, ocr_engine)
    number = pair["declared_id_number"]
    assert result.fields["id_number"] == number[:6] + "********" + number[-4:]
    assert result.fields["name"] == pair["declared_name"][0] + "*" * (
        len(pair["declared_name"]) - 1
    )
    assert number not in json.dumps(result.to_dict(), ensure_ascii=False)
    for stage in ("front.decode", "front.outline", "front.read", "back.read", "total"):
        assert result.timings_ms[stage] > 0
    capture = result.measurements["front"]["stages"]["capture"]
    assert capture["measured"]["sharpness"] > 0 and capture["limits"]["min_sharpness"] > 0


@pytest.mark.slow
def test_glare_hint_names_the_number(ocr_engine: OcrEngine) -> None:
    pair = next(p for p in PAIRS if p["name"] == "glare_number")
    glare = next(r for r in run_pair(pair, ocr_engine).reasons if r.code.value == "GLARE")
    assert "号码" in glare.message and "id_number" in glare.detail["fields"]


@pytest.mark.slow
def test_cut_off_card_names_the_edge(ocr_engine: OcrEngine) -> None:
    pair = next(p for p in PAIRS if p["name"] == "out_of_frame_left")
    reason = next(
        r for r in run_pair(pair, ocr_engine).reasons if r.code.value == "CARD_INCOMPLETE"
    )
    assert reason.detail["edges"] == ["left"] and "左侧" in reason.message


@pytest.mark.slow
def test_address_is_read_in_full_when_asked_and_only_its_first_line_by_default(
    ocr_engine: OcrEngine,
) -> None:
    from pipelines.id_card import IdCardConfig, Side
    from pipelines.id_card.fields import parse_front
    from pipelines.id_card.pipeline import inspect_side

    identity = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))["identities"]["a"]
    front = (GOLDEN / "a_front.jpg").read_bytes()
    full = inspect_side(front, Side.FRONT, ocr_engine, IdCardConfig(read_full_address=True))
    first = inspect_side(front, Side.FRONT, ocr_engine, IdCardConfig())
    full_address = parse_front(full.reading.lines).address
    first_line = parse_front(first.reading.lines).address
    assert full_address == identity["address"]
    assert first_line and identity["address"].startswith(first_line) and first_line != full_address

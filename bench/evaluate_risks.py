"""Evaluate the capture-risk signals (issue 12): recall on simulated attacks, false flags
on good captures, and the CPU milliseconds each signal adds.

    .venv/bin/python bench/evaluate_risks.py [--attacks DIR] [--good DIR] [--count N]

``--attacks`` is a ``samples.id_attacks`` set (generated into a temporary folder with
``--count`` images per attack when not given). Good captures are the ``heldout`` half of
the good categories of a ``samples.id_random`` set (``--good``; generated with
``--good-count`` cases when not given) plus the verified pairs of ``samples/golden/id``.
Each image runs decode -> outline -> read -> risks exactly as the service runs them.
Edited images report recall on metadata evidence and on pixel evidence separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.compose import Pipeline  # noqa: E402
from pipelines.id_card.config import IdCardConfig  # noqa: E402
from pipelines.id_card.pipeline import side_pipeline  # noqa: E402
from pipelines.id_card.result import Side  # noqa: E402
from pipelines.id_card.risks import RiskCode  # noqa: E402
from pipelines.ocr import OcrConfig, create_engine  # noqa: E402

GOLDEN = ROOT / "samples" / "golden" / "id"


def risk_pipeline(engine: Any, config: IdCardConfig) -> Pipeline:
    """The side pipeline up to and including the risks stage."""
    return side_pipeline(engine, config).until("risks")


def write_heldout_good(out: Path, count: int, seed: int) -> Path:
    """The heldout good cases among the first ``count`` of ``samples.id_random``'s set for
    ``seed`` (case i does not depend on the others, so the rest need not be drawn)."""
    from samples.id_random.generate import GOOD, build_case, category_of, split_of

    cases = []
    for i in range(count):
        category = category_of(i, seed)
        if category not in GOOD or split_of(f"r{i:04d}_{category}") != "heldout":
            continue
        case, images = build_case(i, seed)
        for slot, data in images.items():
            (out / case[slot]).write_bytes(data)
        cases.append(case)
    (out / "manifest.json").write_text(json.dumps({"seed": seed, "cases": cases}), "utf-8")
    return out


def good_captures(good_dir: Path | None, count: int, seed: int) -> list[tuple[str, Path, Side]]:
    out: list[tuple[str, Path, Side]] = []
    golden = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))
    for pair in golden["pairs"]:
        if pair["expected_status"] == "verified":
            out += [
                (f"golden:{pair['name']}:front", GOLDEN / pair["front"], Side.FRONT),
                (f"golden:{pair['name']}:back", GOLDEN / pair["back"], Side.BACK),
            ]
    if good_dir is None:
        good_dir = write_heldout_good(Path(tempfile.mkdtemp(prefix="risk-good-")), count, seed)
    manifest = json.loads((good_dir / "manifest.json").read_text(encoding="utf-8"))
    for case in manifest["cases"] if isinstance(manifest, dict) else manifest:
        if case["split"] != "heldout" or case["expected_status"] != "verified":
            continue
        out += [
            (f"random:{case['name']}:front", good_dir / case["front"], Side.FRONT),
            (f"random:{case['name']}:back", good_dir / case["back"], Side.BACK),
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attacks", type=Path)
    parser.add_argument("--good", type=Path)
    parser.add_argument("--count", type=int, default=20, help="images per attack")
    parser.add_argument("--good-count", type=int, default=240, help="samples.id_random cases")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", type=Path, help="write per-image results here")
    args = parser.parse_args(argv)

    engine = create_engine(OcrConfig())
    config = IdCardConfig()
    pipeline = risk_pipeline(engine, config)
    attacks_dir = args.attacks
    if attacks_dir is None:
        from samples.id_attacks.generate import generate

        attacks_dir = Path(tempfile.mkdtemp(prefix="risk-attacks-"))
        generate(attacks_dir, args.count, args.seed)
    attack_cases = json.loads((attacks_dir / "manifest.json").read_text(encoding="utf-8"))
    goods = good_captures(args.good, args.good_count, args.seed)

    rows: list[dict[str, Any]] = []

    def run(path: Path, side: Side) -> dict[str, Any]:
        report = pipeline.run({"data": path.read_bytes(), "side": side})
        if "risks" not in report:
            return {"signals": {}, "flagged": [], "ms": {}, "stage_ms": 0.0, "evidence": {}}
        assessment = report["risks"].output
        return {
            "signals": {s.code.value: s.confidence for s in assessment.signals},
            "flagged": [s.code.value for s in assessment.flagged],
            "ms": {s.code.value: s.elapsed_ms for s in assessment.signals},
            "stage_ms": report["risks"].elapsed_ms,
            "evidence": {s.code.value: dict(s.evidence) for s in assessment.signals},
        }

    # A signal counts as flagged at its own threshold (RiskConfig.signal_flag_confidence),
    # exactly as the service decides; the common flag_confidence is only the default.
    threshold = config.risks.flag_confidence
    for case in attack_cases["cases"]:
        result = run(attacks_dir / case["file"], Side(case["side"]))
        rows.append({"kind": "attack", **case, **result})
    for name, path, side in goods:
        rows.append({"kind": "good", "name": name, "side": side.value, **run(path, side)})

    print(
        f"flag threshold {threshold} (per signal: {config.risks.signal_flag_confidence}); "
        f"{len(goods)} good images "
        f"({sum(n.startswith('golden') for n, _, _ in goods)} golden), "
        f"{len(attack_cases['cases'])} attack images\n"
    )
    print("recall on attacks")
    by_attack: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["kind"] == "attack":
            by_attack[row["attack"]].append(row)
    for attack, items in by_attack.items():
        risk = items[0]["expected_risk"]
        hits = sum(risk in r["flagged"] for r in items)
        line = f"  {attack:20s} {risk:17s} {hits:3d}/{len(items):<3d} {hits / len(items):6.1%}"
        if risk == RiskCode.EDITED_IMAGE.value:
            meta = sum(bool(r["evidence"].get(risk, {}).get("metadata_editor")) for r in items)
            pixel = sum(bool(r["evidence"].get(risk, {}).get("pixel_field")) for r in items)
            line += (
                f"   metadata evidence {meta}/{len(items)} {meta / len(items):.1%}, "
                f"pixel evidence {pixel}/{len(items)} {pixel / len(items):.1%}"
            )
        print(line)
    print("\nfalse flags on good captures (and CPU ms per image, median / p95)")
    goods_rows = [r for r in rows if r["kind"] == "good"]
    for code in RiskCode:
        flagged = [r["name"] for r in goods_rows if code.value in r["flagged"]]
        applied = [r for r in goods_rows if code.value in r["ms"]]
        times = sorted(r["ms"][code.value] for r in applied) or [0.0]
        print(
            f"  {code.value:17s} {len(flagged):3d}/{len(applied):<4d} "
            f"{len(flagged) / max(1, len(applied)):6.2%}   "
            f"{statistics.median(times):5.1f} / {times[int(0.95 * (len(times) - 1))]:5.1f} ms"
            + (f"   e.g. {', '.join(flagged[:4])}" if flagged else "")
        )
    # The portrait's face count (BlazeFace, RiskConfig.portrait_faces_enabled): on good fronts
    # and on the portrait attacks, with the finding it gave.
    print("\nportrait: faces found (BlazeFace) -> count, and findings")
    portrait_rows = {"good fronts": [r for r in goods_rows if r["side"] == Side.FRONT.value]}
    for attack in ("portrait_two_faces", "portrait_object", "portrait_blank"):
        portrait_rows[attack] = by_attack.get(attack, [])
    for label, items in portrait_rows.items():
        evidence = [r["evidence"].get(RiskCode.PORTRAIT.value, {}) for r in items]
        faces = Counter(e.get("faces", "-") for e in evidence if e)
        findings = Counter(
            e.get("finding", "-") + (" (face detector)" if e.get("finding_by") else "")
            for e in evidence
            if e
        )
        print(
            f"  {label:20s} faces {dict(sorted(faces.items(), key=str))}   "
            f"findings {dict(findings)}"
        )
    # The sides differ (the emblem side's title is recognised once more): each on its own.
    medians = {}
    for side in (Side.FRONT.value, Side.BACK.value):
        stage = sorted(r["stage_ms"] for r in goods_rows if r["side"] == side) or [0.0]
        medians[side] = statistics.median(stage)
        print(
            f"\nrisks stage, {side} sides of good captures: p50 {medians[side]:.1f} ms, "
            f"p95 {stage[int(0.95 * (len(stage) - 1))]:.1f} ms",
            end="",
        )
    print(f"\nboth sides: {sum(medians.values()):.1f} ms of CPU (they run in parallel)")
    if args.json:
        args.json.write_text(
            json.dumps(rows, ensure_ascii=False, default=str, indent=1), encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

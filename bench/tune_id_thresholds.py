"""ROC of each ID capture measure on the TUNE half of a ``samples.id_random`` evaluation.

    python bench/evaluate_id.py DATA --split tune --out tune.json
    python bench/tune_id_thresholds.py tune.json

For each capture check, the measured value of every side of a good capture is a negative
and the value of the defective side of its defect category is a positive. The table lists,
for candidate thresholds, how many defects the check alone would catch (TPR) and how many
good sides it would flag (FPR), and proposes the operating point: the threshold with the
highest TPR among those with the lowest FPR, placed midway between the nearest good and
defect values so that neither sits on the edge. The checks only reject when a key field
could not be read with confidence, so an FPR here is an upper bound on false rejections.

Refuses a held-out file: thresholds never see that half.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    name: str
    setting: str
    category: str  # the defect category whose defective side is a positive
    direction: str  # "below": value < threshold flags; "above": value >= threshold flags
    value: Callable[[dict[str, Any]], float | None]


def _capture(side: dict[str, Any]) -> dict[str, Any]:
    return ((side.get("stages") or {}).get("capture") or {}).get("measured") or {}


def _read(side: dict[str, Any]) -> dict[str, Any]:
    return ((side.get("stages") or {}).get("read") or {}).get("measured") or {}


def _worst_glare(side: dict[str, Any]) -> float | None:
    shares = _capture(side).get("glare_fields")
    return max(shares.values()) if shares else None


def _lowest_score(side: dict[str, Any]) -> float | None:
    scores = _read(side).get("field_scores")
    if not scores:
        return None
    return min(0.0 if v is None else v for v in scores.values())


CHECKS = (
    Check("stroke sharpness", "min_sharpness", "blurry", "below",
          lambda s: _capture(s).get("sharpness")),
    Check("text contrast (dark)", "min_text_contrast", "dark", "below",
          lambda s: _capture(s).get("text_contrast")),
    Check("text contrast (overexposed)", "min_text_contrast", "overexposed", "below",
          lambda s: _capture(s).get("text_contrast")),
    Check("glare share of a key field", "glare_field_fraction", "glare", "above", _worst_glare),
    Check("lowest key-field confidence", "min_field_confidence", "glare", "below", _lowest_score),
    Check("card long edge (px)", "min_card_width_px", "too_small", "below",
          lambda s: _read(s).get("card_long_edge_px")),
    Check("card area fraction", "min_card_area_fraction", "too_small", "below",
          lambda s: _read(s).get("card_area_fraction")),
)


def _flags(value: float, threshold: float, direction: str) -> bool:
    return value < threshold if direction == "below" else value >= threshold


def roc(check: Check, results: dict[str, Any], manifest: dict[str, Any]) -> None:
    positives: list[float] = []
    negatives: list[float] = []
    for case in results["cases"]:
        truth = manifest[case["name"]]
        sides = case.get("measurements") or {}
        if truth["category"].startswith("good"):
            for side in ("front", "back"):
                if side in sides and (v := check.value(sides[side])) is not None:
                    negatives.append(float(v))
        elif truth["category"] == check.category:
            for reason in truth["expected_reasons"]:
                side = sides.get(reason["side"])
                if side is not None and (v := check.value(side)) is not None:
                    positives.append(float(v))
    print(f"\n{check.name}  [{check.setting}; flags when value is {check.direction} threshold]")
    if not positives or not negatives:
        print(f"  not enough data: {len(positives)} defect sides, {len(negatives)} good sides")
        return
    candidates = sorted(set(positives + negatives))
    rows = []
    for t in [*candidates, candidates[-1] + 1e-06]:
        tpr = sum(_flags(v, t, check.direction) for v in positives) / len(positives)
        fpr = sum(_flags(v, t, check.direction) for v in negatives) / len(negatives)
        rows.append((t, tpr, fpr))
    best_fpr = min(fpr for _, _, fpr in rows)
    t, tpr, fpr = max((r for r in rows if r[2] == best_fpr), key=lambda r: (r[1], -r[0]))
    # midway between the nearest good and defect values around that cut
    if check.direction == "below":
        below = [v for v in positives if v < t]
        above = [v for v in negatives if v >= t]
        lo, hi = (max(below) if below else t), (min(above) if above else t)
    else:
        below = [v for v in negatives if v < t]
        above = [v for v in positives if v >= t]
        lo, hi = (max(below) if below else t), (min(above) if above else t)
    proposal = (lo + hi) / 2
    print(f"  defect sides {len(positives)}: {sorted(round(v, 3) for v in positives)}")
    neg = sorted(negatives)
    print(f"  good sides {len(negatives)}: min {neg[0]:.3f}, p1 {neg[len(neg) // 100]:.3f}, "
          f"median {neg[len(neg) // 2]:.3f}, max {neg[-1]:.3f}")
    step = max(1, len(rows) // 12)
    print("  threshold      TPR    FPR")
    for row in rows[::step]:
        print(f"  {row[0]:9.3f}  {row[1]:6.1%} {row[2]:6.1%}")
    print(f"  operating point: {check.setting} = {proposal:.3f} "
          f"(TPR {tpr:.1%}, FPR {fpr:.1%} on this half)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", help="evaluate_id.py --out JSON of the TUNE split")
    parser.add_argument("--manifest", help="manifest.json of the set (default: from results)")
    args = parser.parse_args()
    results = json.loads(Path(args.results).read_text(encoding="utf-8"))
    if results.get("split") != "tune":
        sys.exit("refusing: thresholds are chosen on the tune half only")
    manifest_path = args.manifest or f"{results['data']}/manifest.json"
    cases = json.loads(Path(manifest_path).read_text(encoding="utf-8"))["cases"]
    manifest = {c["name"]: c for c in cases}
    for check in CHECKS:
        roc(check, results, manifest)


if __name__ == "__main__":
    main()

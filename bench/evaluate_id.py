"""Evaluate the ID-card pipeline on a generated case set (``samples.id_random``).

    python bench/evaluate_id.py DATA_DIR [--split heldout|tune|all] [--limit N] [--jobs J]
                                         [--category a,b]
                                         [--out results.json]

Every case is verified exactly as the service does it (``verify_id_card`` with one OCR
engine per process and ``today`` fixed to the set's evaluation date), then scored against
the manifest: good categories pass when verified; defect categories pass when rejected with
the expected code among the reasons (reported separately: the expected code as the first
reason). Prints per-category pass rates, the FRR on good captures with the falsely rejected
cases, false accepts, a confusion table (expected code -> codes given) and a case-by-case
diff against the previous run of the same split (kept in ``bench/.eval/last_{split}.json``).
The full per-case results (reasons with side and detail, measurements, timings) go to
``--out`` for threshold studies on the tune half.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
EVAL_DIR = ROOT / "bench" / ".eval"
VERIFIED = "(verified)"

_engine: Any = None


def _init_worker() -> None:
    """One OCR engine per process, built once (models load here)."""
    global _engine
    from pipelines.ocr import OcrConfig, create_engine

    _engine = create_engine(OcrConfig())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    return str(value)


def run_case(job: tuple[str, dict[str, Any], str, dict[str, Any]]) -> dict[str, Any]:
    """Verify one case; never raises (an exception is recorded as status ``error``)."""
    data_dir, case, today, overrides = job
    from pipelines.id_card import Declaration, IdCardConfig, verify_id_card

    if _engine is None:
        _init_worker()
    base = {"name": case["name"], "category": case["category"], "split": case["split"]}
    front = (Path(data_dir) / case["front"]).read_bytes()
    back = (Path(data_dir) / case["back"]).read_bytes()
    declaration = Declaration(case["declared_name"], case["declared_id_number"])
    started = time.perf_counter()
    try:
        result = verify_id_card(front, back, declaration, engine=_engine,
                                config=IdCardConfig(**overrides),
                                today=date.fromisoformat(today))
    except Exception as exc:  # the benchmark reports crashes per case
        return {**base, "status": "error", "codes": [], "reasons": [],
                "error": f"{type(exc).__name__}: {exc}",
                "wall_ms": round((time.perf_counter() - started) * 1000, 1)}
    reasons = []
    for r in result.reasons:
        entry = {"code": r.code.value, "side": r.side.value if r.side else None,
                 "message": r.message}
        if r.detail:
            entry["detail"] = _jsonable(dict(r.detail))
        reasons.append(entry)
    return {
        **base,
        "status": result.status,
        "codes": list(result.reason_codes),
        "reasons": reasons,
        "measurements": _jsonable({k: dict(v) for k, v in result.measurements.items()}),
        "timings_ms": {k: round(float(v), 1) for k, v in result.timings_ms.items()},
        "wall_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def score(case: dict[str, Any], res: dict[str, Any]) -> dict[str, Any]:
    """Whether ``res`` is the right answer for ``case``."""
    expected = [r["code"] for r in case["expected_reasons"]]
    accepted = set(expected) | set(case.get("acceptable_codes", []))
    codes = res["codes"]
    if case["expected_status"] == "verified":
        ok = res["status"] == "verified"
        return {"pass": ok, "first": ok, "side": ok}
    rejected = res["status"] == "rejected"
    pairs = {(r["code"], r["side"]) for r in res["reasons"]}
    side_ok = any((r["code"], r["side"]) in pairs for r in case["expected_reasons"]) or any(
        c in case.get("acceptable_codes", []) for c in codes)
    return {
        "pass": rejected and bool(accepted & set(codes)),
        "first": rejected and bool(codes) and codes[0] in accepted,
        "side": rejected and side_ok,
    }


def _fmt_reasons(res: dict[str, Any]) -> str:
    if res["status"] == "error":
        return f"ERROR {res.get('error', '')}"
    if not res["reasons"]:
        return res["status"]
    return ", ".join(f"{r['code']}@{r['side'] or '-'}" for r in res["reasons"])


def _git_head() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _progress(iterable: Any, total: int) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return iterable
    return tqdm(iterable, total=total, unit="case", file=sys.stderr, dynamic_ncols=True)


def evaluate(data_dir: Path, cases: list[dict[str, Any]], today: str, jobs: int,
             overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    work = [(str(data_dir), c, today, overrides or {}) for c in cases]
    if jobs <= 1:
        _init_worker()
        return [run_case(w) for w in _progress(work, len(work))]
    with ProcessPoolExecutor(jobs, initializer=_init_worker) as pool:
        return list(_progress(pool.map(run_case, work), len(work)))


def report(manifest: dict[str, Any], cases: list[dict[str, Any]],
           results: list[dict[str, Any]]) -> dict[str, Any]:
    """Print the tables; return the summary."""
    good_categories = set(manifest["categories"]["good"])
    by_cat: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for case, res in zip(cases, results, strict=True):
        by_cat[case["category"]].append(res)
    order = list(manifest["categories"]["good"]) + list(manifest["categories"]["defects"])
    print(f"\n{'category':18} {'n':>4} {'pass':>6} {'%':>6}  {'first':>6} {'%':>6}  "
          f"{'side':>5}   expected")
    summary: dict[str, Any] = {"categories": {}}
    for cat in order:
        rows = by_cat.get(cat, [])
        if not rows:
            continue
        n = len(rows)
        p = sum(r["score"]["pass"] for r in rows)
        f = sum(r["score"]["first"] for r in rows)
        s = sum(r["score"]["side"] for r in rows)
        want = "verified" if cat in good_categories else manifest["categories"]["defects"][cat]
        print(f"{cat:18} {n:4d} {p:6d} {100 * p / n:5.0f}%  {f:6d} {100 * f / n:5.0f}%  "
              f"{s:5d}   {want}")
        summary["categories"][cat] = {"n": n, "pass": p, "first": f, "side": s}
    total = len(results)
    passed = sum(r["score"]["pass"] for r in results)
    print(f"{'all':18} {total:4d} {passed:6d} {100 * passed / max(total, 1):5.0f}%")

    good = [(c, r) for c, r in zip(cases, results, strict=True)
            if c["expected_status"] == "verified"]
    false_rejects = [(c, r) for c, r in good if r["status"] != "verified"]
    frr = len(false_rejects) / max(len(good), 1)
    print(f"\nFRR on good captures: {len(false_rejects)}/{len(good)} = {100 * frr:.1f} %")
    for c, r in false_rejects:
        print(f"  {c['name']:32} {_fmt_reasons(r)}")
    defects = [(c, r) for c, r in zip(cases, results, strict=True)
               if c["expected_status"] == "rejected"]
    false_accepts = [(c, r) for c, r in defects if r["status"] == "verified"]
    print(f"\nFalse accepts (a defect verified): {len(false_accepts)}/{len(defects)}")
    for c, _r in false_accepts:
        exp = ", ".join(f"{x['code']}@{x['side']}" for x in c["expected_reasons"])
        print(f"  {c['name']:32} expected {exp}")

    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    for c, r in zip(cases, results, strict=True):
        expected = sorted({x["code"] for x in c["expected_reasons"]}) or [VERIFIED]
        given = sorted(set(r["codes"])) or [VERIFIED if r["status"] == "verified" else
                                            r["status"]]
        for e in expected:
            confusion[e].update(given)
    print("\nConfusion (expected code -> codes given, count of cases):")
    for e in [VERIFIED, *sorted(k for k in confusion if k != VERIFIED)]:
        if e in confusion:
            given = ", ".join(f"{g} {n}" for g, n in confusion[e].most_common())
            print(f"  {e:20} -> {given}")

    timings = [r["timings_ms"]["total"] for r in results if "total" in r.get("timings_ms", {})]
    if timings:
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(0.95 * len(timings)))]
        print(f"\npipeline total ms: p50 {statistics.median(timings):.0f}, p95 {p95:.0f}")
    errors = [r for r in results if r["status"] == "error"]
    if errors:
        print(f"\n{len(errors)} cases raised:")
        for r in errors[:20]:
            print(f"  {r['name']:32} {r['error']}")
    summary.update({
        "cases": total, "passed": passed, "good": len(good), "false_rejects": len(false_rejects),
        "frr": round(frr, 4), "defects": len(defects), "false_accepts": len(false_accepts),
        "errors": len(errors),
        "confusion": {k: dict(v) for k, v in confusion.items()},
    })
    return summary


def diff_previous(split: str, manifest: dict[str, Any], results: list[dict[str, Any]]) -> None:
    """Compare with the previous run of this split and store this run as the new baseline
    (merged case by case, so a ``--limit`` run does not drop the others)."""
    EVAL_DIR.mkdir(parents=True, exist_ok=True)
    path = EVAL_DIR / f"last_{split}.json"
    identity = {"generator": manifest.get("generator"), "seed": manifest.get("seed"),
                "today": manifest.get("today"), "max_side": manifest.get("max_side")}
    previous: dict[str, Any] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            stored = {}
        if stored.get("set") == identity:
            previous = stored.get("cases", {})
        elif stored:
            print(f"\n(previous run in {path.name} was on another set {stored.get('set')}; "
                  "no diff)")
    current = {r["name"]: {"status": r["status"], "codes": r["codes"],
                           "reasons": [f"{x['code']}@{x['side'] or '-'}" for x in r["reasons"]],
                           "pass": r["score"]["pass"]} for r in results}
    if previous:
        better, worse, changed = [], [], []
        for name, now in current.items():
            before = previous.get(name)
            if before is None:
                continue
            line = (f"  {name:32} {before['status']} [{', '.join(before['reasons'])}] -> "
                    f"{now['status']} [{', '.join(now['reasons'])}]")
            if now["pass"] and not before["pass"]:
                better.append(line)
            elif before["pass"] and not now["pass"]:
                worse.append(line)
            elif before["reasons"] != now["reasons"] or before["status"] != now["status"]:
                changed.append(line)
        common = sum(1 for n in current if n in previous)
        print(f"\nDiff against the previous {split} run ({previous_when(path)}; "
              f"{common} cases in common): {len(better)} better, {len(worse)} worse, "
              f"{len(changed)} changed without a pass/fail change")
        for title, lines in (("better", better), ("worse", worse), ("changed", changed)):
            if lines:
                print(f" {title}:")
                print("\n".join(lines))
    else:
        print(f"\n(no previous {split} run to diff against; this run is the baseline)")
    merged = {**previous, **current}
    path.write_text(json.dumps({"set": identity, "when": datetime.now().isoformat(
        timespec="seconds"), "git": _git_head(), "cases": merged}, ensure_ascii=False,
        indent=1) + "\n", encoding="utf-8")


def previous_when(path: Path) -> str:
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("when", "?")
    except (OSError, json.JSONDecodeError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="directory with manifest.json and the images")
    parser.add_argument("--split", choices=("tune", "heldout", "all"), default="heldout")
    parser.add_argument("--limit", type=int, default=None, help="first N cases of the split")
    parser.add_argument(
        "--category", default=None, help="only these categories (comma list), e.g. too_small,blurry"
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None,
                        help="per-case results JSON (default bench/.eval/results_{split}.json)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override an IdCardConfig setting for this run (what-if), e.g. "
                        "min_sharpness=0.3 or risks.photocopy=warn; repeatable")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, _, raw = item.partition("=")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        *parents, leaf = key.split(".")
        node = overrides
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value

    manifest = json.loads((args.data / "manifest.json").read_text(encoding="utf-8"))
    cases = [c for c in manifest["cases"] if args.split == "all" or c["split"] == args.split]
    if args.category:
        wanted = set(args.category.split(","))
        cases = [c for c in cases if c["category"] in wanted]
    if args.limit:
        cases = cases[: args.limit]
    if not cases:
        print("no cases", file=sys.stderr)
        return 2
    today = manifest.get("today") or date.today().isoformat()
    print(f"{len(cases)} {args.split} cases from {args.data} (seed {manifest.get('seed')}, "
          f"today {today}), {args.jobs} processes")
    started = time.perf_counter()
    if overrides:
        print(f"settings overridden for this run: {json.dumps(overrides, ensure_ascii=False)}")
    results = evaluate(args.data, cases, today, args.jobs, overrides)
    wall = time.perf_counter() - started
    for case, res in zip(cases, results, strict=True):
        res["expected_status"] = case["expected_status"]
        res["expected_reasons"] = case["expected_reasons"]
        res["score"] = score(case, res)
    summary = report(manifest, cases, results)
    print(f"\n{len(cases)} cases in {wall:.0f} s ({wall / len(cases):.1f} s per case wall, "
          f"{args.jobs} processes)")
    diff_previous(args.split, manifest, results)
    out = args.out or EVAL_DIR / f"results_{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(_jsonable({
        "data": str(args.data), "split": args.split, "today": today, "git": _git_head(),
        "when": datetime.now().isoformat(timespec="seconds"), "wall_s": round(wall, 1),
        "summary": summary, "cases": results,
    }), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"per-case results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

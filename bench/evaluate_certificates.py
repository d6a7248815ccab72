"""Held-out evaluation of certificate validation on pages from an independent generator.

    python -m bench.evaluate_certificates [--per-category 30] [--split held_out|tune|all]

Pages come from :mod:`samples.certificate_random.generate` (other fonts, layouts, seals,
paper, phone photos as well as flat scans, 100-300 dpi), which the thresholds were not
tuned on; ``split`` is fixed per case by a stable hash. Prints, for the chosen split:

* per category, the share of pages given exactly the expected answer (accepted for good
  pages and pictures; the category's code among the reasons for defects);
* FRR (good pages rejected) and false accepts (defect pages accepted);
* page-type classification: precision and recall per type, and the confusion matrix
  (rows: truth, columns: what the page was read as; ``-``: no type found);
* skew error against the truth for our estimator and for jdeskew on the same decoded
  pages (upright good and skewed pages).

Files are checked in a process pool, one engine per process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

_ENGINE: Any = None


def _init() -> None:
    global _ENGINE
    from pipelines.ocr import OcrConfig, create_engine

    _ENGINE = create_engine(OcrConfig())


def _error(measured: float | None, truth: float) -> float:
    if measured is None:
        return 90.0
    return abs((measured - truth + 45.0) % 90.0 - 45.0)


def _check(job: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    from pipelines.certificate import CertificateConfig, validate_certificate
    from pipelines.certificate.validate import work_long_side
    from pipelines.io import decode_image, read_header

    path, case = job
    data = Path(path).read_bytes()
    report = validate_certificate(data, case["file"], engine=_ENGINE, config=CertificateConfig())
    out = {
        "case_id": case["case_id"],
        "reasons": report.reason_codes,
        "warnings": report.warning_codes,
        "page_type": report.checks.get("page_type"),
        "skew": report.checks.get("skew_degrees"),
        "char_px": report.checks.get("char_height_px"),
        "edge_px": report.checks.get("edge_px"),
        "char_work": report.checks.get("char_height_work_px"),
        "ms": report.timings_ms.get("total"),
    }
    if case["category"] in ("good", "skewed") and case["rotation"] == 0:
        from jdeskew.estimator import get_angle

        work = decode_image(
            data, max_long_side=work_long_side(read_header(data), CertificateConfig())
        ).pixels
        out["jdeskew"] = -float(get_angle(work))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-category", type=int, default=30)
    parser.add_argument("--split", choices=("held_out", "tune", "all"), default="held_out")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--dir", type=Path, default=None, help="reuse generated pages here")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--dump", type=Path, default=None, help="write per-page results (JSON)")
    args = parser.parse_args(argv)

    from samples.certificate_random.generate import generate

    folder = args.dir or Path(tempfile.gettempdir()) / f"certificate_random_{args.seed}"
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    else:
        manifest = []
    if len(manifest) != 8 * args.per_category:
        manifest = generate(folder, args.per_category, seed=args.seed)
    cases = [c for c in manifest if args.split == "all" or c["split"] == args.split]
    by_id = {c["case_id"]: c for c in cases}
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool:
        results = list(pool.map(_check, [(str(folder / c["file"]), c) for c in cases]))

    if args.dump:
        rows = [{**by_id[r["case_id"]], **r} for r in results]
        args.dump.write_text(json.dumps(rows, ensure_ascii=False, default=float), encoding="utf-8")
    print(f"\n{len(cases)} pages, split={args.split}, generator seed {args.seed}")
    per_cat: dict[str, list[bool]] = defaultdict(list)
    false_accepts, false_rejects, failures = [], [], []
    for r in results:
        case = by_id[r["case_id"]]
        cat = case["category"]
        expected = case["expected"]
        if cat == "good":
            ok = not r["reasons"]
        elif cat == "pictures":
            ok = not r["reasons"] and "TEXT_NOT_FOUND" in r["warnings"]
        else:
            ok = expected[0] in r["reasons"]
            if not r["reasons"]:
                false_accepts.append((cat, case["file"], r))
        if cat in ("good", "pictures") and r["reasons"]:
            false_rejects.append((cat, r["reasons"]))
        per_cat[cat].append(ok)
        if not ok:
            failures.append((cat, case["capture"], case["layout"], case["dpi"], r))
    print(f"\n  {'category':<14}{'right':>8}{'pages':>8}{'rate':>9}")
    for cat, oks in per_cat.items():
        print(f"  {cat:<14}{sum(oks):>8}{len(oks):>8}{sum(oks) / len(oks):>9.1%}")
    goods = len(per_cat["good"]) + len(per_cat["pictures"])
    print(
        f"\nFRR (good pages and pictures rejected): {len(false_rejects)}/{goods}"
        f" = {len(false_rejects) / max(goods, 1):.1%}"
        f"  {Counter(c for _, codes in false_rejects for c in codes).most_common()}"
    )
    defects = sum(len(v) for k, v in per_cat.items() if k not in ("good", "pictures"))
    print(f"false accepts (defect pages accepted): {len(false_accepts)}/{defects}")
    for cat, name, r in false_accepts:
        print(f"    {cat}: {name} char={r['char_px']} edge={r['edge_px']} skew={r['skew']}")
    if args.show_failures:
        for f in failures:
            print("    fail", f)

    # page types, on pages that were read (legible, with text)
    from samples.certificate_random.generate import PAGE_TYPES

    types = list(PAGE_TYPES)
    confusion: dict[str, Counter[str]] = {t: Counter() for t in types}
    for r in results:
        case = by_id[r["case_id"]]
        if case["category"] in ("good", "skewed", "upside_down", "sideways"):
            confusion[case["page_type"]][r["page_type"] or "-"] += 1
    print("\npage type (good, skewed and turned pages): precision / recall")
    for t in types:
        tp = confusion[t][t]
        predicted = sum(confusion[u][t] for u in types)
        actual = sum(confusion[t].values())
        p = tp / predicted if predicted else float("nan")
        rc = tp / actual if actual else float("nan")
        print(f"  {t:<16}\tP {p:6.1%}  R {rc:6.1%}  (n={actual})")
    short = {t: f"T{i}" for i, t in enumerate(types)}
    print("\nconfusion matrix (rows truth, columns read as):")
    print("  " + " ".join(f"{short[t]:>4}" for t in types) + "    -   " + "  legend")
    for t in types:
        row = " ".join(f"{confusion[t][u]:>4}" for u in types)
        print(f"  {row} {confusion[t]['-']:>4}    {short[t]}={t}")

    ours, jd = [], []
    for r in results:
        if "jdeskew" in r:
            truth = by_id[r["case_id"]]["skew_degrees"]
            ours.append(_error(r["skew"], truth))
            jd.append(_error(r["jdeskew"], truth))
    if ours:
        print(
            f"\nskew error on {len(ours)} upright good/skewed pages, degrees: ours mean "
            f"{statistics.mean(ours):.3f} median {statistics.median(ours):.3f}; jdeskew mean "
            f"{statistics.mean(jd):.3f} median {statistics.median(jd):.3f}"
        )
    ms = [r["ms"] for r in results if r["ms"]]
    print(
        f"pipeline wall ms per page (in a {args.workers}-process pool): median "
        f"{statistics.median(ms):.0f}, mean {statistics.mean(ms):.0f}"
    )


if __name__ == "__main__":
    main()

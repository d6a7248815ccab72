"""ID verification benchmark on the committed golden set.

Prints, in one warm process on this machine:
- per-stage latency (p50 over all pairs),
- p50/p95 of a whole two-sided verification, for the full path (pairs that are read
  end to end) and for all pairs,
- peak RSS after our pipeline has run (before the baseline is loaded),
- the baseline: plain RapidOCR on the full photos with naive field extraction, on
  the same photos in the same run, its p50/p95 and the ratio,
- accuracy of both against the manifest's expected status.

With ``--phone N`` it also generates N good pairs at phone resolution (4000x3000,
what a phone camera hands the mini-program before any compression; not committed)
and reports the same comparison on them separately.

Usage: python bench/bench_id.py [--repeat N] [--threads T] [--phone N]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipelines.compose import StageResult  # noqa: E402
from pipelines.id_card import Declaration, IdCardConfig, verify_id_card  # noqa: E402
from pipelines.id_card.pipeline import side_pipeline  # noqa: E402
from pipelines.idnumber import normalize_id_number, normalize_name, repair_ocr_id_number  # noqa: E402
from pipelines.ocr import OcrConfig, create_engine  # noqa: E402

GOLDEN = ROOT / "samples" / "golden" / "id"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def baseline_verify(rapid, front: bytes, back: bytes, name: str, number: str) -> str:
    """The obvious approach: OCR both whole photos, regex the number, take the text after 姓名."""
    front_text = "".join(rapid(front).txts or ())
    rapid(back)  # the back is read too, as a service would, though the naive check ignores it
    found_number = None
    for candidate in re.findall(r"[0-9OoIlXx]{18}", front_text.replace(" ", "")):
        found_number = repair_ocr_id_number(candidate)
    match = re.search(r"姓名(\w{2,4}?)(?:性别|$)", front_text)
    found_name = match.group(1) if match else None
    ok = (
        found_number == normalize_id_number(number)
        and found_name is not None
        and (normalize_name(found_name) == normalize_name(name))
    )
    return "verified" if ok else "rejected"


def phone_pairs(count: int) -> list[tuple[dict, bytes, bytes]]:
    """Good pairs photographed at 4000x3000, on the four backgrounds in turn."""
    from samples.id_card.identities import identities
    from samples.id_card.photo import PhotoSpec, photograph
    from samples.id_card.render import back_layout, front_layout, render_back, render_front

    out = []
    backgrounds = ("wood", "fabric", "dark", "paper")
    for n, person in enumerate(identities(4242, count)):
        spec = {"frame": (4000, 3000), "background": backgrounds[n % 4], "jpeg_quality": 88}
        front, _ = photograph(render_front(person), PhotoSpec(seed=n, **spec), front_layout(person))
        back, _ = photograph(
            render_back(person), PhotoSpec(seed=100 + n, **spec), back_layout(person)
        )
        pair = {
            "name": f"phone_{n}",
            "declared_name": person.name,
            "declared_id_number": person.id_number,
            "expected_status": "verified",
            "phone": True,
        }
        out.append((pair, front, back))
    return out


def _group(pair: dict) -> str:
    return "phone" if pair.get("phone") else "random" if pair.get("random") else "golden"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="ORT threads for our engine")
    parser.add_argument(
        "--baseline-threads", type=int, default=2, help="ORT threads for plain RapidOCR"
    )
    parser.add_argument("--phone", type=int, default=0, help="extra generated 4000x3000 pairs")
    parser.add_argument(
        "--random",
        type=Path,
        default=None,
        help="a samples.id_random set: its held-out good captures join the run (cards filling "
        "the frame, flat scans, busy desks: the text-anchored path is taken there)",
    )
    parser.add_argument("--random-count", type=int, default=40)
    args = parser.parse_args()

    pairs = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))["pairs"]
    photos = [
        (p, (GOLDEN / p["front"]).read_bytes(), (GOLDEN / p["back"]).read_bytes()) for p in pairs
    ]
    if args.phone:
        # Rendered in a child process, so generating 12 MP photos does not count in our peak RSS.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            photos += pool.submit(phone_pairs, args.phone).result()
    if args.random:
        manifest = json.loads((args.random / "manifest.json").read_text(encoding="utf-8"))
        good = [
            c
            for c in manifest["cases"]
            if c["split"] == "heldout" and c["expected_status"] == "verified"
        ][: args.random_count]
        photos += [
            (
                {**c, "random": True},
                (args.random / c["front"]).read_bytes(),
                (args.random / c["back"]).read_bytes(),
            )
            for c in good
        ]
    engine = create_engine(OcrConfig(threads=args.threads))
    for p, front, back in photos[:2]:  # warm-up
        verify_id_card(
            front, back, Declaration(p["declared_name"], p["declared_id_number"]), engine=engine
        )

    # The same pipeline with the capture-risk stage swapped for one that does nothing: each
    # pair runs both ways back to back, so the difference is what the risks add to the
    # two-sided answer (the sides run concurrently, so it is less than their CPU sum).
    with_risks = side_pipeline(engine, IdCardConfig())
    without_risks = with_risks.replace("risks", lambda context: StageResult())
    added_ms: list[float] = []
    risk_cpu: list[float] = []
    signal_ms: dict[str, list[float]] = defaultdict(list)
    totals, full_path, stages = [], [], defaultdict(list)
    paths: dict[str, int] = defaultdict(int)
    ours_by_group: dict[str, list[float]] = defaultdict(list)
    correct = 0
    for p, front, back in photos:
        declaration = Declaration(p["declared_name"], p["declared_id_number"])
        for repeat in range(args.repeat):
            timed = {}
            # (the order alternates, so whatever the first run warms does not favour one)
            for pipeline in (without_risks, with_risks)[:: 1 if repeat % 2 else -1]:
                started = time.perf_counter()
                result = verify_id_card(front, back, declaration, engine=engine, pipeline=pipeline)
                timed[pipeline is with_risks] = (time.perf_counter() - started), result
            (elapsed, result), bare = timed[True], timed[False][0]
            elapsed, bare = elapsed * 1000, bare * 1000
            added_ms.append(elapsed - bare)
            risk_cpu.append(
                sum(result.timings_ms.get(f"{s}.risks", 0.0) for s in ("front", "back"))
            )
            for side in ("front", "back"):
                risks = result.measurements.get(side, {}).get("stages", {}).get("risks", {})
                for code, ms in risks.get("measured", {}).get("risk_ms", {}).items():
                    signal_ms[f"{side} {code}"].append(ms)
            totals.append(elapsed)
            ours_by_group[_group(p)].append(elapsed)
            if "front.read" in result.timings_ms and "back.read" in result.timings_ms:
                full_path.append(elapsed)
            for stage, ms in result.timings_ms.items():
                stages[stage].append(ms)
        for side in ("front", "back"):
            read = result.measurements.get(side, {}).get("stages", {}).get("read", {})
            tried = read.get("measured", {}).get("tried") or ["none"]
            paths["+".join(tried) + " -> " + str(read.get("measured", {}).get("path"))] += 1
        correct += result.status == p["expected_status"]
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    from rapidocr import RapidOCR

    rapid = RapidOCR(
        params={
            "Global.log_level": "warning",
            "EngineConfig.onnxruntime.intra_op_num_threads": args.baseline_threads,
        }
    )
    for p, front, back in photos[:2]:
        baseline_verify(rapid, front, back, p["declared_name"], p["declared_id_number"])
    base_totals, base_full = [], []
    base_by_group: dict[str, list[float]] = defaultdict(list)
    base_correct = 0
    for p, front, back in photos:
        for _ in range(args.repeat):
            started = time.perf_counter()
            status = baseline_verify(
                rapid, front, back, p["declared_name"], p["declared_id_number"]
            )
            elapsed = (time.perf_counter() - started) * 1000
            base_totals.append(elapsed)
            base_by_group[_group(p)].append(elapsed)
        base_correct += status == p["expected_status"]
    # the baseline always reads both photos fully: its "full path" is every pair
    base_full = base_totals

    print(
        f"pairs: {len(photos)}, repeats: {args.repeat}, ORT threads: ours {args.threads} "
        f"(both sides concurrently), baseline {args.baseline_threads}"
    )
    print("\nper-stage latency, ms (p50 / p95 over runs where the stage ran)")
    for stage in sorted(stages, key=lambda s: (s.split(".")[0] not in ("front", "back"), s)):
        values = stages[stage]
        print(f"  {stage:<18} {statistics.median(values):8.1f} {percentile(values, 95):8.1f}")
    print("\nwhole two-sided verification, ms        p50      p95")
    for label, values in (
        ("ours, full path (both sides read)", full_path),
        ("ours, all pairs", totals),
        ("baseline RapidOCR on full photos", base_full),
    ):
        print(f"  {label:<33} {statistics.median(values):8.1f} {percentile(values, 95):8.1f}")
    ratio = statistics.median(full_path) / statistics.median(base_full)
    print(f"  ratio of p50 (ours full path / baseline): {ratio:.2f}x  (target <= 0.30x)")
    for group, label in (
        ("golden", "committed golden set (1280x960, one 4000x3000 pair)"),
        ("phone", "generated phone photos (4000x3000)"),
        ("random", "samples.id_random held-out good captures (independent generator)"),
    ):
        if ours_by_group[group]:
            ours_p50 = statistics.median(ours_by_group[group])
            base_p50 = statistics.median(base_by_group[group])
            print(
                f"  {label}: ours p50 {ours_p50:.0f} ms, baseline p50 {base_p50:.0f} ms, "
                f"ratio {ours_p50 / base_p50:.2f}x"
            )
    print("\ncapture-risk signals, ms                 p50      p95")
    print(
        f"  {'added to the two-sided answer':<33} {statistics.median(added_ms):8.1f} "
        f"{percentile(added_ms, 95):8.1f}  (target p50 <= 60)"
    )
    if risk_cpu:
        print(
            f"  {'CPU, front + back risks stages':<33} {statistics.median(risk_cpu):8.1f} "
            f"{percentile(risk_cpu, 95):8.1f}"
        )
    for key in sorted(signal_ms):
        values = signal_ms[key]
        print(f"    {key:<31} {statistics.median(values):8.1f} {percentile(values, 95):8.1f}")
    print("\nlocalisation path per side (tried -> used), over all pairs")
    for path, count in sorted(paths.items(), key=lambda kv: -kv[1]):
        print(f"  {path:<28} {count:5d}  ({count / sum(paths.values()):.0%})")
    print(f"\npeak RSS after our pipeline: {peak_rss_mb:.0f} MB  (target < 700 MB)")
    total = len(photos)
    print(f"accuracy vs expected status: ours {correct}/{total}, baseline {base_correct}/{total}")


if __name__ == "__main__":
    main()

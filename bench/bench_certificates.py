"""Certificate-validation benchmark (issue 4): skew error against jdeskew and deskew,
orientation accuracy over 0/90/180/270, and batch throughput on 2 worker processes.

    python -m bench.bench_certificates [--pages 48] [--batch 200] [--workers 2]

Pages come from ``samples.certificate.generate`` with known skew and rotation. Every
estimator sees the same decoded page (long side 1200 px, what the pipeline uses).
Angles are compared modulo 90 degrees, in the pipeline's sign convention
(counter-clockwise positive); jdeskew and deskew report the correcting angle, so
their sign is flipped.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from pipelines.certificate import CertificateConfig, validate_certificate
from pipelines.certificate.quality import ink_gray, ink_mask
from pipelines.certificate.skew import estimate_skew
from pipelines.certificate.validate import work_long_side
from pipelines.io import decode_image, read_header
from pipelines.ocr import OcrConfig, create_engine
from samples.certificate.generate import generate, make_scan_bytes, random_spec


def _error(measured: float | None, truth: float) -> float:
    if measured is None:
        return 90.0
    return abs((measured - truth + 45.0) % 90.0 - 45.0)


def skew_and_orientation(pages: int, seed: int) -> None:
    from deskew import determine_skew
    from jdeskew.estimator import get_angle

    engine = create_engine(OcrConfig(threads=2))
    config = CertificateConfig()
    rng = random.Random(seed)
    errors: dict[str, list[float]] = {"ours": [], "jdeskew": [], "deskew": [], "deskew_0.1deg": []}
    times: dict[str, list[float]] = {k: [] for k in errors}
    wrong: list[tuple[int, int | None]] = []
    per_rotation: dict[int, list[bool]] = {0: [], 90: [], 180: [], 270: []}
    for i in range(pages):
        rotation = (0, 90, 180, 270)[i % 4]
        spec = random_spec(rng, skew_degrees=round(rng.uniform(-8, 8), 2), rotation=rotation)
        data = make_scan_bytes(spec, seed * 1000 + i)
        work = decode_image(data, max_long_side=work_long_side(read_header(data), config)).pixels
        gray = cv2.cvtColor(work, cv2.COLOR_BGR2GRAY)
        for name, fn in (
            ("ours", lambda w=work: estimate_skew(ink_mask(ink_gray(w))).degrees),
            ("jdeskew", lambda w=work: -float(get_angle(w))),
            ("deskew", lambda g=gray: _neg(determine_skew(g))),
            ("deskew_0.1deg", lambda g=gray: _neg(determine_skew(g, min_deviation=0.1))),
        ):
            started = time.perf_counter()
            value = fn()
            times[name].append(time.perf_counter() - started)
            errors[name].append(_error(value, spec.skew_degrees))
        report = validate_certificate(
            data, "x.jpg", engine=engine, config=CertificateConfig(name_check_budget_px=0)
        )
        got = report.checks.get("orientation_degrees")
        per_rotation[rotation].append(got == rotation)
        if got != rotation:
            wrong.append((rotation, got))
    print(
        f"\nskew error on {pages} generated pages (|skew| <= 8 deg, rotations 0/90/180/270, "
        "portrait and landscape), degrees:"
    )
    print(f"  {'estimator':<15}{'mean abs':>10}{'median':>10}{'max abs':>10}{'ms/page':>10}")
    for name, errs in errors.items():
        print(
            f"  {name:<15}{statistics.mean(errs):>10.3f}{statistics.median(errs):>10.3f}"
            f"{max(errs):>10.3f}{1000 * statistics.mean(times[name]):>10.1f}"
        )
    print(
        f"\norientation over {pages} pages: "
        f"{sum(sum(v) for v in per_rotation.values())}/{pages} correct; "
        + ", ".join(f"{k}: {sum(v)}/{len(v)}" for k, v in per_rotation.items())
        + (f"; wrong calls (truth, got): {wrong}" if wrong else "; no wrong calls")
    )


def _neg(value: float | None) -> float | None:
    return None if value is None else -float(value)


_ENGINE = None


def _init_worker() -> None:
    global _ENGINE
    _ENGINE = create_engine(OcrConfig(threads=1))


def _validate(path: str) -> tuple[str, list[str], dict[str, float]]:
    cpu = time.process_time()
    data = Path(path).read_bytes()
    report = validate_certificate(data, Path(path).name, engine=_ENGINE)
    timings = dict(report.timings_ms)
    timings["cpu"] = (time.process_time() - cpu) * 1000
    timings["orientation_degrees"] = report.checks.get("orientation_degrees")
    timings["skew_degrees"] = report.checks.get("skew_degrees")
    return report.status, report.reason_codes + report.warning_codes, timings


def _ready(_: int) -> int:
    return os.getpid()


def _generate_part(args: tuple[str, int, int]) -> None:
    out, count, seed = args
    generate(Path(out), count, seed=seed)


def throughput(batch: int, workers: int, seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        parts = [
            (f"{tmp}/{k}", batch // workers + (k < batch % workers), seed + k)
            for k in range(workers)
        ]
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_generate_part, parts))
        files = sorted(str(p) for p in Path(tmp).rglob("*.jpg"))
        truth = {}
        for part in Path(tmp).iterdir():
            for entry in json.loads((part / "manifest.json").read_text(encoding="utf-8")):
                truth[str(part / entry["file"])] = entry
        sizes = [Path(f).stat().st_size for f in files]
        with ProcessPoolExecutor(workers, initializer=_init_worker) as pool:
            list(pool.map(_ready, range(workers * 2)))  # engines loaded before the clock starts
            load_before = os.getloadavg()[0]
            started = time.perf_counter()
            results = list(pool.map(_validate, files, chunksize=4))
            elapsed = time.perf_counter() - started
            load_after = os.getloadavg()[0]
    codes: dict[str, int] = {}
    for _, found, _ in results:
        for code in found:
            codes[code] = codes.get(code, 0) + 1
    stages: dict[str, list[float]] = {}
    for _, _, timings in results:
        for k, v in timings.items():
            if k not in ("orientation_degrees", "skew_degrees"):
                stages.setdefault(k, []).append(v)
    wrong = sum(
        truth[f]["rotation"] != t["orientation_degrees"]
        for f, (_, _, t) in zip(files, results, strict=True)
    )
    skew_err = [
        _error(t["skew_degrees"], truth[f]["skew_degrees"])
        for f, (_, _, t) in zip(files, results, strict=True)
    ]
    print(
        f"\nthroughput: {len(files)} files (mean {statistics.mean(sizes) / 1024:.0f} KiB, "
        f"realistic mix) on {workers} worker processes x 1 ONNX thread: "
        f"{elapsed:.1f} s = {len(files) / elapsed:.1f} files/s"
    )
    cpu_ms = statistics.mean(t["cpu"] for _, _, t in results)
    print(
        f"  load average {load_before:.1f} -> {load_after:.1f} (other processes share the cores); "
        f"CPU time per file {cpu_ms:.0f} ms, so {workers} uncontended cores would give "
        f"{workers * 1000 / cpu_ms:.1f} files/s"
    )
    print(
        "  accepted:",
        sum(s == "accepted" for s, _, _ in results),
        " codes:",
        dict(sorted(codes.items())),
    )
    print(
        f"  against the generator's truth: {wrong} wrong orientation calls; skew error mean "
        f"{statistics.mean(skew_err):.3f}, max {max(skew_err):.3f} deg"
    )
    print("  stage medians (ms):", {k: round(statistics.median(v), 1) for k, v in stages.items()})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}  numpy {np.__version__}  opencv {cv2.__version__}")
    if args.pages:
        skew_and_orientation(args.pages, args.seed)
    if not args.skip_throughput:
        throughput(args.batch, args.workers, args.seed)


if __name__ == "__main__":
    main()

"""Certificate-validation benchmark: skew error against jdeskew and deskew, orientation
accuracy over 0/90/180/270, CPU ms per stage, and files/s end to end through
``ocr-service serve`` on its defaults and through ``ocr-service validate-certs``.

    python -m bench.bench_certificates [--pages 48] [--batch 200] [--workers 2]
    python -m bench.bench_certificates --pages 0 --skip-throughput --end-to-end 60

``--end-to-end N``: N realistic pages (the independent generator's pages at 120-210 dpi,
1000-2500 px, with scanner grain and JPEG quality 90-96 so they weigh 0.5-3 MB as units'
files do; scans and phone photos, a few skewed or turned) are (1) checked
in this process stage by stage with CPU time per stage (one ONNX thread), (2) uploaded
as one batch to a fresh ``ocr-service serve`` (defaults: embedded queue, SQLite, one
checking process per core) after a warm-up batch, timed from the upload to the last
result, and (3) given to ``ocr-service validate-certs`` as a folder, timed from the
command's start to its exit (model loading included) and without its start-up (measured
on one file). Each is repeated ``--repeats`` times: best and median are printed.

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


# -- end to end ------------------------------------------------------------------------


def realistic_pages(folder: Path, count: int, seed: int) -> list[Path]:
    from samples.certificate_random.generate import make_case

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    files = []
    for i in range(count):
        category = rng.choices(("good", "skewed", "upside_down", "sideways"), (8, 1, 1, 1))[0]
        case, data = make_case(10_000 + i, category, seed, dpi_range=(120, 210))
        # scanner grain and a high JPEG quality, as units' files have: 0.5-3 MB, not 0.3
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        grain = np.random.default_rng(seed + i).normal(0, rng.uniform(5, 9), pixels.shape)
        pixels = np.clip(pixels + grain, 0, 255).astype(np.uint8)
        ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(90, 96)])
        assert ok
        path = folder / case.file
        path.write_bytes(encoded.tobytes())
        files.append(path)
    return files


def stage_cpu(files: list[Path]) -> None:
    """CPU ms per stage, measured around each stage in this one process."""
    from pipelines.certificate.validate import CERTIFICATE_PIPELINE
    from pipelines.compose import Pipeline

    cpu: dict[str, list[float]] = {}

    def timed(name, stage):  # type: ignore[no-untyped-def]
        def run(ctx):  # type: ignore[no-untyped-def]
            started = time.process_time()
            try:
                return stage(ctx)
            finally:
                cpu.setdefault(name, []).append((time.process_time() - started) * 1000)

        return run

    pipeline = Pipeline([(name, timed(name, stage)) for name, stage in CERTIFICATE_PIPELINE])
    engine = create_engine(OcrConfig(threads=1))
    totals = []
    for path in files:
        data = path.read_bytes()
        started = time.process_time()
        validate_certificate(data, path.name, engine=engine, pipeline=pipeline)
        totals.append((time.process_time() - started) * 1000)
    sizes = [p.stat().st_size for p in files]
    print(
        f"\nCPU ms per file per stage ({len(files)} pages, {min(sizes) / 2**20:.2f}-"
        f"{max(sizes) / 2**20:.2f} MiB; one process, one ONNX thread; stages that ran):"
    )
    print(f"  {'stage':<16}{'mean':>8}{'median':>8}{'runs':>6}")
    for name, values in cpu.items():
        print(
            f"  {name:<16}{statistics.mean(values):>8.1f}{statistics.median(values):>8.1f}"
            f"{len(values):>6}"
        )
    print(f"  {'total':<16}{statistics.mean(totals):>8.1f}{statistics.median(totals):>8.1f}")


def _serve_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OCR_SERVICE_DATA_DIR": str(data_dir),
        "OCR_SERVICE_API_KEYS": "bench:bench-key-0123456789abcdef",
        "OCR_SERVICE_SECRET_KEY": "b" * 48,
        "OCR_SERVICE_LOG_LEVEL": "WARNING",
    }


def _tree_cpu(pid: int) -> float:
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def serve_throughput(files: list[Path], warm: list[Path], port: int) -> float:
    import subprocess
    import sys

    import httpx

    headers = {"X-API-Key": "bench-key-0123456789abcdef"}
    with tempfile.TemporaryDirectory() as tmp:
        cli = Path(sys.executable).with_name("ocr-service")
        proc = subprocess.Popen(
            [str(cli), "serve", "--port", str(port)],
            env=_serve_env(Path(tmp) / "data"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            with httpx.Client(base_url=base, timeout=600) as client:
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.3)

                def batch(paths: list[Path]) -> float:
                    started = time.perf_counter()
                    upload = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in paths]
                    r = client.post("/v1/certificate-batches", headers=headers, files=upload)
                    r.raise_for_status()
                    batch_id = r.json()["id"]
                    while True:
                        body = client.get(f"/v1/certificate-batches/{batch_id}", headers=headers)
                        if body.json()["status"] in ("completed", "failed"):
                            return time.perf_counter() - started
                        time.sleep(0.1)

                batch(warm)  # the checking processes load their models
                cpu_before = _tree_cpu(proc.pid)
                elapsed = batch(files)
                used = _tree_cpu(proc.pid) - cpu_before
                print(
                    f"  serve run: {len(files) / elapsed:.1f} files/s; the server's processes "
                    f"used {used:.1f} CPU-s in {elapsed:.1f} s = {used / elapsed:.2f} cores, "
                    f"{1000 * used / len(files):.0f} CPU ms per file end to end"
                )
                return len(files) / elapsed
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def cli_throughput(folder: Path, one: Path) -> tuple[float, float]:
    import subprocess
    import sys

    cli = Path(sys.executable).with_name("ocr-service")
    with tempfile.TemporaryDirectory() as tmp:
        env = _serve_env(Path(tmp) / "data")
        single = Path(tmp) / "one"
        single.mkdir()
        (single / one.name).write_bytes(one.read_bytes())
        started = time.perf_counter()
        subprocess.run([str(cli), "validate-certs", str(single)], env=env, capture_output=True)
        startup = time.perf_counter() - started
        count = len(list(folder.glob("*.jpg")))
        started = time.perf_counter()
        subprocess.run([str(cli), "validate-certs", str(folder)], env=env, capture_output=True)
        elapsed = time.perf_counter() - started
    return count / elapsed, count / max(elapsed - startup, 1e-3)


def end_to_end(count: int, seed: int, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "pages"
        files = realistic_pages(folder, count, seed)
        warm = realistic_pages(Path(tmp) / "warm", 4, seed + 1)
        sizes = [p.stat().st_size for p in files]
        print(
            f"\n{count} pages, {statistics.mean(sizes) / 2**20:.2f} MiB mean "
            f"({min(sizes) / 2**20:.2f}-{max(sizes) / 2**20:.2f}); load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        stage_cpu(files)
        served = [serve_throughput(files, warm, 8700 + k) for k in range(repeats)]
        print(
            f"\nserve (defaults, embedded queue): files/s best {max(served):.1f}, median "
            f"{statistics.median(served):.1f}  runs {[round(x, 1) for x in served]}"
        )
        runs = [cli_throughput(folder, files[0]) for _ in range(repeats)]
        whole = [r[0] for r in runs]
        steady = [r[1] for r in runs]
        print(
            f"validate-certs: files/s best {max(whole):.1f}, median {statistics.median(whole):.1f}"
            f" (whole command, model loading included); without start-up best "
            f"{max(steady):.1f}, median {statistics.median(steady):.1f}"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=48)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--end-to-end", type=int, default=0, help="pages for serve/CLI files/s")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}  numpy {np.__version__}  opencv {cv2.__version__}")
    if args.pages:
        skew_and_orientation(args.pages, args.seed)
    if not args.skip_throughput:
        throughput(args.batch, args.workers, args.seed)
    if args.end_to_end:
        end_to_end(args.end_to_end, args.seed, args.repeats)


if __name__ == "__main__":
    main()

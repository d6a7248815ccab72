"""Run every atheris harness for a bounded time; keep what crashes.

    .venv/bin/python fuzz/run.py --minutes 5            # all harnesses, 5 minutes each
    .venv/bin/python fuzz/run.py --minutes 2 decode     # one harness

Seeds: the hostile corpus (tests/hostile/corpus), the golden samples and, for the
text harnesses, the golden file names. The growing corpus lives in
``$FUZZ_WORK`` (default: a ``fuzz-work`` folder in the temp directory), never in
the repository. Every crashing input is copied to
``tests/hostile/corpus/fuzz-crashes/<harness>-<sha1>.bin``, which CI replays
(tests/hostile/test_fuzz_crashes.py). Exit status 1 if anything crashed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
CRASHES = ROOT / "tests" / "hostile" / "corpus" / "fuzz-crashes"
HOSTILE = ROOT / "tests" / "hostile" / "corpus"

HARNESSES = {
    "decode": {"max_len": 300_000, "rss_limit_mb": 2048},
    "filename": {"max_len": 512, "rss_limit_mb": 1024},
    "idnumber": {"max_len": 128, "rss_limit_mb": 1024},
    "archive": {"max_len": 300_000, "rss_limit_mb": 2048},
}


def seed_files(name: str) -> list[tuple[str, bytes]]:
    """(label, bytes) seeds for a harness."""
    seeds: list[tuple[str, bytes]] = []
    if name == "decode":
        paths = [
            *HOSTILE.glob("pixel/*"),
            *HOSTILE.glob("spoof/*"),
            *HOSTILE.glob("payload/*"),
            *(ROOT / "samples" / "golden").rglob("*.jpg"),
            *(ROOT / "samples" / "golden").rglob("*.png"),
        ]
        seeds += [
            (p.name, p.read_bytes()) for p in paths if p.is_file() and p.stat().st_size <= 300_000
        ]
    elif name == "archive":
        seeds += [(p.name, p.read_bytes()) for p in HOSTILE.glob("archive/*")]
    elif name in ("filename", "idnumber"):
        manifest = ROOT / "samples" / "golden" / "certificates"
        names = [p.name for p in manifest.glob("*") if p.suffix in (".jpg", ".png")]
        names += [
            "张三+110105194912310026+医师资格证+1.jpg",
            "李四_11010519491231002X_毕业证书_第2页.png",
            "王五 810000199001010014 学位证书 P3.jpeg",
            "赵六910000199001010012护士执业证第十页.jpg",
            "../../x.jpg",
            "=cmd|' /C calc'!A0.jpg",
            "１１０１０５１９４９１２３１００２Ｘ",
            "110105-19491231-002x",
            "\u0661\u0661\u0660\u0661\u0660\u0665" * 3,
        ]
        seeds += [(f"n{i}", n.encode()) for i, n in enumerate(names)]
    for crash in CRASHES.glob(f"{name}-*"):
        seeds.append((crash.name, crash.read_bytes()))
    return seeds


def run_harness(name: str, seconds: int, work: Path) -> dict[str, object]:
    corpus = work / name / "corpus"
    seeds = work / name / "seeds"
    artifacts = work / name / "artifacts"
    for folder in (corpus, seeds, artifacts):
        folder.mkdir(parents=True, exist_ok=True)
    for label, data in seed_files(name):
        (seeds / hashlib.sha1(label.encode() + data).hexdigest()).write_bytes(data)
    options = HARNESSES[name]
    started = time.monotonic()
    deadline = started + seconds
    signatures: list[str] = []
    kept = []
    executions = peak_rss = 0
    exit_codes = []
    log_path = work / name / "fuzz.log"
    log_path.write_bytes(b"")
    while True:  # libFuzzer stops at a crash: go on, ignoring the crashes already kept
        remaining = int(deadline - time.monotonic())
        if remaining < 5 or len(signatures) >= 10:
            break
        cmd = [
            sys.executable,
            str(FUZZ / f"fuzz_{name}.py"),
            str(corpus),
            str(seeds),
            f"-max_total_time={remaining}",
            f"-max_len={options['max_len']}",
            f"-rss_limit_mb={options['rss_limit_mb']}",
            "-timeout=10",
            f"-artifact_prefix={artifacts}/",
            "-print_final_stats=1",
        ]
        env = {**os.environ, "FUZZ_IGNORE": "\n".join(signatures)}
        with log_path.open("ab") as log:
            proc = subprocess.run(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=env,
                timeout=remaining + 120,
                check=False,
            )
        exit_codes.append(proc.returncode)
        log_text = log_path.read_text(errors="replace")
        run_text = (
            log_text[log_text.rfind("INFO: Seed:") :] if "INFO: Seed:" in log_text else log_text
        )
        stats = dict(
            line.rsplit(":", 1) for line in run_text.splitlines() if line.startswith("stat::")
        )
        executions += int(stats.get("stat::number_of_executed_units", "0").strip() or 0)
        peak_rss = max(peak_rss, int(stats.get("stat::peak_rss_mb", "0").strip() or 0))
        found = [
            line.split(" ", 1)[1].strip()
            for line in run_text.splitlines()
            if line.startswith("CRASH-SIGNATURE ")
        ]
        for artifact in artifacts.iterdir():
            data = artifact.read_bytes()
            target = CRASHES / f"{name}-{hashlib.sha1(data).hexdigest()}.bin"
            if not target.exists():
                CRASHES.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            kept.append(
                {
                    "kind": artifact.name.split("-")[0],
                    "signature": found[-1] if found else None,
                    "file": str(target.relative_to(ROOT)),
                }
            )
            artifact.unlink()
        if proc.returncode == 0 or not found or found[-1] in signatures:
            break
        signatures.append(found[-1])
    return {
        "harness": name,
        "seconds": round(time.monotonic() - started, 1),
        "exit": exit_codes,
        "executions": executions,
        "peak_rss_mb": peak_rss,
        "corpus_files": len(list(corpus.iterdir())),
        "crashes": kept,
        "log": str(log_path),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "harnesses", nargs="*", default=[], help=f"default: all of {', '.join(HARNESSES)}"
    )
    parser.add_argument("--minutes", type=float, default=2.0, help="per harness")
    args = parser.parse_args(argv)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed: pip install -e '.[fuzz]'", file=sys.stderr)
        return 2
    work = Path(os.environ.get("FUZZ_WORK", Path(tempfile.gettempdir()) / "fuzz-work"))
    results = []
    unknown = set(args.harnesses) - set(HARNESSES)
    if unknown:
        parser.error(f"unknown harness: {', '.join(sorted(unknown))}")
    for name in args.harnesses or list(HARNESSES):
        result = run_harness(name, max(1, int(args.minutes * 60)), work)
        results.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    crashed = [r for r in results if r["crashes"]]
    if crashed:
        print(
            f"crashing inputs kept in {CRASHES.relative_to(ROOT)}; replay: "
            ".venv/bin/pytest tests/hostile/test_fuzz_crashes.py",
            file=sys.stderr,
        )
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Load run: Locust (headless, bounded) against ``ocr-service serve`` on loopback.

    .venv/bin/python bench/bench_locust.py                       # users 1,2,4,24; 60 s each
    .venv/bin/python bench/bench_locust.py --users 2 --seconds 30

Starts its own server (embedded default, real models, a temporary data dir), runs
bench/locustfile.py at each concurrency level in turn (closed loop, no think time:
each user sends its next request when the last one is answered), and prints per
level: throughput, p50/p95/p99 per request kind, error ratio, load shed (429/503 and
their Retry-After) and the server's CPU use. Locust runs on the same machine and
takes its share of the cores; that is part of what the numbers include.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


ID_DEADLINE_S = 10.0  # the service's default OPS__ID_DEADLINE_S


def _id_outcomes(outcomes: dict[str, list[float]]) -> dict[str, float | int | None]:
    """ID verifications: answered ones and their slowest, refused ones split into refused at
    admission (under a second) and refused after waiting (admitted, then out of time)."""
    answered, refused = outcomes.get("answered", []), outcomes.get("refused", [])
    return {
        "id_answered": len(answered),
        "id_answered_max_s": round(max(answered), 2) if answered else None,
        "id_answered_after_deadline": sum(1 for t in answered if t > ID_DEADLINE_S),
        "id_refused_at_admission": sum(1 for t in refused if t < 1.0),
        "id_refused_after_waiting": sum(1 for t in refused if t >= 1.0),
    }


def start_server(data_dir: Path, api_key: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "OCR_SERVICE_DATA_DIR": str(data_dir),
        "OCR_SERVICE_API_KEYS": f"bench:{api_key}",
        "OCR_SERVICE_SECRET_KEY": secrets.token_urlsafe(48),
        "OCR_SERVICE_LOG_LEVEL": "WARNING",
        # the benchmark measures capacity, not the per-day abuse limits
        "OCR_SERVICE_FAILURES_PER_REQUESTER": "1000000",
        "OCR_SERVICE_REQUESTS_PER_MINUTE_PER_CLIENT": "1000000",
        "OCR_SERVICE_REQUESTS_PER_MINUTE_PER_KEY": "1000000",
    }
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "ocr-service"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text()[-2000:])
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("server did not become healthy")


def make_identities(folder: Path, count: int) -> None:
    """Photographs of ``count`` fictional holders (front, back, name, number), one pair per
    holder: each Locust user verifies its own holders, as real applicants do, so the
    per-number attempt lock never sees two of them at once."""
    from samples.id_card.generate import GOLDEN_FRAME
    from samples.id_card.identities import make_identity
    from samples.id_card.photo import PhotoSpec, photograph
    from samples.id_card.render import render

    folder.mkdir(parents=True, exist_ok=True)
    people = []
    for seed in range(9000, 9000 + count):
        person = make_identity(
            seed,
            rare_name=False,
            compound_surname=False,
            check_x=False,
            age_at_issue=30,
            hmt_prefix=None,
        )
        for side in ("front", "back"):
            card, layout = render(person, side)
            spec = PhotoSpec(seed=seed, frame=GOLDEN_FRAME, noise=1.2, jpeg_quality=80)
            data, _truth = photograph(card, spec, layout)
            (folder / f"{seed}_{side}.jpg").write_bytes(data)
        people.append({"seed": seed, "name": person.name, "number": person.id_number})
    (folder / "people.json").write_text(json.dumps(people, ensure_ascii=False))


def run_level(
    url: str,
    api_key: str,
    users: int,
    seconds: int,
    out: Path,
    server: psutil.Process,
    identities: Path,
) -> dict:
    prefix = out / f"u{users}"
    shed_file = out / f"u{users}-shed.json"
    env = {
        **os.environ,
        "BENCH_API_KEY": api_key,
        "BENCH_SHED_FILE": str(shed_file),
        "BENCH_ID_DIR": str(identities),
    }
    cpu_before = sum(server.cpu_times()[:2]) + sum(
        sum(c.cpu_times()[:2]) for c in server.children(recursive=True)
    )
    started = time.monotonic()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "30",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=(out / f"u{users}.log").open("wb"),
    )
    wall = time.monotonic() - started
    cpu_after = sum(server.cpu_times()[:2]) + sum(
        sum(c.cpu_times()[:2]) for c in server.children(recursive=True)
    )
    rows = {row["Name"]: row for row in csv.DictReader((out / f"u{users}_stats.csv").open())}
    shed = json.loads(shed_file.read_text()) if shed_file.exists() else {"429": [], "503": []}
    failures = (
        list(csv.DictReader((out / f"u{users}_failures.csv").open()))
        if (out / f"u{users}_failures.csv").exists()
        else []
    )
    shed_count = len(shed["429"]) + len(shed["503"])
    total = int(rows["Aggregated"]["Request Count"])
    failed = int(rows["Aggregated"]["Failure Count"])
    kinds = {}
    for name, row in rows.items():
        if name == "Aggregated":
            continue
        kinds[name] = {
            "requests": int(row["Request Count"]),
            "per_s": round(float(row["Requests/s"]), 2),
            "p50_ms": row["50%"],
            "p95_ms": row["95%"],
            "p99_ms": row["99%"],
            "max_ms": row["100%"],
            "failures": int(row["Failure Count"]),
        }
    return {
        "users": users,
        "seconds": round(wall, 1),
        "requests": total,
        "errors": failed - shed_count,
        "error_ratio": round((failed - shed_count) / total, 4) if total else None,
        "shed_429": len(shed["429"]),
        "shed_503": len(shed["503"]),
        "retry_after_s": sorted({int(x) for x in shed["429"] + shed["503"]}),
        **_id_outcomes(shed.get("id_outcomes") or {}),
        "server_cpu_cores": round((cpu_after - cpu_before) / wall, 2),
        # other work on the machine skews everything: say how busy it was
        "machine_load_1m": round(os.getloadavg()[0], 2),
        "kinds": kinds,
        "failure_kinds": [(f["Name"], f["Error"][:80], f["Occurrences"]) for f in failures][:6],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", default="1,2,4,24", help="comma list of concurrency levels")
    parser.add_argument("--seconds", type=int, default=60, help="per level")
    parser.add_argument("--out", type=Path, default=None, help="keep locust's CSV files here")
    args = parser.parse_args(argv)
    api_key = secrets.token_urlsafe(24)
    work = Path(tempfile.mkdtemp(prefix="bench-locust-"))
    out = args.out or work
    out.mkdir(parents=True, exist_ok=True)
    levels = [int(u) for u in args.users.split(",")]
    identities = work / "identities"
    make_identities(identities, 2 * max(levels))
    proc, url = start_server(work / "data", api_key, work / "serve.log")
    server = psutil.Process(proc.pid)
    results = []
    try:
        for users in levels:
            result = run_level(url, api_key, users, args.seconds, out, server, identities)
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
    finally:
        proc.terminate()
        proc.wait(30)
    print()
    print(
        f"{'users':>5} {'req/s':>6} {'ID/s':>5} {'ID p50':>7} {'ID p95':>7} {'ID p99':>7} "
        f"{'err%':>5} {'429':>4} {'503':>4} {'cpu':>4}"
    )
    for r in results:
        idk = r["kinds"].get("POST /v1/id-verifications", {})
        total_rate = sum(k["per_s"] for k in r["kinds"].values())
        print(
            f"{r['users']:>5} {total_rate:>6.2f} {idk.get('per_s', 0):>5.2f} "
            f"{idk.get('p50_ms', '-'):>7} "
            f"{idk.get('p95_ms', '-'):>7} {idk.get('p99_ms', '-'):>7} "
            f"{100 * (r['error_ratio'] or 0):>5.1f} {r['shed_429']:>4} {r['shed_503']:>4} "
            f"{r['server_cpu_cores']:>4}"
        )
    print("\nID verifications: answered (slowest, after the deadline) / refused at admission / "
          "refused after waiting")
    for r in results:
        print(
            f"{r['users']:>5} {r['id_answered']:>6} ({r['id_answered_max_s']} s, "
            f"{r['id_answered_after_deadline']}) / {r['id_refused_at_admission']} / "
            f"{r['id_refused_after_waiting']}"
        )
    print(f"\nserver log: {work / 'serve.log'}; locust CSVs: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Load run: Locust (headless, bounded) against ``ocr-service serve`` on loopback.

Closed loop (the registration-window mix; each user sends its next request when the
last one is answered):

    .venv/bin/python bench/bench_locust.py                       # users 1,2,4,24; 60 s each
    .venv/bin/python bench/bench_locust.py --users 2 --seconds 30

Open loop (ID verifications arrive at a fixed rate whatever the answers):

    .venv/bin/python bench/bench_locust.py --open-loop           # sustainable rate, then 2x, 4x
    .venv/bin/python bench/bench_locust.py --open-loop --rates 1.5,3   # verifications/s

``--open-loop`` first measures the sustainable rate: ``--calibrate-users`` (3) closed-loop
users sending ID verifications only keep the ID queue busy for ``--calibrate-seconds``; the
verifications answered per second is the rate. Each level in ``--multiples`` (2,4) then offers
that many times the rate for ``--seconds``, with one-file certificate batches arriving beside
them at ``--cert-ratio`` (3/7, the registration-window mix) of the ID rate. Every level runs
against a fresh server (the backlog of one level does not leak into the next). Per level:
offered rate, answered (200) with p50/p95/max latency, answered after the deadline (the
service's promise: 0), refused at admission (503 QUEUE_UNAVAILABLE) and refused after waiting
(503 DEADLINE_EXCEEDED) with their Retry-After range, 503s without Retry-After (0), errors,
and arrivals that had to wait on an answer (0: the run was open loop).

The server is started here (embedded default, real models, a temporary data dir). Locust
runs on the same machine and takes its share of the cores; that is part of what the numbers
include, so take them on an otherwise quiet machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
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
PACING_S = 30.0  # open loop: each Locust user's interval, well past any answer (the deadline)
CALIBRATION_WARMUP_S = 5.0  # the first answers come from cold caches
HOLDERS = 24  # open loop: fictional holders shared by the users (each has its own end user)


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))  # nearest rank
    return round(ordered[min(len(ordered), max(1, rank)) - 1], 2)


def _span(values: list[int | None]) -> list[int] | None:
    present = [v for v in values if v is not None]
    return [min(present), max(present)] if present else None


def _id_outcomes(outcomes: list[dict]) -> dict:
    """ID verifications by how they ended: answered (200) and their latency, how many after
    the deadline; refused at admission (503 QUEUE_UNAVAILABLE or another 503 within a second)
    and refused after waiting (503 DEADLINE_EXCEEDED, or another 503 after a second), with the
    range of their Retry-After; 503s without one; 429s; errors (no answer, anything else)."""
    answered = [o["s"] for o in outcomes if o["status"] == 200]
    refused = [o for o in outcomes if o["status"] == 503]
    after_waiting = [
        o
        for o in refused
        if o["code"] == "DEADLINE_EXCEEDED" or (o["code"] != "QUEUE_UNAVAILABLE" and o["s"] >= 1)
    ]
    at_admission = [o for o in refused if o not in after_waiting]
    return {
        "id_sent": len(outcomes),
        "id_answered": len(answered),
        "id_answered_not_verified": sum(
            1 for o in outcomes if o["status"] == 200 and not o.get("verified")
        ),
        "id_answered_p50_s": _percentile(answered, 50),
        "id_answered_p95_s": _percentile(answered, 95),
        "id_answered_max_s": round(max(answered), 2) if answered else None,
        "id_answered_after_deadline": sum(1 for t in answered if t > ID_DEADLINE_S),
        "id_refused_at_admission": len(at_admission),
        "id_refused_at_admission_retry_after_s": _span([o["retry_after"] for o in at_admission]),
        "id_refused_after_waiting": len(after_waiting),
        "id_refused_after_waiting_retry_after_s": _span([o["retry_after"] for o in after_waiting]),
        "id_refused_after_waiting_max_s": (
            round(max(o["s"] for o in after_waiting), 2) if after_waiting else None
        ),
        "id_503_without_retry_after": sum(1 for o in refused if o["retry_after"] is None),
        "id_429": sum(1 for o in outcomes if o["status"] == 429),
        "id_errors": sum(1 for o in outcomes if o["status"] not in (200, 429, 503)),
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
        "OCR_SERVICE_FAILURES_PER_API_KEY": "1000000",
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


def _cpu_seconds(server: psutil.Process) -> float:
    return sum(server.cpu_times()[:2]) + sum(
        sum(c.cpu_times()[:2]) for c in server.children(recursive=True)
    )


def run_locust(
    url: str,
    api_key: str,
    *,
    label: str,
    user_class: str,
    users: int,
    spawn_rate: float,
    seconds: int,
    out: Path,
    server: psutil.Process,
    identities: Path,
    env_extra: dict[str, str] | None = None,
    warmup_s: float = 0.0,
) -> dict:
    """One bounded headless Locust run; Locust's per-kind stats plus what the users recorded."""
    prefix = out / label
    shed_file = out / f"{label}-shed.json"
    env = {
        **os.environ,
        "BENCH_API_KEY": api_key,
        "BENCH_SHED_FILE": str(shed_file),
        "BENCH_ID_DIR": str(identities),
        **(env_extra or {}),
    }
    cpu_before = _cpu_seconds(server)
    started = time.monotonic()
    subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            user_class,
            "--headless",
            "-u",
            str(users),
            "-r",
            f"{spawn_rate:g}",
            "-t",
            f"{seconds}s",
            "--host",
            url,
            "--csv",
            str(prefix),
            "--only-summary",
            "--stop-timeout",
            "60",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=(out / f"{label}.log").open("wb"),
    )
    wall = time.monotonic() - started
    cpu = _cpu_seconds(server) - cpu_before
    rows = {row["Name"]: row for row in csv.DictReader((out / f"{label}_stats.csv").open())}
    recorded = json.loads(shed_file.read_text()) if shed_file.exists() else {}
    failures_csv = out / f"{label}_failures.csv"
    failures = list(csv.DictReader(failures_csv.open())) if failures_csv.exists() else []
    shed = {"429": recorded.get("429", []), "503": recorded.get("503", [])}
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
    certs = recorded.get("cert_outcomes", [])
    ids = recorded.get("id_outcomes", [])
    since = (recorded.get("started") or 0) + warmup_s
    steady = [
        o for o in ids if o["status"] == 200 and since <= o["t"] <= since - warmup_s + seconds
    ]
    return {
        "label": label,
        "seconds": round(wall, 1),
        "requests": total,
        "errors": failed - shed_count,
        "error_ratio": round((failed - shed_count) / total, 4) if total else None,
        "shed_429": len(shed["429"]),
        "shed_503": len(shed["503"]),
        "retry_after_s": sorted({int(x) for x in shed["429"] + shed["503"]}),
        **_id_outcomes(ids),
        # answered per second of the run, leaving out the first warmup_s (cold caches)
        "id_answered_per_s": round(len(steady) / (seconds - warmup_s), 3),
        "cert_sent": len(certs),
        "cert_accepted": sum(1 for o in certs if o["status"] == 202),
        "cert_refused": sum(1 for o in certs if o["status"] in (429, 503)),
        "late_arrivals": len(recorded.get("late_arrivals", [])),
        "server_cpu_cores": round(cpu / wall, 2),
        # other work on the machine skews everything: say how busy it was
        "machine_load_1m": round(os.getloadavg()[0], 2),
        "kinds": kinds,
        "failure_kinds": [(f["Name"], f["Error"][:80], f["Occurrences"]) for f in failures][:6],
    }


def run_closed(args: argparse.Namespace, api_key: str, work: Path, out: Path) -> list[dict]:
    levels = [int(u) for u in args.users.split(",")]
    identities = work / "identities"
    make_identities(identities, 2 * max(levels))
    proc, url = start_server(work / "data", api_key, work / "serve.log")
    server = psutil.Process(proc.pid)
    results = []
    try:
        for users in levels:
            result = run_locust(
                url,
                api_key,
                label=f"u{users}",
                user_class="Applicant",
                users=users,
                spawn_rate=users,
                seconds=args.seconds,
                out=out,
                server=server,
                identities=identities,
            )
            result["users"] = users
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
    print(
        "\nID verifications: answered (slowest, after the deadline) / refused at admission / "
        "refused after waiting"
    )
    for r in results:
        print(
            f"{r['users']:>5} {r['id_answered']:>6} ({r['id_answered_max_s']} s, "
            f"{r['id_answered_after_deadline']}) / {r['id_refused_at_admission']} / "
            f"{r['id_refused_after_waiting']}"
        )
    return results


def run_open(args: argparse.Namespace, api_key: str, work: Path, out: Path) -> list[dict]:
    """The sustainable rate (unless ``--rates``), then each level of arrivals, every run
    against a fresh server."""
    identities = work / "identities"
    make_identities(identities, HOLDERS)

    def on_fresh_server(label: str, **kwargs: object) -> dict:
        data = work / f"data-{label}"
        proc, url = start_server(data, api_key, work / f"serve-{label}.log")
        try:
            return run_locust(
                url,
                api_key,
                label=label,
                server=psutil.Process(proc.pid),
                identities=identities,
                out=out,
                **kwargs,  # type: ignore[arg-type]
            )
        finally:
            proc.terminate()
            proc.wait(60)

    results = []
    if args.rates:
        levels = [(f"{float(r):g}/s", float(r)) for r in args.rates.split(",")]
        sustainable = None
    else:
        calibration = on_fresh_server(
            "sustainable",
            user_class="IdApplicant",
            users=args.calibrate_users,
            spawn_rate=args.calibrate_users,
            seconds=args.calibrate_seconds,
            warmup_s=CALIBRATION_WARMUP_S,
        )
        sustainable = calibration["id_answered_per_s"]
        calibration.update(mode="closed", offered_id_per_s=None)
        results.append(calibration)
        print(json.dumps(calibration, ensure_ascii=False), flush=True)
        if sustainable <= 0:
            raise RuntimeError("no verification was answered while measuring the rate")
        levels = [(f"{float(m):g}x", float(m) * sustainable) for m in args.multiples.split(",")]
    for name, rate in levels:
        id_users = max(1, round(rate * args.pacing))
        cert_users = round(args.cert_ratio * rate * args.pacing)
        users = id_users + cert_users
        result = on_fresh_server(
            name,
            user_class="Arrival",
            users=users,
            spawn_rate=users / args.pacing,
            seconds=max(args.seconds, int(args.pacing)),
            env_extra={
                "BENCH_PACING_S": f"{args.pacing:g}",
                "BENCH_CERT_SHARE": f"{cert_users / users:.6f}",
            },
        )
        result.update(
            mode="open",
            offered_id_per_s=round(id_users / args.pacing, 3),
            offered_cert_per_s=round(cert_users / args.pacing, 3),
        )
        results.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)

    print()
    if sustainable is not None:
        print(
            f"sustainable rate: {sustainable:.3f} ID verifications/s answered by "
            f"{args.calibrate_users} closed-loop users in {args.calibrate_seconds} s "
            f"(the first {CALIBRATION_WARMUP_S:g} s left out)"
        )
    print(
        f"open loop: {args.seconds} s per level; certificates beside at "
        f"{args.cert_ratio:.2f} x the ID rate; deadline {ID_DEADLINE_S:g} s\n"
    )
    head = (
        f"{'level':>11} {'offered':>7} {'sent':>5} {'200':>5} {'200/s':>6} {'p50':>5} "
        f"{'p95':>5} {'max':>5} {'late':>4} {'adm503':>6} {'RA adm':>7} {'wait503':>7} "
        f"{'RA wait':>7} {'noRA':>4} {'429':>3} {'err':>3} {'lateArr':>7} {'certs':>9}"
    )
    print(head)
    for r in results:
        if r.get("mode") != "open":
            continue
        print(
            f"{r['label']:>11} {r['offered_id_per_s']:>7.2f} {r['id_sent']:>5} "
            f"{r['id_answered']:>5} {r['id_answered_per_s']:>6.2f} "
            f"{_num(r['id_answered_p50_s']):>5} {_num(r['id_answered_p95_s']):>5} "
            f"{_num(r['id_answered_max_s']):>5} {r['id_answered_after_deadline']:>4} "
            f"{r['id_refused_at_admission']:>6} "
            f"{_range(r['id_refused_at_admission_retry_after_s']):>7} "
            f"{r['id_refused_after_waiting']:>7} "
            f"{_range(r['id_refused_after_waiting_retry_after_s']):>7} "
            f"{r['id_503_without_retry_after']:>4} {r['id_429']:>3} {r['id_errors']:>3} "
            f"{r['late_arrivals']:>7} {r['cert_accepted']:>4}/{r['cert_sent']:<4}"
        )
    print(
        "\n200: answered; late: answered after the deadline (must be 0); adm503 / wait503: "
        "refused at admission (QUEUE_UNAVAILABLE) / after waiting (DEADLINE_EXCEEDED), RA their "
        "Retry-After range in s; noRA: 503 without Retry-After (must be 0); lateArr: arrivals "
        "that waited on an answer (must be 0); certs: batches accepted / sent"
    )
    return results


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _range(span: list[int] | None) -> str:
    return "-" if span is None else f"{span[0]}-{span[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", default="1,2,4,24", help="closed loop: concurrency levels")
    parser.add_argument("--seconds", type=int, default=60, help="per level")
    parser.add_argument("--out", type=Path, default=None, help="keep locust's CSV files here")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    open_loop = parser.add_argument_group("open loop")
    open_loop.add_argument("--open-loop", action="store_true", help="fixed arrival rates")
    open_loop.add_argument("--multiples", default="2,4", help="of the sustainable rate")
    open_loop.add_argument(
        "--rates", default=None, help="ID verifications/s instead (no calibration)"
    )
    open_loop.add_argument("--calibrate-users", type=int, default=3)
    open_loop.add_argument("--calibrate-seconds", type=int, default=60)
    open_loop.add_argument(
        "--cert-ratio",
        type=float,
        default=3 / 7,
        help="certificate batches per ID verification arriving beside them (0: IDs only)",
    )
    open_loop.add_argument(
        "--pacing", type=float, default=PACING_S, help="seconds between one user's requests"
    )
    args = parser.parse_args(argv)
    api_key = secrets.token_urlsafe(24)
    work = Path(tempfile.mkdtemp(prefix="bench-locust-"))
    out = args.out or work
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if args.open_loop:
        results = run_open(args, api_key, work, out)
    else:
        results = run_closed(args, api_key, work, out)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"\ntook {time.monotonic() - started:.0f} s; server logs and locust CSVs: {work} {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

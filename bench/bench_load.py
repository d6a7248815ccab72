"""Load run against ``ocr-service serve`` on loopback (embedded default), bounded in time.

A realistic mix from N concurrent clients (asyncio + httpx): 70 % ID
verifications on golden pairs, 30 % certificate traffic (a one-file batch
upload or a status poll of an earlier batch). For each concurrency level it
prints sustained ID verifications per second, p50/p95/p99 latency of ID
verifications, the error ratio (anything but 2xx/429/503) and how many requests
were turned away with 429/503 (+ Retry-After) once past the sustainable rate.

    python bench/bench_load.py [--levels 1,2,4,8,32] [--duration 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_overhead import API_KEY, ROOT, Server, golden_pairs, id_files, percentile

CERTS = ROOT / "samples" / "golden" / "certificates"


@dataclass
class Stats:
    id_latency_ms: list[float] = field(default_factory=list)
    ok: int = 0
    turned_away: int = 0  # 429 / 503 with Retry-After
    missing_retry_after: int = 0
    errors: int = 0
    other: int = 0


async def client_loop(
    client,
    url: str,
    deadline: float,
    stats: Stats,
    pairs: list[dict],  # type: ignore[no-untyped-def]
    certs: list[tuple[str, bytes]],
    batches: list[str],
    rng: random.Random,
) -> None:
    headers = {"X-API-Key": API_KEY}
    while time.monotonic() < deadline:
        roll = rng.random()
        started = time.perf_counter()
        try:
            if roll < 0.7:
                pair = rng.choice(pairs)
                response = await client.post(
                    f"{url}/v1/id-verifications",
                    headers={**headers, "X-End-User": f"u{rng.randrange(10**6)}"},
                    files=id_files(pair),
                    data={
                        "declared_name": pair["declared_name"],
                        "declared_id_number": pair["declared_id_number"],
                    },
                )
                if response.status_code == 200:
                    stats.id_latency_ms.append((time.perf_counter() - started) * 1000)
            elif roll < 0.85 or not batches:
                name, data = rng.choice(certs)
                response = await client.post(
                    f"{url}/v1/certificate-batches",
                    headers=headers,
                    files=[("files", (name, data, "image/jpeg"))],
                )
                if response.status_code == 202:
                    batches.append(response.json()["id"])
            else:
                response = await client.get(
                    f"{url}/v1/certificate-batches/{rng.choice(batches)}", headers=headers
                )
        except Exception:  # a timeout or a dropped connection is an error for this benchmark
            stats.errors += 1
            continue
        if response.status_code in (200, 202):
            stats.ok += 1
        elif response.status_code in (429, 503):
            stats.turned_away += 1
            if "retry-after" not in response.headers:
                stats.missing_retry_after += 1
            await asyncio.sleep(min(1.0, float(response.headers.get("retry-after", "1"))))
        elif response.status_code >= 500:
            stats.errors += 1
        else:
            stats.other += 1


async def run_level(
    url: str, concurrency: int, duration: float, pairs: list[dict], certs: list[tuple[str, bytes]]
) -> tuple[Stats, float]:
    import httpx

    stats = Stats()
    batches: list[str] = []
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        started = time.monotonic()
        deadline = started + duration
        await asyncio.gather(
            *(
                client_loop(client, url, deadline, stats, pairs, certs, batches, random.Random(i))
                for i in range(concurrency)
            )
        )
        elapsed = time.monotonic() - started
    return stats, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--levels", default="1,2,4,8,32", help="concurrent clients per level")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level")
    args = parser.parse_args()
    pairs = golden_pairs()
    certs = [(p.name, p.read_bytes()) for p in sorted(CERTS.glob("*+*.jpg"))[:4]]
    print(
        f"cpus={os.cpu_count()}, {args.duration:.0f} s per level, mix 70 % ID / 30 % certificates"
    )
    print(
        f"{'clients':>7}{'ID/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'ok':>6}{'429/503':>8}"
        f"{'errors':>7}{'4xx':>5}"
    )
    with Server() as server:
        for level in [int(x) for x in args.levels.split(",")]:
            stats, elapsed = asyncio.run(run_level(server.url, level, args.duration, pairs, certs))
            lat = stats.id_latency_ms or [float("nan")]
            total = stats.ok + stats.turned_away + stats.errors + stats.other
            print(
                f"{level:>7}{len(stats.id_latency_ms) / elapsed:>7.2f}{percentile(lat, 50):>8.0f}"
                f"{percentile(lat, 95):>8.0f}{percentile(lat, 99):>8.0f}"
                f"{stats.ok:>6}{stats.turned_away:>8}"
                f"{stats.errors:>7}{stats.other:>5}"
                + (f"  error ratio {stats.errors / total:.3f}" if stats.errors else "")
                + (
                    f"  ({stats.missing_retry_after} without Retry-After)"
                    if stats.missing_retry_after
                    else ""
                )
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

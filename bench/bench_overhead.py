"""Overhead of the HTTP + queue path over calling the ID pipeline in-process.

Starts ``ocr-service serve`` (embedded default: in-process queue, SQLite) on
loopback, then alternates, on the same golden pairs, a direct ``verify_id_card``
call in this process and a ``POST /v1/id-verifications`` to the server, one at a
time so the two never compete for the cores. Prints p50/p95 of each and the
overhead at p50 (target: under 15 %).

    python bench/bench_overhead.py [--rounds 6]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "samples" / "golden" / "id"
API_KEY = "bench-" + secrets.token_hex(16)
PAIRS = ("good_a", "good_b", "good_c", "long_term_validity")


def golden_pairs(names: tuple[str, ...] = PAIRS) -> list[dict]:
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    chosen = [p for p in manifest["pairs"] if p["name"] in names]
    for pair in chosen:
        pair["front_bytes"] = (GOLDEN / pair["front"]).read_bytes()
        pair["back_bytes"] = (GOLDEN / pair["back"]).read_bytes()
    return chosen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``ocr-service serve`` in a fresh data directory, on a random loopback port."""

    def __init__(self, **env: str) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ocr-bench-"))
        self.env = {
            **os.environ,
            "OCR_SERVICE_DATA_DIR": str(self.dir / "data"),
            "OCR_SERVICE_API_KEYS": f"bench:{API_KEY}",
            "OCR_SERVICE_SECRET_KEY": secrets.token_urlsafe(48),
            "OCR_SERVICE_ATTEMPTS_PER_ID_NUMBER": "100000",
            "OCR_SERVICE_FAILURES_PER_REQUESTER": "100000",
            "OCR_SERVICE_REQUESTS_PER_MINUTE_PER_KEY": "1000000",
            "OCR_SERVICE_REQUESTS_PER_MINUTE_PER_CLIENT": "1000000",
            "OCR_SERVICE_LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        import httpx

        exe = Path(sys.executable).parent / "ocr-service"
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=(self.dir / "serve.log").open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "serve.log").read_text()[-2000:])
            time.sleep(0.2)
        raise TimeoutError("server did not become healthy")

    def __exit__(self, *_: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def id_files(pair: dict) -> dict:
    return {
        "front": ("front.jpg", pair["front_bytes"], "image/jpeg"),
        "back": ("back.jpg", pair["back_bytes"], "image/jpeg"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=6, help="passes over the golden pairs")
    parser.add_argument("--threads", type=int, default=2, help="ONNX threads, both sides")
    args = parser.parse_args()

    import httpx

    sys.path.insert(0, str(ROOT))
    from pipelines.id_card import Declaration, IdCardConfig, verify_id_card
    from pipelines.ocr import OcrConfig, create_engine

    pairs = golden_pairs()
    engine = create_engine(OcrConfig(threads=args.threads))
    config = IdCardConfig()
    inproc: list[float] = []
    http: list[float] = []
    with (
        Server(OCR_SERVICE_OCR__THREADS=str(args.threads)) as server,
        httpx.Client(timeout=120) as client,
    ):
        for warm in pairs:  # warm both sides once
            verify_id_card(
                warm["front_bytes"],
                warm["back_bytes"],
                Declaration(warm["declared_name"], warm["declared_id_number"]),
                engine=engine,
                config=config,
            )
            client.post(
                f"{server.url}/v1/id-verifications",
                headers={"X-API-Key": API_KEY},
                files=id_files(warm),
                data={
                    "declared_name": warm["declared_name"],
                    "declared_id_number": warm["declared_id_number"],
                },
            )
        for _ in range(args.rounds):
            for pair in pairs:
                started = time.perf_counter()
                result = verify_id_card(
                    pair["front_bytes"],
                    pair["back_bytes"],
                    Declaration(pair["declared_name"], pair["declared_id_number"]),
                    engine=engine,
                    config=config,
                )
                inproc.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                response = client.post(
                    f"{server.url}/v1/id-verifications",
                    headers={"X-API-Key": API_KEY},
                    files=id_files(pair),
                    data={
                        "declared_name": pair["declared_name"],
                        "declared_id_number": pair["declared_id_number"],
                    },
                )
                http.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text
                assert response.json()["status"] == result.status, (response.json(), result.status)

    p50_in, p50_http = statistics.median(inproc), statistics.median(http)
    print(
        f"golden pairs: {', '.join(p['name'] for p in pairs)}; {len(inproc)} calls each way, "
        f"ONNX threads={args.threads}, cpus={os.cpu_count()}"
    )
    print(f"{'path':<28}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'in-process verify_id_card':<28}{p50_in:>10.0f}{percentile(inproc, 95):>10.0f}")
    print(f"{'HTTP + queue (serve)':<28}{p50_http:>10.0f}{percentile(http, 95):>10.0f}")
    overhead = (p50_http - p50_in) / p50_in * 100
    print(f"overhead at p50: {p50_http - p50_in:+.0f} ms ({overhead:+.1f} %), target < 15 %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

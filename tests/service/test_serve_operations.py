"""``ocr-service serve`` as operators run it (Granian, embedded queue, real engine), over
real sockets on 127.0.0.1: slow request heads and the SIGTERM drain."""

from __future__ import annotations

import concurrent.futures
import contextlib
import selectors
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hostile.server import HEADERS, ServeProcess
from tests.service.support import id_photo_pair

HEAD_TIMEOUT_S = 3.0
DRAIN_TIMEOUT_S = 30.0


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeProcess]:
    proc = ServeProcess(
        tmp_path / "data",
        tmp_path / "serve.log",
        OCR_SERVICE_OPS__HEAD_TIMEOUT_S=str(HEAD_TIMEOUT_S),
        OCR_SERVICE_OPS__DRAIN_TIMEOUT_S=str(DRAIN_TIMEOUT_S),
        OCR_SERVICE_OPS__ID_DEADLINE_S="60",  # this test is about the drain, not admission
        OCR_SERVICE_REQUESTS_PER_MINUTE_PER_CLIENT="100000",
    )
    proc.start()
    yield proc
    proc.stop()


def test_600_slow_heads_neither_starve_healthz_nor_stay_open(serve: ServeProcess) -> None:
    count = 600
    selector = selectors.DefaultSelector()
    socks = []
    for _ in range(count):
        s = serve.connect()
        s.sendall(b"POST /v1/id-verifications HTTP/1.1\r\nHost: x\r\n")
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        socks.append(s)
    started = time.monotonic()
    closed: dict[int, float] = {}
    health: list[float] = []
    next_tick = started
    while len(closed) < count and time.monotonic() < started + HEAD_TIMEOUT_S + 10:
        now = time.monotonic()
        if now >= next_tick:
            for s in socks:
                if s.fileno() not in closed:
                    with contextlib.suppress(OSError):
                        s.send(b"X")  # trickle: one byte of a header name per second
            next_tick = now + 1.0
            health.append(serve.healthz_seconds())
        for key, _ in selector.select(timeout=0.05):
            s = key.fileobj
            assert isinstance(s, socket.socket)
            with contextlib.suppress(OSError):
                s.recv(65536)
            closed[s.fileno()] = time.monotonic() - started
            selector.unregister(s)
    for s in socks:
        s.close()
    assert len(closed) == count, f"{count - len(closed)} slow heads still open"
    latest = max(closed.values())
    assert latest < HEAD_TIMEOUT_S + 2, f"last slow head closed after {latest:.1f} s"
    assert health and max(health) < 3.0, f"/healthz took up to {max(health):.2f} s"
    print(f"600 slow heads: closed by {latest:.2f} s, /healthz max {max(health):.3f} s")


def test_sigterm_answers_the_10_verifications_in_flight_then_exits(serve: ServeProcess) -> None:
    pairs = [id_photo_pair(300 + i) for i in range(10)]

    def verify(pair: tuple[bytes, bytes, str, str]) -> httpx.Response:
        front, back, name, number = pair
        return httpx.post(
            serve.base_url + "/v1/id-verifications",
            headers=HEADERS,
            files={"front": ("f.jpg", front, "image/jpeg"), "back": ("b.jpg", back, "image/jpeg")},
            data={"declared_name": name, "declared_id_number": number},
            timeout=60,
        )

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(verify, pair) for pair in pairs]
        deadline = time.monotonic() + 20
        while _in_flight(serve) < 10:  # every request arrived, none answered yet
            assert time.monotonic() < deadline and not any(f.done() for f in futures)
            time.sleep(0.02)
        signalled = time.monotonic()
        assert serve.proc is not None
        serve.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        with contextlib.suppress(httpx.HTTPError):  # refused, or 503 while draining
            late = httpx.get(serve.base_url + "/readyz", timeout=5)
            assert late.status_code == 503
        answers = [f.result() for f in futures]
    assert [r.status_code for r in answers] == [200] * 10, [
        (r.status_code, r.text[:300]) for r in answers if r.status_code != 200
    ]
    assert {r.json()["status"] for r in answers} <= {"verified", "rejected"}
    serve.proc.wait(DRAIN_TIMEOUT_S + 5)
    exited = time.monotonic() - signalled
    assert serve.proc.returncode == 0, serve.log_path.read_text()[-2000:]
    assert exited < DRAIN_TIMEOUT_S, f"exited {exited:.1f} s after SIGTERM"
    print(f"SIGTERM with 10 in flight: all answered, exit after {exited:.2f} s")


def _in_flight(serve: ServeProcess) -> float:
    text = httpx.get(serve.base_url + "/metrics", headers=HEADERS, timeout=5).text
    for line in text.splitlines():
        if line.startswith("ocr_http_requests_in_flight "):
            return float(line.split()[1])
    return 0.0

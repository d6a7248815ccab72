"""``ocr-service serve`` as a real process on loopback, for replays over real sockets.

tests/service/support.py has the Redis, PostgreSQL and worker processes; the
API itself is started here the way an operator starts it (the CLI, uvicorn's
own limits), so what the hostile tests measure is what production runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

from tests.service.conftest import API_KEY, SECRET
from tests.service.support import free_port

HEADERS = {"X-API-Key": API_KEY}


class ServeProcess:
    def __init__(self, data_dir: Path, log_path: Path, **env: str) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.log_path = log_path
        self.env = {
            **os.environ,
            "OCR_SERVICE_DATA_DIR": str(data_dir),
            "OCR_SERVICE_SECRET_KEY": SECRET,
            "OCR_SERVICE_API_KEYS": f"tester:{API_KEY}",
            "OCR_SERVICE_OCR__THREADS": "1",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.pid)

    def start(self, timeout: float = 120.0) -> None:
        exe = str(Path(sys.executable).parent / "ocr-service")
        self.proc = subprocess.Popen(
            [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited: {self.log_path.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"serve not healthy: {self.log_path.read_text()[-3000:]}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return sock

    def healthz_seconds(self) -> float:
        started = time.perf_counter()
        r = httpx.get(self.base_url + "/healthz", timeout=10)
        assert r.status_code == 200, r.text
        return time.perf_counter() - started

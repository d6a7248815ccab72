"""Test support: real Redis and PostgreSQL servers, sample inputs, a fake engine.

The servers are started from the Debian binaries when they exist (``.ci/run``
installs them); tests that need them are marked ``services`` and skip otherwise.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PG_BIN = Path("/usr/lib/postgresql/15/bin")
REDIS_SERVER = shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.5),
        ):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {port}")


def have_redis() -> bool:
    return REDIS_SERVER is not None


def have_postgres() -> bool:
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists()


class RedisServer:
    """A throw-away ``redis-server``: random port, no persistence, its own directory."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ocr-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--protected-mode",
                "yes",
            ],
            stdout=(self.dir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def all_bytes(self) -> bytes:
        """Every key and value in the server (DUMP), for the canary search."""
        import redis

        client = redis.Redis(port=self.port)
        out = bytearray()
        for key in client.scan_iter(count=1000):
            out += key
            out += client.dump(key) or b""
        client.close()
        return bytes(out)


class PostgresCluster:
    """A throw-away PostgreSQL cluster (``initdb`` + ``pg_ctl``), run as ``postgres`` when root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ocr-pg-"))
        self.data = self.dir / "data"
        self.sockets = self.dir / "sock"
        self.sockets.mkdir()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            for path in (self.dir, self.sockets):
                os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(self.dir, 0o755)

    def _run(self, args: Sequence[str], **kwargs: object) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        subprocess.run(
            [*prefix, *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            **kwargs,
        )  # type: ignore[call-overload]

    def start(self) -> None:
        self._run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale",
                "C",
            ]
        )
        self._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "pg.log"),
                "-w",
                "start",
                "-o",
                f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            ]
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


# sample inputs ---------------------------------------------------------------------


@functools.cache
def id_photo_pair(seed: int, *, hmt: bool = False) -> tuple[bytes, bytes, str, str]:
    """(front JPEG, back JPEG, name, number) of a fictional holder, photographed cleanly."""
    from samples.id_card.generate import GOLDEN_FRAME
    from samples.id_card.identities import make_identity
    from samples.id_card.photo import PhotoSpec, photograph
    from samples.id_card.render import render

    person = make_identity(
        seed,
        rare_name=False,
        compound_surname=False,
        check_x=False,
        age_at_issue=30,
        hmt_prefix="810000" if hmt else None,
    )
    out = []
    for side in ("front", "back"):
        card, layout = render(person, side)
        data, _truth = photograph(
            card, PhotoSpec(seed=seed, frame=GOLDEN_FRAME, noise=1.2, jpeg_quality=80), layout
        )
        out.append(data)
    return out[0], out[1], person.name, person.id_number


def with_jpeg_comment(jpeg: bytes, comment: bytes) -> bytes:
    """Insert a COM segment right after SOI: decodes the same, carries ``comment``."""
    assert jpeg[:2] == b"\xff\xd8"
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return jpeg[:2] + segment + jpeg[2:]


def certificate_scan(seed: int, **overrides: object) -> tuple[str, bytes]:
    """(canonical filename, JPEG bytes) of a generated certificate page."""
    import random

    from samples.certificate.generate import canonical_filename, make_scan_bytes, random_spec

    spec = random_spec(random.Random(seed), **overrides)
    return canonical_filename(spec), make_scan_bytes(spec, seed)


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 200, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def ghost_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` with almost no data (a pixel bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


# a fake engine, for tests about queue mechanics only -------------------------------------


@dataclass
class FakeEngine:
    """Reads nothing. Only for tests whose subject is queueing, not recognition."""

    name: str = "fake"
    delay_s: float = 0.0

    def detect(self, image: np.ndarray) -> list[np.ndarray]:
        time.sleep(self.delay_s)
        return []

    def classify(self, crops: Sequence[np.ndarray]) -> list[tuple[bool, float]]:
        return [(False, 1.0) for _ in crops]

    def recognize(self, crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
        return [("", 0.0) for _ in crops]

    def read(self, image: np.ndarray, *, classify: bool = True):  # type: ignore[no-untyped-def]
        from pipelines.ocr import OcrResult

        time.sleep(self.delay_s)
        return OcrResult(())


def search_tree(root: Path, needles: Sequence[bytes]) -> list[str]:
    """Files under ``root`` containing any needle (what and where)."""
    hits = []
    for path in root.rglob("*"):
        if path.is_file():
            try:
                data = path.read_bytes()
            except OSError:
                continue
            hits.extend(f"{path}: {needle[:12]!r}" for needle in needles if needle in data)
    return hits


def iter_chunks(data: bytes, size: int) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


class WorkerProcess:
    """``ocr-service worker`` as a separate process group, so SIGKILL takes parent and children."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        queues: str = "id,certificates",
        concurrency: int = 1,
    ) -> None:
        self.env = {**os.environ, **env}
        self.log_path = log_path
        self.args = [
            str(Path(sys.executable).parent / "ocr-service"),
            "worker",
            "--queues",
            queues,
            "--concurrency",
            str(concurrency),
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_path.read_text()[-3000:]}")
            if b"ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise TimeoutError(f"worker not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


GOLDEN_ID = Path(__file__).resolve().parents[2] / "samples" / "golden" / "id"


def golden_pair(name: str) -> tuple[bytes, bytes, str, str, dict]:  # type: ignore[type-arg]
    """(front, back, declared name, declared number, manifest entry) of a golden case."""
    import json

    manifest = json.loads((GOLDEN_ID / "manifest.json").read_text())
    pair = next(p for p in manifest["pairs"] if p["name"] == name)
    return (
        (GOLDEN_ID / pair["front"]).read_bytes(),
        (GOLDEN_ID / pair["back"]).read_bytes(),
        pair["declared_name"],
        pair["declared_id_number"],
        pair,
    )

"""Upload limits are enforced while the body streams in (ocr_service.api.uploads).

These tests send requests through httpx's ASGI transport with generator bodies,
so they can see how much of a body the server actually read. The limits bite
before any pipeline runs, so the fake engine is enough here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from ocr_service.main import create_app
from tests.service.conftest import HEADERS
from tests.service.support import FakeEngine

BOUNDARY = "testboundary0123"
CT = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()


class Body:
    """An async body that records how many bytes the server pulled."""

    def __init__(
        self,
        chunks: list[bytes] | None = None,
        *,
        repeat: bytes = b"",
        times: int = 0,
        delay: float = 0.0,
    ) -> None:
        self.chunks = chunks or []
        self.repeat, self.times, self.delay = repeat, times, delay
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += len(chunk)
            yield chunk
        for _ in range(self.times):
            if self.delay:
                await asyncio.sleep(self.delay)
            self.sent += len(self.repeat)
            yield self.repeat


@pytest.fixture
def app(make_settings):  # type: ignore[no-untyped-def]
    application = create_app(
        make_settings(body_timeout_s=1.0), engine=FakeEngine(), configure_logs=False
    )
    return application


async def send(
    app,
    body: Body,
    headers: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
    path: str = "/v1/id-verifications",
) -> httpx.Response:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                path, content=body, headers={**HEADERS, **CT, **(headers or {})}
            )


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


MB = 1024 * 1024


def test_declared_length_over_the_cap_is_refused_before_reading(app) -> None:  # type: ignore[no-untyped-def]
    body = Body(repeat=b"x" * 65536, times=176)  # 11 MB
    r = run(send(app, body, {"Content-Length": str(11 * MB)}))
    assert r.status_code == 413 and r.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert body.sent <= 65536


def test_chunked_body_over_the_cap_stops_at_the_cap(app) -> None:  # type: ignore[no-untyped-def]
    body = Body([part("front", b"", "a.jpg")[:-2]], repeat=b"x" * 65536, times=176)
    r = run(send(app, body))
    assert r.status_code == 413
    assert body.sent <= 10 * MB + 2 * 65536


def test_lying_content_length_is_caught_on_actual_bytes(app) -> None:  # type: ignore[no-untyped-def]
    body = Body([part("front", b"", "a.jpg")[:-2]], repeat=b"x" * 65536, times=176)
    r = run(send(app, body, {"Content-Length": "1000"}))
    assert r.status_code in (400, 413)
    assert body.sent <= 10 * MB + 2 * 65536


@pytest.mark.parametrize(
    ("chunks", "status"),
    [
        ([part(f"f{i}", b"v") for i in range(1001)] + [END], 413),  # 1001 fields
        ([part("front", b"x", f"{i}.jpg") for i in range(1001)] + [END], 413),  # 1001 files
        ([part("declared_name", b"x" * 2 * MB), END], 413),  # 2 MB text field
        (
            [b"\r\n" * 100_000 + part("declared_name", b"x") + END],
            422,
        ),  # long preamble: parsed, fields missing
        (
            [f"--{BOUNDARY}\r\n".encode() + b"X-H: v\r\n" * 10_000 + b"\r\n" + END],
            400,
        ),  # 10k headers
        ([part("declared_name", b"x")], 400),  # never terminated
    ],
    ids=["fields", "files", "big-field", "preamble", "headers", "unterminated"],
)
def test_multipart_abuse_is_refused_fast(app, chunks, status) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    r = run(send(app, Body(chunks)))
    assert time.perf_counter() - started < 1.5
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == {"code", "message"}


def test_pathological_boundary_is_refused(app) -> None:  # type: ignore[no-untyped-def]
    r = run(send(app, Body([b"x"]), {"Content-Type": "multipart/form-data; boundary=" + "a" * 200}))
    assert r.status_code == 400


def test_slow_upload_is_cut_at_the_body_timeout(app) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    body = Body([part("front", b"", "a.jpg")[:-2]], repeat=b"x", times=100, delay=0.2)
    r = run(send(app, body))
    assert r.status_code == 408 and r.json()["error"]["code"] == "REQUEST_TIMEOUT"
    assert time.perf_counter() - started < 3.0


def test_id_endpoint_never_uses_starlettes_spooling_parser(app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import starlette.formparsers

    def forbidden(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("Starlette's form parser would spool to disk")

    monkeypatch.setattr(starlette.formparsers.MultiPartParser, "parse", forbidden)
    body = Body(
        [
            part("front", b"\x89PNG\r\n\x1a\n", "a.png"),
            part("back", b"x", "b.png"),
            part("declared_name", "张三".encode()),
            part("declared_id_number", b"110101199003070011"),
            END,
        ]
    )
    r = run(send(app, body))
    assert r.status_code in (415, 422)  # parsed by our reader; the bytes are not images

"""/qa hardening: bodies capped before any form parsing, an atomic login throttle, argon2
outside write transactions, one answer for every failed login, and an audit log that never
stores a typed name that is not an account."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from ocr_service.config import Settings
from ocr_service.dashboard import auth
from ocr_service.dashboard.tables import AuditEvent
from ocr_service.main import create_app
from ocr_service.storage.db import session_scope
from tests.dashboard.conftest import PASSWORD, REVIEWER
from tests.service.support import FakeEngine, free_port

# -- body caps, over a real socket ------------------------------------------------------


@pytest.fixture
def live(settings: Settings) -> Iterator[int]:
    """The app under uvicorn on loopback (in a thread), as ``serve`` runs it."""
    app = create_app(settings, engine=FakeEngine(), configure_logs=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield port
    server.should_exit = True
    thread.join(10)


def _temp_sizes() -> dict[Path, int]:
    root = Path(tempfile.gettempdir())
    out = {}
    for path in root.iterdir():
        with contextlib.suppress(OSError):
            if path.is_file():
                out[path] = path.stat().st_size
    return out


def _send_and_read(port: int, head: bytes, body_chunks: Iterator[bytes]) -> tuple[bytes, float]:
    """Send a request while reading the answer; returns (status line, seconds to it)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    started = time.perf_counter()
    sock.sendall(head)
    answer: list[bytes] = []
    elapsed: list[float] = []

    def read() -> None:
        with contextlib.suppress(OSError):
            data = sock.recv(4096)
            elapsed.append(time.perf_counter() - started)
            answer.append(data)

    reader = threading.Thread(target=read)
    reader.start()
    with contextlib.suppress(OSError):
        for chunk in body_chunks:
            if elapsed:
                break
            sock.sendall(chunk)
    reader.join(15)
    sock.close()
    assert answer and elapsed, "no answer"
    return answer[0].split(b"\r\n", 1)[0], elapsed[0]


def _megabytes(total: int, chunked: bool) -> Iterator[bytes]:
    block = b"A" * (1024 * 1024)
    for _ in range(total):
        yield (b"100000\r\n" + block + b"\r\n") if chunked else block


MULTIPART_50MB_HEAD = (
    b"POST /qa/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: multipart/form-data; boundary=xyz\r\n"
    b"Content-Length: 52428800\r\n\r\n"
)


def test_a_50_mb_login_body_is_refused_within_a_second_and_nothing_is_spooled(
    live: int,
) -> None:
    before = _temp_sizes()
    form_head = MULTIPART_50MB_HEAD.replace(
        b"multipart/form-data; boundary=xyz", b"application/x-www-form-urlencoded"
    )
    status, seconds = _send_and_read(live, form_head, _megabytes(50, chunked=False))
    assert status.startswith(b"HTTP/1.1 413"), status
    assert seconds < 1.0, seconds
    print(f"\n50 MB urlencoded body to /qa/login: {status.decode()} in {seconds * 1000:.1f} ms")
    # a multipart body (what Starlette would spool to a temporary file) never gets parsed
    status, seconds = _send_and_read(live, MULTIPART_50MB_HEAD, _megabytes(50, chunked=False))
    assert status.startswith(b"HTTP/1.1 415"), status
    assert seconds < 1.0, seconds
    print(f"50 MB multipart body to /qa/login: {status.decode()} in {seconds * 1000:.1f} ms")
    after = _temp_sizes()
    grown = {p: n for p, n in after.items() if n > before.get(p, 0) and n > 64 * 1024}
    assert not grown, grown


def test_a_chunked_body_without_a_length_is_cut_off_at_the_cap(live: int) -> None:
    before = _temp_sizes()
    head = (
        b"POST /qa/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    status, seconds = _send_and_read(live, head, _megabytes(50, chunked=True))
    assert status.startswith(b"HTTP/1.1 413"), status
    assert seconds < 1.0, seconds
    print(f"\nchunked 50 MB body to /qa/login: {status.decode()} in {seconds * 1000:.1f} ms")
    grown = {p: n for p, n in _temp_sizes().items() if n > before.get(p, 0) and n > 64 * 1024}
    assert not grown, grown


def test_a_slow_body_times_out() -> None:
    from ocr_service.dashboard.web import FormBodyGuard

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        raise AssertionError("the app must not be reached")

    guard = FormBodyGuard(app, max_bytes=1024, timeout_s=0.2)
    sent: list[dict] = []

    async def receive():  # type: ignore[no-untyped-def]
        await asyncio.sleep(5)
        return {"type": "http.request", "body": b"x", "more_body": False}

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/qa/login",
        "headers": [
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", b"10"),
        ],
    }
    asyncio.run(guard(scope, receive, send))
    assert sent[0]["status"] == 408


def test_other_content_types_are_refused_before_parsing(client: TestClient) -> None:
    client.get("/qa/login")
    r = client.post(
        "/qa/login",
        files={"name": ("a.txt", b"x" * 2000, "text/plain")},
        data={"csrf_token": client.cookies.get("qa_login")},
    )
    assert r.status_code == 415
    r = client.post(
        "/qa/login", content=b'{"name": "x"}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 415
    # an ordinary form still works
    r = client.post(
        "/qa/login",
        data={"name": REVIEWER, "password": PASSWORD, "csrf_token": client.cookies.get("qa_login")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/qa"


# -- one answer, the audit trail ------------------------------------------------------------


def _post_login(client: TestClient, name: str, password: str) -> httpx.Response:
    return client.post(
        "/qa/login",
        data={"name": name, "password": password, "csrf_token": client.cookies.get("qa_login")},
        follow_redirects=False,
    )


def test_unknown_locked_and_wrong_get_one_answer(client: TestClient) -> None:
    client.get("/qa/login")
    unknown = _post_login(client, "nobody-here", "whatever password")
    wrong = _post_login(client, REVIEWER, "wrong password!")
    for _ in range(4):
        _post_login(client, REVIEWER, "wrong password!")
    locked = _post_login(client, REVIEWER, PASSWORD)  # right password, account locked
    assert unknown.status_code == wrong.status_code == locked.status_code == 303
    assert unknown.headers["location"] == wrong.headers["location"] == locked.headers["location"]
    pages = {client.get(r.headers["location"]).text for r in (unknown, wrong, locked)}
    assert len(pages - {""}) == 1


def test_the_audit_log_names_only_real_accounts(client: TestClient, session_factory) -> None:  # type: ignore[no-untyped-def]
    typed = "MyS3cretPassw0rd!"  # a password typed into the name field
    client.get("/qa/login")
    _post_login(client, typed, "anything at all")
    _post_login(client, typed, "anything at all")
    _post_login(client, REVIEWER, "wrong password!")
    with session_scope(session_factory) as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        failed = [(r.reviewer, dict(r.detail)) for r in rows if r.action == "login_failed"]
    assert failed[2] == (REVIEWER, {})
    assert failed[0][0] is None and failed[0] == failed[1]  # the same hash, comparable
    assert set(failed[0][1]) == {"name_hash"} and typed not in failed[0][1]["name_hash"]
    assert not any(typed in str(r) for r in failed)


# -- the throttle under 40 parallel attempts --------------------------------------------------


async def _parallel_logins(client_app, names: list[str], password: str) -> Counter[int]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=client_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        page = await http.get("/qa/login")
        token = page.cookies.get("qa_login") or http.cookies.get("qa_login")

        async def one(name: str) -> int:
            r = await http.post(
                "/qa/login",
                data={"name": name, "password": password, "csrf_token": token},
                follow_redirects=False,
            )
            return r.status_code

        return Counter(await asyncio.gather(*(one(n) for n in names)))


def _count_argon2(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    real = auth._verify

    def counting(stored: str, password: str) -> bool:
        checked.append(stored)
        return real(stored, password)

    monkeypatch.setattr(auth, "_verify", counting)
    return checked


def test_forty_parallel_logins_from_one_address_hold_the_address_limit(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, session_factory
) -> None:  # type: ignore[no-untyped-def]
    limit = client.app.state.dashboard.throttle.limit  # type: ignore[attr-defined]
    checked = _count_argon2(monkeypatch)
    statuses = asyncio.run(
        _parallel_logins(client.app, [f"nobody-{i}" for i in range(40)], "wrong password!")
    )
    print(f"\n40 parallel logins, one address, limit {limit}: {dict(statuses)}")
    assert statuses[303] == limit and statuses[429] == 40 - limit, statuses
    assert len(checked) == limit


def test_forty_parallel_logins_on_one_account_check_at_most_the_lockout_count(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, session_factory
) -> None:  # type: ignore[no-untyped-def]
    dash = client.app.state.dashboard  # type: ignore[attr-defined]
    dash.throttle.limit = 1000  # this test is about the account lock
    checked = _count_argon2(monkeypatch)
    statuses = asyncio.run(_parallel_logins(client.app, [REVIEWER] * 40, "wrong password!"))
    real_checks = [h for h in checked if h != auth._DUMMY_HASH]
    print(
        f"\n40 parallel bad logins on one account: {len(real_checks)} password checks "
        f"(lockout after {dash.config.max_failed_logins}), answers {dict(statuses)}"
    )
    assert len(real_checks) == dash.config.max_failed_logins
    assert statuses == Counter({303: 40})
    # and the account is locked now: the right password is refused too
    assert asyncio.run(_parallel_logins(client.app, [REVIEWER], PASSWORD)) == Counter({303: 1})
    with session_scope(session_factory) as session:
        actions = Counter(session.scalars(select(AuditEvent.action)).all())
    assert actions["login"] == 0 and actions["login_locked"] >= 35


def test_argon2_runs_outside_any_write_transaction(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, session_factory
) -> None:  # type: ignore[no-untyped-def]
    """While the password is being checked another writer gets the database at once."""
    from ocr_service.storage import repository as repo

    waits: list[float] = []
    real = auth._verify

    def check_while_writing(stored: str, password: str) -> bool:
        def write() -> None:
            started = time.perf_counter()
            with session_scope(session_factory) as session:
                repo.record_failure(
                    session,
                    scope=repo.Scope.REQUESTER,
                    key_hash="w" * 64,
                    day="2026-01-01",
                    now=datetime.now(UTC),
                )
            waits.append(time.perf_counter() - started)

        writer = threading.Thread(target=write)
        writer.start()
        writer.join(3)
        return real(stored, password)

    monkeypatch.setattr(auth, "_verify", check_while_writing)
    client.get("/qa/login")
    assert _post_login(client, "nobody", "wrong password!").status_code == 303
    assert _post_login(client, REVIEWER, PASSWORD).headers["location"] == "/qa"
    assert len(waits) == 2 and max(waits) < 1.0, waits


def test_flagged_numbers_are_listed_for_operators(client: TestClient, session_factory) -> None:  # type: ignore[no-untyped-def]
    from ocr_service.dashboard.queries import today_in
    from ocr_service.storage import repository as repo
    from tests.dashboard.conftest import login

    with session_scope(session_factory) as session:
        repo.flag_number(
            session,
            id_number_hash="f" * 64,
            day=today_in("Asia/Shanghai").isoformat(),
            masked_id_number="420300********710X",
            failures=7,
            now=datetime.now(UTC),
        )
    login(client)
    assert "/qa/flagged-numbers" in client.get("/qa").text
    page = client.get("/qa/flagged-numbers")
    assert page.status_code == 200 and "420300********710X" in page.text

"""Issue 10: the abuse model of the attempt lock, manual-review quotas, and the smaller
storage items (key file, file modes, hidden bound parameters, unique key names, audit rows
for withdrawal and retention expiry, the plain-http warning)."""

from __future__ import annotations

import asyncio
import os
import stat
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from ocr_service.cli import app as cli
from ocr_service.config import Settings
from ocr_service.dashboard.tables import AuditEvent
from ocr_service.main import create_app
from ocr_service.storage import repository as repo
from ocr_service.storage.db import make_engine, session_scope
from tests.service.conftest import API_KEY, HEADERS, SECRET
from tests.service.support import FakeEngine, id_photo_pair, tiny_png
from tests.service.test_api_id import form

# -- the attempt lock: a stranger cannot lock the owner out -----------------------------


def _verify(client, photos, name, number, user):  # type: ignore[no-untyped-def]
    front, back = photos
    return client.post(
        "/v1/id-verifications",
        headers={**HEADERS, "X-End-User": user},
        **form(front, back, name, number),
    )


def test_a_stranger_locks_only_themselves_and_the_number_is_flagged(
    client_for, make_settings
) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(number_flag_failures=4))
    front, back, name, number = id_photo_pair(31)
    junk = (tiny_png(640, 480), tiny_png(640, 480))  # no card in the photo
    runtime = client.app.state.runtime

    def flagged() -> list[str]:
        with session_scope(runtime.session_factory) as session:
            return [f.masked_id_number for f in repo.list_flagged_numbers(session)]

    for i in range(3):  # end user X fails three times on N
        r = _verify(client, junk, name, number, "stranger-x")
        assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
        assert r.json()["attempts_remaining"] == 2 - i
    locked = _verify(client, (front, back), name, number, "stranger-x")
    assert locked.json()["status"] == "locked"  # X is locked for the day, even with good photos
    assert locked.json()["reasons"][0]["code"] == "ATTEMPTS_EXCEEDED"
    assert flagged() == []  # 3 failures across users: under the threshold of 4

    owner = _verify(client, (front, back), name, number, "owner-y")  # Y, the owner
    assert owner.status_code == 200 and owner.json()["status"] == "verified", owner.text
    assert owner.json()["attempts_remaining"] == 3

    assert _verify(client, junk, name, number, "stranger-z").json()["status"] == "rejected"
    assert flagged() == [number[:6] + "********" + number[-4:]]  # 4 failures: flagged
    assert _verify(client, junk, name, number, "stranger-w").json()["status"] == "rejected"
    with session_scope(runtime.session_factory) as session:
        rows = repo.list_flagged_numbers(session)
        assert len(rows) == 1 and rows[0].failures == 5  # one row, updated
    # the owner is still not locked
    again = _verify(client, (front, back), name, number, "owner-y")
    assert again.json()["status"] == "verified"


def test_rotating_end_users_buys_nothing_against_the_key_budget(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(failures_per_api_key=4), engine=FakeEngine())
    _, _, name, number = id_photo_pair(32)
    junk = (tiny_png(64, 64), tiny_png(64, 64))
    answers = [_verify(client, junk, name, number, f"user-{i}").status_code for i in range(6)]
    assert answers[:4] == [200] * 4 and answers[4:] == [429, 429], answers
    r = _verify(client, junk, name, number, "user-fresh")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "API key" in r.json()["error"]["message"]


# -- manual-review quotas ---------------------------------------------------------------


def _submit(client, user: str, document_type: str = "passport", image: bytes | None = None):  # type: ignore[no-untyped-def]
    png = image or tiny_png(64, 48)
    return client.post(
        "/v1/id-verifications",
        headers={**HEADERS, "X-End-User": user},
        **form(png, png, "JOHN SMITH", "E12345678", document_type=document_type),
    )


def test_one_pending_submission_per_end_user_and_document_type(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(), engine=FakeEngine())
    first = _submit(client, "u1")
    assert first.status_code == 202
    second = _submit(client, "u1")
    assert second.status_code == 409 and second.json()["error"]["code"] == "CONFLICT"
    assert _submit(client, "u1", "hk_macau_permit").status_code == 202  # another type
    assert _submit(client, "u2").status_code == 202  # another end user
    withdrawn = client.post(f"/v1/id-verifications/{first.json()['id']}/withdraw", headers=HEADERS)
    assert withdrawn.status_code == 200
    assert _submit(client, "u1").status_code == 202  # free again once withdrawn


def test_parallel_submissions_of_one_end_user_store_one(make_settings) -> None:  # type: ignore[no-untyped-def]
    app = create_app(make_settings(), engine=FakeEngine(), configure_logs=False)
    png = tiny_png(64, 48)

    async def run() -> Counter[int]:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:

                async def one() -> int:
                    r = await http.post(
                        "/v1/id-verifications",
                        headers={**HEADERS, "X-End-User": "same"},
                        **form(png, png, "JOHN SMITH", "E12345678", document_type="passport"),
                    )
                    return r.status_code

                return Counter(await asyncio.gather(*(one() for _ in range(10))))

    counts = asyncio.run(run())
    assert counts == Counter({202: 1, 409: 9}), counts
    reviews = app.state.runtime.store.root / "reviews"
    assert len(list(reviews.iterdir())) == 1  # the losers' images were deleted


def test_a_global_pending_cap_answers_429(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(review_max_pending=3), engine=FakeEngine())
    assert [_submit(client, f"u{i}").status_code for i in range(3)] == [202] * 3
    refused = _submit(client, "u9")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_review_images_are_reencoded_and_capped(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    client = client_for(
        make_settings(review_max_long_side=1024, review_max_image_bytes=300 * 1024),
        engine=FakeEngine(),
    )
    noise = np.random.default_rng(1).integers(0, 255, (1200, 1800, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG", quality=90)
    trailing = b"TRAILING-" + os.urandom(1024 * 1024)  # 1 MB after the end marker
    upload = buffer.getvalue() + trailing
    r = _submit(client, "big", image=upload)
    assert r.status_code == 202, r.text
    from ocr_service.services.id_verification import read_manual_review

    runtime = client.app.state.runtime
    images = read_manual_review(runtime, record_id=r.json()["id"])["images"]  # type: ignore[index]
    stored = sum(p.stat().st_size for p in (runtime.store.root / "reviews").rglob("*.enc"))
    for data in images.values():
        assert b"TRAILING-" not in data and len(data) <= 300 * 1024
        assert max(Image.open(io.BytesIO(data)).size) <= 1024
    print(f"\nreview upload {len(upload) / 1e6:.1f} MB per side -> stored {stored / 1e6:.2f} MB")
    assert stored < 1024 * 1024


# -- point 8 ----------------------------------------------------------------------------


def test_an_empty_key_file_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret.key").write_text("")
    settings = Settings(data_dir=data, api_keys=f"t:{API_KEY}")
    with pytest.raises(ValueError, match="empty or shorter"):
        _ = settings.secret


def test_the_database_and_data_dir_are_private(client_for, make_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(), engine=FakeEngine())
    assert _submit(client, "u").status_code == 202
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("ocr-service.db", "ocr-service.db-wal", "ocr-service.db-shm"):
        path = data / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    assert (data / "ocr-service.db-wal").exists()


def test_database_errors_carry_no_bound_values(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'h.db'}")
    with pytest.raises(Exception) as caught, engine.begin() as conn:
        conn.execute(text("INSERT INTO nowhere VALUES (:v)"), {"v": "420300200012267109"})
    assert "420300200012267109" not in str(caught.value)
    engine.dispose()


def test_api_key_names_are_unique(tmp_path, client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    env = {
        "OCR_SERVICE_DATA_DIR": str(tmp_path / "data"),
        "OCR_SERVICE_SECRET_KEY": SECRET,
        "OCR_SERVICE_API_KEYS": f"tester:{API_KEY}",
    }
    clash = runner.invoke(cli, ["create-api-key", "tester"], env=env)
    assert clash.exit_code == 2 and "taken" in clash.output
    assert runner.invoke(cli, ["create-api-key", "unit"], env=env).exit_code == 0
    again = runner.invoke(cli, ["create-api-key", "unit"], env=env)
    assert again.exit_code == 2 and "taken" in again.output

    # a key named like a static key that got in before this check never authenticates
    from ocr_service.security import generate_api_key, hash_api_key

    client = client_for(make_settings(), engine=FakeEngine())
    key_id, key = generate_api_key()
    with session_scope(client.app.state.runtime.session_factory) as session:
        repo.add_api_key(
            session, key_id=key_id, name="tester", key_hash=hash_api_key(key), now=datetime.now(UTC)
        )
    assert (
        client.get("/v1/id-verifications/" + "0" * 32, headers={"X-API-Key": key}).status_code
        == 401
    )


def test_retention_expiry_writes_an_audit_row(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    from ocr_service.queue.sweeper import sweep_once

    client = client_for(make_settings(), engine=FakeEngine())
    record_id = _submit(client, "u").json()["id"]
    runtime = client.app.state.runtime
    result = sweep_once(
        settings=runtime.settings,
        session_factory=runtime.session_factory,
        store=runtime.store,
        enqueue=lambda ids: None,
        now=datetime.now(UTC) + timedelta(days=31),
    )
    assert result["expired_reviews"] == 1
    with session_scope(runtime.session_factory) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.record_id == record_id)).all()
        assert [(r.action, r.reviewer) for r in rows] == [("review_expired", None)]
    assert not (runtime.store.root / "reviews" / record_id).exists()


def test_plain_http_beyond_loopback_is_warned_about() -> None:
    from ocr_service.dashboard.web import plain_http_warning

    assert plain_http_warning("127.0.0.1", loopback=True, cookie_secure=None) is None
    assert plain_http_warning("0.0.0.0", loopback=False, cookie_secure=True) is None
    warning = plain_http_warning("0.0.0.0", loopback=False, cookie_secure=None)
    assert warning and "COOKIE_SECURE" in warning

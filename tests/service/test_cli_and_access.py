"""The command line, settings validation and API keys stored as hashes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ocr_service.cli import app as cli
from ocr_service.config import Settings
from tests.service.conftest import HEADERS, SECRET
from tests.service.support import id_photo_pair, tiny_png
from tests.service.test_api_id import form

runner = CliRunner()


def env(tmp_path, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "OCR_SERVICE_DATA_DIR": str(tmp_path / "data"),
        "OCR_SERVICE_SECRET_KEY": SECRET,
        "OCR_SERVICE_API_KEYS": "",
        **extra,
    }


def test_settings_refuse_unsafe_values(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(data_dir=tmp_path, secret_key="changethis")
    with pytest.raises(ValueError, match="API key"):
        Settings(data_dir=tmp_path, api_keys="short")
    with pytest.raises(ValueError, match="SECRET_KEY must be set"):
        Settings(data_dir=tmp_path, database_url="postgresql+psycopg://x@h/db")
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, id_card={"min_sharpnes": 3})  # typo in a nested threshold
    monkeypatch.setenv("OCR_SERVICE_API_KEYS", "a:aaaaaaaaaaaaaaaaaaaa,bbbbbbbbbbbbbbbbbbbb")
    monkeypatch.setenv("OCR_SERVICE_ID_CARD__MIN_SHARPNESS", "42.5")
    monkeypatch.setenv("OCR_SERVICE_TRUSTED_PROXIES", "10.0.0.0/8")
    s = Settings(data_dir=tmp_path)
    assert s.static_api_keys[0][0] == "a" and len(s.static_api_keys) == 2
    assert s.id_card.min_sharpness == 42.5
    assert "aaaaaaaa" not in repr(s) and "aaaaaaaa" not in str(s.model_dump())
    # with no SECRET_KEY the embedded default keeps one in the data dir, mode 0600
    monkeypatch.delenv("OCR_SERVICE_API_KEYS")
    s = Settings(data_dir=tmp_path / "d")
    assert len(s.secret) >= 32 and oct((tmp_path / "d" / "secret.key").stat().st_mode)[-3:] == "600"


def test_serve_refuses_a_public_bind_without_api_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "1"], env=env(tmp_path))
    assert result.exit_code == 2
    assert "refusing to bind" in result.output


def test_migrate_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(cli, ["migrate"], env=env(tmp_path))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "ocr-service.db").exists()


def test_db_api_keys_are_hashed_and_revocable_without_restart(
    tmp_path, client_for, make_settings
) -> None:  # type: ignore[no-untyped-def]
    created = runner.invoke(cli, ["create-api-key", "unit-7"], env=env(tmp_path))
    assert created.exit_code == 0, created.output
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("osk_")
    db = (tmp_path / "data" / "ocr-service.db").read_bytes()
    assert key.encode() not in db and key.split("_")[2].encode() not in db

    client = client_for(make_settings(api_keys=""))
    png = tiny_png()
    headers = {"X-API-Key": key}
    r = client.post(
        "/v1/id-verifications",
        headers=headers,
        **form(png, png, "王五", "E9999999", document_type="passport"),
    )
    assert r.status_code == 202, r.text
    assert client.get(f"/v1/id-verifications/{r.json()['id']}", headers=headers).status_code == 200

    revoked = runner.invoke(cli, ["revoke-api-key", "unit-7"], env=env(tmp_path))
    assert revoked.exit_code == 0 and "revoked 1" in revoked.output
    record_id = r.json()["id"]
    r = client.get(f"/v1/id-verifications/{record_id}", headers=headers)
    assert r.status_code == 401
    client.app.state.authenticator._open_until = 0  # past the 2 s cache: still closed
    assert client.get(f"/v1/id-verifications/{record_id}").status_code == 401
    listed = runner.invoke(cli, ["list-api-keys"], env=env(tmp_path))
    assert "unit-7" in listed.output and "revoked" in listed.output and key not in listed.output


def test_trusted_proxy_decides_the_client_address() -> None:
    import ipaddress

    from ocr_service.services.access import client_address

    trusted = [ipaddress.ip_network("10.0.0.0/8")]
    assert (
        client_address("203.0.113.9", "1.2.3.4", trusted) == "203.0.113.9"
    )  # spoofed header ignored
    assert client_address("10.0.0.2", "1.2.3.4, 10.0.0.7", trusted) == "1.2.3.4"
    assert client_address("10.0.0.2", "garbage", trusted) == "10.0.0.2"


def test_verify_id_command_exit_codes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    front, back, name, number = id_photo_pair(11)
    (tmp_path / "f.jpg").write_bytes(front)
    (tmp_path / "b.jpg").write_bytes(back)
    (tmp_path / "x.gif").write_bytes(b"GIF89a....")
    base = ["verify-id", str(tmp_path / "f.jpg"), str(tmp_path / "b.jpg"), "--name", name]
    ok = runner.invoke(cli, [*base, "--id-number", number], env=env(tmp_path))
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["status"] == "verified"
    other = number[:-2] + ("1" if number[-2] != "1" else "2") + number[-1]
    rejected = runner.invoke(cli, [*base, "--id-number", other], env=env(tmp_path))
    assert rejected.exit_code == 1 and json.loads(rejected.stdout)["status"] == "rejected"
    bad = runner.invoke(
        cli,
        [
            "verify-id",
            str(tmp_path / "x.gif"),
            str(tmp_path / "b.jpg"),
            "--name",
            name,
            "--id-number",
            number,
        ],
        env=env(tmp_path),
    )
    assert bad.exit_code == 2 and json.loads(bad.stdout)["error"]["code"] == "UNSUPPORTED_FORMAT"


def test_request_log_lines_are_json_with_a_request_id_and_no_secrets(client, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from ocr_service.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="ocr_service.http")
    r = client.get("/v1/id-verifications/" + "a" * 32, headers=HEADERS)
    assert r.status_code == 404
    lines = [
        JsonFormatter().format(rec) for rec in caplog.records if rec.name == "ocr_service.http"
    ]
    payload = json.loads(lines[-1])
    assert payload["request_id"] == r.headers["x-request-id"]
    assert payload["status"] == 404 and payload["source"] == "tester"
    assert payload["path"] == "/v1/id-verifications/{verification_id}"
    assert HEADERS["X-API-Key"] not in lines[-1]

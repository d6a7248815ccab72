"""Access: keys compared in constant time and never logged; every authentication failure
(missing, wrong, unknown id, right id with a wrong secret, revoked, overlong, not ASCII)
looks the same; another caller's records are indistinguishable from records that do
not exist. (Keys stored as hashes and revocation without restart are proven in
tests/service/test_cli_and_access.py; not repeated here.)

Embedded default (SQLite) and a fake engine: the subject is access, not recognition.
Keys are created and revoked with the real CLI, in its own process, while the
API keeps running.
"""

from __future__ import annotations

import hmac
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ocr_service.config import Settings
from ocr_service.logs import JsonFormatter
from ocr_service.main import create_app
from tests.service.conftest import API_KEY, SECRET
from tests.service.support import FakeEngine, certificate_scan

CLI = str(Path(sys.executable).parent / "ocr-service")


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCR_SERVICE_DATA_DIR": str(data_dir), "OCR_SERVICE_SECRET_KEY": SECRET}
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Everything any logger writes during the test, as the JSON lines production writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old)


@pytest.fixture
def service(tmp_path: Path, logs: io.StringIO) -> Iterator[tuple[TestClient, Path]]:
    data_dir = tmp_path / "data"
    settings = Settings(
        data_dir=data_dir, secret_key=SECRET, api_keys=f"tester:{API_KEY}", log_level="DEBUG"
    )
    app = create_app(settings, engine=FakeEngine(), configure_logs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, data_dir


def test_keys_are_compared_in_constant_time(service, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = service
    key = cli(data_dir, "create-api-key", "unit-7").stdout.strip().splitlines()[-1]
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a, b):  # type: ignore[no-untyped-def]
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    for presented in (API_KEY, "x" * 40, key, key[:-1] + ("A" if key[-1] != "A" else "B")):
        calls.clear()
        client.get("/v1/certificate-batches/" + "0" * 32, headers={"X-API-Key": presented})
        assert calls, f"no constant-time comparison for {presented[:6]}..."
    assert all(len(a) == len(b) == 64 for a, b in calls), (
        "compared something other than two digests"
    )


def _auth_failure(client: TestClient, headers: dict[str, str]) -> tuple[int, dict, dict[str, str]]:
    r = client.get("/v1/certificate-batches/" + "0" * 32, headers=headers)
    kept = {
        k: v for k, v in r.headers.items() if k not in ("x-request-id", "date", "content-length")
    }
    return r.status_code, r.json(), kept


def test_every_authentication_failure_answers_the_same(service, logs) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = service
    real = cli(data_dir, "create-api-key", "unit-9").stdout.strip().splitlines()[-1]
    prefix, key_id, secret = real.split("_", 2)
    revoked = cli(data_dir, "create-api-key", "unit-10").stdout.strip().splitlines()[-1]
    cli(data_dir, "revoke-api-key", revoked.split("_")[1])
    presented = {
        "missing": {},
        "empty": {"X-API-Key": ""},
        "wrong static": {"X-API-Key": API_KEY[:-1] + "x"},
        "unknown key id": {"X-API-Key": f"{prefix}_ffffffffffff_{secret}"},
        "right id, wrong secret": {"X-API-Key": f"{prefix}_{key_id}_{secret[:-2]}zz"},
        "revoked": {"X-API-Key": revoked},
        "overlong": {"X-API-Key": "k" * 5000},
        "not ascii": {"X-API-Key": "osk_\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9_x".encode()},
    }
    answers = {cause: _auth_failure(client, headers) for cause, headers in presented.items()}
    first = next(iter(answers.values()))
    assert first[0] == 401 and set(first[1]["error"]) == {"code", "message"}
    for cause, answer in answers.items():
        assert answer == first, f"{cause!r} answers differently: {answer} vs {first}"
    text = logs.getvalue()
    for headers in presented.values():
        value = headers.get("X-API-Key", "")
        value = value.decode("latin-1") if isinstance(value, bytes) else value
        if len(value) >= 8:
            assert value not in text, "a presented key was logged"
    assert real not in text and secret not in text


def test_another_callers_batch_is_indistinguishable_from_none(service) -> None:  # type: ignore[no-untyped-def]
    client, data_dir = service
    other = cli(data_dir, "create-api-key", "unit-other").stdout.strip().splitlines()[-1]
    name, scan = certificate_scan(900)
    r = client.post(
        "/v1/certificate-batches",
        headers={"X-API-Key": API_KEY},
        files=[("files", (name, scan, "image/jpeg"))],
    )
    assert r.status_code == 202
    batch_id = r.json()["id"]
    for suffix in ("", "/report.csv", "/files/0/fixed", "/fixed.zip"):
        theirs = client.get(
            f"/v1/certificate-batches/{batch_id}{suffix}", headers={"X-API-Key": other}
        )
        nobody = client.get(
            f"/v1/certificate-batches/{'f' * 32}{suffix}", headers={"X-API-Key": other}
        )
        assert theirs.status_code == nobody.status_code == 404, suffix
        assert theirs.json() == nobody.json()
    r = client.get(f"/v1/id-verifications/{batch_id}", headers={"X-API-Key": other})
    assert (
        r.status_code == 404
        and r.json()
        == client.get(f"/v1/id-verifications/{'e' * 32}", headers={"X-API-Key": other}).json()
    )

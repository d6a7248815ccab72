"""The certificate use case behind the service: stored names, retention, the CSV's codes."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from ocr_service.queue.sweeper import sweep_certificate_files
from ocr_service.services.certificate_checks import report_from_record
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from pipelines.certificate import write_report_csv
from tests.service.conftest import HEADERS, client_for, make_settings  # noqa: F401 (fixtures)
from tests.service.support import certificate_scan
from tests.service.test_api_certificates import wait_for_batch


def test_fixed_filename_is_stored_masked_and_downloaded_in_clear(client_for, make_settings) -> None:  # noqa: F811
    client = client_for(make_settings())
    name, data = certificate_scan(23, skew_degrees=4.0, template="certificate", landscape=False)
    r = client.post(
        "/v1/certificate-batches", headers=HEADERS, files=[("files", (name, data, "image/jpeg"))]
    )
    body = wait_for_batch(client, r.json()["id"])
    (result,) = body["results"]
    assert "SKEWED" in [x["code"] for x in result["reasons"]] and result["fixed_available"]
    runtime = client.app.state.runtime
    holder, number = name.split("+")[:2]
    with session_scope(runtime.session_factory) as session:
        (record,) = repo.batch_records(session, batch_id=body["id"])
        stored = (record.fixed_filename, record.filename)
    assert all(number not in s and holder not in s for s in stored), stored
    fixed = client.get(f"/v1/certificate-batches/{body['id']}/files/0/fixed", headers=HEADERS)
    assert fixed.status_code == 200
    assert number in fixed.headers["content-disposition"]  # the unit's own, in the response


def _age(path: Path, days: float) -> None:
    old = time.time() - days * 86400
    os.utime(path, (old, old))


def test_retention_deletes_old_certificate_files_and_retries_failures(
    client_for,  # noqa: F811
    make_settings,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(cert_retention_days=30)
    client = client_for(settings)
    runtime = client.app.state.runtime
    name, data = certificate_scan(24, skew_degrees=4.0, template="certificate", landscape=False)
    r = client.post(
        "/v1/certificate-batches", headers=HEADERS, files=[("files", (name, data, "image/jpeg"))]
    )
    batch_id = r.json()["id"]
    wait_for_batch(client, batch_id)
    folder = runtime.store.batch_dir(batch_id)
    files = sorted(p for p in folder.iterdir())
    assert len(files) == 3  # upload, preview, fixed file
    # an aborted upload's folder, no batch row: an orphan
    orphan = runtime.store.root / "batches" / ("f" * 32)
    orphan.mkdir()
    (orphan / "part.bin").write_bytes(b"x")
    _age(orphan / "part.bin", 1)
    _age(orphan, 1)

    now = datetime.now(UTC) + timedelta(days=31)
    for path in files:
        _age(path, 31)
    stubborn = files[0]
    real_unlink = Path.unlink

    def failing_unlink(self: Path, missing_ok: bool = False) -> None:
        if self == stubborn:
            raise PermissionError("busy")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", failing_unlink)
    first = sweep_certificate_files(
        settings=settings, session_factory=runtime.session_factory, store=runtime.store, now=now
    )
    assert first["certificate_files_failed"] == 1 and stubborn.exists()
    assert not (orphan / "part.bin").exists()
    assert [p for p in files if p.exists()] == [stubborn]
    monkeypatch.setattr(Path, "unlink", real_unlink)
    second = sweep_certificate_files(
        settings=settings, session_factory=runtime.session_factory, store=runtime.store, now=now
    )
    assert second == {"certificate_files_deleted": 1, "certificate_files_failed": 0}
    assert not any(p.exists() for p in files)
    with session_scope(runtime.session_factory) as session:
        (record,) = repo.batch_records(session, batch_id=batch_id)
        assert record.preview_path is None and record.fixed_path is None
    gone = client.get(f"/v1/certificate-batches/{batch_id}/files/0/fixed", headers=HEADERS)
    assert gone.status_code == 404


def test_recent_files_are_kept(client_for, make_settings) -> None:  # noqa: F811
    settings = make_settings()
    client = client_for(settings)
    runtime = client.app.state.runtime
    name, data = certificate_scan(25)
    r = client.post(
        "/v1/certificate-batches", headers=HEADERS, files=[("files", (name, data, "image/jpeg"))]
    )
    batch_id = r.json()["id"]
    wait_for_batch(client, batch_id)
    out = sweep_certificate_files(
        settings=settings,
        session_factory=runtime.session_factory,
        store=runtime.store,
        now=datetime.now(UTC),
    )
    assert out["certificate_files_deleted"] == 0
    assert len(list(runtime.store.batch_dir(batch_id).iterdir())) >= 2


def test_processing_failed_stays_processing_failed_in_the_csv() -> None:
    row = SimpleNamespace(
        status="failed",
        reasons=[{"code": "PROCESSING_FAILED", "message": "文件无法处理，请重新扫描后上传。"}],
        warnings=[],
        checks={},
        fingerprint=None,
        fixed_path=None,
        filename="张*+420102********1234+医师资格证+1.jpg",
    )
    stream = io.StringIO()
    write_report_csv([report_from_record(row, row.filename)], stream)
    assert "PROCESSING_FAILED" in stream.getvalue() and "CORRUPT_IMAGE" not in stream.getvalue()

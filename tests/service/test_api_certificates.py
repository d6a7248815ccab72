"""/v1/certificates and /v1/certificate-batches on the embedded default, real engine."""

from __future__ import annotations

import io
import time
import zipfile

from tests.service.conftest import HEADERS
from tests.service.support import certificate_scan


def wait_for_batch(client, batch_id: str, timeout: float = 120.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS).json()
        if body["status"] in ("completed", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not finish: {body}")


def test_single_certificate_is_validated_and_recorded(client) -> None:  # type: ignore[no-untyped-def]
    name, data = certificate_scan(3)
    r = client.post(
        "/v1/certificates/validate", headers=HEADERS, files={"file": (name, data, "image/jpeg")}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["filename"] == name
    assert body["status"] in ("accepted", "rejected")
    assert {"format", "bytes", "width", "height"} <= set(body["checks"])
    runtime = client.app.state.runtime
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import session_scope

    with session_scope(runtime.session_factory) as session:
        record = repo.get_record(session, record_id=body["id"])
        assert record is not None and record.kind == "certificate"
        number = name.split("+")[1]
        assert number not in (record.filename or "")  # masked in the record
        assert record.preview_path and runtime.store.absolute(record.preview_path).exists()


def test_batch_of_files_and_a_hostile_zip_completes_with_one_result_each(client) -> None:  # type: ignore[no-untyped-def]
    scans = [certificate_scan(seed) for seed in (21, 22)]
    skewed = certificate_scan(23, skew_degrees=4.0)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(skewed[0], skewed[1])
        zf.writestr("../../escape.jpg", scans[0][1])
    files = [("files", (n, d, "image/jpeg")) for n, d in scans]
    files.append(("archive", ("batch.zip", archive.getvalue(), "application/zip")))
    r = client.post("/v1/certificate-batches", headers=HEADERS, files=files)
    assert r.status_code == 202, r.text
    created = r.json()
    assert created["total"] == 4 and created["status"] == "queued"

    body = wait_for_batch(client, created["id"])
    assert body["status"] == "completed"
    assert body["processed"] == 4 == len(body["results"])
    assert [x["index"] for x in body["results"]] == [0, 1, 2, 3]
    by_name = {x["filename"]: x for x in body["results"]}
    assert by_name[skewed[0]]["status"] == "rejected"
    assert "SKEWED" in [reason["code"] for reason in by_name[skewed[0]]["reasons"]]
    escaped = [x for x in body["results"] if "escape" in x["filename"]]
    assert escaped and escaped[0]["status"] == "rejected"
    runtime = client.app.state.runtime
    assert not (runtime.store.root.parent / "escape.jpg").exists()

    report = client.get(f"/v1/certificate-batches/{created['id']}/report.csv", headers=HEADERS)
    assert report.status_code == 200 and report.content.startswith("\ufeff".encode())
    assert report.headers["content-type"].startswith("text/csv")

    skewed_index = by_name[skewed[0]]["index"]
    if by_name[skewed[0]]["fixed_available"]:
        fixed = client.get(
            f"/v1/certificate-batches/{created['id']}/files/{skewed_index}/fixed", headers=HEADERS
        )
        assert fixed.status_code == 200 and fixed.headers["x-content-type-options"] == "nosniff"
        assert fixed.headers["cache-control"] == "no-store"
        bundle = client.get(f"/v1/certificate-batches/{created['id']}/fixed.zip", headers=HEADERS)
        assert zipfile.ZipFile(io.BytesIO(bundle.content)).namelist()


def test_batch_errors(client) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/v1/certificate-batches",
        headers=HEADERS,
        files=[("archive", ("x.zip", b"not a zip at all", "application/zip"))],
    )
    assert r.status_code == 422 and set(r.json()["error"]) == {"code", "message"}
    r = client.post(
        "/v1/certificate-batches",
        headers=HEADERS,
        data={"nothing": "here"},
        files=[("files", ("", b"", "application/octet-stream"))],
    )
    assert r.status_code in (400, 422)
    r = client.get("/v1/certificate-batches/" + "f" * 32, headers=HEADERS)
    assert r.status_code == 404
    r = client.get("/v1/certificate-batches/not-an-id", headers=HEADERS)
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_FIELD"

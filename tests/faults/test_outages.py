"""Outages of the broker and the database, with the API and a worker left running.

tests/service/test_production.py already covers: Redis killed and restarted
mid-batch (every file ends with one result), and one request answered 503 while
Redis is down. Covered here: what the API does *during* a broker outage with a
batch in flight (reads keep working, every write answers 503 in our shape, no row
is created or lost), and a PostgreSQL outage: requests fail cleanly with 503 and
the same API process recovers once the database is back, without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from ocr_service.config import Settings
from ocr_service.main import create_app
from tests.service.conftest import API_KEY, HEADERS, SECRET
from tests.service.support import (
    PG_BIN,
    PostgresCluster,
    certificate_scan,
    have_postgres,
    id_photo_pair,
)
from tests.service.test_production import (
    Deployment,
    assert_exactly_one_result_each,
    progress,
    upload_batch,
    wait_until,
)

pytestmark = pytest.mark.services


def assert_503_shape(r: httpx.Response, code: str | None = None) -> None:
    assert r.status_code == 503, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    assert int(r.headers["retry-after"]) > 0


def test_broker_outage_mid_batch_reads_work_writes_refuse_nothing_lost(
    deployment: Deployment, ocr_engine
) -> None:  # type: ignore[no-untyped-def]
    client = deployment.api(ocr_engine)
    deployment.worker("certificates")
    batch_id, total = upload_batch(client, 4, seed=500)
    wait_until(lambda: progress(client, batch_id)["processed"] >= 1, 120, "first result")
    batches_before = deployment.sql("select count(*) from batches")[0][0]
    files_before = deployment.sql(
        f"select count(*) from batch_files where batch_id = '{batch_id}'"
    )[0][0]

    deployment.redis.kill()
    try:
        # reads come from the database: still answered
        r = client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS)
        assert r.status_code == 200 and r.json()["total"] == total
        assert (
            client.get(
                f"/v1/certificate-batches/{batch_id}/report.csv", headers=HEADERS
            ).status_code
            == 200
        )
        # writes that need the queue: 503 in our shape, quickly, and nothing half-created
        name, scan = certificate_scan(510)
        for _ in range(3):
            started = time.monotonic()
            r = client.post(
                "/v1/certificate-batches",
                headers=HEADERS,
                files=[("files", (name, scan, "image/jpeg"))],
            )
            assert_503_shape(r, "QUEUE_UNAVAILABLE")
            assert time.monotonic() - started < 10
        front, back, holder, number = id_photo_pair(12)
        r = client.post(
            "/v1/id-verifications",
            headers=HEADERS,
            files={"front": ("f.jpg", front, "image/jpeg"), "back": ("b.jpg", back, "image/jpeg")},
            data={"declared_name": holder, "declared_id_number": number},
        )
        assert_503_shape(r, "QUEUE_UNAVAILABLE")
        assert deployment.sql("select count(*) from batches")[0][0] == batches_before
        assert (
            deployment.sql(f"select count(*) from batch_files where batch_id = '{batch_id}'")[0][0]
            == files_before
        )
        assert not list((deployment.tmp / "data" / "batches").glob("*/*.bin")) or {
            p.parent.name for p in (deployment.tmp / "data" / "batches").glob("*/*.bin")
        } <= {batch_id}
    finally:
        deployment.redis.start()

    wait_until(lambda: progress(client, batch_id)["status"] == "completed", 240, "batch completion")
    assert_exactly_one_result_each(deployment, batch_id, total)
    # and new work is accepted again by the same API process
    new_id, new_total = upload_batch(client, 1, seed=520)
    wait_until(
        lambda: progress(client, new_id)["status"] == "completed", 120, "a batch after the outage"
    )
    assert_exactly_one_result_each(deployment, new_id, new_total)


# -- database ----------------------------------------------------------------------------------


class RestartablePostgres(PostgresCluster):
    """A private cluster (the session one is shared) that can be stopped and started again."""

    def pause(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
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
                f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
            ]
        )


@pytest.fixture
def own_postgres() -> Iterator[RestartablePostgres]:
    if not have_postgres():
        pytest.skip("PostgreSQL binaries are not installed")
    cluster = RestartablePostgres()
    cluster.start()
    yield cluster
    cluster.stop()


def test_database_outage_fails_cleanly_and_recovers_without_restart(
    own_postgres, tmp_path, ocr_engine
) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=own_postgres.create_database(),
        secret_key=SECRET,
        api_keys=f"tester:{API_KEY}",
        # a job that crashed on the dead database is retried by the sweeper
        sweep_interval_s=1,
        job_queued_timeout_s=4,
        job_running_timeout_s=8,
    )
    app = create_app(settings, engine=ocr_engine, configure_logs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        wait_until(lambda: client.get("/healthz").status_code == 200, 60, "healthz")
        name, scan = certificate_scan(600)
        r = client.post(
            "/v1/certificates/validate", headers=HEADERS, files={"file": (name, scan, "image/jpeg")}
        )
        assert r.status_code == 200, r.text
        record_batch = client.post(
            "/v1/certificate-batches",
            headers=HEADERS,
            files=[("files", (name, scan, "image/jpeg"))],
        )
        assert record_batch.status_code == 202
        batch_id = record_batch.json()["id"]

        own_postgres.pause()
        try:
            answers = []
            for request in (
                lambda: client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS),
                lambda: client.post(
                    "/v1/certificates/validate",
                    headers=HEADERS,
                    files={"file": (name, scan, "image/jpeg")},
                ),
                lambda: client.post(
                    "/v1/certificate-batches",
                    headers=HEADERS,
                    files=[("files", (name, scan, "image/jpeg"))],
                ),
            ):
                started = time.monotonic()
                r = request()
                answers.append((r.status_code, time.monotonic() - started))
                assert_503_shape(r, "STORAGE_UNAVAILABLE")
                assert time.monotonic() - started < 15, "a request hung on the dead database"
        finally:
            own_postgres.resume()

        # the same process, no restart: the pool reconnects
        wait_until(
            lambda: (
                client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS).status_code
                == 200
            ),
            30,
            "recovery after the database returned",
        )
        r = client.post(
            "/v1/certificates/validate", headers=HEADERS, files={"file": (name, scan, "image/jpeg")}
        )
        assert r.status_code == 200, r.text
        wait_until(
            lambda: (
                client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS).json()["status"]
                == "completed"
            ),
            120,
            "batch completion",
        )

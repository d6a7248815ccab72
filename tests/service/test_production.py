"""The production path: API (``--no-worker``) + a separate ``ocr-service worker`` process,
over a real Redis and a real PostgreSQL, with faults injected: SIGKILLed worker,
Redis killed and restarted, broker down. The worker runs the real engine."""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from ocr_service.config import Settings
from ocr_service.main import create_app
from tests.service.conftest import API_KEY, HEADERS, SECRET
from tests.service.support import (
    PG_BIN,
    RedisServer,
    WorkerProcess,
    certificate_scan,
    id_photo_pair,
)

pytestmark = pytest.mark.services


def env_for(redis: RedisServer, database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "OCR_SERVICE_BROKER_URL": redis.url,
        "OCR_SERVICE_DATABASE_URL": database_url,
        "OCR_SERVICE_SECRET_KEY": SECRET,
        "OCR_SERVICE_DATA_DIR": str(data_dir),
        "OCR_SERVICE_API_KEYS": f"tester:{API_KEY}",
        "OCR_SERVICE_SWEEP_INTERVAL_S": "1",
        "OCR_SERVICE_JOB_QUEUED_TIMEOUT_S": "4",
        "OCR_SERVICE_JOB_RUNNING_TIMEOUT_S": "10",
        "OCR_SERVICE_BROKER_VISIBILITY_TIMEOUT_S": "15",
        "OCR_SERVICE_OCR__THREADS": "1",
        **extra,
    }


class Deployment:
    def __init__(self, redis: RedisServer, database_url: str, tmp: Path) -> None:
        self.redis = redis
        self.database_url = database_url
        self.tmp = tmp
        self.env = env_for(redis, database_url, tmp / "data")
        self.workers: list[WorkerProcess] = []
        self.client: TestClient | None = None

    def settings(self) -> Settings:
        values = {k.removeprefix("OCR_SERVICE_").lower(): v for k, v in self.env.items()}
        values["ocr"] = {"threads": 1}
        values.pop("ocr__threads")
        return Settings(**values)

    def api(self, ocr_engine: Any) -> TestClient:
        app = create_app(self.settings(), engine=ocr_engine, run_worker=False, configure_logs=False)
        self.client = TestClient(app, raise_server_exceptions=False)
        self.client.__enter__()
        return self.client

    def worker(self, queues: str = "id,certificates") -> WorkerProcess:
        worker = WorkerProcess(self.env, self.tmp / f"worker{len(self.workers)}.log", queues)
        self.workers.append(worker)
        worker.start()
        worker.wait_ready()
        return worker

    def close(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)
        for worker in self.workers:
            worker.stop()

    def sql(self, query: str) -> list[Any]:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return list(conn.execute(text(query)))
        finally:
            engine.dispose()


@pytest.fixture
def deployment(redis_server, pg_url, tmp_path) -> Iterator[Deployment]:  # type: ignore[no-untyped-def]
    d = Deployment(redis_server, pg_url, tmp_path)
    yield d
    d.close()


def upload_batch(client: TestClient, count: int, seed: int = 0) -> tuple[str, int]:
    files = []
    for i in range(count):
        name, data = certificate_scan(seed + i)
        files.append(("files", (name, data, "image/jpeg")))
    r = client.post("/v1/certificate-batches", headers=HEADERS, files=files)
    assert r.status_code == 202, r.text
    return r.json()["id"], count


def progress(client: TestClient, batch_id: str) -> dict[str, Any]:
    return client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS).json()


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def assert_exactly_one_result_each(d: Deployment, batch_id: str, total: int) -> None:
    rows = d.sql(f"select id, count(*) from records where batch_id = '{batch_id}' group by id")
    assert len(rows) == total and all(n == 1 for _, n in rows)
    states = d.sql(
        f"select state, count(*) from batch_files where batch_id = '{batch_id}' group by state"
    )
    assert dict(states) == {"completed": total}
    reasons = d.sql(
        "select r.record_id, r.code, count(*) from record_reasons r "
        "join records x on x.id = r.record_id "
        f"where x.batch_id = '{batch_id}' group by r.record_id, r.code having count(*) > 1"
    )
    assert reasons == []


def test_worker_sigkilled_mid_batch_then_restarted_completes_every_file_once(
    deployment, ocr_engine
) -> None:  # type: ignore[no-untyped-def]
    client = deployment.api(ocr_engine)
    worker = deployment.worker("certificates")
    batch_id, total = upload_batch(client, 8, seed=40)
    wait_until(lambda: progress(client, batch_id)["processed"] >= 1, 120, "first results")
    worker.kill()
    done_at_kill = progress(client, batch_id)["processed"]
    assert done_at_kill < total, "the batch finished before the kill; make it bigger"
    deployment.worker("certificates")
    wait_until(lambda: progress(client, batch_id)["status"] == "completed", 240, "batch completion")
    body = progress(client, batch_id)
    assert body["processed"] == total and len(body["results"]) == total
    assert_exactly_one_result_each(deployment, batch_id, total)
    deliveries = deployment.sql(
        f"select max(deliveries) from batch_files where batch_id = '{batch_id}'"
    )
    assert deliveries[0][0] <= 3


def test_redis_killed_and_restarted_mid_batch_loses_no_file(deployment, ocr_engine) -> None:  # type: ignore[no-untyped-def]
    client = deployment.api(ocr_engine)
    deployment.worker("certificates")
    batch_id, total = upload_batch(client, 6, seed=60)
    wait_until(lambda: progress(client, batch_id)["processed"] >= 1, 120, "first results")
    deployment.redis.kill()  # persistence is off: every queued message is gone
    time.sleep(1.0)
    deployment.redis.start()  # same port, empty
    wait_until(lambda: progress(client, batch_id)["status"] == "completed", 240, "batch completion")
    assert_exactly_one_result_each(deployment, batch_id, total)


def test_broker_down_answers_503_and_recovers(deployment, ocr_engine) -> None:  # type: ignore[no-untyped-def]
    client = deployment.api(ocr_engine)
    deployment.redis.kill()
    front, back, name, number = id_photo_pair(11)
    files = {"front": ("f.jpg", front, "image/jpeg"), "back": ("b.jpg", back, "image/jpeg")}
    data = {"declared_name": name, "declared_id_number": number}
    r = client.post("/v1/id-verifications", headers=HEADERS, files=files, data=data)
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "QUEUE_UNAVAILABLE" and int(r.headers["retry-after"]) > 0
    name_, scan = certificate_scan(80)
    r = client.post(
        "/v1/certificate-batches", headers=HEADERS, files=[("files", (name_, scan, "image/jpeg"))]
    )
    assert r.status_code == 503 and r.json()["error"]["code"] == "QUEUE_UNAVAILABLE"
    # the refused attempt counted against nothing: not the number, the end user, the key
    rows = deployment.sql(
        "select coalesce(sum(failures), 0), coalesce(sum(in_flight), 0) from attempt_counters"
    )
    assert rows == [(0, 0)], rows

    deployment.redis.start()
    deployment.worker()
    r = client.post("/v1/id-verifications", headers=HEADERS, files=files, data=data)
    assert r.status_code == 200 and r.json()["status"] == "verified", r.text


def test_canary_leaves_no_trace_anywhere(deployment, ocr_engine, capfd) -> None:  # type: ignore[no-untyped-def]
    """Known identities verified, submitted for review and validated as certificates
    through Redis and a worker process: none appears in PostgreSQL, Redis, the data
    directory, the temporary directory or any log (issue 10's canary)."""
    import io
    import logging

    from ocr_service.logs import JsonFormatter

    api_log = io.StringIO()
    handler = logging.StreamHandler(api_log)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        _run_canary(deployment, ocr_engine, capfd, api_log)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _run_canary(deployment, ocr_engine, capfd, api_log) -> None:  # type: ignore[no-untyped-def]
    """Issue 10's canary on Redis + PostgreSQL: the traffic of tests/service/canary.py, then
    the PostgreSQL dump, Redis keys and values, DATA_DIR, new temporary files and every log
    are searched for numbers, birth dates, names and the photo marker."""
    from tests.service.canary import files_under, scan, send_traffic

    client = deployment.api(ocr_engine)
    worker = deployment.worker("id,certificates")
    tmp_before = {p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("*")}
    traffic = send_traffic(client, 5000 + secrets.randbelow(10_000))
    wait_until(
        lambda: progress(client, traffic.batch_id)["status"] == "completed", 240, "the batch"
    )
    worker.stop()

    tables = [
        row[0]
        for row in deployment.sql("select tablename from pg_tables where schemaname = 'public'")
    ]
    blobs: dict[str, bytes] = {
        f"postgres {table}": "\n".join(
            row[0] for row in deployment.sql(f"select row_to_json(t)::text from {table} t")
        ).encode()
        for table in tables
    }
    blobs["redis"] = deployment.redis.all_bytes()
    blobs.update(files_under(deployment.tmp / "data"))
    tmp_now = Path(os.environ.get("TMPDIR", "/tmp")).glob("*")
    for path in [p for p in tmp_now if p not in tmp_before]:
        if path.is_dir():
            blobs.update(files_under(path))
        elif path.is_file():
            blobs[str(path)] = path.read_bytes()
    logs = b"".join(w.log_path.read_bytes() for w in deployment.workers)
    captured = capfd.readouterr()
    logs += (captured.out + captured.err + api_log.getvalue()).encode()
    blobs["logs"] = logs
    assert b'"request"' in logs and b"/v1/id-verifications" in logs  # the API did log
    assert "records" in tables and blobs["postgres records"]

    id_hits = [h for h in scan(blobs, traffic.id_people) if "GB 11643" not in h]
    id_hits += [f"{w}: marker" for w, data in blobs.items() if traffic.marker in data]
    assert not id_hits, id_hits
    assert not scan(blobs, []), "a valid GB 11643 number is stored somewhere"
    certificate_hits = scan(blobs, traffic.certificate_people)
    assert not certificate_hits, certificate_hits


def test_database_down_for_a_moment_answers_503_then_recovers(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL stopped under a running API: clean 503s, then service again without a restart."""
    from tests.service.support import PostgresCluster, have_postgres

    if not have_postgres():
        pytest.skip("PostgreSQL binaries are not installed")
    cluster = PostgresCluster()
    cluster.start()
    try:
        client = client_for(make_settings(database_url=cluster.url()))
        from tests.service.support import tiny_png

        png = tiny_png()
        created = client.post(
            "/v1/id-verifications",
            headers=HEADERS,
            files={"front": ("f.png", png, "image/png"), "back": ("b.png", png, "image/png")},
            data={
                "declared_name": "王五",
                "declared_id_number": "E1234567",
                "document_type": "passport",
            },
        )
        assert created.status_code == 202, created.text
        path = f"/v1/id-verifications/{created.json()['id']}"
        # "fast", not "immediate": the test cluster runs with synchronous_commit=off
        cluster._run([str(PG_BIN / "pg_ctl"), "-D", str(cluster.data), "-m", "fast", "stop"])
        r = client.get(path, headers=HEADERS)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "STORAGE_UNAVAILABLE" and r.headers["retry-after"]
        cluster._run(
            [
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(cluster.data),
                "-l",
                str(cluster.dir / "pg.log"),
                "-w",
                "start",
                "-o",
                f"-p {cluster.port} -k {cluster.sockets} -c listen_addresses=127.0.0.1",
            ]
        )
        seen = []

        def recovered() -> bool:
            response = client.get(path, headers=HEADERS)
            seen.append(response.text)
            return response.status_code == 200

        try:
            wait_until(recovered, 30, "recovery")
        except AssertionError:
            raise AssertionError(seen[-3:]) from None
    finally:
        cluster.stop()

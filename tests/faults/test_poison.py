"""A poison image: a file that kills its worker process every time it is processed.

The worker is a real ``ocr-service worker`` (Celery prefork) over a real Redis and
PostgreSQL. The kill is injected by ``tests/faults/poison_hook/sitecustomize.py``
on that worker's PYTHONPATH only (see its docstring): a certificate carrying a
random marker makes the pool process running it SIGKILL itself. The production
code is unchanged; the test proves what the delivery counter does with such a file.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from tests.service.conftest import HEADERS
from tests.service.support import WorkerProcess, certificate_scan, with_jpeg_comment
from tests.service.test_production import (
    Deployment,
    assert_exactly_one_result_each,
    progress,
    wait_until,
)

pytestmark = pytest.mark.services

HOOK = Path(__file__).parent / "poison_hook"


def test_poison_file_fails_after_at_most_3_runs_and_the_worker_survives(
    deployment: Deployment, ocr_engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    marker = "POISON-" + secrets.token_hex(8)
    kills = tmp_path / "kills.log"
    kills.touch()
    client = deployment.api(ocr_engine)
    env = {
        **deployment.env,
        "OCR_FAULTS_POISON_MARKER": marker,
        "OCR_FAULTS_POISON_LOG": str(kills),
        "PYTHONPATH": str(HOOK),
    }
    worker = WorkerProcess(env, tmp_path / "worker.log", "certificates", concurrency=1)
    deployment.workers.append(worker)
    worker.start()
    worker.wait_ready()
    parent_pid = worker.proc.pid if worker.proc else 0

    good_name, good = certificate_scan(301)
    poison_name, poison = certificate_scan(302)
    poison = with_jpeg_comment(poison, marker.encode())
    r = client.post(
        "/v1/certificate-batches",
        headers=HEADERS,
        files=[
            ("files", (poison_name, poison, "image/jpeg")),
            ("files", (good_name, good, "image/jpeg")),
        ],
    )
    assert r.status_code == 202, r.text
    batch_id = r.json()["id"]

    wait_until(
        lambda: progress(client, batch_id)["status"] in ("completed", "failed"),
        240,
        "the batch to end",
    )
    body = progress(client, batch_id)
    by_index = {x["index"]: x for x in body["results"]}
    assert by_index[0]["state"] == "failed" and by_index[0]["status"] == "failed", by_index[0]
    assert [x["code"] for x in by_index[0]["reasons"]] == ["PROCESSING_FAILED"]
    assert by_index[1]["state"] == "completed" and by_index[1]["status"] in ("accepted", "rejected")
    assert body["processed"] == 2

    runs = kills.read_text().split()
    assert 1 <= len(runs) <= 3, f"the poison file ran {len(runs)} times"
    deliveries = deployment.sql(
        f"select index, deliveries, state from batch_files where batch_id = '{batch_id}' "
        "order by index"
    )
    assert (
        deliveries[0][1] <= 4 and deliveries[0][2] == "failed"
    )  # the 4th claim only marks it failed
    rows = deployment.sql(
        f"select id, count(*) from records where batch_id = '{batch_id}' group by id"
    )
    assert len(rows) == 2 and all(n == 1 for _, n in rows)

    # the worker parent is the same process, alive, with a live pool; the queue is drained
    assert worker.proc is not None and worker.proc.poll() is None and worker.proc.pid == parent_pid
    import psutil

    assert psutil.Process(parent_pid).children(), "the pool has no live process"
    import redis

    broker = redis.Redis(port=deployment.redis.port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (broker.llen("certificates") or broker.hlen("unacked")):
        time.sleep(0.5)
    assert broker.llen("certificates") == 0 and broker.hlen("unacked") == 0, (
        "messages left on the broker"
    )

    # and it still works: a new batch after the poison completes normally
    name, scan = certificate_scan(303)
    r = client.post(
        "/v1/certificate-batches", headers=HEADERS, files=[("files", (name, scan, "image/jpeg"))]
    )
    assert r.status_code == 202
    second = r.json()["id"]
    wait_until(
        lambda: progress(client, second)["status"] == "completed", 120, "a batch after the poison"
    )
    assert_exactly_one_result_each(deployment, second, 1)

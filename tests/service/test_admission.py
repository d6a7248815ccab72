"""Admission by expected wait: (jobs ahead + 1) x recent service time / parallelism must fit
the client-facing deadline, else 503 with a Retry-After computed from the expected wait.
An admitted ID verification is answered by its deadline or given up (503), never late."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from ocr_service.admission import (
    Deadline,
    DeadlineExceededError,
    ExpectedWaitGate,
    ServiceTimes,
    retry_after_for,
)
from ocr_service.errors import QueueUnavailableError
from ocr_service.ops_config import OpsConfig
from ocr_service.queue import embedded
from ocr_service.storage import repository as repo
from ocr_service.storage.tables import AttemptCounter
from tests.service.conftest import HEADERS
from tests.service.support import certificate_scan, id_photo_pair
from tests.service.test_api_id import form


def test_service_time_is_a_high_percentile_of_the_recent_window() -> None:
    times = ServiceTimes(window=3, initial_s=2.0)
    assert times.estimate() == 2.0
    for seconds in (5.0, 1.0, 1.0, 1.0):
        times.record(seconds)
    assert times.estimate() == pytest.approx(1.0)  # only the last three count
    times.record(4.0)
    assert times.estimate() == pytest.approx(4.0)  # a slow job among them sets the margin
    times = ServiceTimes(window=20, initial_s=1.0)
    for n in range(20):
        times.record(1.0 + n / 10)  # 1.0 .. 2.9
    assert times.estimate() == pytest.approx(2.7)  # the 90th percentile, not the mean 1.95


def test_gate_admits_while_the_expected_wait_fits() -> None:
    times = ServiceTimes(window=5, initial_s=1.0)
    gate = ExpectedWaitGate("id", deadline_s=3.0, times=times)
    with gate, gate, gate:  # 1, 2, 3 s expected
        assert gate.pending == 3
        with pytest.raises(QueueUnavailableError) as refused, gate:
            pass
        assert refused.value.retry_after == retry_after_for(4.0, 3.0) == 1
    assert gate.pending == 0


def test_gate_counts_jobs_ahead_elsewhere_and_parallelism() -> None:
    times = ServiceTimes(window=5, initial_s=2.0)
    gate = ExpectedWaitGate("id", deadline_s=10.0, times=times, parallelism=2, ahead=lambda: 30)
    with pytest.raises(QueueUnavailableError) as refused:
        gate.check()
    assert gate.expected_wait() == pytest.approx(31.0)
    assert refused.value.retry_after == 21  # until the backlog is 10 s long again
    assert retry_after_for(10_000, 10) == 300  # bounded


def test_id_verification_over_the_deadline_is_refused_at_once(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(ops=OpsConfig(id_deadline_s=10, initial_id_service_s=45)))
    front, back, name, number = id_photo_pair(11)
    r = client.post("/v1/id-verifications", headers=HEADERS, **form(front, back, name, number))
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "QUEUE_UNAVAILABLE"
    assert r.headers["retry-after"] == "37"  # 45 s expected - 8 s (80 % of the 10 s deadline)
    metrics = client.get("/metrics", headers=HEADERS).text
    assert 'ocr_admission_refused_total{cause="expected_wait",queue="id"}' in metrics


def test_single_certificate_over_the_deadline_is_refused(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(
        make_settings(ops=OpsConfig(single_cert_deadline_s=10, initial_cert_service_s=60))
    )
    name, data = certificate_scan(5)
    r = client.post(
        "/v1/certificates/validate", headers=HEADERS, files={"file": (name, data, "image/jpeg")}
    )
    assert r.status_code == 503 and r.headers["retry-after"] == "22", r.text  # 60/2 slots - 8


def test_batch_refused_while_the_backlog_exceeds_its_deadline(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(ops=OpsConfig(batch_deadline_s=5, initial_cert_service_s=9)))
    client.app.state.batch_gate._ahead = lambda: 3  # 3 files queued x 9 s = 27 s
    name, data = certificate_scan(6)
    r = client.post(
        "/v1/certificate-batches", headers=HEADERS, files=[("files", (name, data, "image/jpeg"))]
    )
    assert r.status_code == 503 and r.headers["retry-after"] == "22", r.text
    assert r.headers["connection"] == "close"


def test_admitted_job_is_refused_when_what_remains_of_its_deadline_is_too_short() -> None:
    gate = ExpectedWaitGate("id", deadline_s=10.0, times=ServiceTimes(window=5, initial_s=2.0))
    with gate.admitted(Deadline.after(10.0)) as left:  # 2 s expected, 9.5 s left for work
        assert left == pytest.approx(9.5, abs=0.1)
        late = Deadline.after(10.0, now=time.monotonic() - 8.0)  # arrived 8 s ago: 1.5 s left
        with pytest.raises(DeadlineExceededError) as refused, gate.admitted(late):
            pass  # 1 ahead + itself = 4 s expected
        assert refused.value.status_code == 503 and refused.value.retry_after >= 1
    assert gate.pending == 0
    with gate.admitted(None) as left:  # outside a request: admission by expected wait only
        assert left is None


_REJECTED = {
    "status": "rejected",
    "reasons": [{"code": "BLURRY", "side": "front", "message": "blurry"}],
    "fields": {},
    "measurements": {},
    "timings_ms": {},
    "risks": [],
}


def _slow_service(monkeypatch: pytest.MonkeyPatch, delays: dict[str, float]) -> None:
    """``before_queue``: seconds the request spends before its job is queued (reading and
    parsing the upload, the database under load); ``job``: seconds each job takes."""
    reserve = repo.reserve_attempt

    def slow_reserve(*args: Any, **kwargs: Any) -> Any:
        time.sleep(delays["before_queue"])
        return reserve(*args, **kwargs)

    def slow_job(job: Any, **_kwargs: Any) -> dict[str, Any]:
        time.sleep(delays["job"])
        return _REJECTED

    monkeypatch.setattr(repo, "reserve_attempt", slow_reserve)
    monkeypatch.setattr(embedded, "run_id_verification", slow_job)


def test_verification_out_of_time_is_given_up_not_answered_late(  # type: ignore[no-untyped-def]
    client_for, make_settings, monkeypatch
) -> None:
    """Admitted on a short expected wait, then slow before and in the queue: without the
    deadline travelling with the work this was a 200 after 2.4 s on a 2 s deadline."""
    client = client_for(make_settings(ops=OpsConfig(id_deadline_s=2.0, initial_id_service_s=0.1)))
    delays = {"before_queue": 0.8, "job": 1.6}
    _slow_service(monkeypatch, delays)
    front, back, name, number = id_photo_pair(12)
    started = time.monotonic()
    r = client.post("/v1/id-verifications", headers=HEADERS, **form(front, back, name, number))
    elapsed = time.monotonic() - started
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "DEADLINE_EXCEEDED"
    assert int(r.headers["retry-after"]) >= 1
    assert elapsed < 2.0
    # Not an attempt: the candidate's next (failed) verification leaves 2 of 3, not 1.
    delays.update(before_queue=0.0, job=0.0)
    r = client.post("/v1/id-verifications", headers=HEADERS, **form(front, back, name, number))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "rejected" and r.json()["attempts_remaining"] == 2
    metrics = client.get("/metrics", headers=HEADERS).text
    assert 'ocr_admission_refused_total{cause="deadline",queue="id"}' in metrics


def test_verification_queued_behind_slow_work_is_refused_by_its_deadline(  # type: ignore[no-untyped-def]
    client_for, make_settings, monkeypatch
) -> None:
    client = client_for(make_settings(ops=OpsConfig(id_deadline_s=2.0, initial_id_service_s=0.1)))
    _slow_service(monkeypatch, {"before_queue": 0.0, "job": 2.5})
    ahead = id_photo_pair(13)
    first = threading.Thread(
        target=client.post,
        args=("/v1/id-verifications",),
        kwargs={"headers": {**HEADERS, "X-End-User": "ahead"}, **form(*ahead)},
    )
    first.start()
    time.sleep(0.3)  # the first job holds the ID thread for 2.5 s
    front, back, name, number = id_photo_pair(14)
    started = time.monotonic()
    r = client.post("/v1/id-verifications", headers=HEADERS, **form(front, back, name, number))
    elapsed = time.monotonic() - started
    first.join()
    assert r.status_code == 503 and r.json()["error"]["code"] == "DEADLINE_EXCEEDED", r.text
    assert int(r.headers["retry-after"]) >= 1 and elapsed < 2.0
    with client.app.state.runtime.session_factory() as session:
        counters = session.scalars(select(AttemptCounter)).all()
    assert all(c.failures == 0 and c.in_flight == 0 for c in counters)  # no attempt consumed

"""Admission by expected wait: (jobs ahead + 1) x recent service time / parallelism must fit
the client-facing deadline, else 503 with a Retry-After computed from the expected wait."""

from __future__ import annotations

import pytest

from ocr_service.admission import ExpectedWaitGate, ServiceTimes, retry_after_for
from ocr_service.errors import QueueUnavailableError
from ocr_service.ops_config import OpsConfig
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

"""/metrics: Prometheus text format, protected like the API, counters labelled by reason."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.service.conftest import HEADERS
from tests.service.support import certificate_scan, id_photo_pair
from tests.service.test_api_certificates import wait_for_batch
from tests.service.test_api_id import form, hmt_number


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[no-untyped-def]
    r = client.get("/metrics", headers=HEADERS)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(
        v
        for (n, ls), v in samples.items()
        if n == name and set(labels.items()) <= set(ls)
    )


def test_metrics_need_the_api_key(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"X-API-Key": "x" * 20}).status_code == 401


def test_counters_move_after_a_rejection_and_a_batch(client) -> None:  # type: ignore[no-untyped-def]
    before = scrape(client)
    front, back, name, _ = id_photo_pair(5)
    r = client.post(
        "/v1/id-verifications", headers=HEADERS, **form(front, back, name, hmt_number(7))
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    codes = {x["code"] for x in r.json()["reasons"]}

    good = certificate_scan(41)
    skewed = certificate_scan(42, skew_degrees=4.0)
    files = [("files", (n, d, "image/jpeg")) for n, d in (good, skewed)]
    created = client.post("/v1/certificate-batches", headers=HEADERS, files=files).json()
    batch = wait_for_batch(client, created["id"])
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("ocr_id_verifications_total", outcome="rejected") == 1
    for code in codes:
        assert moved("ocr_id_verification_reasons_total", outcome="rejected", reason=code) == 1
    assert moved("ocr_certificate_files_total", path="batch") == 2
    rejected = [x for x in batch["results"] if x["status"] == "rejected"]
    for code in {c["code"] for x in rejected for c in x["reasons"]}:
        assert moved("ocr_certificate_reasons_total", reason=code) >= 1
    assert moved("ocr_certificate_reasons_total", reason="SKEWED") == 1
    assert moved("ocr_http_requests_total", route="/v1/id-verifications", status="200") == 1
    assert moved("ocr_http_request_duration_seconds_count", route="/v1/id-verifications") == 1
    assert moved("ocr_stage_duration_seconds_count", pipeline="certificate") > 0

    # scrape-time gauges
    assert value(after, "ocr_queue_depth", queue="certificates") == 0
    assert ("ocr_queue_oldest_job_age_seconds", (("queue", "id"),)) in after
    assert value(after, "ocr_manual_reviews_pending") == 0
    assert ("ocr_id_numbers_locked_today", ()) in after
    assert value(after, "ocr_ready") == 1


def test_readiness_and_liveness_are_apart(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/livez").status_code == 200
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready", r.text
    client.app.state.drain.start()
    try:
        r = client.get("/readyz")
        assert r.status_code == 503 and "draining" in r.json()["error"]["message"]
        assert client.get("/livez").status_code == 200
        refused = client.get("/v1/certificate-batches/" + "f" * 32, headers=HEADERS)
        assert refused.status_code == 503 and refused.headers["retry-after"]
    finally:
        client.app.state.drain.draining = False


def test_metrics_can_move_to_a_loopback_port(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    from ocr_service.ops_config import OpsConfig

    app_client = client_for(make_settings(ops=OpsConfig(metrics_port=9)))
    assert app_client.get("/metrics", headers=HEADERS).status_code == 404

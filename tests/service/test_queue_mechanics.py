"""Job mechanics: idempotent deliveries, the delivery limit, the sweeper.

These tests are about queueing, not recognition, so they use the fake engine
(the real one is exercised by the API and production tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocr_service.queue.jobs import WorkerContext, process_certificate_file
from ocr_service.queue.sweeper import sweep_once
from ocr_service.runtime import Runtime
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.storage.files import new_id
from tests.service.support import FakeEngine, certificate_scan


class ExplodingEngine(FakeEngine):
    """Fails on every call, like a file that crashes its worker each time."""

    def read(self, image, *, classify=True):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")

    def detect(self, image):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom")


def setup_batch(runtime: Runtime, count: int = 2) -> tuple[str, list[str]]:
    batch_id = new_id()
    files = []
    for i in range(count):
        name, data = certificate_scan(90 + i)
        stored = runtime.store.write(runtime.store.new_batch_upload(batch_id), data)
        sealed = runtime.keys.review_images.encrypt(name.encode()).decode()
        files.append(repo.NewBatchFile(new_id(), i, sealed, stored))
    with session_scope(runtime.session_factory) as session:
        repo.create_batch(
            session, batch_id=batch_id, source="tester", files=files, now=datetime.now(UTC)
        )
    return batch_id, [f.file_id for f in files]


def context(runtime: Runtime, engine) -> WorkerContext:  # type: ignore[no-untyped-def]
    return WorkerContext(
        settings=runtime.settings,
        engine=engine,
        session_factory=runtime.session_factory,
        store=runtime.store,
        keys=runtime.keys,
    )


@pytest.fixture
def runtime(make_settings) -> Runtime:  # type: ignore[no-untyped-def]
    return Runtime.build(make_settings(job_running_timeout_s=0.01, job_queued_timeout_s=0.01))


def test_a_repeated_delivery_of_a_finished_job_does_nothing(runtime) -> None:  # type: ignore[no-untyped-def]
    batch_id, ids = setup_batch(runtime, 1)
    ctx = context(runtime, FakeEngine())
    assert process_certificate_file(ctx, ids[0]) == "run"
    assert process_certificate_file(ctx, ids[0]) == "skip"
    with session_scope(runtime.session_factory) as session:
        records = repo.batch_records(session, batch_id=batch_id)
        assert len(records) == 1
        assert session.get(repo.BatchFile, ids[0]).deliveries == 1
        assert repo.get_batch(session, batch_id=batch_id).finalized_at is not None


def test_a_job_that_crashes_every_time_fails_after_three_deliveries(runtime) -> None:  # type: ignore[no-untyped-def]
    batch_id, ids = setup_batch(runtime, 2)
    bad = context(runtime, ExplodingEngine())
    good = context(runtime, FakeEngine())
    assert process_certificate_file(good, ids[1]) == "run"
    outcomes = []
    for _ in range(5):
        try:
            outcomes.append(process_certificate_file(bad, ids[0]))
        except Exception:
            outcomes.append("crash")
    assert outcomes[:3] == ["crash"] * 3 and outcomes[3] == "poison" and outcomes[4] == "skip"
    with session_scope(runtime.session_factory) as session:
        job = session.get(repo.BatchFile, ids[0])
        assert job.state == "failed" and job.deliveries == 4
        record = repo.get_record(session, record_id=ids[0])
        assert record.status == "failed" and record.reasons[0]["code"] == "PROCESSING_FAILED"
        assert repo.get_batch(session, batch_id=batch_id).finalized_at is not None


def test_the_sweeper_requeues_stale_jobs_once_per_timeout(runtime) -> None:  # type: ignore[no-untyped-def]
    _, ids = setup_batch(runtime, 3)
    seen: list[list[str]] = []
    later = datetime.now(UTC) + timedelta(seconds=5)
    sweep_once(
        settings=runtime.settings,
        session_factory=runtime.session_factory,
        store=runtime.store,
        enqueue=seen.append,
        now=later,
    )
    assert sorted(seen[0]) == sorted(ids)
    sweep_once(
        settings=runtime.settings,
        session_factory=runtime.session_factory,
        store=runtime.store,
        enqueue=seen.append,
        now=later,
    )
    assert len(seen) == 1  # just re-enqueued: not again until the timeout passes


def test_the_sweeper_expires_manual_reviews(runtime) -> None:  # type: ignore[no-untyped-def]
    record_id = new_id()
    image_dir = runtime.store.write_review_images(
        record_id, {"front": b"a", "back": b"b"}, runtime.keys.review_images
    )
    now = datetime.now(UTC)
    with session_scope(runtime.session_factory) as session:
        repo.save_record(
            session,
            record_id=record_id,
            kind="id_verification",
            document_type="passport",
            source="tester",
            status="pending_review",
            now=now,
        )
        repo.create_manual_review(
            session,
            record_id=record_id,
            sealed_declaration=b"x",
            image_dir=image_dir,
            now=now,
            retention=timedelta(days=1),
        )
    out = sweep_once(
        settings=runtime.settings,
        session_factory=runtime.session_factory,
        store=runtime.store,
        enqueue=lambda ids: None,
        now=now + timedelta(days=2),
    )
    assert out["expired_reviews"] == 1
    assert not runtime.store.absolute(image_dir).exists()
    with session_scope(runtime.session_factory) as session:
        assert repo.get_manual_review(session, record_id=record_id).state == "expired"
        assert repo.get_record(session, record_id=record_id).status == "expired"


def test_unfinished_jobs_of_an_earlier_run_are_resumed_at_start_up(make_settings) -> None:  # type: ignore[no-untyped-def]
    """The embedded default survives a restart: jobs left queued or running are re-enqueued."""
    import time

    from fastapi.testclient import TestClient

    from ocr_service.main import create_app
    from tests.service.conftest import HEADERS

    settings = make_settings()
    runtime = Runtime.build(settings)
    batch_id, ids = setup_batch(runtime, 2)
    with session_scope(runtime.session_factory) as session:  # as if killed mid-file
        repo.claim_batch_file(
            session,
            file_id=ids[0],
            now=datetime.now(UTC),
            stale_before=datetime.now(UTC),
            max_deliveries=3,
        )
    runtime.db_engine.dispose()
    app = create_app(settings, engine=FakeEngine(), configure_logs=False)
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            body = client.get(f"/v1/certificate-batches/{batch_id}", headers=HEADERS).json()
            if body["status"] == "completed":
                break
            time.sleep(0.1)
    assert body["status"] == "completed" and body["processed"] == 2


def test_an_id_job_that_can_no_longer_finish_in_time_is_skipped_not_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Under overload the ID thread reaches jobs whose callers are about to give up; running
    them would spend the cores on answers that are then dropped."""
    import threading
    import time
    from datetime import date
    from types import SimpleNamespace

    from ocr_service.admission import DeadlineExceededError, ServiceTimes
    from ocr_service.queue import embedded
    from ocr_service.queue.jobs import IdJob

    ran: list[str] = []

    def slow_verification(job: IdJob, **_: object) -> dict[str, object]:
        ran.append(job.declared_name)
        time.sleep(1.0)
        return {"status": "verified"}

    monkeypatch.setattr(embedded, "run_id_verification", slow_verification)
    context = SimpleNamespace(engine=None, settings=None)
    ids = embedded.EmbeddedQueue(
        lambda: context,
        max_pending_ids=4,
        id_times=ServiceTimes(20, 1.0),  # type: ignore[arg-type, return-value]
    )
    ids.start()
    try:

        def job(name: str) -> IdJob:
            return IdJob(b"", b"", name, "420111199003070019", date(2026, 11, 30))

        first = threading.Thread(target=ids.verify_id, args=(job("first"), 5.0))
        first.start()
        time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            ids.verify_id(job("late"), 1.2)  # reached at about 1.0 s with 0.2 s left
        assert time.monotonic() - started < 1.15  # refused when reached, not at its timeout
        first.join()
        assert ran == ["first"]
    finally:
        ids.close()

"""/v1/id-verifications on the embedded default, with the real OCR engine."""

from __future__ import annotations

import time

import pytest
from stdnum.cn import ric

from tests.service.conftest import API_KEY, HEADERS
from tests.service.support import ghost_png, golden_pair, id_photo_pair, tiny_png

GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def hmt_number(seq: int) -> str:
    """A well-formed 港澳台居民居住证 number: the pipeline rejects it as the wrong document
    without running OCR, which makes failed attempts cheap to produce."""
    body = f"8100001990010{seq % 10}{seq % 1000:03d}"[:17]
    return body + ric.calc_check_digit(body + "0")


def form(front: bytes, back: bytes, name: str, number: str, **extra: str):  # type: ignore[no-untyped-def]
    files = {"front": ("front.jpg", front, "image/jpeg"), "back": ("back.jpg", back, "image/jpeg")}
    data = {"declared_name": name, "declared_id_number": number, **extra}
    return {"files": files, "data": data}


def test_golden_verified_pair_answers_masked_fields_and_is_recorded(client) -> None:  # type: ignore[no-untyped-def]
    front, back, name, number, _ = golden_pair("good_a")
    response = client.post(
        "/v1/id-verifications", headers=HEADERS, **form(front, back, name, number)
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "verified", body
    assert body["status_label"] == "认证成功"
    assert body["attempts_remaining"] == 3
    assert number not in response.text and name not in response.text
    assert response.headers["x-request-id"]

    again = client.get(f"/v1/id-verifications/{body['id']}", headers=HEADERS)
    assert again.status_code == 200 and again.json()["status"] == "verified"
    # the caller gets the fields as read; the record keeps a birth year, not the date
    # (the date is exactly the 8 digits the masked number hides)
    birth = number[6:10] + "-" + number[10:12] + "-" + number[12:14]
    assert body["fields"]["birth_date"] == birth
    stored = again.json()["fields"]
    assert "birth_date" not in stored and stored["birth_year"] == number[6:10]
    assert number[6:14] not in again.text and birth not in again.text


def test_golden_rejected_pair_answers_its_reasons(client) -> None:  # type: ignore[no-untyped-def]
    front, back, name, number, case = golden_pair("glare_number")
    body = client.post(
        "/v1/id-verifications", headers=HEADERS, **form(front, back, name, number)
    ).json()
    assert body["status"] == "rejected"
    assert set(case["expected_codes"]) <= {r["code"] for r in body["reasons"]}
    assert body["attempts_remaining"] == 2
    runtime = client.app.state.runtime
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import session_scope

    with session_scope(runtime.session_factory) as session:
        record = repo.get_record(session, record_id=body["id"])
        assert (
            record.status == "rejected"
            and record.masked_id_number == number[:6] + "********" + number[-4:]
        )
        assert record.measurements and record.timings.get("service_total")
        assert record.id_number_hash and number not in record.id_number_hash


def test_rejection_counts_an_attempt(client) -> None:  # type: ignore[no-untyped-def]
    front, back, name, _ = id_photo_pair(11)
    response = client.post(
        "/v1/id-verifications", headers=HEADERS, **form(front, back, name, hmt_number(1))
    )
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "rejected"
    assert body["status_label"] == "认证失败"
    assert body["attempts_remaining"] == 2
    assert all({"code", "side", "message"} <= set(r) for r in body["reasons"])


def test_fourth_failure_on_a_day_is_locked_without_ocr(client) -> None:  # type: ignore[no-untyped-def]
    front, back, name, _ = id_photo_pair(11)
    number = hmt_number(2)
    for remaining in (2, 1, 0):
        body = client.post(
            "/v1/id-verifications", headers=HEADERS, **form(front, back, name, number)
        ).json()
        assert body["status"] == "rejected" and body["attempts_remaining"] == remaining
    started = time.perf_counter()
    response = client.post(
        "/v1/id-verifications", headers=HEADERS, **form(front, back, name, number)
    )
    body = response.json()
    assert body["status"] == "locked"
    assert [r["code"] for r in body["reasons"]] == ["ATTEMPTS_EXCEEDED"]
    assert "人工审核" in body["reasons"][0]["message"]
    assert time.perf_counter() - started < 2.0


def test_requester_limit_answers_429_with_retry_after(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(failures_per_requester=4))
    front, back, name, _ = id_photo_pair(11)
    headers = {**HEADERS, "X-End-User": "candidate-42"}
    for seq in range(4):  # four different numbers: the per-number lock never triggers
        r = client.post(
            "/v1/id-verifications",
            headers=headers,
            **form(front, back, name, hmt_number(100 + seq)),
        )
        assert r.status_code == 200 and r.json()["status"] == "rejected"
    r = client.post(
        "/v1/id-verifications", headers=headers, **form(front, back, name, hmt_number(200))
    )
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "RATE_LIMITED"
    assert 0 < int(r.headers["retry-after"]) <= 86400
    other = client.post(
        "/v1/id-verifications",
        headers={**HEADERS, "X-End-User": "someone-else"},
        **form(front, back, name, hmt_number(300)),
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    "headers", [{}, {"X-API-Key": "wrong-key-0000000000000"}, {"X-API-Key": "osk_000000000000_x"}]
)
def test_missing_or_wrong_key_is_one_uniform_401(client, headers) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/v1/id-verifications", headers=headers, **form(b"x", b"y", "张三", "1"))
    assert r.status_code == 401
    assert r.json() == {"error": {"code": "UNAUTHORIZED", "message": "missing or invalid API key"}}


def test_error_shapes(client) -> None:  # type: ignore[no-untyped-def]
    front, back, name, number = id_photo_pair(11)
    cases = [
        (form(GIF, back, name, number), 415, "UNSUPPORTED_FORMAT"),
        (form(ghost_png(30000, 30000), back, name, number), 413, "IMAGE_TOO_LARGE"),
        (form(front, back, "", number), 422, "INVALID_FIELD"),
        (form(front, back, name, "12345"), 422, "INVALID_FIELD"),
        (form(front, back, name, number, document_type="driving_licence"), 422, "INVALID_FIELD"),
        (form(b"\xff\xd8\xff\xe0truncated", back, name, number), 422, "CORRUPT_IMAGE"),
    ]
    for kwargs, status, code in cases:
        r = client.post("/v1/id-verifications", headers=HEADERS, **kwargs)
        assert r.status_code == status, (code, r.text)
        assert r.json()["error"]["code"] == code
        assert set(r.json()["error"]) == {"code", "message"}
    r = client.post("/v1/id-verifications", headers=HEADERS, json={"front": "x"})
    assert r.status_code == 415 and r.json()["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    r = client.get("/v1/id-verifications/" + "0" * 32, headers=HEADERS)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND"
    r = client.get("/v1/nothing-here", headers=HEADERS)
    assert r.status_code == 404 and "error" in r.json()


def test_manual_review_submission_status_and_withdrawal(client) -> None:  # type: ignore[no-untyped-def]
    marker = b"MANUAL-REVIEW-PLAINTEXT-MARKER"
    png = tiny_png() + marker  # bytes after IEND: still a valid PNG header
    r = client.post(
        "/v1/id-verifications",
        headers=HEADERS,
        **form(png, png, "JOHN SMITH", "E12345678", document_type="passport"),
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "pending_review" and body["status_label"] == "待认证"

    runtime = client.app.state.runtime
    review_dir = runtime.store.root / "reviews" / body["id"]
    stored = b"".join(p.read_bytes() for p in review_dir.iterdir())
    assert stored and marker not in stored  # encrypted at rest
    from ocr_service.services.id_verification import read_manual_review

    opened = read_manual_review(runtime, record_id=body["id"])
    # re-encoded: a clean JPEG of the same picture, the trailing bytes dropped
    assert opened is not None and opened["images"]["front"][:2] == b"\xff\xd8"
    assert marker not in opened["images"]["front"]
    assert opened["declaration"] == {"name": "JOHN SMITH", "id_number": "E12345678"}

    status = client.get(f"/v1/id-verifications/{body['id']}", headers=HEADERS).json()
    assert status["status_label"] == "待认证"
    withdrawn = client.post(f"/v1/id-verifications/{body['id']}/withdraw", headers=HEADERS)
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert not review_dir.exists()
    again = client.post(f"/v1/id-verifications/{body['id']}/withdraw", headers=HEADERS)
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
    from sqlalchemy import select

    from ocr_service.dashboard.tables import AuditEvent
    from ocr_service.storage.db import session_scope

    with session_scope(runtime.session_factory) as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.record_id == body["id"])
        ).all()
    assert actions == ["review_withdrawn"]


def test_manual_review_decision_deletes_images(client) -> None:  # type: ignore[no-untyped-def]
    from ocr_service.services.id_verification import decide_manual_review

    png = tiny_png()
    body = client.post(
        "/v1/id-verifications",
        headers=HEADERS,
        **form(png, png, "陈大文", "H01234567", document_type="hk_macau_permit"),
    ).json()
    runtime = client.app.state.runtime
    assert decide_manual_review(
        runtime, record_id=body["id"], approve=False, reviewer="qa", reason="照片不清晰"
    )
    assert not (runtime.store.root / "reviews" / body["id"]).exists()
    status = client.get(f"/v1/id-verifications/{body['id']}", headers=HEADERS).json()
    assert status["status"] == "rejected" and status["status_label"] == "认证失败"
    assert status["reasons"][0]["message"] == "照片不清晰"


def test_records_of_another_key_are_not_found(client_for, make_settings) -> None:  # type: ignore[no-untyped-def]
    client = client_for(make_settings(api_keys=f"tester:{API_KEY},other:other-key-0123456789abcd"))
    png = tiny_png()
    body = client.post(
        "/v1/id-verifications",
        headers=HEADERS,
        **form(png, png, "李四", "E7654321", document_type="passport"),
    ).json()
    r = client.get(
        f"/v1/id-verifications/{body['id']}", headers={"X-API-Key": "other-key-0123456789abcd"}
    )
    assert r.status_code == 404

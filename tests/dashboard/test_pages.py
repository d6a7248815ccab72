"""Every page renders for the cases the browser test does not reach, and the handlers
refuse what they should (wrong state, missing reason, unknown ids)."""

from __future__ import annotations

import io
import random
import uuid
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from PIL import Image

from ocr_service.dashboard.tables import AuditEvent
from ocr_service.storage.db import session_scope
from tests.dashboard import seed
from tests.dashboard.conftest import API_KEY, login


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 130, 140)).save(buffer, "JPEG")
    return buffer.getvalue()


def _submit(client: TestClient) -> str:
    response = client.post(
        "/v1/id-verifications",
        headers={"X-API-Key": API_KEY},
        data={
            "declared_name": "<b>王五</b>",
            "declared_id_number": "H12345678",
            "document_type": "hk_macau_permit",
        },
        files={"front": ("f.jpg", _jpeg(), "image/jpeg"), "back": ("b.jpg", _jpeg(), "image/jpeg")},
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def test_pages_render_in_every_state(client: TestClient, session_factory) -> None:
    token = login(client)
    rng = random.Random(2)
    now = datetime.now(UTC)
    with session_scope(session_factory) as s:
        locked = seed.save(
            s,
            {
                **seed.id_record(
                    rng,
                    rejected=True,
                    now=now,
                    reasons=[("ATTEMPTS_EXCEEDED", None, "今日认证失败次数已达上限")],
                ),
                "status": "locked",
                "measurements": {},
                "timings": {},
            },
        )
        bare_cert = seed.save(
            s,
            seed.certificate_record(
                rng,
                rejected=True,
                now=now,
                checks={},
                measurements={},
                reasons=[("CORRUPT_IMAGE", "坏")],
            ),
        )
        accepted = seed.save(s, seed.certificate_record(rng, rejected=False, now=now))
    review_id = _submit(client)

    page = client.get(f"/qa/reviews/{review_id}")
    assert page.status_code == 200
    assert "&lt;b&gt;王五&lt;/b&gt;" in page.text and "<b>王五</b>" not in page.text
    image = client.get(f"/qa/reviews/{review_id}/images/back")
    assert (
        image.headers["content-type"] == "image/jpeg"
        and image.headers["cache-control"] == "no-store"
    )
    assert image.headers["x-content-type-options"] == "nosniff"

    # reject needs a reason; a decision is taken once
    refused = client.post(
        f"/qa/reviews/{review_id}/decision", data={"csrf_token": token, "decision": "reject"}
    )
    assert refused.status_code == 400
    done = client.post(
        f"/qa/reviews/{review_id}/decision",
        data={"csrf_token": token, "decision": "reject", "reason": "材料不全"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    again = client.post(
        f"/qa/reviews/{review_id}/decision", data={"csrf_token": token, "decision": "approve"}
    )
    assert again.status_code == 409
    assert client.get(f"/qa/reviews/{review_id}/images/front").status_code == 404
    api = client.get(f"/v1/id-verifications/{review_id}", headers={"X-API-Key": API_KEY}).json()
    assert api["status_label"] == "认证失败" and api["reasons"][0]["message"] == "材料不全"

    for path in (
        f"/qa/reviews/{review_id}",
        f"/qa/records/{review_id}",
        "/qa/reviews?state=rejected",
        "/qa/reviews?state=nonsense&page=3",
        f"/qa/records/{locked}",
        f"/qa/records/{bare_cert}",
        f"/qa/records/{accepted}",
        "/qa?since=garbage&until=2026-13-40&source=<x>",
        "/qa?since=2026-01-01&until=2025-01-01",
        "/qa/rejections?after=garbage&kind=evil",
        "/qa/rejections?since=2020-01-01&until=2030-01-01&reason=ATTEMPTS_EXCEEDED",
        "/qa/settings",
        f"/qa/audit?before={10**9}",
    ):
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[-500:])
        assert "<x>" not in response.text
    assert "材料不全" in client.get(f"/qa/records/{review_id}").text
    assert client.get(f"/qa/records/{bare_cert}/preview.jpg").status_code == 404
    assert client.get(f"/qa/records/{locked}/preview.jpg").status_code == 404  # never an ID image
    assert client.get("/qa/records/not-an-id").status_code == 404
    assert client.get(f"/qa/records/{uuid.uuid4().hex}").status_code == 404

    # feedback only on rejections, and only the two verdicts
    assert (
        client.post(
            f"/qa/records/{accepted}/feedback", data={"csrf_token": token, "verdict": "correct"}
        ).status_code
        == 409
    )
    assert (
        client.post(
            f"/qa/records/{locked}/feedback", data={"csrf_token": token, "verdict": "maybe"}
        ).status_code
        == 400
    )

    with session_scope(session_factory) as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions.count("review_image_view") == 1 and actions.count("review_decision") == 1
    assert "review_declaration_view" in actions

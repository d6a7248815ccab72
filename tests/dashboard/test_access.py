"""Access control of /qa: sessions only, CSRF on every POST, throttled logins, audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from ocr_service.dashboard.routes import router as dashboard_router
from ocr_service.dashboard.tables import AuditEvent
from ocr_service.storage.db import session_scope
from tests.dashboard import seed
from tests.dashboard.conftest import API_KEY, PASSWORD, REVIEWER, csrf_of, login

PUBLIC = {"/qa/login"}


def qa_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, concrete path) of every /qa route but the login page and static files.

    Taken from the dashboard's router; that they are mounted on the app is shown by the
    redirect test (an unmounted path would answer 404)."""
    out = []
    for route in dashboard_router.routes:
        path = getattr(route, "path", "")
        if not path.startswith("/qa") or path in PUBLIC:
            continue
        concrete = path.replace("{record_id}", uuid.uuid4().hex).replace("{side}", "front")
        out.extend((m, concrete) for m in sorted(getattr(route, "methods", ())) if m != "HEAD")
    return out


def test_the_route_list_covers_the_dashboard(client: TestClient) -> None:
    paths = {p for _, p in qa_routes(client)}
    assert {
        "/qa",
        "/qa/rejections",
        "/qa/reviews",
        "/qa/settings",
        "/qa/audit",
        "/qa/logout",
    } <= paths
    assert len(qa_routes(client)) >= 12


def test_every_route_without_a_session_redirects_to_login(client: TestClient) -> None:
    for method, path in qa_routes(client):
        response = client.request(method, path, follow_redirects=False)
        assert response.status_code == 303, (method, path, response.status_code)
        assert response.headers["location"].startswith("/qa/login?next=/qa"), (method, path)


def test_an_api_key_alone_never_opens_the_dashboard(client: TestClient) -> None:
    for method, path in qa_routes(client):
        for headers in ({"X-API-Key": API_KEY}, {"Authorization": f"Bearer {API_KEY}"}):
            response = client.request(method, path, headers=headers, follow_redirects=False)
            assert response.status_code == 303, (method, path, headers)
    # and the key still works where it belongs
    assert (
        client.get(
            f"/v1/id-verifications/{uuid.uuid4().hex}", headers={"X-API-Key": API_KEY}
        ).status_code
        == 404
    )


def test_a_forged_or_stale_cookie_is_no_session(client: TestClient) -> None:
    client.cookies.set("qa_session", "not-a-session", path="/qa")
    assert client.get("/qa", follow_redirects=False).status_code == 303


def test_posts_without_a_valid_csrf_token_are_refused(client: TestClient, session_factory) -> None:
    token = login(client)
    with session_scope(session_factory) as session:
        record_id = seed.save(
            session,
            seed.certificate_record(seed.random.Random(1), rejected=True, now=datetime.now(UTC)),
        )
    posts = [p for m, p in qa_routes(client) if m == "POST"]
    assert len(posts) >= 3
    for path in posts:
        path = path.replace(path.split("/")[3], record_id) if path.count("/") >= 4 else path
        for data in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}, {"csrf_token": token + "x"}):
            response = client.post(
                path,
                data={**data, "verdict": "correct", "decision": "approve", "reason": "x"},
                follow_redirects=False,
            )
            assert response.status_code == 403, (path, data, response.status_code)
        # the right token from another origin is refused too
        response = client.post(
            path,
            data={"csrf_token": token, "verdict": "correct"},
            headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        )
        assert response.status_code == 403, path
    # nothing was changed by the refused posts, and the session still works
    assert (
        "拒绝正确"
        not in client.get(f"/qa/records/{record_id}").text.split("复核")[-1].split("<form")[0]
    )
    assert client.get("/qa", follow_redirects=False).status_code == 200


def test_login_form_needs_its_token(client: TestClient) -> None:
    client.get("/qa/login")
    response = client.post(
        "/qa/login",
        data={"name": REVIEWER, "password": PASSWORD, "csrf_token": "nope"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "qa_session" not in client.cookies


def test_session_cookie_flags_and_logout(client: TestClient, session_factory) -> None:
    client.get("/qa/login")
    response = client.post(
        "/qa/login",
        data={
            "name": REVIEWER,
            "password": PASSWORD,
            "csrf_token": client.cookies.get("qa_login"),
            "next": "/qa/settings",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/qa/settings"
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("qa_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/qa" in cookie
    assert "Secure" not in cookie  # plain http here; see the TLS test
    page = client.get("/qa")
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    client.post("/qa/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert client.get("/qa", follow_redirects=False).status_code == 303
    with session_scope(session_factory) as session:
        actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions == ["login", "logout"]


def test_secure_cookie_behind_tls(client: TestClient) -> None:
    tls = TestClient(client.app, base_url="https://testserver")
    tls.get("/qa/login")
    response = tls.post(
        "/qa/login",
        data={"name": REVIEWER, "password": PASSWORD, "csrf_token": tls.cookies.get("qa_login")},
        follow_redirects=False,
    )
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("qa_session=")
    )
    assert "Secure" in cookie


def test_next_is_only_a_local_dashboard_path(client: TestClient) -> None:
    for evil in ("https://evil.example/", "//evil.example/qa", "/qa\\@evil", "/v1/x"):
        client.cookies.clear()
        client.get("/qa/login")
        response = client.post(
            "/qa/login",
            data={
                "name": REVIEWER,
                "password": PASSWORD,
                "csrf_token": client.cookies.get("qa_login"),
                "next": evil,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == "/qa", evil


def test_wrong_passwords_lock_the_account(client: TestClient) -> None:
    client.get("/qa/login")
    token = client.cookies.get("qa_login")
    for _ in range(5):
        r = client.post(
            "/qa/login",
            data={"name": REVIEWER, "password": "wrong password!", "csrf_token": token},
            follow_redirects=False,
        )
        assert "error=bad" in r.headers["location"]
    r = client.post(
        "/qa/login",
        data={"name": REVIEWER, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    # locked: the same answer as an unknown name or a wrong password
    assert "error=bad" in r.headers["location"]
    assert "qa_session" not in client.cookies


def test_failures_per_address_are_throttled(client: TestClient) -> None:
    client.app.state.dashboard.throttle.limit = 3  # type: ignore[attr-defined]
    client.get("/qa/login")
    token = client.cookies.get("qa_login")
    for i in range(3):
        client.post(
            "/qa/login",
            data={"name": f"nobody{i}", "password": "x" * 12, "csrf_token": token},
            follow_redirects=False,
        )
    r = client.post(
        "/qa/login",
        data={"name": REVIEWER, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


@pytest.mark.parametrize("password", ["short", "x" * 2000])
def test_create_reviewer_refuses_bad_passwords(session_factory, password: str) -> None:
    from ocr_service.dashboard.auth import ReviewerError, create_reviewer

    with pytest.raises(ReviewerError), session_scope(session_factory) as session:
        create_reviewer(session, "bob", password)


def test_create_reviewer_refuses_a_taken_name(session_factory) -> None:
    from ocr_service.dashboard.auth import ReviewerError, create_reviewer

    with pytest.raises(ReviewerError), session_scope(session_factory) as session:
        create_reviewer(session, REVIEWER, "another long password")

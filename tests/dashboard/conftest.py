"""Fixtures for the dashboard: an app on the embedded default (fake OCR engine: these
tests are about pages, access and queries), a reviewer, a logged-in client."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ocr_service.config import Settings
from ocr_service.dashboard.auth import create_reviewer
from ocr_service.main import create_app
from ocr_service.storage.db import session_scope
from tests.service.support import FakeEngine

API_KEY = "dash-test-key-0123456789abcdef"
SECRET = "d" * 8 + "-dashboard-test-secret-0123456789abcdef"
REVIEWER = "审核员甲"
PASSWORD = "correct horse battery staple"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "data_dir": data_dir,
        "secret_key": SECRET,
        "api_keys": f"tester:{API_KEY}",
        "log_level": "WARNING",
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, engine=FakeEngine(), configure_logs=False)
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver") as c:
        with session_scope(app.state.runtime.session_factory) as session:
            create_reviewer(session, REVIEWER, PASSWORD)
        yield c


def login(client: TestClient, name: str = REVIEWER, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/qa/login")
    token = client.cookies.get("qa_login")
    assert token and f'value="{token}"' in page.text
    response = client.post(
        "/qa/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/qa"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/qa", response.text
    return csrf_of(client.get("/qa").text)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


@pytest.fixture
def session_factory(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.runtime.session_factory  # type: ignore[attr-defined]

"""Calibration in a real browser (Debian's chromium through Playwright) against the real app
under uvicorn with the real OCR engine: a reviewer marks false rejections and cannot apply;
an operator sees the histogram and applies the proposal; the next verification is measured
against the new threshold; the audit log shows the change.

The seed is ``test_calibration``'s with the four false BLURRY rejections left unreviewed:
once the reviewer marks them, the proposal for ``id_card.min_sharpness`` is 0.28 (see that
module's docstring for the arithmetic). ``DASHBOARD_SCREENSHOTS=docs/screenshots`` refreshes
``calibration.png``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocr_service.dashboard.auth import create_reviewer
from ocr_service.main import create_app
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.thresholds import CalibrationConfig, read_thresholds
from tests.dashboard.conftest import API_KEY, PASSWORD, REVIEWER, make_settings
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS
from tests.dashboard.test_calibration import OPERATOR, SHARP, _seed
from tests.service.support import free_port, golden_pair, wait_for_port

pytestmark = pytest.mark.browser

CHECK = "id_card.min_sharpness"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, ocr_engine: Any) -> Iterator[dict[str, Any]]:
    import uvicorn

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    settings = make_settings(
        tmp_path_factory.mktemp("calibration") / "data",
        calibration=CalibrationConfig(min_reviewed=5),
    )
    app = create_app(settings, engine=ocr_engine, configure_logs=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="calibration-uvicorn", daemon=True)
    thread.start()
    wait_for_port(port)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    with httpx.Client(base_url=base) as client:
        while client.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "service not healthy"
            time.sleep(0.1)
    with session_scope(app.state.runtime.session_factory) as session:
        ids = _seed(session, false_verdicts=False)
        create_reviewer(session, REVIEWER, PASSWORD)
        create_reviewer(session, OPERATOR, PASSWORD, role="operator")
    try:
        yield {"base": base, "app": app, "settings": settings, "ids": ids}
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="module")
def page(live: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()
        browser.close()


def _login(page: Any, base: str, name: str) -> None:
    page.goto(base + "/qa/login")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(base + "/qa")


def test_a_reviewer_marks_false_rejections_and_cannot_apply(
    live: dict[str, Any], page: Any
) -> None:
    base, ids = live["base"], live["ids"]
    _login(page, base, REVIEWER)
    page.goto(f"{base}/qa/calibration/{CHECK}")
    assert page.locator('[data-stat="false"]').inner_text() == "0"
    assert page.locator('[data-stat="unreviewed"]').inner_text() == "5"
    for label in ("f0.21", "f0.24", "f0.29", "f-both"):
        page.goto(f"{base}/qa/records/{ids[label]}")
        page.check('input[name="verdict"][value="false_rejection"]')
        page.click("form.feedback button")
        page.wait_for_url("**saved=1")
    page.goto(f"{base}/qa/calibration/{CHECK}")
    assert page.locator('[data-stat="false"]').inner_text() == "4"
    assert page.locator("#proposal [data-proposed]").get_attribute("data-proposed") == "0.28"
    assert page.locator("form#apply").count() == 0
    assert page.locator("#apply-denied").count() == 1
    # a forged form with the reviewer's own valid CSRF token is refused as well
    token = page.locator('form.logout input[name="csrf_token"]').get_attribute("value")
    response = page.request.post(
        f"{base}/qa/calibration/{CHECK}/apply",
        form={"csrf_token": token, "value": "0.28"},
        max_redirects=0,
    )
    assert response.status == 403
    assert not live["settings"].thresholds_file.exists()
    page.click("form.logout button")
    page.wait_for_url("**/qa/login**")


def test_an_operator_applies_the_proposal(live: dict[str, Any], page: Any, tmp_path: Path) -> None:
    base = live["base"]
    _login(page, base, OPERATOR)
    page.goto(f"{base}/qa/calibration")
    row = page.locator(f'tr[data-check="{CHECK}"]')
    assert row.locator("[data-proposed]").get_attribute("data-proposed") == "0.28"
    row.locator("a").first.click()
    page.wait_for_url(f"**/qa/calibration/{CHECK}")
    histogram = page.locator("svg#histogram")
    assert histogram.locator("rect.bar.confirmed").count() >= 3
    assert histogram.locator("rect.bar.false_rejection").count() >= 2
    assert histogram.locator("rect.bar.accepted").count() >= 2
    assert histogram.locator('line[data-mark="current"]').get_attribute("data-value") == str(SHARP)
    assert histogram.locator('line[data-mark="proposed"]').get_attribute("data-value") == "0.28"
    outcome = page.locator('tr[data-outcome="false-passing"] [data-count]')
    assert outcome.inner_text() == "1"
    # the what-if field: at 0.2 all four false and four confirmed rejections would pass
    page.fill("#what-if-value", "0.2")
    page.click('#what-if button[type="submit"]')
    page.wait_for_url("**t=0.2")
    assert page.locator('tr[data-outcome="false-passing"] [data-count]').inner_text() == "4"
    assert page.locator('tr[data-outcome="confirmed-passing"] [data-count]').inner_text() == "4"
    page.goto(f"{base}/qa/calibration/{CHECK}")
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    shot = (Path(target) if target else tmp_path) / "calibration.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.click("form#apply button")
    page.wait_for_url("**applied=*")
    assert page.locator("#applied").count() == 1
    assert read_thresholds(live["settings"].thresholds_file) == {"id_card": {"min_sharpness": 0.28}}
    assert "0.28" in page.locator('[data-stat="current"]').inner_text()
    page.goto(f"{base}/qa/settings")
    row = page.locator('tr[data-setting="min_sharpness"]')
    assert row.locator("[data-source]").get_attribute("data-source") == "file"
    assert "0.28" in row.inner_text()


def test_the_next_verification_uses_the_new_threshold(live: dict[str, Any]) -> None:
    front, back, name, number, _ = golden_pair("good_a")
    with httpx.Client(base_url=live["base"], headers={"X-API-Key": API_KEY}, timeout=120) as api:
        response = api.post(
            "/v1/id-verifications",
            files={
                "front": ("front.jpg", front, "image/jpeg"),
                "back": ("back.jpg", back, "image/jpeg"),
            },
            data={"declared_name": name, "declared_id_number": number},
        )
    assert response.status_code == 200, response.text
    record_id = response.json()["id"]
    with session_scope(live["app"].state.runtime.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        assert record is not None
        for side in ("front", "back"):
            limits = record.measurements[side]["stages"]["capture"]["limits"]
            assert limits["min_sharpness"] == 0.28, (side, limits)


def test_the_audit_log_shows_the_change(live: dict[str, Any], page: Any) -> None:
    page.goto(live["base"] + "/qa/audit")
    row = page.locator('tr[data-action="threshold_apply"]')
    assert row.count() == 1
    text = row.inner_text()
    assert (
        OPERATOR in text and CHECK in text and f'"from": {SHARP}' in text and '"to": 0.28' in text
    )
    assert '"false_would_pass": 1' in text and '"reviewed": 14' in text

"""The dashboard in a real browser (Debian's chromium through Playwright) against the real
app served by uvicorn on loopback, seeded through the service's own API and storage.

The tests run in file order on one logged-in page: the feedback test changes the rate the
overview shows, the review test empties the queue. Set ``DASHBOARD_SCREENSHOTS=docs/screenshots``
to refresh the README's screenshots.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ocr_service.config import Settings
from ocr_service.dashboard.auth import create_reviewer
from ocr_service.main import create_app
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from tests.dashboard import seed
from tests.dashboard.conftest import API_KEY, PASSWORD, REVIEWER, make_settings
from tests.service.support import certificate_scan, free_port, wait_for_port

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_FILENAME = '"><svg onload=alert(1)>.jpg'
HTML_IN_OCR = "<img src=x onerror=alert(2)>公安局"


@dataclass
class Live:
    base: str
    app: Any
    settings: Settings
    certificates: dict[str, str] = field(default_factory=dict)  # label -> record id
    id_records: dict[str, str] = field(default_factory=dict)
    submissions: list[str] = field(default_factory=list)

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": API_KEY}, timeout=60)


def _photo(text: str) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), (214, 226, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, 620, 380), outline=(40, 60, 120), width=4)
    draw.text((40, 40), text, fill=(20, 20, 20))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, ocr_engine: Any) -> Iterator[Live]:
    import uvicorn

    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed")
    settings = make_settings(tmp_path_factory.mktemp("live") / "data")
    app = create_app(settings, engine=ocr_engine, configure_logs=False)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
        )
    )
    thread = threading.Thread(target=server.run, name="dashboard-uvicorn", daemon=True)
    thread.start()
    wait_for_port(port)
    live = Live(f"http://127.0.0.1:{port}", app, settings)
    deadline = time.monotonic() + 60
    with live.api() as api:
        while api.get("/healthz").status_code != 200:
            assert time.monotonic() < deadline, "service not healthy"
            time.sleep(0.1)
        _seed(live, api)
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(15)


def _seed(live: Live, api: httpx.Client) -> None:
    factory = live.app.state.runtime.session_factory
    with session_scope(factory) as session:
        create_reviewer(session, REVIEWER, PASSWORD)
    # certificates through the API and the real pipeline: a skewed page, and a hostile filename
    name, data = certificate_scan(11, skew_degrees=5.0)
    body = api.post("/v1/certificates/validate", files={"file": (name, data, "image/jpeg")}).json()
    assert body["status"] == "rejected" and "SKEWED" in [r["code"] for r in body["reasons"]], body
    live.certificates["skewed"] = body["id"]
    _, data = certificate_scan(12)
    body = api.post(
        "/v1/certificates/validate", files={"file": (XSS_FILENAME, data, "image/jpeg")}
    ).json()
    assert body["status"] == "rejected", body
    live.certificates["xss"] = body["id"]
    name, data = certificate_scan(13)
    body = api.post("/v1/certificates/validate", files={"file": (name, data, "image/jpeg")}).json()
    live.certificates["ok"] = body["id"]
    # ID verifications: their records as the service writes them (no image is ever kept)
    rng = random.Random(5)
    now = datetime.now(UTC)
    with session_scope(factory) as session:
        for day in range(6):
            for i in range(4 + day):
                seed.save(
                    session,
                    seed.id_record(
                        rng, rejected=i % 3 == 0, now=now - timedelta(days=day, minutes=i)
                    ),
                )
        live.id_records["html"] = seed.save(
            session,
            seed.id_record(
                rng,
                rejected=True,
                now=now,
                reasons=[("FIELDS_INCONSISTENT", "back", "签发机关<b>不一致</b>")],
                fields={"issuing_authority": HTML_IN_OCR},
            ),
        )
        for day in range(6):
            for i in range(2 + day % 3):
                seed.save(
                    session,
                    seed.certificate_record(
                        rng, rejected=i == 0, now=now - timedelta(days=day, hours=i + 1)
                    ),
                )
    # manual-review submissions through the API
    for n in range(2):
        response = api.post(
            "/v1/id-verifications",
            headers={"X-End-User": f"candidate-{n}"},  # one pending submission each
            data={
                "declared_name": f"李{n}四",
                "declared_id_number": f"E1234567{n}",
                "document_type": "passport",
            },
            files={
                "front": ("front.jpg", _photo(f"PASSPORT {n} FRONT"), "image/jpeg"),
                "back": ("back.jpg", _photo(f"PASSPORT {n} BACK"), "image/jpeg"),
            },
        )
        assert response.status_code == 202, response.text
        live.submissions.append(response.json()["id"])


@pytest.fixture(scope="module")
def page(live: Live) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.dialogs = []  # type: ignore[attr-defined]
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
        yield page
        context.close()
        browser.close()


def _shot(page: Any, name: str, tmp: Path) -> None:
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    path = (Path(target) if target else tmp) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def _stat(page: Any, kind: str, stat: str) -> str:
    return page.locator(f'#panel-{kind} [data-stat="{stat}"]').inner_text().strip()


def test_login_and_the_overview_charts(live: Live, page: Any) -> None:
    page.goto(live.base + "/qa")
    assert "/qa/login" in page.url
    page.fill('input[name="name"]', REVIEWER)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(live.base + "/qa")
    for kind in ("id_verification", "certificate"):
        chart = page.locator(f'svg.chart.daily[data-kind="{kind}"]')
        assert chart.count() == 1
        assert chart.locator("rect.bar.rejected").count() >= 3
        assert chart.locator("rect.bar.passed").count() >= 3
        assert page.locator(f'svg.chart.reasons[data-kind="{kind}"] g.reason').count() >= 1
    assert (
        page.locator(
            'svg.chart.reasons[data-kind="certificate"] g.reason[data-code="SKEWED"]'
        ).count()
        == 1
    )
    rejected = sum(
        int(g.get_attribute("data-rejected"))
        for g in page.locator('svg.chart.daily[data-kind="id_verification"] g.day').all()
    )
    assert rejected == int(_stat(page, "id_verification", "rejected"))
    assert _stat(page, "certificate", "false-rejection-rate") == "—"
    assert "待人工审核：2" in page.inner_text(".pending")


def test_filter_rejections_by_reason(live: Live, page: Any, tmp_path: Path) -> None:
    page.goto(live.base + "/qa/rejections")
    everything = int(page.inner_text("#total"))
    page.select_option('select[name="reason"]', "SKEWED")
    page.click('form.filters button[type="submit"]')
    page.wait_for_url("**reason=SKEWED**")
    rows = page.locator("#rejections tbody tr[data-record]")
    assert 1 <= rows.count() < everything
    for i in range(rows.count()):
        assert "SKEWED" in rows.nth(i).inner_text()
    assert page.locator(f'tr[data-record="{live.certificates["skewed"]}"]').count() == 1
    # measurements against the thresholds in force are on the row, the failing one marked
    row = page.locator(f'tr[data-record="{live.certificates["skewed"]}"]')
    assert row.locator('tr.bad[data-check="skew_degrees"]').count() == 1
    assert "≤ 2°" in row.inner_text()
    _shot(page, "rejections.png", tmp_path)


def test_certificate_detail_shows_the_preview(live: Live, page: Any, tmp_path: Path) -> None:
    page.click(f'tr[data-record="{live.certificates["skewed"]}"] a')
    page.wait_for_url(f"**/qa/records/{live.certificates['skewed']}")
    preview = page.locator("img#preview")
    preview.wait_for()
    page.wait_for_function("document.querySelector('img#preview').complete")
    assert page.evaluate("document.querySelector('img#preview').naturalWidth") > 100
    response = page.request.get(
        live.base + f"/qa/records/{live.certificates['skewed']}/preview.jpg"
    )
    assert response.status == 200 and response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert "歪斜角度" in page.inner_text(".checks")
    page.click("details#why summary")
    assert "SKEWED" in page.inner_text("details#why")
    _shot(page, "detail.png", tmp_path)


def test_a_false_rejection_moves_the_rate(live: Live, page: Any, tmp_path: Path) -> None:
    page.goto(live.base + f"/qa/records/{live.certificates['skewed']}")
    page.check('input[name="verdict"][value="false_rejection"]')
    page.fill('textarea[name="note"]', "歪斜其实在可接受范围内")
    page.click("form.feedback button")
    page.wait_for_url("**saved=1")
    assert "误拒" in page.inner_text("#current-verdict")
    page.goto(live.base + "/qa")
    assert _stat(page, "certificate", "false-rejection-rate") == "100.0%"
    assert _stat(page, "certificate", "false-rejections") == "1"
    page.goto(live.base + f"/qa/records/{live.certificates['xss']}")
    page.check('input[name="verdict"][value="correct"]')
    page.click("form.feedback button")
    page.wait_for_url("**saved=1")
    page.goto(live.base + "/qa")
    assert _stat(page, "certificate", "false-rejection-rate") == "50.0%"
    assert _stat(page, "id_verification", "false-rejection-rate") == "—"
    assert page.locator('svg.chart.reasons[data-kind="certificate"] rect.bar.false').count() >= 1
    _shot(page, "overview.png", tmp_path)


def test_hostile_text_renders_as_text(live: Live, page: Any) -> None:
    page.goto(live.base + "/qa/rejections?kind=certificate")
    row = page.locator(f'tr[data-record="{live.certificates["xss"]}"]')
    assert "<svg onload=alert(1)>" in row.locator(".filename").inner_text()
    page.goto(live.base + f"/qa/records/{live.certificates['xss']}")
    assert "<svg onload=alert(1)>" in page.inner_text("#filename")
    assert page.locator("svg[onload]").count() == 0
    page.goto(live.base + f"/qa/records/{live.id_records['html']}")
    page.click("details#why summary")
    why = page.inner_text("details#why")
    assert HTML_IN_OCR in why and "签发机关<b>不一致</b>" in why
    assert page.locator("img[onerror]").count() == 0 and page.locator("details#why b").count() == 0
    assert page.dialogs == []  # type: ignore[attr-defined]
    # an ID verification never has an image
    assert page.locator("img#preview").count() == 0


def test_manual_review_approve_and_reject(live: Live, page: Any, tmp_path: Path) -> None:
    first, second = live.submissions
    data_dir = live.settings.data_dir
    with live.api() as api:
        assert api.get(f"/v1/id-verifications/{first}").json()["status_label"] == "待认证"
    assert (data_dir / "reviews" / first).is_dir()

    page.goto(live.base + "/qa/reviews")
    assert page.locator("#reviews tr[data-record]").count() == 2
    page.click(f'tr[data-record="{first}"] a')
    page.wait_for_url(f"**/qa/reviews/{first}")
    assert page.inner_text("#declared-number") == "E12345670"
    for side in ("front", "back"):
        page.wait_for_function(f"document.querySelector('img[data-side={side}]').complete")
        assert page.evaluate(f"document.querySelector('img[data-side={side}]').naturalWidth") == 640
    _shot(page, "review.png", tmp_path)
    page.check('input[name="decision"][value="approve"]')
    page.click("#decide")
    page.wait_for_url("**/qa/reviews?done=approve")

    # the images are gone from storage at once, the declaration too; the API shows the outcome
    assert not (data_dir / "reviews" / first).exists()
    factory = live.app.state.runtime.session_factory
    with session_scope(factory) as session:
        review = repo.get_manual_review(session, record_id=first)
        assert review is not None and review.state == "approved" and review.decided_by == REVIEWER
        assert review.image_dir is None and review.sealed_declaration is None
    with live.api() as api:
        body = api.get(f"/v1/id-verifications/{first}").json()
    assert body["status"] == "verified" and body["status_label"] == "认证成功"
    assert live.app.state.runtime.store.root.joinpath("reviews").exists()
    assert page.request.get(live.base + f"/qa/reviews/{first}/images/front").status == 404

    # the second is rejected with a reason the submitter sees
    page.goto(live.base + f"/qa/reviews/{second}")
    page.check('input[name="decision"][value="reject"]')
    page.fill('textarea[name="reason"]', "护照照片页不清晰，请重新提交")
    page.click("#decide")
    page.wait_for_url("**/qa/reviews?done=reject")
    assert not (data_dir / "reviews" / second).exists()
    with live.api() as api:
        body = api.get(f"/v1/id-verifications/{second}").json()
    assert body["status_label"] == "认证失败"
    assert body["reasons"][0]["message"] == "护照照片页不清晰，请重新提交"

    # every image view and both decisions are in the audit log
    page.goto(live.base + "/qa/audit")
    actions = [
        row.get_attribute("data-action") for row in page.locator("#audit tr[data-action]").all()
    ]
    assert actions.count("review_image_view") >= 2
    assert actions.count("review_decision") == 2
    assert actions.count("feedback") == 2


def test_settings_page_shows_the_thresholds(live: Live, page: Any) -> None:
    page.goto(live.base + "/qa/settings")
    assert page.inner_text('tr[data-setting="min_sharpness"] td.num') == str(
        live.settings.id_card.min_sharpness
    )
    assert page.inner_text('tr[data-setting="skew_reject_degrees"] td.num') == str(
        live.settings.certificate.skew_reject_degrees
    )


def test_logout(live: Live, page: Any) -> None:
    page.goto(live.base + "/qa")
    page.click("form.logout button")
    page.wait_for_url("**/qa/login")
    page.goto(live.base + "/qa/rejections")
    assert "/qa/login" in page.url


def test_no_stray_review_images(live: Live) -> None:
    leftovers = [p for p in (live.settings.data_dir / "reviews").rglob("*") if p.is_file()]
    assert leftovers == []
    shutil.rmtree(live.settings.data_dir, ignore_errors=True)

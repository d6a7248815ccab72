"""``/qa``: the page groups (``routes_records``, ``routes_reviews``, ``routes_auth``) on one
router, and :func:`mount`, which adds them, the body guard and the error handlers to the
service's app. The shared web plumbing is in :mod:`ocr_service.dashboard.web`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ocr_service.dashboard import (
    auth,
    routes_auth,
    routes_calibration,
    routes_records,
    routes_reviews,
)
from ocr_service.dashboard.config import dashboard_config
from ocr_service.dashboard.web import (
    HERE,
    CsrfRejected,
    Dashboard,
    FormBodyGuard,
    LoginRequired,
    NotFound,
    PageError,
    make_templates,
    no_store,
    render,
    safe_next,
)
from ocr_service.security import derive_key
from ocr_service.storage.db import SessionFactory

__all__ = ["CsrfRejected", "LoginRequired", "NotFound", "PageError", "mount", "router"]

#: Every /qa body is a small url-encoded form (login, logout, feedback, decision).
MAX_FORM_BYTES = 64 * 1024
FORM_TIMEOUT_S = 10.0

router = APIRouter(include_in_schema=False)
for _group in (routes_auth, routes_records, routes_reviews, routes_calibration):
    router.routes.extend(_group.router.routes)  # flat: one list of every /qa route


def mount(app: FastAPI, settings: Any, session_factory: SessionFactory) -> None:
    """Add ``/qa`` to the service's app (``create_app`` calls this)."""
    from ocr_service.dashboard import tables  # noqa: F401 - the tables join the metadata

    config = dashboard_config(settings)
    runtime = getattr(app.state, "runtime", None)
    name_key = (
        runtime.keys.audit_names
        if runtime is not None
        else derive_key(settings.secret, "audit-name-hmac")
    )
    app.state.dashboard = Dashboard(
        settings=settings,
        session_factory=session_factory,
        config=config,
        templates=make_templates(),
        throttle=auth.AddressThrottle(
            config.failed_logins_per_address, config.address_window_minutes * 60
        ),
        name_key=name_key,
    )

    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = "/qa/login?next=" + quote(safe_next(exc.next_path), safe="/")
        return no_store(RedirectResponse(target, status_code=303))

    async def to_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageError)
        return render(
            request,
            request.app.state.dashboard,
            "error.html",
            status_code=exc.status_code,
            message=exc.message,
        )

    app.add_exception_handler(LoginRequired, to_login)
    app.add_exception_handler(PageError, to_page)
    app.add_middleware(FormBodyGuard, max_bytes=MAX_FORM_BYTES, timeout_s=FORM_TIMEOUT_S)
    app.include_router(router)
    app.mount("/qa/static", StaticFiles(directory=HERE / "static"), name="qa-static")

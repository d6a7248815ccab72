"""Routes of ``/qa``: thin handlers that check the session (and the CSRF token on every
POST), call a query or a service function, and render a template.

Errors of this package (:class:`LoginRequired`, :class:`CsrfRejected`, :class:`PageError`)
are turned into a redirect to the login page or an HTML error page by handlers that
:func:`mount` registers; the API's JSON error shape is not used here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from ocr_service.dashboard import auth, labels, queries
from ocr_service.dashboard.charts import daily_chart, reason_chart
from ocr_service.dashboard.config import DashboardConfig, dashboard_config
from ocr_service.dashboard.measures import record_checks
from ocr_service.services.access import client_address
from ocr_service.storage import repository as repo
from ocr_service.storage.db import SessionFactory, session_scope

HERE = Path(__file__).parent
SESSION_COOKIE = "qa_session"
LOGIN_COOKIE = "qa_login"
RECORD_ID = r"^[0-9a-f]{32}$"
MAX_NOTE = 1000

#: Pages are HTML without scripts; images only from here; never framed.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
IMAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "inline",
}


# -- errors of this package -------------------------------------------------------------


class LoginRequired(Exception):
    """No valid session: the handler redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PageError(Exception):
    """An HTML error page with a status code."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class CsrfRejected(PageError):
    status_code = 403

    def __init__(self) -> None:
        super().__init__("请求无效（CSRF 校验失败），请刷新页面后重试。")


class NotFound(PageError):
    status_code = 404

    def __init__(self) -> None:
        super().__init__("未找到该记录。")


# -- state ------------------------------------------------------------------------------


@dataclass
class Dashboard:
    """What every handler needs, built once by :func:`mount`."""

    settings: Any
    session_factory: SessionFactory
    config: DashboardConfig
    templates: Jinja2Templates
    throttle: auth.AddressThrottle

    @property
    def timezone(self) -> str:
        return str(getattr(self.settings, "timezone", "Asia/Shanghai"))

    def client(self, request: Request) -> str:
        return client_address(
            request.client.host if request.client else None,
            request.headers.get("x-forwarded-for"),
            getattr(self.settings, "trusted_networks", []),
        )

    def secure_cookies(self, request: Request) -> bool:
        if self.config.cookie_secure is not None:
            return self.config.cookie_secure
        return request.url.scheme == "https"


def get_dashboard(request: Request) -> Dashboard:
    return request.app.state.dashboard  # type: ignore[no-any-return]


DashboardDep = Annotated[Dashboard, Depends(get_dashboard)]


def current_reviewer(request: Request, dash: DashboardDep) -> auth.ReviewerIdentity:
    """The logged-in reviewer; only the session cookie counts (never an API key)."""
    with session_scope(dash.session_factory) as session:
        identity = auth.resolve_session(
            session, token=request.cookies.get(SESSION_COOKIE), config=dash.config
        )
    if identity is None:
        # after login a GET comes back where it was; a POST cannot be replayed
        target = request.url.path if request.method == "GET" else "/qa"
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        raise LoginRequired(target)
    request.state.reviewer = identity
    return identity


ReviewerDep = Annotated[auth.ReviewerIdentity, Depends(current_reviewer)]
CsrfField = Annotated[str, Form(max_length=200)]


def check_csrf(request: Request, identity: auth.ReviewerIdentity, token: str) -> None:
    """Every POST carries the session's token; a cross-site Origin is refused as well."""
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host", ""):
        raise CsrfRejected()
    if not auth.same_token(identity.csrf_token, token):
        raise CsrfRejected()


def safe_next(value: str | None) -> str:
    if (
        value
        and value.startswith("/qa")
        and not value.startswith("//")
        and "\\" not in value
        and "\n" not in value
        and "\r" not in value
    ):
        return value
    return "/qa"


def _parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _clean(value: str | None, limit: int = 100) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


# -- rendering --------------------------------------------------------------------------


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every page; nothing is marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=1: "—" if v is None else f"{v:.{digits}%}"
    env.filters["tojson_pretty"] = lambda v: json.dumps(
        v, ensure_ascii=False, indent=1, default=str
    )
    env.globals.update(
        labels=labels,
        reason_label=labels.reason_label,
        status_label=lambda s: labels.STATUSES.get(s, s),
        doctype_label=lambda s: labels.DOCUMENT_TYPES.get(s, s),
        kind_label=lambda s: labels.KINDS.get(s, s),
    )
    return Jinja2Templates(env=env)


def render(
    request: Request, dash: Dashboard, name: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    zone = ZoneInfo(dash.timezone)

    def localtime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        return value.astimezone(zone).strftime(fmt) if value else "—"

    identity = getattr(request.state, "reviewer", None)
    response = dash.templates.TemplateResponse(
        request,
        name,
        {
            "reviewer": identity,
            "csrf": identity.csrf_token if identity else "",
            "localtime": localtime,
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )
    return no_store(response)


def no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def image_response(data: bytes) -> Response:
    media = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
    return Response(data, media_type=media, headers=IMAGE_HEADERS)


# -- the router -------------------------------------------------------------------------

router = APIRouter(prefix="/qa", include_in_schema=False)


@router.get("/login")
def login_page(
    request: Request, dash: DashboardDep, next: str | None = None, error: str | None = None
) -> Response:
    import secrets

    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        dash,
        "login.html",
        next=safe_next(next),
        login_token=token,
        error={
            "bad": "用户名或密码错误。",
            "locked": "登录失败次数过多，账号已暂时锁定，请稍后再试。",
        }.get(error or ""),
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        path="/qa/login",
        secure=dash.secure_cookies(request),
        max_age=3600,
    )
    return response


@router.post("/login")
def login_submit(
    request: Request,
    dash: DashboardDep,
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)] = "",
    csrf_token: CsrfField = "",
    next: Annotated[str, Form(max_length=500)] = "/qa",
) -> Response:
    if not auth.same_token(request.cookies.get(LOGIN_COOKIE), csrf_token):
        raise CsrfRejected()
    client = dash.client(request)
    wait = dash.throttle.blocked(client)
    if wait:
        response = render(
            request,
            dash,
            "error.html",
            status_code=429,
            message=f"登录失败次数过多，请 {wait} 秒后再试。",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    with session_scope(dash.session_factory) as session:
        result = auth.login(
            session, name=name, password=password, client=client, config=dash.config
        )
    if result.outcome is not auth.LoginOutcome.OK:
        dash.throttle.fail(client)
        code = "locked" if result.outcome is auth.LoginOutcome.LOCKED else "bad"
        return RedirectResponse(
            f"/qa/login?{urlencode({'error': code, 'next': safe_next(next)})}", status_code=303
        )
    response = RedirectResponse(safe_next(next), status_code=303)
    assert result.token is not None
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        httponly=True,
        samesite="strict",
        path="/qa",
        secure=dash.secure_cookies(request),
        max_age=dash.config.session_max_hours * 3600,
    )
    response.delete_cookie(LOGIN_COOKIE, path="/qa/login")
    return response


@router.post("/logout")
def logout(
    request: Request, dash: DashboardDep, identity: ReviewerDep, csrf_token: CsrfField = ""
) -> Response:
    check_csrf(request, identity, csrf_token)
    with session_scope(dash.session_factory) as session:
        auth.logout(session, identity=identity, client=dash.client(request))
    response = RedirectResponse("/qa/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/qa")
    return response


@router.get("")
def overview(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    since: str | None = None,
    until: str | None = None,
    source: str | None = None,
) -> Response:
    today = queries.today_in(dash.timezone)
    last = _parse_day(until) or today
    first = _parse_day(since) or date.fromordinal(last.toordinal() - dash.config.default_days + 1)
    period = queries.local_period(first, last, dash.timezone)
    source = _clean(source)
    with session_scope(dash.session_factory) as session:
        kinds = queries.overview(session, period=period, timezone=dash.timezone, source=source)
        sources = queries.list_sources(session)
        pending = repo.count_manual_reviews(session, state="pending")
    panels = [
        {
            "data": k,
            "daily": daily_chart(k.days),
            "reasons": reason_chart(k.reasons, labels.REASONS_BY_KIND[k.kind]),
        }
        for k in kinds
    ]
    return render(
        request,
        dash,
        "overview.html",
        panels=panels,
        period=period,
        source=source,
        sources=sources,
        pending=pending,
    )


@router.get("/rejections")
def rejections(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    kind: str | None = None,
    reason: str | None = None,
    document_type: str | None = None,
    source: str | None = None,
    since: str | None = None,
    until: str | None = None,
    after: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    kind = kind if kind in queries.KINDS else None
    first, last = _parse_day(since), _parse_day(until)
    zone = dash.timezone
    flt = queries.RejectionFilter(
        kind=kind,
        reason_code=_clean(reason, 40),
        document_type=_clean(document_type, 40),
        source=_clean(source),
        since=queries.local_period(first, first, zone).since if first else None,
        until=queries.local_period(last, last, zone).until if last else None,
    )
    cursor = queries.Cursor.decode(after)
    with session_scope(dash.session_factory) as session:
        page = queries.list_rejections(session, flt=flt, after=cursor, limit=dash.config.page_size)
        total = queries.count_rejections(session, flt=flt)
        verdicts = queries.feedback_for(session, record_ids=[r.id for r in page.rows])
        sources = queries.list_sources(session)
        doctypes = queries.document_types(session)
    settings = dash.settings
    rows = [
        {
            "record": r,
            "checks": record_checks(r, settings.id_card, settings.certificate),
            "verdict": verdicts.get(r.id),
        }
        for r in page.rows
    ]
    params = {
        k: v
        for k, v in {
            "kind": kind,
            "reason": flt.reason_code,
            "document_type": flt.document_type,
            "source": flt.source,
            "since": first.isoformat() if first else None,
            "until": last.isoformat() if last else None,
        }.items()
        if v
    }
    next_url = (
        "/qa/rejections?" + urlencode({**params, "after": page.next_cursor.encode()})
        if page.next_cursor
        else None
    )
    first_url = "/qa/rejections?" + urlencode(params) if cursor else None
    return render(
        request,
        dash,
        "rejections.html",
        rows=rows,
        total=total,
        params=params,
        next_url=next_url,
        first_url=first_url,
        sources=sources,
        doctypes=doctypes,
        reason_codes=labels.all_reason_codes(),
        kind=kind,
    )


@router.get("/records/{record_id}")
def record_detail(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    record_id: str,
    saved: str | None = None,
) -> Response:
    if not _valid_id(record_id):
        raise NotFound()
    with session_scope(dash.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        if record is None:
            raise NotFound()
        feedback = queries.get_feedback(session, record_id=record_id)
        review = repo.get_manual_review(session, record_id=record_id)
        review_info = (
            None
            if review is None
            else {
                "state": review.state,
                "decided_by": review.decided_by,
                "decided_at": review.decided_at,
                "reason": review.decision_reason,
                "submitted_at": review.submitted_at,
                "images_kept": review.image_dir is not None,
            }
        )
        events = queries.list_audit(session, record_id=record_id, limit=50)
    settings = dash.settings
    return render(
        request,
        dash,
        "record.html",
        record=record,
        feedback=feedback,
        review=review_info,
        events=events,
        saved=saved,
        groups=record_checks(record, settings.id_card, settings.certificate),
        rejected=record.status in queries.REJECTED,
    )


@router.get("/records/{record_id}/preview.jpg")
def record_preview(
    request: Request, dash: DashboardDep, identity: ReviewerDep, record_id: str
) -> Response:
    """The certificate's downscaled preview (never an ID image: those are not kept)."""
    if not _valid_id(record_id):
        raise NotFound()
    with session_scope(dash.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        path = record.preview_path if record is not None and record.kind == "certificate" else None
    if not path:
        raise NotFound()
    try:
        data = _runtime(request).store.read(path)
    except (OSError, ValueError) as exc:
        raise NotFound() from exc
    return image_response(data)


@router.post("/records/{record_id}/feedback")
def record_feedback(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    record_id: str,
    csrf_token: CsrfField = "",
    verdict: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    check_csrf(request, identity, csrf_token)
    if not _valid_id(record_id):
        raise NotFound()
    if verdict not in queries.VERDICTS:
        raise PageError("请选择“拒绝正确”或“误拒”。")
    now = datetime.now(UTC)
    with session_scope(dash.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        if record is None:
            raise NotFound()
        if record.status not in queries.REJECTED:
            raise PageError("只能对被拒绝的记录提交复核意见。", 409)
        queries.save_feedback(
            session,
            record_id=record_id,
            verdict=verdict,
            note=note.strip(),
            reviewer=identity.name,
            now=now,
        )
        auth.log_event(
            session,
            action="feedback",
            reviewer=identity.name,
            client=dash.client(request),
            record_id=record_id,
            detail={"verdict": verdict},
            now=now,
        )
    return RedirectResponse(f"/qa/records/{record_id}?saved=1", status_code=303)


# -- manual review ------------------------------------------------------------------------


@router.get("/reviews")
def review_queue(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    state: str = "pending",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    done: str | None = None,
) -> Response:
    state = (
        state if state in ("pending", "approved", "rejected", "withdrawn", "expired") else "pending"
    )
    size = dash.config.page_size
    with session_scope(dash.session_factory) as session:
        items = repo.list_manual_reviews(
            session, state=state, limit=size + 1, offset=(page - 1) * size
        )
        counts = {
            s: repo.count_manual_reviews(session, state=s)
            for s in ("pending", "approved", "rejected")
        }
    return render(
        request,
        dash,
        "reviews.html",
        items=items[:size],
        more=len(items) > size,
        page=page,
        state=state,
        counts=counts,
        done=done,
    )


@router.get("/reviews/{record_id}")
def review_detail(
    request: Request, dash: DashboardDep, identity: ReviewerDep, record_id: str
) -> Response:
    if not _valid_id(record_id):
        raise NotFound()
    from ocr_service.services.id_verification import read_manual_review

    with session_scope(dash.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        review = repo.get_manual_review(session, record_id=record_id)
        if record is None or review is None:
            raise NotFound()
        events = queries.list_audit(session, record_id=record_id, limit=50)
    declaration = None
    sides: list[str] = []
    if review.state == "pending":
        opened = read_manual_review(_runtime(request), record_id=record_id)
        if opened is not None:
            declaration = opened["declaration"]
            sides = sorted(opened["images"], key=lambda s: (s != "front", s))
        with session_scope(dash.session_factory) as session:
            auth.log_event(
                session,
                action="review_declaration_view",
                reviewer=identity.name,
                client=dash.client(request),
                record_id=record_id,
            )
    return render(
        request,
        dash,
        "review.html",
        record=record,
        review=review,
        declaration=declaration,
        sides=sides,
        events=events,
    )


@router.get("/reviews/{record_id}/images/{side}")
def review_image(
    request: Request, dash: DashboardDep, identity: ReviewerDep, record_id: str, side: str
) -> Response:
    """A pending submission's image, decrypted in memory; every view is audited."""
    if not _valid_id(record_id) or side not in ("front", "back"):
        raise NotFound()
    from ocr_service.services.id_verification import read_manual_review

    opened = read_manual_review(_runtime(request), record_id=record_id)
    data = (opened or {}).get("images", {}).get(side)
    if data is None:
        raise NotFound()
    with session_scope(dash.session_factory) as session:
        auth.log_event(
            session,
            action="review_image_view",
            reviewer=identity.name,
            client=dash.client(request),
            record_id=record_id,
            detail={"side": side},
        )
    return image_response(data)


@router.post("/reviews/{record_id}/decision")
def review_decision(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    record_id: str,
    csrf_token: CsrfField = "",
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    """Approve or reject; the decision and its audit entry commit together, then the
    images are deleted at once."""
    check_csrf(request, identity, csrf_token)
    if not _valid_id(record_id):
        raise NotFound()
    if decision not in ("approve", "reject"):
        raise PageError("请选择“通过”或“不通过”。")
    reason = reason.strip()
    if decision == "reject" and not reason:
        raise PageError("不通过时必须填写原因（将告知申请人）。")
    now = datetime.now(UTC)
    with session_scope(dash.session_factory) as session:
        image_dir = repo.close_manual_review(
            session,
            record_id=record_id,
            state="approved" if decision == "approve" else "rejected",
            now=now,
            decided_by=identity.name,
            reason=reason or None,
        )
        if image_dir is None:
            raise PageError("该申请已处理或已撤回。", 409)
        auth.log_event(
            session,
            action="review_decision",
            reviewer=identity.name,
            client=dash.client(request),
            record_id=record_id,
            detail={"decision": decision, "reason": reason},
            now=now,
        )
    _runtime(request).store.delete_dir(image_dir)
    return RedirectResponse(f"/qa/reviews?done={decision}", status_code=303)


# -- settings and audit -------------------------------------------------------------------


def _config_rows(model: Any) -> list[tuple[str, Any, str]]:
    fields = type(model).model_fields
    return [(name, getattr(model, name), (f.description or "")) for name, f in fields.items()]


@router.get("/settings")
def settings_page(request: Request, dash: DashboardDep, identity: ReviewerDep) -> Response:
    s = dash.settings
    service_names = (
        "attempts_per_id_number",
        "failures_per_requester",
        "review_retention_days",
        "timezone",
        "id_max_body_bytes",
        "cert_max_file_bytes",
        "batch_max_files",
    )
    fields = type(s).model_fields
    service = [
        (n, getattr(s, n), fields[n].description or "") for n in service_names if n in fields
    ]
    sections = [
        ("身份证认证阈值（id_card）", "OCR_SERVICE_ID_CARD__", _config_rows(s.id_card)),
        ("证书检查阈值（certificate）", "OCR_SERVICE_CERTIFICATE__", _config_rows(s.certificate)),
        ("服务限制", "OCR_SERVICE_", service),
        ("质检后台（dashboard）", "OCR_SERVICE_DASHBOARD__", _config_rows(dash.config)),
    ]
    return render(request, dash, "settings.html", sections=sections)


@router.get("/audit")
def audit_page(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    with session_scope(dash.session_factory) as session:
        events = queries.list_audit(session, before_id=before, limit=100)
    next_url = f"/qa/audit?before={events[-1].id}" if len(events) == 100 else None
    return render(request, dash, "audit.html", events=events, next_url=next_url)


# -- wiring -------------------------------------------------------------------------------


def _valid_id(record_id: str) -> bool:
    return len(record_id) == 32 and all(c in "0123456789abcdef" for c in record_id)


def _runtime(request: Request) -> Any:
    return request.app.state.runtime


def mount(app: FastAPI, settings: Any, session_factory: SessionFactory) -> None:
    """Add ``/qa`` to the service's app (``create_app`` calls this)."""
    from ocr_service.dashboard import tables  # noqa: F401 - the tables join the metadata

    config = dashboard_config(settings)
    app.state.dashboard = Dashboard(
        settings=settings,
        session_factory=session_factory,
        config=config,
        templates=_templates(),
        throttle=auth.AddressThrottle(
            config.failed_logins_per_address, config.address_window_minutes * 60
        ),
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
    app.include_router(router)
    app.mount("/qa/static", StaticFiles(directory=HERE / "static"), name="qa-static")

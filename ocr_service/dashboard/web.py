"""The web plumbing every ``/qa`` page group shares: the dashboard's state, the session and
CSRF dependencies, rendering, this package's errors, and the body guard.

Errors of this package (:class:`LoginRequired`, :class:`CsrfRejected`, :class:`PageError`)
are turned into a redirect to the login page or an HTML error page by handlers that
``routes.mount`` registers; the API's JSON error shape is not used here.

:class:`FormBodyGuard` runs before any form parsing: a ``/qa`` POST must be a small
url-encoded form that arrives in time, or it is refused (413/415/408) without a byte of it
being parsed or written anywhere. Starlette's multipart parser, which spools file parts to
temporary files before the login and CSRF checks run, is never reached.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ocr_service.dashboard import auth, labels
from ocr_service.dashboard.config import DashboardConfig
from ocr_service.services.access import client_address
from ocr_service.storage.db import SessionFactory, session_scope

HERE = Path(__file__).parent
SESSION_COOKIE = "qa_session"
LOGIN_COOKIE = "qa_login"
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
    """What every handler needs, built once by ``routes.mount``."""

    settings: Any
    session_factory: SessionFactory
    config: DashboardConfig
    templates: Jinja2Templates
    throttle: auth.AddressThrottle
    name_key: bytes  # keys the audit hash of a login name that names no account

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


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def clean(value: str | None, limit: int = 100) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def valid_id(record_id: str) -> bool:
    return len(record_id) == 32 and all(c in "0123456789abcdef" for c in record_id)


def runtime_of(request: Request) -> Any:
    """The service's runtime (file store, keys, settings) that ``create_app`` built."""
    return request.app.state.runtime


# -- rendering --------------------------------------------------------------------------


def make_templates() -> Jinja2Templates:
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


def plain_http_warning(host: str, *, loopback: bool, cookie_secure: bool | None) -> str | None:
    """What ``serve`` says at start-up when ``/qa`` would hand out session cookies over
    plain http beyond this machine (``serve`` itself speaks no TLS)."""
    if loopback or cookie_secure:
        return None
    return (
        f"/qa is served over plain http on {host}: reviewer session cookies would cross the "
        "network in clear and carry no Secure flag. Put a TLS proxy in front and set "
        "OCR_SERVICE_DASHBOARD__COOKIE_SECURE=true (or bind 127.0.0.1 behind the proxy)."
    )


# -- the body guard ---------------------------------------------------------------------

FORM_TYPE = "application/x-www-form-urlencoded"


class FormBodyGuard:
    """Pure ASGI, in front of every ``/qa`` request with a body: the body must be an
    url-encoded form of at most ``max_bytes`` that arrives within ``timeout_s``. A larger
    declared ``Content-Length`` is refused before reading; a chunked or lying body is cut
    off at the cap. The accepted body is handed to the app from memory."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or not (scope["path"] == "/qa" or scope["path"].startswith("/qa/"))
        ):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        length_header = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        try:
            declared = int(length_header) if length_header is not None else None
        except ValueError:
            await _refuse(send, 400, "Content-Length 无效。")
            return
        has_body = chunked or bool(declared)
        media = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if has_body and media != FORM_TYPE.encode():
            await _refuse(send, 415, "只接受表单提交（application/x-www-form-urlencoded）。")
            return
        if declared is not None and declared > self.max_bytes:
            await _refuse(send, 413, "请求过大。")
            return
        body = bytearray()
        deadline = time.monotonic() + self.timeout_s
        more = has_body or declared is None
        while more:
            left = deadline - time.monotonic()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, left))
            except TimeoutError:
                await _refuse(send, 408, "请求超时。")
                return
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await _refuse(send, 413, "请求过大。")
                return
            more = message.get("more_body", False)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(send: Send, status: int, message: str) -> None:
    """A short plain answer; the connection is closed, so an unread body goes nowhere."""
    payload = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})

"""``/qa`` pages of the auth group: login, logout, and the audit trail."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ocr_service.dashboard import auth, queries
from ocr_service.dashboard.web import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    CsrfField,
    CsrfRejected,
    DashboardDep,
    ReviewerDep,
    check_csrf,
    render,
    safe_next,
)
from ocr_service.storage.db import session_scope

router = APIRouter(prefix="/qa", include_in_schema=False)

#: One message for an unknown name, a wrong password and a locked account.
LOGIN_FAILED = "用户名或密码错误，或登录失败次数过多，请稍后再试。"


@router.get("/login")
def login_page(
    request: Request, dash: DashboardDep, next: str | None = None, error: str | None = None
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        dash,
        "login.html",
        next=safe_next(next),
        login_token=token,
        error=LOGIN_FAILED if error else None,
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
async def login_submit(
    request: Request,
    dash: DashboardDep,
    name: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=auth.MAX_PASSWORD_LENGTH)] = "",
    csrf_token: CsrfField = "",
    next: Annotated[str, Form(max_length=500)] = "/qa",
) -> Response:
    """The address throttle counts the attempt before the check (and forgives a success);
    the check runs in a worker thread, argon2 outside any transaction."""
    if not auth.same_token(request.cookies.get(LOGIN_COOKIE), csrf_token):
        raise CsrfRejected()
    client = dash.client(request)
    wait = dash.throttle.acquire(client)
    if wait:
        response = render(
            request,
            dash,
            "error.html",
            status_code=429,
            message=f"登录尝试过多，请 {wait} 秒后再试。",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    result = await run_in_threadpool(
        auth.login,
        dash.session_factory,
        name=name,
        password=password,
        client=client,
        config=dash.config,
        name_key=dash.name_key,
    )
    if result.outcome is not auth.LoginOutcome.OK:
        return RedirectResponse(
            f"/qa/login?{urlencode({'error': 'bad', 'next': safe_next(next)})}", status_code=303
        )
    dash.throttle.forgive(client)
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

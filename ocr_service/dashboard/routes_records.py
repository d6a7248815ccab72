"""``/qa`` pages of the records group: the overview, the rejections list, a record's
detail, preview and feedback, flagged ID numbers, and the read-only settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ocr_service.dashboard import auth, labels, queries
from ocr_service.dashboard.charts import daily_chart, reason_chart
from ocr_service.dashboard.measures import record_checks
from ocr_service.dashboard.web import (
    MAX_NOTE,
    CsrfField,
    DashboardDep,
    NotFound,
    PageError,
    ReviewerDep,
    check_csrf,
    clean,
    image_response,
    parse_day,
    render,
    runtime_of,
    valid_id,
)
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.thresholds import live_settings

#: Where a threshold's value came from, as the settings page says it.
SOURCE_LABELS = {
    "default": "默认值",
    "environment": "环境变量",
    "file": "校准文件",
    "code": "启动参数",
}

router = APIRouter(prefix="/qa", include_in_schema=False)


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
    last = parse_day(until) or today
    first = parse_day(since) or date.fromordinal(last.toordinal() - dash.config.default_days + 1)
    period = queries.local_period(first, last, dash.timezone)
    source = clean(source)
    with session_scope(dash.session_factory) as session:
        kinds = queries.overview(session, period=period, timezone=dash.timezone, source=source)
        sources = queries.list_sources(session)
        pending = repo.count_manual_reviews(session, state="pending")
        flagged = repo.count_flagged_numbers(session, since_day=today.isoformat())
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
        flagged=flagged,
    )


@router.get("/flagged-numbers")
def flagged_numbers(request: Request, dash: DashboardDep, identity: ReviewerDep) -> Response:
    """ID numbers that failed too often today across end users: for an operator to look
    at (someone may be trying a stranger's number). They are not locked."""
    today = queries.today_in(dash.timezone)
    since = date.fromordinal(today.toordinal() - 6).isoformat()
    with session_scope(dash.session_factory) as session:
        rows = repo.list_flagged_numbers(session, since_day=since, limit=200)
    return render(
        request,
        dash,
        "flagged.html",
        rows=rows,
        threshold=getattr(dash.settings, "number_flag_failures", None),
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
    first, last = parse_day(since), parse_day(until)
    zone = dash.timezone
    flt = queries.RejectionFilter(
        kind=kind,
        reason_code=clean(reason, 40),
        document_type=clean(document_type, 40),
        source=clean(source),
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
    if not valid_id(record_id):
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
    if not valid_id(record_id):
        raise NotFound()
    with session_scope(dash.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        path = record.preview_path if record is not None and record.kind == "certificate" else None
    if not path:
        raise NotFound()
    try:
        data = runtime_of(request).store.read(path)
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
    if not valid_id(record_id):
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


def _config_rows(model: Any) -> list[tuple[str, Any, str]]:
    fields = type(model).model_fields
    return [(name, getattr(model, name), (f.description or "")) for name, f in fields.items()]


@router.get("/settings")
def settings_page(request: Request, dash: DashboardDep, identity: ReviewerDep) -> Response:
    s = live_settings(dash.settings)  # as of the last thresholds reload
    service_names = (
        "attempts_per_id_number",
        "failures_per_requester",
        "failures_per_api_key",
        "number_flag_failures",
        "review_retention_days",
        "review_max_pending",
        "timezone",
        "id_max_body_bytes",
        "cert_max_file_bytes",
        "batch_max_files",
    )
    fields = type(s).model_fields
    service = [
        (n, getattr(s, n), fields[n].description or "") for n in service_names if n in fields
    ]
    origin = s.thresholds.source_of
    sections = [
        (
            "身份证认证阈值（id_card）",
            "OCR_SERVICE_ID_CARD__",
            _config_rows(s.id_card),
            {n: origin("id_card", n) for n in type(s.id_card).model_fields},
        ),
        (
            "证书检查阈值（certificate）",
            "OCR_SERVICE_CERTIFICATE__",
            _config_rows(s.certificate),
            {n: origin("certificate", n) for n in type(s.certificate).model_fields},
        ),
        ("服务限制", "OCR_SERVICE_", service, {}),
        ("质检后台（dashboard）", "OCR_SERVICE_DASHBOARD__", _config_rows(dash.config), {}),
    ]
    return render(
        request,
        dash,
        "settings.html",
        sections=sections,
        thresholds_file=str(s.thresholds_file),
        source_labels=SOURCE_LABELS,
    )

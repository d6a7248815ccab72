"""``/qa`` pages of the manual-review group: the queue, a submission with its decrypted
images (every view audited), and the decision, which is the service's own
:func:`~ocr_service.services.id_verification.decide_manual_review` with an audit hook."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from ocr_service.dashboard import auth, queries
from ocr_service.dashboard.web import (
    MAX_NOTE,
    CsrfField,
    DashboardDep,
    NotFound,
    PageError,
    ReviewerDep,
    check_csrf,
    image_response,
    render,
    runtime_of,
    valid_id,
)
from ocr_service.services import id_verification as service
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope

router = APIRouter(prefix="/qa", include_in_schema=False)

REVIEW_STATES = ("pending", "approved", "rejected", "withdrawn", "expired")


@router.get("/reviews")
def review_queue(
    request: Request,
    dash: DashboardDep,
    identity: ReviewerDep,
    state: str = "pending",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    done: str | None = None,
) -> Response:
    state = state if state in REVIEW_STATES else "pending"
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
    if not valid_id(record_id):
        raise NotFound()
    with session_scope(dash.session_factory) as session:
        record = repo.get_record(session, record_id=record_id)
        review = repo.get_manual_review(session, record_id=record_id)
        if record is None or review is None:
            raise NotFound()
        events = queries.list_audit(session, record_id=record_id, limit=50)
    declaration = None
    sides: list[str] = []
    if review.state == "pending":
        opened = service.read_manual_review(runtime_of(request), record_id=record_id)
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
    if not valid_id(record_id) or side not in ("front", "back"):
        raise NotFound()
    opened = service.read_manual_review(runtime_of(request), record_id=record_id)
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
    """Approve or reject through the service; the decision and its audit entry commit
    together, then the images are deleted at once."""
    check_csrf(request, identity, csrf_token)
    if not valid_id(record_id):
        raise NotFound()
    if decision not in ("approve", "reject"):
        raise PageError("请选择“通过”或“不通过”。")
    reason = reason.strip()
    if decision == "reject" and not reason:
        raise PageError("不通过时必须填写原因（将告知申请人）。")
    client = dash.client(request)

    def audit(session: Any, now: datetime) -> None:
        auth.log_event(
            session,
            action="review_decision",
            reviewer=identity.name,
            client=client,
            record_id=record_id,
            detail={"decision": decision, "reason": reason},
            now=now,
        )

    decided = service.decide_manual_review(
        runtime_of(request),
        record_id=record_id,
        approve=decision == "approve",
        reviewer=identity.name,
        reason=reason or None,
        audit=audit,
    )
    if not decided:
        raise PageError("该申请已处理或已撤回。", 409)
    return RedirectResponse(f"/qa/reviews?done={decision}", status_code=303)

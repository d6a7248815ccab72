"""ID verification as a service: limits, the queue, records, manual review.

The abuse model. ``X-End-User`` is set by the platform's backend from the signed-in
identity, never by the phone; the service trusts it only as far as it trusts the API key
that sent it. A stranger who knows someone's number must not lock the owner out, so:

* the day-lock (3 failures → ``locked`` with ATTEMPTS_EXCEEDED, manual review offered)
  counts per (API key, end user, number): X's failures lock X, not the number;
* failures on a number across end users are counted too; past ``number_flag_failures``
  the number is flagged for operators on the dashboard, never locked;
* each end user has a daily failure limit on any number, and each API key a daily
  failure budget, so rotating ``X-End-User`` buys nothing (429 beyond).

Order of a call (automatic verification):

1. API-key budget and requester limit: their failures so far today; at the limit → 429
   (a burst of concurrent failures may overshoot them by the burst);
2. the (end user, number) day-lock, per Asia/Shanghai day: an atomic reservation;
   full → ``locked``, no OCR (exact under concurrency);
3. the ID queue runs the pipeline on the in-memory images, within what remains of the
   request's deadline (:mod:`ocr_service.admission`): a job that no longer fits is given
   up with 503 + Retry-After, and such a refusal never counts as an attempt;
4. the record is stored (masked values, a birth year and the keyed hash only), the
   reservation is settled as a failure or not, and a failure is counted against the
   requester, the API key and the number (which may flag it).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ocr_service.admission import DeadlineExceededError, ExpectedWaitGate, current_deadline
from ocr_service.errors import QueueUnavailableError, RateLimitedError, ValidationFailedError
from ocr_service.queue import IdJob, TaskQueue
from ocr_service.runtime import Runtime
from ocr_service.security import keyed_hash
from ocr_service.storage import repository as repo
from ocr_service.storage.db import session_scope
from ocr_service.storage.files import new_id
from pipelines.id_card.messages import (
    MANUAL_REVIEW_DEFAULT,
    MANUAL_REVIEW_MESSAGES,
    message_for,
)
from pipelines.id_card.result import ReasonCode
from pipelines.idnumber import mask_id_number, mask_name, normalize_id_number
from pipelines.io import read_header

AUTOMATIC = "resident_id_card"
MANUAL_TYPES = ("passport", "hk_macau_permit", "hmt_residence_permit", "resident_id_card_manual")
DOCUMENT_TYPES = (AUTOMATIC, *MANUAL_TYPES)
MANUAL_ID = "resident_id_card_manual"  # where a capture risk with manual_review policy goes

STATUS_LABELS = {
    "verified": "认证成功",
    "rejected": "认证失败",
    "locked": "认证失败",
    "pending_review": "待认证",
    "withdrawn": "已撤回",
    "expired": "认证失败",
}

_NUMBER_SHAPE = re.compile(r"[0-9A-Z]{6,24}")


@dataclass(frozen=True)
class Submission:
    front: bytes
    back: bytes
    declared_name: str
    declared_id_number: str  # normalised
    document_type: str

    def __repr__(self) -> str:
        return f"Submission(document_type={self.document_type!r}, <redacted>)"


def parse_submission(
    fields: dict[str, str], front: bytes | None, back: bytes | None, *, max_pixels: int
) -> Submission:
    """Validate the form (422 for a missing or invalid field; 415/413 from the header check)."""
    document_type = (fields.get("document_type") or AUTOMATIC).strip()
    if document_type not in DOCUMENT_TYPES:
        raise ValidationFailedError(f"document_type: must be one of {', '.join(DOCUMENT_TYPES)}")
    name = " ".join((fields.get("declared_name") or "").split())
    if not name:
        raise ValidationFailedError("declared_name: required")
    if len(name) > 64:
        raise ValidationFailedError("declared_name: at most 64 characters")
    number = normalize_id_number(fields.get("declared_id_number") or "")
    if not number:
        raise ValidationFailedError("declared_id_number: required")
    if not _NUMBER_SHAPE.fullmatch(number):
        raise ValidationFailedError("declared_id_number: 6-24 letters or digits")
    if document_type == AUTOMATIC and not re.fullmatch(r"\d{17}[\dX]", number):
        raise ValidationFailedError("declared_id_number: 18 characters, digits and a final X")
    for side, data in (("front", front), ("back", back)):
        if not data:
            raise ValidationFailedError(f"{side}: an image file is required")
        read_header(data, max_pixels=max_pixels)  # 415 / 413 / 422 before any work
    assert front is not None and back is not None
    return Submission(front, back, name, number, document_type)


def stored_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """What a record keeps of the read fields. The birth date is exactly the 8 digits the
    masked number hides, so only its year is kept; the caller's response still carries
    the fields as read (the candidate's own data, going back to the candidate)."""
    kept = {k: v for k, v in fields.items() if k != "birth_date"}
    if "birth_date" in fields:
        birth = fields["birth_date"]
        year = birth[:4] if isinstance(birth, str) else ""
        kept["birth_year"] = year if year.isdigit() else None
    return kept


def local_day(timezone: str, now: datetime | None = None) -> tuple[date, int]:
    """Today in ``timezone`` and the seconds until its midnight (for Retry-After)."""
    zone = ZoneInfo(timezone)
    local = (now or datetime.now(UTC)).astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
    return local.date(), max(1, int((midnight - local).total_seconds()))


def _answer(
    record_id: str,
    status: str,
    reasons: list[dict[str, Any]],
    *,
    document_type: str,
    fields: dict[str, Any] | None = None,
    attempts_remaining: int | None = None,
    created_at: datetime | None = None,
    risks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    return {
        "id": record_id,
        "status": status,
        "status_label": STATUS_LABELS.get(status, status),
        "document_type": document_type,
        "reasons": [
            {"code": r["code"], "side": r.get("side"), "message": r["message"]} for r in reasons
        ],
        "attempts_remaining": attempts_remaining,
        "fields": fields or {},
        "risks": public_risks(risks),
        "created_at": (created_at or datetime.now(UTC)).isoformat(),
    }


def public_risks(risks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """Capture risks (issue 12) as the API and the record show them."""
    keys = ("code", "confidence", "evidence", "side", "policy")
    return [{k: r[k] for k in keys if k in r} for r in risks or []]


def verify(
    runtime: Runtime,
    queue: TaskQueue,
    *,
    submission: Submission,
    source: str,
    requester: str,
    gate: ExpectedWaitGate | None = None,
) -> tuple[int, dict[str, Any]]:
    """Blocking; the route runs it in a worker thread. Returns (HTTP status, body).
    ``gate`` admits a verification to the queue by expected wait and, within a request, by
    what remains of its deadline (503 beyond)."""
    if submission.document_type in MANUAL_TYPES:
        return 202, submit_manual_review(
            runtime, submission=submission, source=source, requester=requester
        )

    settings = runtime.settings
    now = datetime.now(UTC)
    day, until_midnight = local_day(settings.timezone, now)
    day_key = day.isoformat()
    number_hash = keyed_hash(runtime.keys.id_number, submission.declared_id_number)
    user_number_hash = keyed_hash(
        runtime.keys.id_number, f"{source}\x00{requester}\x00{submission.declared_id_number}"
    )
    requester_hash = keyed_hash(runtime.keys.requester, f"{source}\x00{requester}")
    api_key_hash = keyed_hash(runtime.keys.requester, f"api-key\x00{source}")
    hold = timedelta(seconds=settings.id_timeout_s * 2)
    limit = settings.attempts_per_id_number
    record_id = new_id()
    masked = {
        "masked_name": mask_name(submission.declared_name),
        "masked_id_number": mask_id_number(submission.declared_id_number),
        "id_number_hash": number_hash,
    }

    # The requester's failures are checked, not reserved: a reservation would cap a caller
    # that sends no X-End-User at `limit` concurrent verifications. The per-number limit is
    # the one that must hold exactly under concurrency, so that one is a reservation.
    with session_scope(runtime.session_factory) as session:
        key_failures = repo.failures_on(
            session, scope=repo.Scope.API_KEY, key_hash=api_key_hash, day=day_key
        )
        if key_failures >= settings.failures_per_api_key:
            raise RateLimitedError(
                "this API key's failed verifications for today are used up",
                retry_after=until_midnight,
            )
        requester_failures = repo.failures_on(
            session, scope=repo.Scope.REQUESTER, key_hash=requester_hash, day=day_key
        )
        if requester_failures >= settings.failures_per_requester:
            raise RateLimitedError(
                "too many failed verifications today", retry_after=until_midnight
            )
        allowed = repo.reserve_attempt(
            session,
            scope=repo.Scope.USER_NUMBER,
            key_hash=user_number_hash,
            day=day_key,
            limit=limit,
            now=now,
            hold=hold,
        )
        if not allowed and (
            repo.failures_on(
                session, scope=repo.Scope.USER_NUMBER, key_hash=user_number_hash, day=day_key
            )
            < limit
        ):
            # Refused only because other verifications of this number are still running:
            # not a lock (nothing has failed yet), so no "come back tomorrow".
            raise RateLimitedError(
                "another verification of this ID number is in progress, retry shortly",
                retry_after=5,
            )
        if not allowed:
            reasons = [
                {
                    "code": ReasonCode.ATTEMPTS_EXCEEDED.value,
                    "side": None,
                    "message": message_for(ReasonCode.ATTEMPTS_EXCEEDED),
                }
            ]
            repo.save_record(
                session,
                record_id=record_id,
                kind="id_verification",
                document_type=submission.document_type,
                source=source,
                status="locked",
                now=now,
                reasons=reasons,
                **masked,
            )
            repo.record_failure(
                session, scope=repo.Scope.REQUESTER, key_hash=requester_hash, day=day_key, now=now
            )
            repo.record_failure(
                session, scope=repo.Scope.API_KEY, key_hash=api_key_hash, day=day_key, now=now
            )
            return 200, _answer(
                record_id,
                "locked",
                reasons,
                document_type=submission.document_type,
                attempts_remaining=0,
                created_at=now,
            )

    def settle(session: Any, failed: bool) -> None:
        repo.settle_attempt(
            session,
            scope=repo.Scope.USER_NUMBER,
            key_hash=user_number_hash,
            day=day_key,
            failed=failed,
        )
        if not failed:
            return
        counted = ((repo.Scope.REQUESTER, requester_hash), (repo.Scope.API_KEY, api_key_hash))
        for scope, key in counted:
            repo.record_failure(session, scope=scope, key_hash=key, day=day_key, now=now)
        across_users = repo.record_failure(
            session, scope=repo.Scope.ID_NUMBER, key_hash=number_hash, day=day_key, now=now
        )
        if across_users >= settings.number_flag_failures:
            repo.flag_number(
                session,
                id_number_hash=number_hash,
                day=day_key,
                masked_id_number=masked["masked_id_number"],
                failures=across_users,
                now=datetime.now(UTC),
            )

    try:
        job = IdJob(
            submission.front,
            submission.back,
            submission.declared_name,
            submission.declared_id_number,
            day,
        )
        result = _run_in_time(queue, job, gate, timeout=settings.id_timeout_s)
        del job
    except BaseException:
        with session_scope(runtime.session_factory) as session:
            settle(session, failed=False)  # a broken step is not the candidate's failure
        raise

    if result.get("manual_review"):  # a risk whose policy sends the card to a person
        with session_scope(runtime.session_factory) as session:
            settle(session, failed=False)
        routed = dataclasses.replace(submission, document_type=MANUAL_ID)
        answer = submit_manual_review(
            runtime,
            submission=routed,
            source=source,
            requester=requester,
            risks=result.get("risks"),
        )
        codes = [r["code"] for r in result.get("risks") or [] if r.get("policy") == "manual_review"]
        message = MANUAL_REVIEW_MESSAGES.get(codes[0] if codes else "", MANUAL_REVIEW_DEFAULT)
        return 202, {**answer, "message": message, "risks": public_risks(result.get("risks"))}

    finished = datetime.now(UTC)
    measurements = result.get("measurements") or {}
    timings = dict(result.get("timings_ms") or {})
    timings["service_total"] = round((finished - now).total_seconds() * 1000, 1)
    with session_scope(runtime.session_factory) as session:
        settle(session, failed=result["status"] != "verified")
        repo.save_record(
            session,
            record_id=record_id,
            kind="id_verification",
            document_type=submission.document_type,
            source=source,
            status=result["status"],
            now=now,
            reasons=result["reasons"],
            warnings=public_risks(result.get("risks")),
            measurements=measurements,
            timings=timings,
            fields=stored_fields(result.get("fields") or {}),
            **masked,
        )
        used = repo.failures_on(
            session, scope=repo.Scope.USER_NUMBER, key_hash=user_number_hash, day=day_key
        )
    return 200, _answer(
        record_id,
        result["status"],
        result["reasons"],
        document_type=submission.document_type,
        fields=result.get("fields"),
        attempts_remaining=max(0, limit - used),
        created_at=now,
        risks=result.get("risks"),
    )


def _run_in_time(
    queue: TaskQueue, job: IdJob, gate: ExpectedWaitGate | None, *, timeout: float
) -> dict[str, Any]:
    """The expensive step. Through ``gate`` and, inside a request, within its deadline: the
    job is refused before it is queued when what remains does not cover the expected wait,
    the wait ends when only the reserve for storing the answer is left, and a result that
    came too late to be answered in time is dropped (DeadlineExceededError, 503)."""
    if gate is None:
        return queue.verify_id(job, timeout=timeout)
    deadline = current_deadline()
    with gate.admitted(deadline) as left:
        try:
            result = queue.verify_id(job, timeout=timeout if left is None else min(timeout, left))
        except QueueUnavailableError as exc:
            if isinstance(exc, DeadlineExceededError) or (
                deadline is not None and deadline.for_work() <= 0.01
            ):
                raise gate.out_of_time("the deadline passed while waiting") from exc
            raise
    if deadline is not None and deadline.remaining() <= 0:
        raise gate.out_of_time("the result came after the deadline")
    return result


# manual review -------------------------------------------------------------------


def submit_manual_review(
    runtime: Runtime,
    *,
    submission: Submission,
    source: str,
    requester: str = "",
    risks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Store a submission for 人工审核: images re-encoded and encrypted, the declaration
    sealed, both deleted on decision. Manual review stays open after a day-lock (that is
    where a locked candidate is sent), so it has quotas of its own: one pending submission
    per (API key, end user, document type) → 409, and a global pending cap → 429."""
    import json

    from ocr_service.errors import ConflictError

    settings = runtime.settings
    now = datetime.now(UTC)
    record_id = new_id()
    pending_key = keyed_hash(
        runtime.keys.requester, f"review\x00{source}\x00{requester}\x00{submission.document_type}"
    )
    with session_scope(runtime.session_factory) as session:
        if repo.count_manual_reviews(session, state="pending") >= settings.review_max_pending:
            raise RateLimitedError(
                "too many submissions are waiting for manual review, retry later",
                retry_after=3600,
            )
        if repo.pending_review_exists(session, pending_key=pending_key):
            raise ConflictError(_ALREADY_PENDING)
    images = {
        "front": reencode_review_image(submission.front, settings),
        "back": reencode_review_image(submission.back, settings),
    }
    cipher = runtime.keys.review_images
    image_dir = runtime.store.write_review_images(record_id, images, cipher)
    del images
    sealed = cipher.encrypt(
        json.dumps(
            {"name": submission.declared_name, "id_number": submission.declared_id_number},
            ensure_ascii=False,
        ).encode()
    )
    try:
        with session_scope(runtime.session_factory) as session:
            repo.save_record(
                session,
                record_id=record_id,
                kind="id_verification",
                document_type=submission.document_type,
                source=source,
                status="pending_review",
                now=now,
                warnings=public_risks(risks),
                masked_name=mask_name(submission.declared_name),
                masked_id_number=mask_id_number(submission.declared_id_number),
                id_number_hash=keyed_hash(runtime.keys.id_number, submission.declared_id_number),
            )
            repo.create_manual_review(
                session,
                record_id=record_id,
                sealed_declaration=sealed,
                image_dir=image_dir,
                now=now,
                retention=timedelta(days=settings.review_retention_days),
                pending_key=pending_key,
            )
    except repo.AlreadyPendingError as exc:  # a concurrent submission under the key won
        runtime.store.delete_dir(image_dir)
        raise ConflictError(_ALREADY_PENDING) from exc
    except BaseException:
        runtime.store.delete_dir(image_dir)
        raise
    return {
        "id": record_id,
        "status": "pending_review",
        "status_label": STATUS_LABELS["pending_review"],
        "document_type": submission.document_type,
        "created_at": now.isoformat(),
    }


_ALREADY_PENDING = (
    "a submission of this document type is already waiting for manual review; "
    "withdraw it (撤回) before submitting again"
)


def reencode_review_image(data: bytes, settings: Any) -> bytes:
    """Decode and re-encode a manual-review image as a clean JPEG: whatever trailed or hid
    in the upload (appended bytes, metadata, comments) is dropped, the long side is capped
    at ``review_max_long_side`` and the result at ``review_max_image_bytes`` (413 beyond)."""
    from ocr_service.errors import PayloadTooLargeError
    from pipelines.io import decode_image, encode_jpeg

    long_side = settings.review_max_long_side
    for _ in range(4):
        pixels = decode_image(
            data, max_pixels=settings.id_card.max_pixels, max_long_side=long_side
        ).pixels
        for quality in (85, 70):
            encoded = encode_jpeg(pixels, quality=quality)
            if len(encoded) <= settings.review_max_image_bytes:
                return encoded
        long_side = max(256, long_side * 3 // 4)
    raise PayloadTooLargeError("image too large for manual review even after re-encoding")


def read_manual_review(runtime: Runtime, *, record_id: str) -> dict[str, Any] | None:
    """For a reviewer: the declaration and the decrypted images of a pending submission."""
    import json

    with session_scope(runtime.session_factory) as session:
        review = repo.get_manual_review(session, record_id=record_id)
        if review is None or review.state != "pending" or review.image_dir is None:
            return None
        sealed, image_dir = review.sealed_declaration, review.image_dir
    cipher = runtime.keys.review_images
    declaration = json.loads(cipher.decrypt(sealed)) if sealed else {}
    return {
        "declaration": declaration,
        "images": runtime.store.read_review_images(image_dir, cipher),
    }


def decide_manual_review(
    runtime: Runtime,
    *,
    record_id: str,
    approve: bool,
    reviewer: str,
    reason: str | None = None,
    audit: Callable[[Any, datetime], None] | None = None,
) -> bool:
    """Approve or reject a pending submission; its images are deleted at once. ``audit``
    writes the caller's audit row in the decision's own transaction (both or neither).
    False when the submission was not pending (decided, withdrawn or expired already)."""
    now = datetime.now(UTC)
    with session_scope(runtime.session_factory) as session:
        image_dir = repo.close_manual_review(
            session,
            record_id=record_id,
            state="approved" if approve else "rejected",
            now=now,
            decided_by=reviewer,
            reason=reason,
        )
        if image_dir is not None and audit is not None:
            audit(session, now)
    runtime.store.delete_dir(image_dir)
    return image_dir is not None


def withdraw_manual_review(
    runtime: Runtime, *, record_id: str, source: str
) -> dict[str, Any] | None:
    """撤回: the submitter withdraws a pending submission; images are deleted at once."""
    from ocr_service.errors import ConflictError

    now = datetime.now(UTC)
    with session_scope(runtime.session_factory) as session:
        record = repo.get_record(session, record_id=record_id, source=source)
        if record is None or repo.get_manual_review(session, record_id=record_id) is None:
            return None
        image_dir = repo.close_manual_review(
            session, record_id=record_id, state="withdrawn", now=now
        )
        if image_dir is None:
            raise ConflictError("only a pending submission can be withdrawn")
        repo.add_audit_event(
            session,
            action="review_withdrawn",
            actor=None,
            now=now,
            record_id=record_id,
            detail={"source": source, "images_deleted": True},
        )
    runtime.store.delete_dir(image_dir)
    return get_verification(runtime, record_id=record_id, source=source)


def get_verification(runtime: Runtime, *, record_id: str, source: str) -> dict[str, Any] | None:
    with session_scope(runtime.session_factory) as session:
        record = repo.get_record(session, record_id=record_id, source=source)
        if record is None or record.kind != "id_verification":
            return None
        return _answer(
            record.id,
            record.status,
            record.reasons,
            document_type=record.document_type,
            fields=record.fields,
            created_at=record.created_at,
        )

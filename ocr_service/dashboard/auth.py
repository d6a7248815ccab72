"""Reviewer accounts, logins and sessions of the QA dashboard.

* Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); a login for an
  unknown name still spends one hash, so timing does not tell names apart.
* Sessions live in the database: the cookie carries 32 random bytes, the table only their
  SHA-256, so a database dump cannot be replayed as cookies and logout ends a session at once.
* Each session has its own CSRF token, checked on every POST.
* Throttling: consecutive failures lock an account for a while (in the database, so every
  API process sees it), and failures per client address are capped in memory.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ocr_service.dashboard.config import DashboardConfig
from ocr_service.dashboard.tables import AuditEvent, Reviewer, ReviewerSession

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; a megabyte "password" is a DoS


class ReviewerError(ValueError):
    """A reviewer account cannot be created as asked (name taken, weak password)."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ReviewerError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ReviewerError(f"password: at most {MAX_PASSWORD_LENGTH} characters")


def create_reviewer(
    session: Session, name: str, password: str, *, now: datetime | None = None
) -> Reviewer:
    """Add a reviewer account (``ocr-service create-reviewer NAME``)."""
    name = name.strip()
    if not name or len(name) > 100 or any(c.isspace() and c != " " for c in name):
        raise ReviewerError("name: 1-100 characters, no tabs or line breaks")
    check_password_rules(password)
    if session.scalar(select(Reviewer.id).where(Reviewer.name == name)) is not None:
        raise ReviewerError(f"reviewer {name!r} exists already")
    reviewer = Reviewer(
        name=name,
        password_hash=hash_password(password),
        created_at=now or datetime.now(UTC),
        failed_logins=0,
    )
    session.add(reviewer)
    session.flush()
    return reviewer


def set_reviewer_password(session: Session, name: str, password: str) -> None:
    """Reset a password (and unlock); every session of that reviewer ends."""
    check_password_rules(password)
    reviewer = session.scalar(select(Reviewer).where(Reviewer.name == name))
    if reviewer is None:
        raise ReviewerError(f"no reviewer {name!r}")
    reviewer.password_hash = hash_password(password)
    reviewer.failed_logins = 0
    reviewer.locked_until = None
    session.execute(delete(ReviewerSession).where(ReviewerSession.reviewer_id == reviewer.id))


# -- logins -----------------------------------------------------------------------------


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    reviewer: str | None = None
    token: str | None = None  # the cookie value, on success only


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def log_event(
    session: Session,
    *,
    action: str,
    reviewer: str | None,
    client: str | None,
    record_id: str | None = None,
    detail: dict | None = None,
    now: datetime | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=now or datetime.now(UTC),
            reviewer=reviewer,
            action=action,
            record_id=record_id,
            client=(client or "")[:64],
            detail=detail or {},
        )
    )


def login(
    session: Session,
    *,
    name: str,
    password: str,
    client: str,
    config: DashboardConfig,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password; on success open a session. Failures count towards the lockout."""
    now = now or datetime.now(UTC)
    reviewer = session.scalar(select(Reviewer).where(Reviewer.name == name.strip()))
    if reviewer is None or reviewer.disabled_at is not None:
        _verify(_DUMMY_HASH, password)
        log_event(
            session,
            action="login_failed",
            reviewer=None,
            client=client,
            detail={"name": name[:100]},
            now=now,
        )
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if reviewer.locked_until is not None and reviewer.locked_until > now:
        log_event(session, action="login_locked", reviewer=reviewer.name, client=client, now=now)
        return LoginResult(LoginOutcome.LOCKED)
    if not _verify(reviewer.password_hash, password):
        reviewer.failed_logins = (reviewer.failed_logins or 0) + 1
        if reviewer.failed_logins >= config.max_failed_logins:
            reviewer.locked_until = now + timedelta(minutes=config.lockout_minutes)
            reviewer.failed_logins = 0
        log_event(session, action="login_failed", reviewer=reviewer.name, client=client, now=now)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if _hasher.check_needs_rehash(reviewer.password_hash):
        reviewer.password_hash = hash_password(password)
    reviewer.failed_logins = 0
    reviewer.locked_until = None
    reviewer.last_login_at = now
    token = secrets.token_urlsafe(32)
    session.add(
        ReviewerSession(
            token_hash=_token_hash(token),
            reviewer_id=reviewer.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=config.session_max_hours),
        )
    )
    # forget sessions that ended long ago
    session.execute(
        delete(ReviewerSession).where(ReviewerSession.expires_at < now - timedelta(days=1))
    )
    log_event(session, action="login", reviewer=reviewer.name, client=client, now=now)
    return LoginResult(LoginOutcome.OK, reviewer.name, token)


def _verify(stored: str, password: str) -> bool:
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class ReviewerIdentity:
    """Who is logged in, as the routes see it."""

    name: str
    csrf_token: str
    token_hash: str


def resolve_session(
    session: Session, *, token: str | None, config: DashboardConfig, now: datetime | None = None
) -> ReviewerIdentity | None:
    """The reviewer behind a session cookie, or None (missing, unknown, expired, idle, disabled)."""
    if not token or len(token) > 100:
        return None
    now = now or datetime.now(UTC)
    digest = _token_hash(token)
    row = session.execute(
        select(ReviewerSession, Reviewer)
        .join(Reviewer, Reviewer.id == ReviewerSession.reviewer_id)
        .where(ReviewerSession.token_hash == digest)
    ).first()
    if row is None:
        return None
    login_session, reviewer = row
    idle = timedelta(minutes=config.session_idle_minutes)
    if (
        login_session.expires_at <= now
        or login_session.last_seen_at + idle <= now
        or reviewer.disabled_at is not None
    ):
        session.delete(login_session)
        return None
    if now - login_session.last_seen_at > timedelta(minutes=1):  # one write a minute at most
        login_session.last_seen_at = now
    return ReviewerIdentity(reviewer.name, login_session.csrf_token, digest)


def logout(session: Session, *, identity: ReviewerIdentity, client: str) -> None:
    session.execute(
        delete(ReviewerSession).where(ReviewerSession.token_hash == identity.token_hash)
    )
    log_event(session, action="logout", reviewer=identity.name, client=client)


def same_token(expected: str | None, presented: str | None) -> bool:
    """Constant-time comparison of CSRF tokens; a missing one never matches."""
    if not expected or not presented:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode())


class AddressThrottle:
    """Failed logins per client address in a sliding window (per process)."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._failures.setdefault(address, deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        return times

    def blocked(self, address: str) -> int:
        """Seconds until this address may try again; 0 when it may."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if len(times) < self.limit:
                return 0
            return max(1, int(times[0] + self.window_s - now) + 1)

    def fail(self, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:  # bound the memory an address sweep can take
                for key in [k for k, v in self._failures.items() if not v][:5000]:
                    del self._failures[key]

"""Reviewer accounts, logins and sessions of the QA dashboard.

* Passwords: argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile); a login for an
  unknown name still spends one hash, so timing does not tell names apart.
* Sessions live in the database: the cookie carries 32 random bytes, the table only their
  SHA-256, so a database dump cannot be replayed as cookies and logout ends a session at once.
* Each session has its own CSRF token, checked on every POST.
* Throttling: consecutive failures lock an account for a while (in the database, so every
  API process sees it), and failures per client address are capped in memory. Both are
  reserved *before* the password is checked and released on success, so 40 parallel bad
  logins cannot all get through a check made before any of them was counted.
* argon2 runs outside any database transaction (it takes tens of milliseconds, and a
  SQLite write transaction held that long stalls every other writer).
* One answer for an unknown name, a locked account and a wrong password.
* The audit log names the account only when the typed name is a real account; otherwise
  it keeps a keyed hash, so a password typed into the name field is never stored.
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
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ocr_service.dashboard.config import DashboardConfig
from ocr_service.dashboard.tables import AuditEvent, Reviewer, ReviewerSession
from ocr_service.security import keyed_hash
from ocr_service.storage.db import SessionFactory, session_scope

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


ROLES = ("reviewer", "operator")


def create_reviewer(
    session: Session,
    name: str,
    password: str,
    *,
    now: datetime | None = None,
    role: str = "reviewer",
) -> Reviewer:
    """Add a reviewer account (``ocr-service create-reviewer NAME``); an ``operator`` may
    also apply calibrated thresholds."""
    if role not in ROLES:
        raise ReviewerError(f"role: one of {', '.join(ROLES)}")
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
        role=role,
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
    session_factory: SessionFactory,
    *,
    name: str,
    password: str,
    client: str,
    config: DashboardConfig,
    name_key: bytes,
    now: datetime | None = None,
) -> LoginResult:
    """Check a password; on success open a session. The attempt is counted against the
    account before the check (a conditional update: at most ``max_failed_logins`` checks
    run at once or in a row) and forgiven on success. Three short transactions at most;
    the argon2 hash is computed between them, never inside one."""
    now = now or datetime.now(UTC)
    name = name.strip()
    with session_scope(session_factory) as session:
        row = session.execute(
            select(Reviewer.id, Reviewer.password_hash, Reviewer.disabled_at).where(
                Reviewer.name == name
            )
        ).first()
        reviewer_id = stored = None
        attempt = 0
        locked = False
        if row is not None and row.disabled_at is None:
            reviewer_id, stored = row.id, row.password_hash
            reserved = session.execute(
                update(Reviewer)
                .where(
                    Reviewer.id == reviewer_id,
                    Reviewer.failed_logins < config.max_failed_logins,
                    or_(Reviewer.locked_until.is_(None), Reviewer.locked_until <= now),
                )
                .values(failed_logins=Reviewer.failed_logins + 1, locked_until=None)
                .returning(Reviewer.failed_logins)
            ).first()
            locked = reserved is None
            attempt = int(reserved[0]) if reserved else 0

    # the same work on every path, so timing tells nothing either
    ok = _verify(stored if stored and not locked else _DUMMY_HASH, password) and bool(
        stored and not locked
    )
    if not ok:
        with session_scope(session_factory) as session:
            if reviewer_id is not None and not locked and attempt >= config.max_failed_logins:
                session.execute(
                    update(Reviewer)
                    .where(Reviewer.id == reviewer_id)
                    .values(
                        locked_until=now + timedelta(minutes=config.lockout_minutes),
                        failed_logins=0,
                    )
                )
            log_event(
                session,
                action="login_locked" if locked else "login_failed",
                reviewer=name if reviewer_id is not None else None,
                client=client,
                detail=None
                if reviewer_id is not None
                else {"name_hash": name_hash(name_key, name)},
                now=now,
            )
        return LoginResult(LoginOutcome.LOCKED if locked else LoginOutcome.BAD_CREDENTIALS)

    assert stored is not None and reviewer_id is not None
    rehashed = hash_password(password) if _hasher.check_needs_rehash(stored) else None
    token = secrets.token_urlsafe(32)
    with session_scope(session_factory) as session:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None, "last_login_at": now}
        if rehashed:
            values["password_hash"] = rehashed
        session.execute(update(Reviewer).where(Reviewer.id == reviewer_id).values(**values))
        session.add(
            ReviewerSession(
                token_hash=_token_hash(token),
                reviewer_id=reviewer_id,
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
        log_event(session, action="login", reviewer=name, client=client, now=now)
    return LoginResult(LoginOutcome.OK, name, token)


def name_hash(key: bytes, name: str) -> str:
    """How the audit log names a login name that is not an account (it may be a password
    typed into the wrong field): a keyed hash, comparable between rows, not reversible."""
    return keyed_hash(key, name[:200])[:32]


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
    operator: bool = False  # may apply calibrated thresholds


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
    return ReviewerIdentity(
        reviewer.name, login_session.csrf_token, digest, operator=reviewer.role == "operator"
    )


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

    def acquire(self, address: str) -> int:
        """Count an attempt now, before it is checked (atomic: of 40 parallel attempts at
        most ``limit`` are let through). Returns 0 when it may go ahead, else the seconds
        until this address may try again. A successful login calls :meth:`forgive`."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(address, now)
            if len(times) >= self.limit:
                return max(1, int(times[0] + self.window_s - now) + 1)
            times.append(now)
            if len(self._failures) > 10_000:  # bound the memory an address sweep can take
                for key in [k for k, v in self._failures.items() if not v][:5000]:
                    del self._failures[key]
            return 0

    def forgive(self, address: str) -> None:
        """The attempt counted by :meth:`acquire` succeeded: it was no failure."""
        with self._lock:
            times = self._failures.get(address)
            if times:
                times.pop()

"""Who is calling: API keys, client addresses, request-rate limits.

API keys are known only by their SHA-256: the static ones from ``API_KEYS``
(hashed at start-up) and the ones created by ``ocr-service create-api-key``
(stored as ``key_id`` + hash). Comparison is constant-time; a DB key is looked
up on every request, so revoking it takes effect without a restart. Every
failure answers the same 401.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from ocr_service.config import Settings
from ocr_service.errors import AuthenticationError, RateLimitedError
from ocr_service.security import hash_api_key, parse_key_id, same_digest
from ocr_service.storage import repository as repo
from ocr_service.storage.db import SessionFactory, session_scope

ANONYMOUS = "anonymous"


class Authenticator:
    def __init__(self, settings: Settings, session_factory: SessionFactory) -> None:
        self._static = [(name, hash_api_key(key)) for name, key in settings.static_api_keys]
        self._static_names = frozenset(name for name, _ in self._static)
        self._session_factory = session_factory
        self._open_until = 0.0
        self._open = False
        self._lock = threading.Lock()

    def auth_required(self) -> bool:
        """False only while no key was ever configured (loopback development); revoking
        the last key does not open the API."""
        if self._static:
            return True
        with self._lock:
            now = time.monotonic()
            if now >= self._open_until:
                with session_scope(self._session_factory) as session:
                    self._open = repo.count_api_keys(session) == 0
                self._open_until = now + 2.0
            return not self._open

    def authenticate(self, presented: str | None) -> str:
        """The calling key's name, or AuthenticationError (one message for every cause)."""
        if not self.auth_required():
            return ANONYMOUS
        if not presented or len(presented) > 256:
            raise AuthenticationError()
        digest = hash_api_key(presented)
        match = None
        for name, expected in self._static:  # no early exit: constant time over the list
            if same_digest(digest, expected) and match is None:
                match = name
        if match is not None:
            return match
        key_id = parse_key_id(presented)
        if key_id is not None:
            with session_scope(self._session_factory) as session:
                row = repo.find_api_key(session, key_id=key_id)
                if (
                    row is not None
                    and same_digest(digest, row.key_hash)
                    and row.revoked_at is None
                    and row.name not in self._static_names  # would read that key's records
                ):
                    return row.name
        raise AuthenticationError()


def check_new_key_name(settings: Settings, session_factory: SessionFactory, name: str) -> str:
    """The name for a new API key, or ``ValueError``: records are scoped by key name, so a
    name already used by a static or a created key (revoked ones included) is refused."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("name: 1-100 characters")
    if name in {n for n, _ in settings.static_api_keys} or name == ANONYMOUS:
        raise ValueError(f"name {name!r} is taken by a key in OCR_SERVICE_API_KEYS")
    with session_scope(session_factory) as session:
        if repo.api_key_name_taken(session, name=name):
            raise ValueError(f"name {name!r} is taken by another key")
    return name


def client_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[object]) -> str:
    """The caller's address; ``X-Forwarded-For`` counts only when the peer is a trusted proxy,
    and then the right-most address that is not itself a trusted proxy is taken."""
    if not peer:
        return "unknown"
    if not forwarded_for or not _in(peer, trusted):
        return peer
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer
        if not _in(hop, trusted):
            return hop
    return peer


def _in(address: str, networks: Sequence[object]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)  # type: ignore[operator]


class RateLimiter:
    """Fixed one-minute windows per bucket, in process memory (per API process)."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, per_minute: int) -> None:
        now = time.time()
        window = int(now // 60)
        with self._lock:
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            start, count = self._counts.get(bucket, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._counts[bucket] = (start, count)
        if count > per_minute:
            raise RateLimitedError(retry_after=max(1, math.ceil((window + 1) * 60 - now)))


def now_utc() -> datetime:
    return datetime.now(UTC)


class AdmissionGate:
    """At most ``limit`` ID verifications waiting on the queue per API process; beyond
    that, answer 503 with Retry-After at once instead of letting requests time out."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._pending = 0
        self._lock = threading.Lock()

    def __enter__(self) -> AdmissionGate:
        from ocr_service.errors import QueueUnavailableError

        with self._lock:
            if self._pending >= self._limit:
                raise QueueUnavailableError(
                    "too many verifications in progress, retry shortly", retry_after=2
                )
            self._pending += 1
        return self

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._pending -= 1

"""Route dependencies: the runtime, the queue, the authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader

from ocr_service.errors import ValidationFailedError
from ocr_service.queue import TaskQueue
from ocr_service.runtime import Runtime
from ocr_service.services.access import Authenticator, RateLimiter, client_address


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def get_queue(request: Request) -> TaskQueue:
    return request.app.state.queue  # type: ignore[no-any-return]


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
QueueDep = Annotated[TaskQueue, Depends(get_queue)]

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="an API key from API_KEYS or `ocr-service create-api-key`",
)


@dataclass(frozen=True)
class Caller:
    source: str  # the API key's name
    address: str  # the client address (X-Forwarded-For only from trusted proxies)
    end_user: str | None  # X-End-User, as named by the calling system

    @property
    def requester(self) -> str:
        return f"user:{self.end_user}" if self.end_user else f"addr:{self.address}"

    def __repr__(self) -> str:
        return f"Caller(source={self.source!r})"


def authenticate(
    request: Request,
    runtime: RuntimeDep,
    api_key: Annotated[str | None, Depends(api_key_header)] = None,
    x_end_user: Annotated[
        str | None,
        Header(description="the end user the calling system acts for (counted for limits)"),
    ] = None,
) -> Caller:
    """A sync dependency (run in a worker thread): the DB key lookup blocks."""
    authenticator: Authenticator = request.app.state.authenticator
    limiter: RateLimiter = request.app.state.rate_limiter
    settings = runtime.settings
    address = client_address(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        settings.trusted_networks,
    )
    limiter.hit(f"addr:{address}", settings.requests_per_minute_per_client)
    source = authenticator.authenticate(api_key)
    limiter.hit(f"key:{source}", settings.requests_per_minute_per_key)
    request.state.source = source
    if x_end_user is not None and not (0 < len(x_end_user) <= 128):
        raise ValidationFailedError("X-End-User: 1-128 characters")
    return Caller(source=source, address=address, end_user=x_end_user)


CallerDep = Annotated[Caller, Depends(authenticate)]

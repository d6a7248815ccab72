"""Settings of the QA dashboard: one frozen object, unknown keys refused.

Meant to sit in :class:`ocr_service.config.Settings` as ``dashboard`` (env
``OCR_SERVICE_DASHBOARD__COOKIE_SECURE=true`` and so on). Until it does, the
dashboard falls back to these defaults.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DashboardConfig(BaseModel):
    """Session, login-throttling and paging limits of the ``/qa`` pages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cookie_secure: bool | None = Field(
        None,
        description="Secure flag on the session cookie; None: set it when the request came over "
        "https (behind a TLS proxy, run uvicorn with --proxy-headers from that proxy)",
    )
    session_idle_minutes: int = Field(60, ge=1, description="a session unused this long ends")
    session_max_hours: int = Field(12, ge=1, description="a session ends this long after login")
    max_failed_logins: int = Field(5, ge=1, description="consecutive failures that lock an account")
    lockout_minutes: int = Field(15, ge=1, description="how long a locked account stays locked")
    failed_logins_per_address: int = Field(
        20, ge=1, description="failed logins per client address per window, then 429"
    )
    address_window_minutes: int = Field(15, ge=1)
    page_size: int = Field(50, ge=5, le=500, description="rows per page of the rejections list")
    default_days: int = Field(14, ge=1, le=366, description="overview date range by default")


def dashboard_config(settings: Any) -> DashboardConfig:
    """The dashboard's config from the service settings, or the defaults."""
    value = getattr(settings, "dashboard", None)
    return value if isinstance(value, DashboardConfig) else DashboardConfig()

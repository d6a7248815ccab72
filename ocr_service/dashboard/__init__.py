"""The QA dashboard and manual-review console: server-rendered pages under ``/qa``.

``create_app`` calls :func:`mount`; reviewers log in with accounts made by
``ocr-service create-reviewer NAME``. An API key never opens these pages.
"""

from __future__ import annotations

from ocr_service.dashboard.auth import create_reviewer
from ocr_service.dashboard.routes import mount

__all__ = ["create_reviewer", "mount"]

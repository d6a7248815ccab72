"""The QA dashboard and manual-review console: server-rendered pages under ``/qa``.

``create_app`` calls :func:`mount`; reviewers log in with accounts made by
``ocr-service create-reviewer NAME``. An API key never opens these pages.

The routes are imported lazily so that :mod:`ocr_service.config` can import
:mod:`ocr_service.dashboard.config` without pulling the whole service in.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_reviewer", "mount"]


def __getattr__(name: str) -> Any:
    if name == "mount":
        from ocr_service.dashboard.routes import mount

        return mount
    if name == "create_reviewer":
        from ocr_service.dashboard.auth import create_reviewer

        return create_reviewer
    raise AttributeError(name)

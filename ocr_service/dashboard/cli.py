"""``ocr-service create-reviewer NAME``: a reviewer account for the QA dashboard.

Register it on the service's Typer app:
``app.command("create-reviewer")(create_reviewer_command)``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def create_reviewer_command(
    name: Annotated[str, typer.Argument(help="login name of the reviewer")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
    operator: Annotated[
        bool, typer.Option("--operator", help="may also apply calibrated thresholds")
    ] = False,
) -> None:
    """Create a reviewer account for /qa (the password is asked twice, or read from stdin)."""
    from ocr_service.config import Settings
    from ocr_service.dashboard.auth import ReviewerError, check_password_rules, create_reviewer
    from ocr_service.storage.db import make_engine, make_session_factory, migrate, session_scope

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        check_password_rules(password)
    except ReviewerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    try:
        settings = Settings()
    except Exception as exc:  # a configuration error is the operator's to fix: say it plainly
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc
    url = settings.resolved_database_url
    if settings.auto_migrate:
        migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            create_reviewer(session, name, password, role="operator" if operator else "reviewer")
    except ReviewerError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(f"reviewer {name.strip()!r} created; log in at /qa/login")

"""``ocr-service create-reviewer NAME``, through a Typer app as the service registers it."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select
from typer.testing import CliRunner

from ocr_service.dashboard.cli import create_reviewer_command
from ocr_service.dashboard.tables import Reviewer
from ocr_service.storage.db import make_engine, make_session_factory
from tests.dashboard.conftest import SECRET


def app() -> typer.Typer:
    cli = typer.Typer()
    cli.command("create-reviewer")(create_reviewer_command)

    @cli.command("noop")
    def _noop() -> None:  # a second command keeps Typer in sub-command mode
        pass

    return cli


def test_create_reviewer_from_the_command_line(tmp_path: Path) -> None:
    env = {"OCR_SERVICE_DATA_DIR": str(tmp_path), "OCR_SERVICE_SECRET_KEY": SECRET}
    runner = CliRunner()
    result = runner.invoke(
        app(),
        ["create-reviewer", "王审核"],
        input="a long enough pass\na long enough pass\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "a long enough pass" not in result.output  # hidden input
    result = runner.invoke(
        app(),
        ["create-reviewer", "李审核", "--password-stdin"],
        input="another good password\n",
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert (
        runner.invoke(
            app(),
            ["create-reviewer", "王审核", "--password-stdin"],
            input="yet another password\n",
            env=env,
        ).exit_code
        == 1
    )
    assert (
        runner.invoke(
            app(), ["create-reviewer", "赵", "--password-stdin"], input="short\n", env=env
        ).exit_code
        == 2
    )
    mismatch = runner.invoke(
        app(),
        ["create-reviewer", "钱审核"],
        input="a long enough pass\ndifferent one here\n",
        env=env,
    )
    assert mismatch.exit_code != 0

    engine = make_engine(f"sqlite:///{tmp_path / 'ocr-service.db'}")
    with make_session_factory(engine)() as session:
        rows = session.execute(select(Reviewer.name, Reviewer.password_hash)).all()
    engine.dispose()
    assert sorted(name for name, _ in rows) == sorted(["王审核", "李审核"])
    assert all(h.startswith("$argon2id$") for _, h in rows)

"""The ``ocr-service`` command line."""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from ocr_service.calibration_cli import calibrate_command
from ocr_service.config import Settings
from ocr_service.dashboard.cli import create_reviewer_command

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Document-image validation: ID verification and certificate checks.",
)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # a configuration error is the operator's to fix: say it plainly
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _warn_plain_http(settings: Settings, host: str) -> None:
    """/qa session cookies must not cross the network in clear (issue 10)."""
    from ocr_service.dashboard.web import plain_http_warning

    warning = plain_http_warning(
        host, loopback=_is_loopback(host), cookie_secure=settings.dashboard.cookie_secure
    )
    if warning:
        typer.echo(f"warning: {warning}", err=True)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _active_db_keys(settings: Settings) -> int:
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import make_engine, make_session_factory, migrate, session_scope

    url = settings.resolved_database_url
    if settings.auto_migrate:
        migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            return repo.count_active_api_keys(session)
    finally:
        engine.dispose()


def _prepare_metrics_dir(settings: Settings) -> None:
    """Multiprocess metrics: every API process and worker of this host writes its own files
    into one directory; set before anything imports prometheus_client."""
    import re

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        path = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    else:
        path = Path(settings.ops.multiproc_dir or settings.data_dir / "prometheus")
    path.mkdir(parents=True, exist_ok=True)
    for leftover in path.glob("*.db"):  # files of processes that are gone
        match = re.search(r"_(\d+)\.db$", leftover.name)
        if match and not _pid_alive(int(match.group(1))):
            leftover.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="leave jobs to Celery workers")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(help="API processes (default: 1 embedded, one per core with --no-worker)"),
    ] = None,
    server: Annotated[
        str, typer.Option(help="granian (bounded request heads) | uvicorn (for comparison)")
    ] = "granian",
) -> None:
    """Run the API (and, by default, the embedded queue worker) under Granian."""
    settings = _settings()
    if not _is_loopback(host) and not settings.static_api_keys and _active_db_keys(settings) == 0:
        typer.echo(
            f"refusing to bind {host}: no API key is configured. Set OCR_SERVICE_API_KEYS or run "
            "`ocr-service create-api-key NAME`, or bind 127.0.0.1.",
            err=True,
        )
        raise typer.Exit(2)
    if no_worker and settings.embedded:
        typer.echo("--no-worker needs OCR_SERVICE_BROKER_URL (a Celery broker)", err=True)
        raise typer.Exit(2)
    _warn_plain_http(settings, host)
    if server not in ("granian", "uvicorn"):
        typer.echo("--server: granian or uvicorn", err=True)
        raise typer.Exit(2)
    _prepare_metrics_dir(settings)
    from ocr_service import serving

    processes = workers or serving.default_workers(settings, no_worker=no_worker)
    if processes > 1 and not no_worker:
        typer.echo("several API processes need Celery workers: add --no-worker", err=True)
        raise typer.Exit(2)
    if server == "granian" and processes > 1:
        serving.serve_processes(settings, host=host, port=port, workers=processes)
        return

    from ocr_service.main import create_app

    application = create_app(settings, run_worker=not no_worker)
    serving.start_metrics_server(application, settings)
    if server == "granian":
        serving.serve_in_process(application, settings, host=host, port=port)
        return
    import uvicorn

    uvicorn.run(
        application,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,  # request line + headers
        limit_concurrency=512,
        timeout_graceful_shutdown=int(settings.ops.drain_timeout_s),
    )


@app.command()
def worker(
    queues: Annotated[
        str, typer.Option(help="comma list of queues to consume")
    ] = "id,certificates",
    concurrency: Annotated[int | None, typer.Option(help="worker processes")] = None,
    pool: Annotated[str, typer.Option(help="prefork | solo | threads")] = "prefork",
) -> None:
    """Run a Celery worker (production path: BROKER_URL and DATABASE_URL must be set)."""
    settings = _settings()
    if settings.embedded:
        typer.echo("worker needs OCR_SERVICE_BROKER_URL (redis://...)", err=True)
        raise typer.Exit(2)
    _prepare_metrics_dir(settings)  # before celery_app imports prometheus_client

    from celery import signals

    from ocr_service.logs import configure_logging
    from ocr_service.queue.celery_app import PROCESS_CERTIFICATE_FILE, create_celery
    from ocr_service.queue.sweeper import Sweeper, sweep_once
    from ocr_service.runtime import Runtime

    configure_logging(settings.log_level)
    runtime = Runtime.build(settings)  # migrations; no models in the parent process
    celery_app = create_celery(settings)

    @signals.worker_process_init.connect(weak=False)
    def _forget_parent_pool(**_: object) -> None:
        runtime.db_engine.dispose(close=False)

    @signals.setup_logging.connect(weak=False)
    def _json_logs(**_: object) -> None:
        configure_logging(settings.log_level)

    def enqueue(file_ids: list[str]) -> None:
        for file_id in file_ids:
            celery_app.send_task(PROCESS_CERTIFICATE_FILE, args=[file_id], queue="certificates")

    Sweeper(
        settings.sweep_interval_s,
        lambda: sweep_once(
            settings=settings,
            session_factory=runtime.session_factory,
            store=runtime.store,
            enqueue=enqueue,
        ),
    ).start()
    celery_app.worker_main(
        [
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency or settings.worker_processes),
            "-P",
            pool,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            settings.log_level,
            "-n",
            f"ocr-{queues.replace(',', '-')}@%h",
        ]
    )


@app.command()
def migrate() -> None:
    """Apply database migrations (also done at every start-up)."""
    from ocr_service.storage.db import migrate as run

    settings = _settings()
    run(settings.resolved_database_url)
    typer.echo("database is up to date")


@app.command("verify-id")
def verify_id(
    front: Annotated[Path, typer.Argument(help="人像面 photo")],
    back: Annotated[Path, typer.Argument(help="国徽面 photo")],
    name: Annotated[str, typer.Option("--name", help="declared name")],
    id_number: Annotated[str, typer.Option("--id-number", help="declared ID number")],
) -> None:
    """Verify an ID card in this process; print JSON. Exit 0 verified, 1 rejected, 2 bad input."""
    from pipelines.errors import InputError
    from pipelines.id_card import Declaration, verify_id_card
    from pipelines.ocr import create_engine

    settings = _settings()
    try:
        images = front.read_bytes(), back.read_bytes()
    except OSError as exc:
        typer.echo(
            json.dumps(
                {"error": {"code": "FILE_UNREADABLE", "message": str(exc)}}, ensure_ascii=False
            )
        )
        raise typer.Exit(2) from exc
    engine = create_engine(settings.ocr)
    try:
        result = verify_id_card(
            *images,
            Declaration(name=name, id_number=id_number),
            engine=engine,
            config=settings.id_card,
        )
    except InputError as exc:
        typer.echo(
            json.dumps({"error": {"code": exc.code, "message": str(exc)}}, ensure_ascii=False)
        )
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    raise typer.Exit(0 if result.verified else 1)


@app.command("validate-certs")
def validate_certs(
    paths: Annotated[list[Path], typer.Argument(help="files, folders or zips")],
    report: Annotated[Path | None, typer.Option("--report", help="write a CSV report")] = None,
    fix: Annotated[Path | None, typer.Option("--fix", help="write corrected files here")] = None,
) -> None:
    """Validate certificate scans; exit 1 if anything was rejected."""
    from ocr_service.certs_cli import validate_certs_command

    settings = _settings()
    code = validate_certs_command(  # a process pool over every core (OCR_SERVICE_CERT_PROCESSES)
        paths,
        report=report,
        fix_dir=fix,
        config=settings.certificate,
        ocr_config=settings.ocr,
        processes=settings.cert_processes,
    )
    raise typer.Exit(code)


def _session_factory(settings: Settings):  # type: ignore[no-untyped-def]
    from ocr_service.storage.db import make_engine, make_session_factory, migrate

    url = settings.resolved_database_url
    if settings.auto_migrate:
        migrate(url)
    return make_session_factory(make_engine(url))


app.command("create-reviewer")(create_reviewer_command)
app.command("calibrate")(calibrate_command)


@app.command("create-api-key")
def create_api_key(
    name: Annotated[str, typer.Argument(help="who the key is for (shown in records)")],
) -> None:
    """Create an API key; it is printed once and only its hash is stored."""
    from ocr_service.security import generate_api_key, hash_api_key
    from ocr_service.services.access import check_new_key_name
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import session_scope

    settings = _settings()
    try:
        name = check_new_key_name(settings, _session_factory(settings), name)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    key_id, key = generate_api_key()
    with session_scope(_session_factory(settings)) as session:
        repo.add_api_key(
            session,
            key_id=key_id,
            name=name.strip(),
            key_hash=hash_api_key(key),
            now=datetime.now(UTC),
        )
    typer.echo(f"key id: {key_id}", err=True)
    typer.echo("store this key now; it cannot be shown again:", err=True)
    typer.echo(key)


@app.command("revoke-api-key")
def revoke_api_key(key: Annotated[str, typer.Argument(help="key id or name")]) -> None:
    """Revoke a key (effective at once, no restart)."""
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import session_scope

    settings = _settings()
    with session_scope(_session_factory(settings)) as session:
        count = repo.revoke_api_key(session, key_id_or_name=key, now=datetime.now(UTC))
    typer.echo(f"revoked {count} key(s)")
    raise typer.Exit(0 if count else 1)


@app.command("list-api-keys")
def list_api_keys() -> None:
    """Key ids, names and states (never the keys)."""
    from ocr_service.storage import repository as repo
    from ocr_service.storage.db import session_scope

    settings = _settings()
    with session_scope(_session_factory(settings)) as session:
        for row in repo.list_api_keys(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            typer.echo(f"{row.key_id}\t{row.name}\t{row.created_at:%Y-%m-%d}\t{state}")


def main() -> None:
    app(prog_name="ocr-service")


if __name__ == "__main__":
    main()
    sys.exit(0)

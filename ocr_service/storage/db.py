"""Engine, sessions and migrations.

SQLite (the embedded default) runs in WAL mode and starts every transaction
with ``BEGIN IMMEDIATE``: writers queue on the busy timeout instead of failing
with "database is locked" when a read transaction later wants to write. Its file is
created 0600 (SQLite gives the WAL and shared-memory files the same mode) in a 0700
directory. Engines never put bound values into their error messages
(``hide_parameters``), so a logged database error carries no personal data.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from ocr_service.errors import StorageUnavailableError

SessionFactory = sessionmaker[Session]

#: Exceptions meaning "the database cannot be reached right now" (answered 503).
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if needed and make it 0700."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)


def prepare_sqlite_file(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would follow the umask), and
    tighten an existing one and its WAL/shared-memory files."""
    path = url.split("///", 1)[-1]
    if not path or path == ":memory:" or not url.startswith("sqlite"):
        return
    db = Path(path)
    if not db.parent.exists():
        private_dir(db.parent)
    os.close(os.open(db, os.O_RDWR | os.O_CREAT, 0o600))
    for candidate in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), Path(f"{db}-journal")):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(candidate, 0o600)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        prepare_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_pre_ping=True,
        hide_parameters=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=10,
        connect_args={"connect_timeout": 5} if url.startswith("postgresql") else {},
    )


def make_session_factory(engine: Engine) -> SessionFactory:
    return sessionmaker(engine, expire_on_commit=False)


@contextlib.contextmanager
def session_scope(factory: SessionFactory) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error; DB outages become 503s."""
    try:
        with factory() as session, session.begin():
            yield session
    except UNAVAILABLE as exc:
        raise StorageUnavailableError() from exc


def _alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations up to ``revision`` (idempotent; safe at every start-up)."""
    from alembic import command

    prepare_sqlite_file(url)
    command.upgrade(_alembic_config(url), revision)

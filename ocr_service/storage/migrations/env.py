"""Alembic environment: migrations run from code (``ocr-service migrate`` or start-up)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool, text

import ocr_service.dashboard.tables  # noqa: F401  (its tables belong to the same metadata)
from ocr_service.storage.db import make_engine
from ocr_service.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        url = config.get_main_option("sqlalchemy.url")
        assert url
        engine = make_engine(url) if url.startswith("sqlite") else None
        if engine is None:
            from sqlalchemy import create_engine

            engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
        with engine.connect() as connection:
            context.configure(
                connection=connection, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                if connection.dialect.name == "postgresql":
                    # API and worker processes start together and all migrate: one at a time.
                    connection.execute(text("SELECT pg_advisory_xact_lock(7270727)"))
                context.run_migrations()
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

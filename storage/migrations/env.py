"""The Alembic environment of sellsync.

Run in code by :func:`storage.db.upgrade` (which passes an open connection in
``config.attributes["connection"]``), or by the ``alembic`` command line with
``-c storage/alembic.ini`` (which reads ``DATABASE_URL``), e.g. to autogenerate a revision::

    DATABASE_URL=sqlite:///dev.db alembic -c storage/alembic.ini revision --autogenerate -m "..."
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from storage.connection import make_engine, normalize_url
from storage.tables import metadata

config = context.config
target_metadata = metadata

# Serialises concurrent migrations on PostgreSQL (several `web` processes starting at once).
MIGRATION_LOCK_KEY = 0x5E115C  # "sellsync"


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return normalize_url(url or os.environ.get("DATABASE_URL") or "sqlite:///sellsync.db")


def run_migrations_offline() -> None:
    """Emit the SQL instead of running it (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: sa.Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: let autogenerate write batch operations there.
        render_as_batch=sqlite,
        # SQLite does run DDL in transactions: one transaction for the whole upgrade, begun
        # with the write lock held, so that two processes never migrate at the same time.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

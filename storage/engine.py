"""Engines: from the ``DATABASE_URL`` people paste to an engine fit for sellsync's workload.

* :func:`normalize_url` turns ``postgres://...`` (Heroku and friends) into the URL SQLAlchemy
  needs (``postgresql+psycopg://...``).
* :func:`make_engine` builds an engine fit for several threads and processes sharing one
  database: SQLite in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` for writes,
  PostgreSQL with ``pool_pre_ping``.
* :func:`reader` is the same engine for read-only transactions.

Apart from the migrations and the store (``storage.db``, ``storage.repositories``) so that both
can use it without importing each other.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from sync.errors import ConfigError

#: Execution option read by the SQLite ``begin`` hook: ``"IMMEDIATE"`` (the default) takes the
#: write lock when a transaction starts, so that read-then-write transactions never fail with
#: "database is locked" half-way; ``"DEFERRED"`` is for read-only work, which never waits in WAL.
SQLITE_BEGIN = "sqlite_begin"

#: How long a SQLite connection waits for another writer before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """A SQLAlchemy URL using psycopg 3 for PostgreSQL; other URLs are returned unchanged.

    >>> normalize_url("postgres://u:p@db:5432/app")
    'postgresql+psycopg://u:p@db:5432/app'
    """
    url = url.strip()
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgres+"):
        return "postgresql+" + url[len("postgres+") :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url`` (normalised first); ``kwargs`` go to ``create_engine``."""
    try:
        sa_url = make_url(normalize_url(url))
    except sa.exc.ArgumentError:
        raise ConfigError("DATABASE_URL", "is not a database URL") from None
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(sa_url, **kwargs)
    if backend != "postgresql":
        raise ConfigError("DATABASE_URL", f"names a {backend} database: use PostgreSQL or SQLite")
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(sa_url, **kwargs)


def _sqlite_engine(url: sa.URL, **kwargs: Any) -> Engine:
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    in_memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    if in_memory:
        # One shared connection, or every pooled connection would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    engine = sa.create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                # Readers never wait for the writer, nor the writer for readers.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "IMMEDIATE")
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(
                f"{SQLITE_BEGIN} must be IMMEDIATE, DEFERRED or EXCLUSIVE, not {mode!r}"
            )
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def reader(engine: Engine) -> Engine:
    """``engine`` for read-only transactions (on SQLite: no write lock taken)."""
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})

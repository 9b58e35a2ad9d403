"""Engines, migrations and the entry point :func:`open_store`.

* :func:`normalize_url` turns the ``DATABASE_URL`` people paste (``postgres://...`` from Heroku
  and friends) into the URL SQLAlchemy needs (``postgresql+psycopg://...``).
* :func:`make_engine` builds an engine fit for several threads and processes sharing one
  database: SQLite in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` for writes,
  PostgreSQL with a connect timeout and a ping for connections that sat idle.
* :func:`upgrade` runs the packaged Alembic migrations to head, whatever the current directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

import storage.migrations
from sync.errors import ConfigError

if TYPE_CHECKING:
    from storage.repositories import SqlStore

#: Where the Alembic environment and ``versions/`` live: beside this module, in the package.
MIGRATIONS_DIR = Path(storage.migrations.__file__).resolve().parent

#: Execution option read by the SQLite ``begin`` hook: ``"IMMEDIATE"`` (the default) takes the
#: write lock when a transaction starts, so that read-then-write transactions never fail with
#: "database is locked" half-way; ``"DEFERRED"`` is for read-only work, which never waits in WAL;
#: ``"AUTOCOMMIT"`` sends no BEGIN, for single statements that commit on their own.
SQLITE_BEGIN = "sqlite_begin"

#: Alembic's ``context`` and ``op`` are module-level proxies: one migration per process at a time.
_ALEMBIC_LOCK = threading.Lock()

#: Connections kept open in the pool: as many as the threads answering Slack requests at once
#: (``bot.app.ACK_THREADS``), so that bursts do not open and close connections (SQLAlchemy's
#: default of 5 made 100 new PostgreSQL connections in a 1,200-request benchmark, 10 with 16).
POOL_SIZE = 16

#: A pooled PostgreSQL connection idle this long is pinged before it is used again.
PG_PING_AFTER_IDLE_S = 10.0

#: How long a PostgreSQL connection attempt may take (libpq's ``connect_timeout``).
PG_CONNECT_TIMEOUT_S = 10

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
    kwargs.setdefault("pool_size", POOL_SIZE)
    # A database host that drops packets fails a connect in seconds, not after the OS's minutes.
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    engine = sa.create_engine(sa_url, connect_args=connect_args, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle for
    :data:`PG_PING_AFTER_IDLE_S` (a restarted server, a dropped idle connection); a dead one is
    replaced at once. ``pool_pre_ping`` pinged on every checkout: one more round trip per
    statement, which under load was the slowest part of answering Slack. A busy connection
    that breaks fails its statement, and SQLAlchemy then renews the whole pool."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < PG_PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool retries with a fresh connection
            raise sa.exc.DisconnectionError(type(exc).__name__) from exc


def _sqlite_engine(url: sa.URL, **kwargs: Any) -> Engine:
    connect_args = dict(kwargs.pop("connect_args", {}))
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    in_memory = url.database in (None, "", ":memory:") or "mode=memory" in str(url)
    if in_memory:
        # One shared connection, or every pooled connection would see its own empty database.
        kwargs.setdefault("poolclass", StaticPool)
    elif "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", POOL_SIZE)
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
        if mode == "AUTOCOMMIT":
            return  # no BEGIN: each statement is a transaction of its own
        if mode not in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE"):
            raise ValueError(
                f"{SQLITE_BEGIN} must be IMMEDIATE, DEFERRED, EXCLUSIVE or AUTOCOMMIT, not {mode!r}"
            )
        connection.exec_driver_sql(f"BEGIN {mode}")

    return engine


def reader(engine: Engine) -> Engine:
    """``engine`` for read-only transactions: on SQLite one that takes no write lock; on
    PostgreSQL each statement on its own (no BEGIN and COMMIT round trips: at READ COMMITTED,
    PostgreSQL's default, every statement of a transaction takes a fresh snapshot anyway)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="AUTOCOMMIT")
    return engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})


def autocommitter(engine: Engine) -> Engine:
    """``engine`` running each statement as a transaction of its own."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{SQLITE_BEGIN: "AUTOCOMMIT"})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the packaged migrations, built in code (no ``alembic.ini``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates "%": escape percent-encoded characters of the URL.
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


@contextmanager
def _connection(target: str | Engine, *, read_only: bool = False) -> Iterator[sa.Connection]:
    """A connection to a URL (engine made and disposed here) or to an engine (left open)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with (reader(engine) if read_only else engine).connect() as connection:
            yield connection
    finally:
        if isinstance(target, str):
            engine.dispose()


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on a URL or an engine; a no-op when up to date.

    Safe to run from several processes at once: on PostgreSQL the migration takes an advisory
    lock, on SQLite the write lock, before it reads the current revision. (Alembic keeps its
    ``context`` in module globals, so within one process migrations take turns.)
    """
    with _ALEMBIC_LOCK, _connection(target) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(target: str | Engine, revision: str) -> None:
    """Run the migrations down to ``revision`` (``"base"`` drops every table)."""
    with _ALEMBIC_LOCK, _connection(target) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(target: str | Engine) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    with _connection(target, read_only=True) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def open_store(url: str, *, migrate: bool = True, **engine_kwargs: Any) -> SqlStore:
    """A :class:`~storage.repositories.SqlStore` on ``url``, migrated to head unless told not.

    The store owns its engine: call ``store.close()`` (or use it as a context manager).
    """
    from storage.repositories import SqlStore

    engine = make_engine(url, **engine_kwargs)
    try:
        if migrate:
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, owns_engine=True)

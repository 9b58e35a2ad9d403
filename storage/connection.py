"""Database connections: from the ``DATABASE_URL`` people paste to a SQLAlchemy engine fit for
sellsync's workload. (In the rest of sellsync "the engine" is :class:`sync.engine.Engine`, which
runs syncs; here the word is SQLAlchemy's.)

* :func:`normalize_url` turns ``postgres://...`` (Heroku and friends) into the URL SQLAlchemy
  needs (``postgresql+psycopg://...``).
* :func:`make_engine` builds an engine fit for several threads and processes sharing one
  database: SQLite in WAL mode with a busy timeout and ``BEGIN IMMEDIATE`` for writes,
  PostgreSQL with a connect timeout, a pool as large as the Slack ack threads, a check at each
  checkout that the server has not closed the connection (no round trip), and a ping only for
  connections that sat idle.
* :func:`reader` is the same engine for read-only work; :func:`autocommitter` runs each
  statement as a transaction of its own (the once-only marks of Slack requests).

Apart from the migrations and the store (``storage.db``, ``storage.repositories``) so that both
can use it without importing each other.
"""

from __future__ import annotations

import select
import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from sync.errors import ConfigError

#: Execution option read by the SQLite ``begin`` hook: ``"IMMEDIATE"`` (the default) takes the
#: write lock when a transaction starts, so that read-then-write transactions never fail with
#: "database is locked" half-way; ``"DEFERRED"`` is for read-only work, which never waits in WAL;
#: ``"AUTOCOMMIT"`` sends no BEGIN, for single statements that commit on their own.
SQLITE_BEGIN = "sqlite_begin"

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
        if idle_since is not None and _closed_by_server(dbapi_connection):
            # a restart or pg_terminate_backend: replaced now, not after a failed statement
            raise sa.exc.DisconnectionError("the server closed the connection")
        if idle_since is None or time.monotonic() - idle_since < PG_PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool retries with a fresh connection
            raise sa.exc.DisconnectionError(type(exc).__name__) from exc


def _closed_by_server(dbapi_connection: Any) -> bool:
    """Did the server close this idle pooled connection? Then its socket reads as ready (the
    server's "terminating connection" message, or the end of the stream), while an idle
    connection has nothing to read otherwise. A poll of the socket, no round trip: the first
    request after a PostgreSQL restart gets a fresh connection instead of an error (a 503 that
    Slack does not retry for a slash command)."""
    if getattr(dbapi_connection, "closed", False) or getattr(dbapi_connection, "broken", False):
        return True
    try:
        fd = dbapi_connection.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (AttributeError, OSError, ValueError, TypeError):  # no socket to ask: the ping decides
        return False


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
    try:
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
    except sa.exc.ArgumentError:  # sqlite://file.db: two slashes, a host where a path goes
        raise ConfigError(
            "DATABASE_URL",
            "is not a SQLite URL: use sqlite:///relative/path.db (three slashes) "
            "or sqlite:////absolute/path.db",
        ) from None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                # Readers never wait for the writer, nor the writer for readers.
                _switch_to_wal(cursor)
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


def _switch_to_wal(cursor: Any) -> None:
    """Put a SQLite file in WAL mode (it stays so). The switch needs the file to itself and
    SQLite does not wait for that (no busy handler): when processes open a new file at once,
    the losers see "database is locked" and try again until the winner has switched it."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


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

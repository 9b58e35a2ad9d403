"""What every repository shares: an engine, short transactions, dialect-aware upserts, chunks.

Every public method of a repository runs in its own short transaction (a ``Session`` opened from
the engine and committed before returning, or a Core connection for reads) and speaks only the
frozen values of :mod:`sync.domain` and :mod:`sync.ports`; no row object escapes. Upserts are
single ``INSERT ... ON CONFLICT`` statements (both databases have them). Large ``IN`` lists are
sent in chunks of :data:`CHUNK`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from storage.connection import reader
from sync.errors import ConfigError

#: The most values sent in one ``IN (...)`` list or one multi-row statement.
CHUNK = 500

#: How often a writer that lost a unique-index race retries (it then finds the winner's row).
RACE_RETRIES = 5

T = TypeVar("T")

#: The read scope this thread is in (:meth:`Repository.reading`): its engine and connection.
_READING: ContextVar[tuple[Engine, sa.Connection] | None] = ContextVar("reading", default=None)


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def unique(items: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(items))


def rowcount(result: sa.Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE."""
    return cast(sa.CursorResult[Any], result).rowcount


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Repository:
    """One role's tables on a PostgreSQL or SQLite engine (the engine is not closed here).

    ``clock`` (a callable returning aware UTC now) stamps the bookkeeping columns
    (``created_at``, ``updated_at``); times that mean something to the sync are passed in.
    """

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ConfigError(
                "DATABASE_URL", f"names a {dialect} database: use PostgreSQL or SQLite"
            )
        self._engine = engine
        self._reader = reader(engine)
        self._dialect = dialect
        self._clock = clock

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success."""
        with Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Run the reads inside on one connection in one read transaction: one pool checkout
        and, on SQLite, one BEGIN and one snapshot, instead of one of each per read (the status
        board makes seven). Writes inside commit on their own as always; a SQLite snapshot
        taken before them does not see them. A scope inside another joins it."""
        scope = _READING.get()
        if (scope is not None and scope[0] is self._engine) or isinstance(
            self._engine.pool, StaticPool
        ):  # joined; or one connection for everything (in-memory SQLite): writes need it free
            yield
            return
        with self._reader.connect() as connection, connection.begin():
            token = _READING.set((self._engine, connection))
            try:
                yield
            finally:
                _READING.reset(token)

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A connection in a read-only transaction (no write lock on SQLite), or that of the
        read scope this runs in (:meth:`reading`). A Core connection rather than an ORM
        session: reads run on every Slack request, and the session's bookkeeping cost more
        CPU than the query."""
        scope = _READING.get()
        if scope is not None and scope[0] is self._engine:
            yield scope[1]
            return
        with self._reader.connect() as connection, connection.begin():
            yield connection

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

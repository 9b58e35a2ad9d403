"""Leases: named locks held across processes until they expire (the run lease of
:mod:`sync.lease`, the summary's), and the process locks that the run lease stands on.

:meth:`LeaseRepository.try_lock` is an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired OR
mine RETURNING owner``: one atomic statement, correct across processes;
:meth:`LeaseRepository.renew_lock` is an ``UPDATE ... WHERE owner = mine``, so a holder learns
from its rowcount that it lost the lock.

:meth:`LeaseRepository.hold_lock` takes a lock that dies with its holder, so that a run killed
anywhere (``kill -9``, a full disk, a container stopped) frees the run lock at once:

* on PostgreSQL a session advisory lock (``pg_try_advisory_lock``) on a connection of its own,
  outside the pool, kept for the whole run: the server drops it when that session ends (the
  process died, or its host went away: the session asks the server for TCP keepalives, so a
  vanished host is noticed within about a minute). The key is made from the schema and the
  lock's name. A pooler in transaction mode (PgBouncer's ``pool_mode = transaction``) would hand
  that session to others: it must not sit between sellsync and PostgreSQL (session pooling is
  fine); :meth:`_AdvisoryHold.alive` checks that the lock is still this session's;
* on SQLite an exclusive ``flock`` on a file beside the database (``sellsync.db.sync.lock``),
  which the kernel drops when the process ends; an in-memory database (one process) or a
  lock file that cannot be opened gets a stand-in (empty ``kind``), and the TTL alone decides.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage import tables as t
from storage.repositories.base import Repository, rowcount
from sync.ports import LockHold

try:  # not on Windows: there the TTL alone decides
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("sellsync.lease")

#: The first half of every advisory lock key sellsync takes for a run lock (the second half is
#: made from the schema and the name). The migrations' lock uses the one-key form: apart.
ADVISORY_CLASS = 0x5E11

#: Server-side TCP keepalives of the advisory lock's session: a holder whose host vanished loses
#: the lock after about IDLE + INTERVAL * COUNT seconds.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 30, 10, 3


class _NoHold:
    """Where no process lock exists (in-memory SQLite, a lock file that cannot be opened)."""

    kind = ""

    def alive(self) -> bool:
        return True

    def release(self) -> None:
        pass


class _FileHold:
    """An exclusive ``flock`` on ``path``: the kernel drops it with the process."""

    kind = "a file lock"

    def __init__(self, fd: int, path: str) -> None:
        self._fd: int | None = fd
        self.path = path

    def alive(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor drops the lock


class _AdvisoryHold:
    """A session advisory lock on a database connection of its own, out of the pool: the
    server drops it when that session ends."""

    kind = "a PostgreSQL advisory lock"

    def __init__(self, connection: Any, key: tuple[int, int]) -> None:
        self._connection: Any = connection  # a DBAPI connection (psycopg), autocommit
        self._key = key
        self._using = threading.Lock()  # the run and the lease's heartbeat both ask

    def alive(self) -> bool:
        """Still this session's: one query (also proves no pooler swapped the session)."""
        with self._using:
            if self._connection is None:
                return False
            try:
                return bool(_query(self._connection, _STILL_HELD, self._key))
            except Exception as exc:  # the session is gone, and its lock with it
                log.warning("the run lock's database session failed: %s", type(exc).__name__)
                return False

    def release(self) -> None:
        with self._using:
            connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            _query(connection, "SELECT pg_advisory_unlock(%s, %s)", self._key)
        except Exception:  # the session is gone: so is its lock
            pass
        finally:
            connection.close()  # the session ends here, and any lock it still had


_STILL_HELD = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s "
    "AND objid = %s AND objsubid = 2 AND pid = pg_backend_pid() AND granted)"
)


def _query(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the first row of ``sql`` on a DBAPI connection."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return None if row is None else row[0]
    finally:
        cursor.close()


def sqlite_lock_path(engine: Engine, name: str) -> str | None:
    """The lock file of ``name`` beside the SQLite database file; None for in-memory ones."""
    database = engine.url.database
    if not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return f"{os.path.abspath(database)}.{name}.lock"


def _hold_file(engine: Engine, name: str) -> _FileHold | _NoHold | None:
    path = sqlite_lock_path(engine, name)
    if path is None or fcntl is None:
        return _NoHold()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        log.warning(
            "cannot open the lock file %s (%s): a run killed now keeps the lock until its "
            "TTL expires",
            path,
            exc.strerror,
        )
        return _NoHold()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:
        os.close(fd)
        log.warning("cannot lock %s (%s): the TTL alone decides", path, exc.strerror)
        return _NoHold()
    return _FileHold(fd, path)


def advisory_key(schema: str, name: str) -> tuple[int, int]:
    """The two-int key of ``name``'s advisory lock in ``schema`` (both non-negative int4)."""
    return ADVISORY_CLASS, zlib.crc32(f"sellsync:{schema}:{name}".encode()) & 0x7FFFFFFF


def _hold_advisory(engine: Engine, name: str) -> _AdvisoryHold | None:
    pooled = engine.raw_connection()
    pooled.detach()  # out of the pool for good: closing it ends the session and its lock
    connection = pooled.dbapi_connection
    try:
        if connection is None:  # pragma: no cover - a fresh checkout always has one
            raise RuntimeError("no database connection")
        connection.rollback()
        connection.autocommit = True  # no transaction left open for hours on this session
        for setting, value in (
            ("tcp_keepalives_idle", KEEPALIVE_IDLE_S),
            ("tcp_keepalives_interval", KEEPALIVE_INTERVAL_S),
            ("tcp_keepalives_count", KEEPALIVE_COUNT),
        ):
            _query(connection, f"SELECT set_config('{setting}', '{int(value)}', false)")
        key = advisory_key(str(_query(connection, "SELECT current_schema()")), name)
        taken = _query(connection, "SELECT pg_try_advisory_lock(%s, %s)", key)
    except BaseException:
        pooled.close()
        raise
    if not taken:
        pooled.close()
        return None
    return _AdvisoryHold(pooled, key)


class LeaseRepository(Repository):
    """:class:`sync.ports.LeaseStore` on the ``locks`` table, and the process locks."""

    def hold_lock(self, name: str) -> LockHold | None:
        """Take ``name``'s process lock without waiting; None while another holds it."""
        if self._dialect == "postgresql":
            return _hold_advisory(self._engine, name)
        return _hold_file(self._engine, name)

    def lock_expiry(self, name: str) -> datetime | None:
        """When the named lock's row expires, or None when there is none."""
        with self._read() as session:
            return session.execute(
                sa.select(t.locks.c.expires_at).where(t.locks.c.name == name)
            ).scalar_one_or_none()

    def try_lock(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Take a named lock that holds across processes; False when someone else holds it.

        The holder may take it again (that extends it to ``at + ttl_seconds``); anyone may take
        it once it expired. One atomic upsert: whoever's statement commits first wins.
        """
        insert = self._insert(t.locks).values(
            name=name, owner=owner, expires_at=at + timedelta(seconds=ttl_seconds)
        )
        statement = insert.on_conflict_do_update(
            index_elements=[t.locks.c.name],
            set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
            where=(t.locks.c.expires_at <= at) | (t.locks.c.owner == owner),
        ).returning(t.locks.c.owner)
        with self._write() as session:
            holder = session.execute(statement).scalar_one_or_none()
        return holder == owner

    def renew_lock(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Extend a lock ``owner`` still holds to ``at + ttl_seconds``; False when it does not.

        Unlike :meth:`try_lock` this never takes a lock: a holder that finds the row gone, or
        someone else's, has lost it (taken over after it expired) and must stop. An expired row
        that is still ``owner``'s is extended: nobody took it, so nobody ran meanwhile.
        """
        with self._write() as session:
            result = session.execute(
                sa.update(t.locks)
                .where(t.locks.c.name == name, t.locks.c.owner == owner)
                .values(expires_at=at + timedelta(seconds=ttl_seconds))
            )
            return rowcount(result) == 1

    def unlock(self, name: str, *, owner: str) -> None:
        """Release the lock if ``owner`` holds it; otherwise do nothing."""
        with self._write() as session:
            session.execute(
                sa.delete(t.locks).where(t.locks.c.name == name, t.locks.c.owner == owner)
            )

    def lock_holder(self, name: str) -> str | None:
        """The owner of the named lock (expired or not), or None."""
        with self._read() as session:
            return session.execute(
                sa.select(t.locks.c.owner).where(t.locks.c.name == name)
            ).scalar_one_or_none()

    def purge_locks(self, *, at: datetime) -> int:
        """Delete the locks that expired by ``at`` (left by crashed runs and summaries)."""
        with self._write() as session:
            result = session.execute(sa.delete(t.locks).where(t.locks.c.expires_at <= at))
        return rowcount(result)

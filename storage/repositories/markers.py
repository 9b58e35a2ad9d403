"""Request markers: one row per accepted Slack request, so that a replay of it is refused in
every web process (:mod:`bot.replay`). Not locks: nobody holds a marker, it only expires; they
have a table of their own so that housekeeping and readers tell them apart.

On a SQLite file the markers live in a small database of their own beside it
(``sellsync.db-markers``, with its own ``-wal`` and ``-shm``): SQLite has one write lock per
file, and a marker written into the main file waited for the sync's write transactions (tens of
milliseconds each when the worker is short of CPU) on every Slack request. In their own file
they wait only for each other's single statements. Every process opening the same database
finds the same file, so a replay is refused whichever web process it reaches. On PostgreSQL
(row locks, no file lock) and in an in-memory SQLite database they stay in the main database.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from storage import tables as t
from storage.connection import autocommitter, make_engine
from storage.repositories.base import Repository, chunked, rowcount

#: Appended to a SQLite database's path to name the markers' own file.
MARKERS_FILE_SUFFIX = "-markers"


def markers_path(engine: Engine) -> str | None:
    """The file holding the request markers of a SQLite file database; None when they live in
    the main database (PostgreSQL, an in-memory SQLite database)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return None
    if database.startswith("file:"):  # a URI filename: keep the markers where they were
        return None
    return database + MARKERS_FILE_SUFFIX


class RequestMarkerRepository(Repository):
    """:class:`sync.ports.RequestMarkerStore` on the ``request_markers`` table (of the markers'
    own file on SQLite, see the module's docstring)."""

    _markers: Engine | None = None
    _markers_lock = threading.Lock()

    def _markers_engine(self) -> Engine:
        """The engine of the markers' table: made, and its table created, on first use."""
        if self._markers is not None:
            return self._markers
        with self._markers_lock:
            path = markers_path(self._engine)
            if path is None:
                self._markers = self._engine
            elif self._markers is None:
                engine = make_engine(f"sqlite:///{path}")
                try:
                    with autocommitter(engine).connect() as connection:
                        # one statement each, so processes starting at once do not race
                        connection.execute(
                            sa.schema.CreateTable(t.request_markers, if_not_exists=True)
                        )
                        for index in t.request_markers.indexes:
                            connection.execute(sa.schema.CreateIndex(index, if_not_exists=True))
                    self._move_markers(engine)
                except BaseException:
                    engine.dispose()
                    raise
                self._markers = engine
        return self._markers

    @property
    def markers_engine(self) -> Engine:
        """The engine whose database holds the request markers (see the module's docstring)."""
        return self._markers_engine()

    def _move_markers(self, markers: Engine) -> None:
        """Markers that an earlier version wrote into the main file move to the markers' own:
        a replay of a request accepted just before an upgrade is still refused."""
        table = t.request_markers
        with self._read() as connection:
            if not sa.inspect(connection).has_table(table.name):
                return  # not migrated yet: nothing was ever marked there
            rows = [dict(r) for r in connection.execute(sa.select(table)).mappings()]
        if not rows:
            return
        with markers.begin() as connection:
            insert = sqlite.insert(table).on_conflict_do_nothing(index_elements=[table.c.name])
            connection.execute(insert, rows)
        with self._write() as session:
            for names in chunked([r["name"] for r in rows]):
                session.execute(sa.delete(table).where(table.c.name.in_(names)))

    def close_markers(self) -> None:
        """Close the markers' own file, if it was opened."""
        with self._markers_lock:
            if self._markers is not None and self._markers is not self._engine:
                self._markers.dispose()
            self._markers = None

    def mark_once(self, key: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Record ``key`` for ``owner`` until ``at + ttl_seconds``: True the first time, False
        while an unexpired mark of ``key`` exists, in any process sharing the database
        (:meth:`release_mark` gives it back).

        Called once per Slack request, concurrently with a sync's writes, so it is one
        statement committed on its own: on SQLite it holds the single write lock only while
        SQLite runs that statement (no BEGIN, no COMMIT round trip, no Python code in between
        that needs the GIL), so marks rarely queue behind each other in SQLite's busy back-off,
        which sleeps up to 100 ms at a time. An expired mark is taken over in place.
        """
        values = {
            "name": key,
            "owner": owner,
            "expires_at": at + timedelta(seconds=ttl_seconds),
        }
        if self._dialect == "sqlite":
            insert = sqlite.insert(t.request_markers).values(values)
            statement = insert.on_conflict_do_update(
                index_elements=[t.request_markers.c.name],
                set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
                where=t.request_markers.c.expires_at <= at,
            )
            # No RETURNING: the statement finishes, and commits, inside one call into SQLite
            # (which releases the GIL) instead of holding the write lock until Python has
            # fetched a row.
            with autocommitter(self._markers_engine()).connect() as connection:
                return rowcount(connection.execute(statement)) == 1
        # PostgreSQL: the row comes from a subquery that turns synchronous_commit off for this
        # statement's own transaction only (set_config(..., is_local => true)), so the commit
        # does not wait for the WAL to reach the disk (an fsync per Slack request, ~4 ms idle
        # and far more beside a sync). The mark is still atomic and visible to every process at
        # once; a database crash in the next fraction of a second could forget it.
        async_commit = sa.select(
            sa.func.set_config("synchronous_commit", "off", sa.true()).label("setting")
        ).subquery("async_commit")
        rows = sa.select(
            *(sa.literal(value, t.request_markers.c[name].type) for name, value in values.items())
        ).select_from(async_commit)
        pg_insert = postgresql.insert(t.request_markers).from_select(list(values), rows)
        pg_statement = pg_insert.on_conflict_do_update(
            index_elements=[t.request_markers.c.name],
            set_={"owner": pg_insert.excluded.owner, "expires_at": pg_insert.excluded.expires_at},
            where=t.request_markers.c.expires_at <= at,
        ).returning(t.request_markers.c.name)
        with autocommitter(self._engine).connect() as connection:
            return connection.execute(pg_statement).first() is not None

    def release_mark(self, key: str, *, owner: str) -> None:
        """Drop ``owner``'s mark of ``key`` (its request was not processed); else nothing."""
        markers = t.request_markers
        with autocommitter(self._markers_engine()).connect() as connection:
            connection.execute(
                sa.delete(markers).where(markers.c.name == key, markers.c.owner == owner)
            )

    def purge_marks(self, *, at: datetime) -> int:
        """Delete the marks that expired by ``at`` (Slack's signature window is long past)."""
        markers = t.request_markers
        with autocommitter(self._markers_engine()).connect() as connection:
            result = connection.execute(sa.delete(markers).where(markers.c.expires_at <= at))
        return rowcount(result)

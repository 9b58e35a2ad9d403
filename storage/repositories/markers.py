"""Request markers: one row per accepted Slack request, so that a replay of it is refused in
every web process (SPEC §7, :mod:`bot.replay`). Not locks: nobody holds a marker, it only
expires; they have a table of their own so that housekeeping and readers tell them apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from storage import tables as t
from storage.engine import autocommitter
from storage.repositories.base import Repository, rowcount


class RequestMarkerRepository(Repository):
    """:class:`sync.ports.RequestMarkerStore` on the ``request_markers`` table."""

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
            with autocommitter(self._engine).connect() as connection:
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
        with self._write() as session:
            session.execute(
                sa.delete(markers).where(markers.c.name == key, markers.c.owner == owner)
            )

    def purge_marks(self, *, at: datetime) -> int:
        """Delete the marks that expired by ``at`` (Slack's signature window is long past)."""
        markers = t.request_markers
        with self._write() as session:
            result = session.execute(sa.delete(markers).where(markers.c.expires_at <= at))
        return rowcount(result)

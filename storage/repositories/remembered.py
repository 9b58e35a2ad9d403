"""Remembered reads: API answers that do not change from run to run, kept in the database so a
process started by cron, a worker restarted or a second worker does not ask again (the
``remembered_reads`` table). Each is a JSON value under a key, with when it was fetched and
when it stops counting; an expired one is as good as never remembered.

The synced list's members as the runs know them (the ``list_roster`` table) live here too: the
whole list as the last sweep read it, plus the members who joined since.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository, chunked, unique


class RememberedReadRepository(Repository):
    """:class:`sync.ports.RememberedReads` on the ``remembered_reads`` table."""

    def remember(self, key: str, value: Any, ttl: timedelta | None) -> None:
        if value is None:
            self.forget(key)
            return
        now = self._clock()
        values = {
            "key": key,
            "value": value,
            "fetched_at": now,
            "expires_at": None if ttl is None else now + ttl,
        }
        insert = self._insert(t.remembered_reads).values(**values)
        statement = insert.on_conflict_do_update(
            index_elements=[t.remembered_reads.c.key],
            set_={k: insert.excluded[k] for k in ("value", "fetched_at", "expires_at")},
        )
        with self._write() as session:
            session.execute(statement)

    def recall(self, key: str) -> Any | None:
        c = t.remembered_reads.c
        with self._read() as connection:
            row = connection.execute(sa.select(c.value, c.expires_at).where(c.key == key)).first()
        if row is None or (row.expires_at is not None and row.expires_at <= self._clock()):
            return None
        return row.value

    def forget(self, key: str) -> None:
        with self._write() as session:
            session.execute(sa.delete(t.remembered_reads).where(t.remembered_reads.c.key == key))


class RosterRepository(Repository):
    """:class:`sync.ports.RosterStore` on the ``list_roster`` table."""

    def roster(self, list_id: str) -> set[str]:
        c = t.list_roster.c
        with self._read() as connection:
            return set(
                connection.execute(sa.select(c.hubspot_id).where(c.list_id == list_id)).scalars()
            )

    def add_to_roster(self, list_id: str, ids: Iterable[str]) -> None:
        params = [{"list_id": list_id, "hubspot_id": str(i)} for i in unique(ids)]
        if not params:
            return
        statement = self._insert(t.list_roster).on_conflict_do_nothing(
            index_elements=[t.list_roster.c.list_id, t.list_roster.c.hubspot_id]
        )
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def remove_from_roster(self, list_id: str, ids: Iterable[str]) -> None:
        wanted = unique(str(i) for i in ids)
        with self._write() as session:
            for chunk in chunked(wanted):
                session.execute(
                    sa.delete(t.list_roster).where(
                        t.list_roster.c.list_id == list_id,
                        t.list_roster.c.hubspot_id.in_(chunk),
                    )
                )

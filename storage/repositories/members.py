"""HubSpot list members already evaluated, with the score each had then (so the threshold
impact table is answered without an API call).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository, chunked, unique


class MemberRepository(Repository):
    """:class:`sync.ports.MemberStore` on the ``list_members`` table."""

    def known_members(self, list_id: str) -> set[str]:
        with self._read() as session:
            rows = session.execute(
                sa.select(t.list_members.c.hubspot_id).where(t.list_members.c.list_id == list_id)
            ).scalars()
            return set(rows)

    def add_members(self, list_id: str, ids: Iterable[str]) -> None:
        params = [{"list_id": list_id, "hubspot_id": str(i)} for i in unique(ids)]
        if not params:
            return
        statement = self._insert(t.list_members).on_conflict_do_nothing(
            index_elements=[t.list_members.c.list_id, t.list_members.c.hubspot_id]
        )
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def set_member_scores(self, list_id: str, scores: Mapping[str, str | None]) -> None:
        """Record members (evaluated now) with the score HubSpot gave for each."""
        params = [
            {"list_id": list_id, "hubspot_id": str(i), "score": None if v is None else str(v)[:64]}
            for i, v in scores.items()
        ]
        if not params:
            return
        insert = self._insert(t.list_members)
        statement = insert.on_conflict_do_update(
            index_elements=[t.list_members.c.list_id, t.list_members.c.hubspot_id],
            set_={"score": insert.excluded.score},
        )
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def member_scores(self, list_id: str) -> dict[str, str | None]:
        """Every evaluated member with its last known score (None: blank or never read)."""
        with self._read() as session:
            rows = session.execute(
                sa.select(t.list_members.c.hubspot_id, t.list_members.c.score).where(
                    t.list_members.c.list_id == list_id
                )
            )
            return {hubspot_id: score for hubspot_id, score in rows}

    def remove_members(self, list_id: str, ids: Iterable[str]) -> None:
        wanted = unique(str(i) for i in ids)
        with self._write() as session:
            for chunk in chunked(wanted):
                session.execute(
                    sa.delete(t.list_members).where(
                        t.list_members.c.list_id == list_id,
                        t.list_members.c.hubspot_id.in_(chunk),
                    )
                )

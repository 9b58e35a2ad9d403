"""Feed marks: where each change feed of a sync run stopped, by name (the ``cursors`` table). Nothing else lives here."""

from __future__ import annotations

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository
from sync.domain import FeedMark


class MarkRepository(Repository):
    """:class:`sync.ports.MarkStore` on the ``cursors`` table."""

    def get_mark(self, name: str) -> FeedMark | None:
        with self._read() as session:
            row = (
                session.execute(sa.select(t.cursors).where(t.cursors.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return FeedMark(
            updated_at=row["updated_at"], last_id=row["last_id"], position_ms=row["position_ms"]
        )

    def set_mark(self, name: str, mark: FeedMark) -> None:
        insert = self._insert(t.cursors).values(
            name=name,
            updated_at=mark.updated_at,
            last_id=mark.last_id,
            position_ms=mark.position_ms,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[t.cursors.c.name],
            set_={
                "updated_at": insert.excluded.updated_at,
                "last_id": insert.excluded.last_id,
                "position_ms": insert.excluded.position_ms,
            },
        )
        with self._write() as session:
            session.execute(statement)

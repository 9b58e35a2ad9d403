"""Merge conflicts. "At most one open conflict per record and field" is a partial unique
index: a writer that loses the race catches the ``IntegrityError`` and retries, finding the
winner's row. Closing one is a conditional ``UPDATE ... WHERE status = 'open'``: the rowcount
says whether this call made the change, so double clicks are harmless.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from storage import tables as t
from storage.repositories.base import RACE_RETRIES, Repository, rowcount
from sync.domain import Conflict, ConflictStatus, SellRef
from sync.errors import RecordNotFound

OPEN = ConflictStatus.OPEN.value


class ConflictRepository(Repository):
    """:class:`sync.ports.ConflictStore` on the ``conflicts`` table."""

    def open_conflict(self, conflict: Conflict) -> tuple[Conflict, bool]:
        """Open, or refresh the one open conflict of (sell ref, field); True when new.

        A refresh replaces both values and the HubSpot id and keeps ``opened_at``.
        """
        now = self._clock()
        values = {
            "hubspot_id": str(conflict.hubspot_id),
            "sell_value": conflict.sell_value,
            "hubspot_value": conflict.hubspot_value,
            "updated_at": now,
        }
        open_one = (
            (t.conflicts.c.sell_kind == conflict.sell.kind)
            & (t.conflicts.c.sell_id == conflict.sell.id)
            & (t.conflicts.c.field == conflict.field)
            & (t.conflicts.c.status == OPEN)
        )
        for attempt in range(RACE_RETRIES):
            try:
                with self._write() as session:
                    refreshed = (
                        session.execute(
                            sa.update(t.conflicts)
                            .where(open_one)
                            .values(**values)
                            .returning(*t.conflicts.c)
                        )
                        .mappings()
                        .first()
                    )
                    if refreshed is not None:
                        return _conflict(refreshed), False
                    created = (
                        session.execute(
                            sa.insert(t.conflicts)
                            .values(
                                **values,
                                sell_kind=conflict.sell.kind,
                                sell_id=conflict.sell.id,
                                field=conflict.field,
                                status=OPEN,
                                opened_at=conflict.opened_at or now,
                            )
                            .returning(*t.conflicts.c)
                        )
                        .mappings()
                        .one()
                    )
                    return _conflict(created), True
            except IntegrityError:
                # Another writer opened the same conflict between our UPDATE and INSERT: the
                # partial unique index refused a second open row. Refresh theirs instead.
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def get_conflict(self, conflict_id: int) -> Conflict | None:
        with self._read() as session:
            row = (
                session.execute(sa.select(t.conflicts).where(t.conflicts.c.id == conflict_id))
                .mappings()
                .first()
            )
        return None if row is None else _conflict(row)

    def list_conflicts(
        self,
        *,
        status: ConflictStatus | None = ConflictStatus.OPEN,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Conflict]:
        """Conflicts with ``status`` (all when None), oldest first."""
        query = sa.select(t.conflicts)
        if status is not None:
            query = query.where(t.conflicts.c.status == ConflictStatus(status).value)
        query = (
            query.order_by(t.conflicts.c.opened_at, t.conflicts.c.id).offset(offset).limit(limit)
        )
        with self._read() as session:
            return [_conflict(row) for row in session.execute(query).mappings()]

    def conflicts_for(self, ref: SellRef) -> list[Conflict]:
        """Every conflict of one Sell record, open or closed, oldest first."""
        query = (
            sa.select(t.conflicts)
            .where(t.conflicts.c.sell_kind == ref.kind, t.conflicts.c.sell_id == ref.id)
            .order_by(t.conflicts.c.opened_at, t.conflicts.c.id)
        )
        with self._read() as session:
            return [_conflict(row) for row in session.execute(query).mappings()]

    def count_conflicts(self, status: ConflictStatus = ConflictStatus.OPEN) -> int:
        query = sa.select(sa.func.count()).where(
            t.conflicts.c.status == ConflictStatus(status).value
        )
        with self._read() as session:
            return int(session.execute(query).scalar_one())

    def resolve_conflict(
        self,
        conflict_id: int,
        *,
        status: ConflictStatus,
        by: str,
        at: datetime,
        values: tuple[str | None, str | None] | None = None,
    ) -> tuple[Conflict, bool]:
        """Close an open conflict; (conflict, False) when it was already closed, or when
        ``values`` are given and the row no longer holds them as (Sell, HubSpot) values (a sync
        refreshed it since they were read).

        Raises RecordNotFound for an unknown id, ValueError when ``status`` is "open".
        """
        status = ConflictStatus(status)
        if status is ConflictStatus.OPEN:
            raise ValueError("a conflict is resolved to kept_sell, used_hubspot or dismissed")
        same: sa.ColumnElement[bool] = sa.true()
        if values is not None:
            same = t.conflicts.c.sell_value.is_not_distinct_from(
                values[0]
            ) & t.conflicts.c.hubspot_value.is_not_distinct_from(values[1])
        with self._write() as session:
            result = session.execute(
                sa.update(t.conflicts)
                .where(t.conflicts.c.id == conflict_id, t.conflicts.c.status == OPEN, same)
                .values(
                    status=status.value, resolved_by=by, resolved_at=at, updated_at=self._clock()
                )
            )
            changed = rowcount(result) == 1
            row = (
                session.execute(sa.select(t.conflicts).where(t.conflicts.c.id == conflict_id))
                .mappings()
                .first()
            )
        if row is None:
            raise RecordNotFound(f"conflict {conflict_id}")
        return _conflict(row), changed

    def refresh_conflict(
        self, conflict_id: int, *, sell_value: str | None, hubspot_value: str | None
    ) -> Conflict | None:
        """Set an open conflict's two values (a resolution found one side changed since the
        conflict was shown); None when it is no longer open."""
        with self._write() as session:
            row = (
                session.execute(
                    sa.update(t.conflicts)
                    .where(t.conflicts.c.id == conflict_id, t.conflicts.c.status == OPEN)
                    .values(
                        sell_value=sell_value, hubspot_value=hubspot_value, updated_at=self._clock()
                    )
                    .returning(*t.conflicts.c)
                )
                .mappings()
                .first()
            )
        return None if row is None else _conflict(row)

    def reopen_conflict(self, conflict_id: int, *, status: ConflictStatus, by: str) -> bool:
        """Undo ``by``'s resolution to ``status`` (its write failed): the conflict is open again.

        Only that very decision is undone (the row still has ``status`` and ``by``). Returns
        False when it is not reopened: the decision is no longer the row's, or a sync opened a
        newer conflict on the same record and field meanwhile; that one holds the current values,
        and this one is marked dismissed, since no value was written for it.
        """
        status = ConflictStatus(status)
        decided = (
            (t.conflicts.c.id == conflict_id)
            & (t.conflicts.c.status == status.value)
            & (t.conflicts.c.resolved_by == by)
        )
        try:
            with self._write() as session:
                result = session.execute(
                    sa.update(t.conflicts)
                    .where(decided)
                    .values(
                        status=OPEN, resolved_by=None, resolved_at=None, updated_at=self._clock()
                    )
                )
                return rowcount(result) == 1
        except IntegrityError:  # the partial unique index: a newer conflict is open
            with self._write() as session:
                session.execute(
                    sa.update(t.conflicts)
                    .where(decided)
                    .values(status=ConflictStatus.DISMISSED.value, updated_at=self._clock())
                )
            return False


def _conflict(row: RowMapping) -> Conflict:
    return Conflict(
        sell=SellRef(kind=row["sell_kind"], id=row["sell_id"]),
        hubspot_id=row["hubspot_id"],
        field=row["field"],
        sell_value=row["sell_value"],
        hubspot_value=row["hubspot_value"],
        status=ConflictStatus(row["status"]),
        id=row["id"],
        opened_at=row["opened_at"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
    )

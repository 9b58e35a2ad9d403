"""The bulk guard's holds. "At most one pending hold" is a partial unique index (a newer hold
supersedes the older); deciding one is a conditional ``UPDATE ... WHERE status = ...``, so one
decision wins whoever clicks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from storage import tables as t
from storage.repositories.base import RACE_RETRIES, Repository, rowcount
from sync.errors import RecordNotFound
from sync.ports import BulkHold

PENDING = "pending"
SUPERSEDED = "superseded"


class BulkHoldRepository(Repository):
    """:class:`sync.ports.BulkHoldStore` on the ``bulk_holds`` table."""

    def create_hold(
        self,
        *,
        scope: str,
        items: Mapping[str, Sequence[str]],
        sample: Sequence[str],
        bulk_limit: int,
        links_total: int,
        run_id: int | None,
        at: datetime,
    ) -> tuple[BulkHold, list[BulkHold]]:
        for attempt in range(RACE_RETRIES):
            try:
                with self._write() as session:
                    superseded = (
                        session.execute(
                            sa.update(t.bulk_holds)
                            .where(t.bulk_holds.c.status == PENDING)
                            .values(status=SUPERSEDED, decided_at=at)
                            .returning(*t.bulk_holds.c)
                        )
                        .mappings()
                        .all()
                    )
                    created = (
                        session.execute(
                            sa.insert(t.bulk_holds)
                            .values(
                                status=PENDING,
                                scope=scope,
                                items={k: list(v) for k, v in items.items()},
                                sample=list(sample),
                                bulk_limit=bulk_limit,
                                links_total=links_total,
                                run_id=run_id,
                                created_at=at,
                            )
                            .returning(*t.bulk_holds.c)
                        )
                        .mappings()
                        .one()
                    )
                    return _hold(created), [_hold(row) for row in superseded]
            except IntegrityError:
                # A concurrent hold committed first: supersede it too.
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def get_hold(self, hold_id: int) -> BulkHold | None:
        with self._read() as session:
            row = (
                session.execute(sa.select(t.bulk_holds).where(t.bulk_holds.c.id == hold_id))
                .mappings()
                .first()
            )
        return None if row is None else _hold(row)

    def holds(self, statuses: Sequence[str], *, limit: int = 20) -> list[BulkHold]:
        query = (
            sa.select(t.bulk_holds)
            .where(t.bulk_holds.c.status.in_(list(statuses)))
            .order_by(t.bulk_holds.c.id.desc())
            .limit(limit)
        )
        with self._read() as session:
            return [_hold(row) for row in session.execute(query).mappings()]

    def decide_hold(
        self, hold_id: int, *, status: str, by: str | None, at: datetime, was: str = PENDING
    ) -> tuple[BulkHold, bool]:
        with self._write() as session:
            result = session.execute(
                sa.update(t.bulk_holds)
                .where(t.bulk_holds.c.id == hold_id, t.bulk_holds.c.status == was)
                .values(
                    status=status,
                    **({"decided_by": by, "decided_at": at} if was == PENDING else {}),
                )
            )
            changed = rowcount(result) == 1
            row = (
                session.execute(sa.select(t.bulk_holds).where(t.bulk_holds.c.id == hold_id))
                .mappings()
                .first()
            )
        if row is None:
            raise RecordNotFound(f"bulk hold {hold_id}")
        return _hold(row), changed

    def set_hold_message(self, hold_id: int, *, channel: str, ts: str) -> None:
        with self._write() as session:
            result = session.execute(
                sa.update(t.bulk_holds)
                .where(t.bulk_holds.c.id == hold_id)
                .values(channel=channel, message_ts=ts)
            )
            if rowcount(result) == 0:
                raise RecordNotFound(f"bulk hold {hold_id}")


def _hold(row: RowMapping) -> BulkHold:
    return BulkHold(
        id=row["id"],
        status=row["status"],
        scope=row["scope"],
        items={k: tuple(v) for k, v in (row["items"] or {}).items()},
        sample=tuple(row["sample"] or ()),
        bulk_limit=row["bulk_limit"],
        links_total=row["links_total"],
        created_at=row["created_at"],
        run_id=row["run_id"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        channel=row["channel"],
        message_ts=row["message_ts"],
    )

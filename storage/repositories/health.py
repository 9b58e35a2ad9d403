"""The Health inbox: records whose writes keep failing, kept from each run's report.

One row per run-report item (``lead:12``, ``HubSpot 34``). A failure is one upsert (``INSERT
... ON CONFLICT (subject) DO UPDATE``) that adds one to the streak and keeps its first failure,
so two runs recording at once both count. A record whose link was synced after its last failure
is forgotten with one ``DELETE ... WHERE EXISTS`` against the links. Ignore is a conditional
upsert (``... DO UPDATE ... WHERE ignored_at IS NULL``): of two managers clicking at once, one
changes the row and the other is told it was done already.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from storage import tables as t
from storage.repositories.base import Repository, rowcount
from sync.domain import SellRef
from sync.ports import HealthRecord, RecordFailure

#: The longest reason kept (a CRM's message can be long; the Slack text is shorter still).
MAX_REASON = 1000


class HealthRepository(Repository):
    """:class:`sync.ports.HealthStore` on the ``sync_health`` table."""

    def record_failures(
        self, failures: Sequence[RecordFailure], *, run_id: int | None, at: datetime
    ) -> None:
        if not failures:
            return
        table = t.sync_health
        latest = {f.subject: f for f in failures}  # one row per subject in a statement
        rows = [
            {
                "subject": f.subject[:255],
                "sell_kind": f.sell.kind if f.sell is not None else None,
                "sell_id": f.sell.id if f.sell is not None else None,
                "hubspot_id": f.hubspot_id,
                "reason": f.reason[:MAX_REASON],
                "failures": 1,
                "first_failed_at": at,
                "last_failed_at": at,
                "last_run_id": run_id,
            }
            for f in latest.values()
        ]
        insert = self._insert(table)
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.subject],
            set_={
                "reason": insert.excluded.reason,
                "failures": table.c.failures + 1,
                "first_failed_at": sa.func.coalesce(table.c.first_failed_at, at),
                "last_failed_at": insert.excluded.last_failed_at,
                "last_run_id": insert.excluded.last_run_id,
                "sell_kind": sa.func.coalesce(table.c.sell_kind, insert.excluded.sell_kind),
                "sell_id": sa.func.coalesce(table.c.sell_id, insert.excluded.sell_id),
                "hubspot_id": sa.func.coalesce(table.c.hubspot_id, insert.excluded.hubspot_id),
            },
        )
        with self._write() as session:
            for row in rows:
                session.execute(statement, row)

    def clear_synced(self) -> int:
        health, links = t.sync_health.c, t.links.c
        same_record = sa.or_(
            sa.and_(links.sell_kind == health.sell_kind, links.sell_id == health.sell_id),
            sa.and_(health.sell_kind.is_(None), links.hubspot_id == health.hubspot_id),
        )
        synced = (
            sa.select(sa.literal(1))
            .where(same_record, links.last_synced_at > health.last_failed_at)
            .exists()
        )
        with self._write() as session:
            result = session.execute(
                sa.delete(t.sync_health).where(health.last_failed_at.is_not(None), synced)
            )
        return rowcount(result)

    def health_records(self, min_failures: int = 2) -> list[HealthRecord]:
        health = t.sync_health.c
        query = (
            sa.select(t.sync_health)
            .where(sa.or_(health.failures >= min_failures, health.ignored_at.is_not(None)))
            .order_by(health.last_failed_at.desc(), health.id.desc())
        )
        with self._read() as connection:
            return [_record(row) for row in connection.execute(query).mappings()]

    def health_record(self, subject: str) -> HealthRecord | None:
        query = sa.select(t.sync_health).where(t.sync_health.c.subject == subject)
        with self._read() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else _record(row)

    def ignore_health(self, subject: str, *, by: str, at: datetime) -> bool:
        table = t.sync_health
        insert = self._insert(table).values(
            subject=subject[:255], reason="", failures=0, ignored_at=at, ignored_by=by
        )
        statement = insert.on_conflict_do_update(
            index_elements=[table.c.subject],
            set_={"ignored_at": at, "ignored_by": by},
            where=table.c.ignored_at.is_(None),
        ).returning(table.c.id)
        with self._write() as session:
            return session.execute(statement).first() is not None

    def forget_health(self, subject: str) -> bool:
        with self._write() as session:
            result = session.execute(
                sa.delete(t.sync_health).where(t.sync_health.c.subject == subject)
            )
        return rowcount(result) > 0


def _record(row: RowMapping) -> HealthRecord:
    kind, sell_id = row["sell_kind"], row["sell_id"]
    return HealthRecord(
        subject=row["subject"],
        sell=SellRef.parse(f"{kind}:{sell_id}")
        if kind is not None and sell_id is not None
        else None,
        hubspot_id=row["hubspot_id"],
        reason=row["reason"],
        failures=int(row["failures"]),
        first_failed_at=row["first_failed_at"],
        last_failed_at=row["last_failed_at"],
        last_run_id=row["last_run_id"],
        ignored_at=row["ignored_at"],
        ignored_by=row["ignored_by"],
    )

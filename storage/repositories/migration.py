"""Leaving Sell: the migration runs, what moved (by ``zendesk_sell_id``), what was refused and
each verification, on the ``migration_*`` tables."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository, chunked, rowcount, unique
from sync.errors import RecordNotFound
from sync.ports import (
    MigrationCount,
    MigrationRefusal,
    MigrationStanding,
    MigrationVerification,
    MovedItem,
)

#: How many differences a stored verification keeps word for word (the count keeps them all).
KEPT_DETAILS = 200


class MigrationRepository(Repository):
    """:class:`sync.ports.MigrationStore` on the ``migration_*`` tables."""

    def start_migration_run(self, at: datetime) -> int:
        with self._write() as session:
            run_id = session.execute(
                sa.insert(t.migration_runs)
                .values(started_at=at, status="running", counts={})
                .returning(t.migration_runs.c.id)
            ).scalar_one()
        return int(run_id)

    def finish_migration_run(
        self, run_id: int, at: datetime, status: str, counts: Mapping[str, int]
    ) -> None:
        with self._write() as session:
            result = session.execute(
                sa.update(t.migration_runs)
                .where(t.migration_runs.c.id == run_id)
                .values(
                    finished_at=at,
                    status=status,
                    counts={str(k): int(v) for k, v in counts.items()},
                )
            )
            if rowcount(result) == 0:
                raise RecordNotFound(f"migration run {run_id}")

    def record_moved(self, run_id: int, items: Sequence[MovedItem], at: datetime) -> None:
        latest = {item.sell_key: item for item in items}
        if not latest:
            return
        # one statement, executed for many rows: compiled once and cached, where a VALUES list
        # of a page's rows was compiled afresh for every page (most of a move's own time)
        insert = self._insert(t.migration_items)
        upsert = insert.on_conflict_do_update(
            index_elements=["sell_key"],
            set_={
                "object_type": insert.excluded.object_type,
                "hubspot_id": insert.excluded.hubspot_id,
                "run_id": insert.excluded.run_id,
                "moved_at": insert.excluded.moved_at,
            },
        )
        with self._write() as session:
            for batch in chunked(list(latest.values())):
                session.execute(
                    upsert,
                    [
                        {
                            "sell_key": item.sell_key,
                            "object_type": item.object_type,
                            "hubspot_id": item.hubspot_id,
                            "run_id": run_id,
                            "moved_at": at,
                        }
                        for item in batch
                    ],
                )

    def moved_ids(self, sell_keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        c = t.migration_items.c
        with self._read() as connection:
            for batch in chunked(unique(sell_keys)):
                rows = connection.execute(
                    sa.select(c.sell_key, c.hubspot_id).where(c.sell_key.in_(batch))
                )
                found.update({str(key): str(hid) for key, hid in rows})
        return found

    def moved_pages(self, object_type: str, size: int = 100) -> Iterator[list[MovedItem]]:
        c = t.migration_items.c
        after = ""
        while True:
            with self._read() as connection:
                rows = connection.execute(
                    sa.select(c.sell_key, c.object_type, c.hubspot_id)
                    .where(c.object_type == object_type, c.sell_key > after)
                    .order_by(c.sell_key)
                    .limit(size)
                ).all()
            if not rows:
                return
            yield [MovedItem(str(k), str(o), str(h)) for k, o, h in rows]
            after = str(rows[-1][0])

    def record_refusals(
        self, run_id: int, refusals: Sequence[MigrationRefusal], at: datetime
    ) -> None:
        if not refusals:
            return
        with self._write() as session:
            for batch in chunked(refusals):
                session.execute(
                    sa.insert(t.migration_refusals).values(
                        [
                            {"run_id": run_id, "sell_key": r.sell_key, "reason": r.reason, "at": at}
                            for r in batch
                        ]
                    )
                )

    def migration_refusals(self, run_id: int) -> list[MigrationRefusal]:
        c = t.migration_refusals.c
        with self._read() as connection:
            rows = connection.execute(
                sa.select(c.sell_key, c.reason).where(c.run_id == run_id).order_by(c.id)
            )
            return [MigrationRefusal(str(key), str(reason)) for key, reason in rows]

    def record_migration_plan(self, at: datetime, walked: int) -> None:
        with self._write() as session:
            session.execute(
                sa.insert(t.migration_runs).values(
                    started_at=at, finished_at=at, status="planned", counts={"walked": walked}
                )
            )

    def latest_migration_count(self) -> MigrationCount | None:
        c = t.migration_runs.c
        with self._read() as connection:
            rows = connection.execute(
                sa.select(c.status, c.counts, c.finished_at)
                .where(c.status.in_(("planned", "finished")))
                .order_by(c.id.desc())
            )
            for status, counts, at in rows:  # runs before the count was kept have none
                walked = (counts or {}).get("walked")
                if isinstance(walked, int) and at is not None:
                    return MigrationCount(walked, at, planned=status == "planned")
        return None

    def record_verification(self, verification: MigrationVerification) -> None:
        with self._write() as session:
            session.execute(
                sa.insert(t.migration_verifications).values(
                    verified_at=verification.verified_at,
                    checked=verification.checked,
                    verified=verification.verified,
                    differences=verification.differences,
                    details=[dict(d) for d in verification.details[:KEPT_DETAILS]],
                )
            )

    def migration_standing(self) -> MigrationStanding:
        v = t.migration_verifications.c
        with self._read() as connection:
            moved = int(
                connection.execute(
                    sa.select(sa.func.count()).select_from(t.migration_items)
                ).scalar_one()
            )
            newest = connection.execute(
                sa.select(v.verified_at, v.verified, v.differences)
                .order_by(v.verified_at.desc(), v.id.desc())
                .limit(1)
            ).first()
        if newest is None:
            return MigrationStanding(
                verified_at=None,
                verified=0,
                differences=0,
                unverified=moved if moved else None,
                moved=moved,
            )
        verified_at, verified, differences = newest
        return MigrationStanding(
            verified_at=verified_at,
            verified=int(verified),
            differences=int(differences),
            unverified=max(0, moved - int(verified)),
            moved=moved,
        )

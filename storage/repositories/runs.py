"""The run log: one row per sync run, and the figures /metrics reads (aggregates computed
in the database, exact whatever the number of runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository, rowcount
from sync.errors import RecordNotFound
from sync.ports import RUN_STATUSES, SUCCESS_STATUSES, RunRecord, RunStats


class RunRepository(Repository):
    """:class:`sync.ports.RunLog` on the ``sync_runs`` table."""

    def start_run(self, *, trigger: str, at: datetime) -> int:
        with self._write() as session:
            run_id = session.execute(
                sa.insert(t.sync_runs)
                .values(trigger=trigger, started_at=at, status="running", counts={})
                .returning(t.sync_runs.c.id)
            ).scalar_one()
        return int(run_id)

    def finish_run(
        self,
        run_id: int,
        *,
        at: datetime,
        status: str,
        counts: Mapping[str, int],
        error: str | None = None,
    ) -> None:
        with self._write() as session:
            result = session.execute(
                sa.update(t.sync_runs)
                .where(t.sync_runs.c.id == run_id)
                .values(
                    finished_at=at,
                    status=status,
                    counts={str(k): int(v) for k, v in counts.items()},
                    error=error,
                )
            )
            if rowcount(result) == 0:
                raise RecordNotFound(f"run {run_id}")

    def forget_run(self, run_id: int) -> None:
        with self._write() as session:
            session.execute(
                sa.delete(t.sync_runs).where(
                    t.sync_runs.c.id == run_id, t.sync_runs.c.status != "running"
                )
            )

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        """The newest runs first."""
        return self._runs(sa.true(), limit)

    def running_runs(self) -> list[RunRecord]:
        """The runs recorded as started and not finished, newest first."""
        return self._runs(t.sync_runs.c.status == "running", None)

    def interrupt_runs(self, *, at: datetime, error: str) -> list[int]:
        """Close every run still ``running`` as ``interrupted`` (counts kept); their ids."""
        runs = t.sync_runs.c
        with self._write() as session:
            ids = [
                int(i)
                for i in session.execute(
                    sa.update(t.sync_runs)
                    .where(runs.status == "running")
                    .values(status="interrupted", finished_at=at, error=error)
                    .returning(runs.id)
                ).scalars()
            ]
        return sorted(ids)

    def _runs(self, where: sa.ColumnElement[bool], limit: int | None) -> list[RunRecord]:
        query = (
            sa.select(t.sync_runs)
            .where(where)
            .order_by(t.sync_runs.c.started_at.desc(), t.sync_runs.c.id.desc())
            .limit(limit)
        )
        with self._read() as session:
            return [
                RunRecord(
                    id=row["id"],
                    started_at=row["started_at"],
                    finished_at=row["finished_at"],
                    trigger=row["trigger"],
                    status=row["status"],
                    counts=dict(row["counts"] or {}),
                    error=row["error"],
                )
                for row in session.execute(query).mappings()
            ]

    def run_stats(self) -> RunStats:
        """All runs counted by status with one GROUP BY, and the last start, finish and success
        as MAX aggregates: exact whatever the number of runs, in one read transaction."""
        runs = t.sync_runs.c
        success = sa.case((runs.status.in_(SUCCESS_STATUSES), runs.finished_at))
        counts = dict.fromkeys(RUN_STATUSES, 0)
        with self._read() as session:
            for status, count in session.execute(
                sa.select(runs.status, sa.func.count()).group_by(runs.status)
            ).all():
                counts[status] = int(count)
            started, finished, succeeded = session.execute(
                sa.select(
                    sa.func.max(runs.started_at),
                    sa.func.max(runs.finished_at),
                    sa.func.max(sa.type_coerce(success, t.UTCDateTime())),
                )
            ).one()
        return RunStats(
            by_status=counts,
            last_started=started,
            last_finished=finished,
            last_success=succeeded,
        )

"""What the schedulers share between runs and processes: heartbeats (the real next run
times, and whether any scheduler is alive), the failure streak already alerted (one alert per
streak) and the summary watermark (where the next summary starts).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository
from sync.ports import SchedulerBeat

#: Heartbeat rows of schedulers not seen for this long are deleted (restarts leave one row each).
HEARTBEAT_RETENTION = timedelta(days=7)

#: The id of the one row of ``scheduler_state``.
STATE_ROW_ID = 1


class SchedulerStateRepository(Repository):
    """:class:`sync.ports.SchedulerStateStore` on ``scheduler_heartbeats`` and ``scheduler_state``."""

    def record_heartbeat(self, beat: SchedulerBeat) -> None:
        """Insert or replace the row of ``beat.scheduler_id``; drop rows unseen for a week."""
        values = {
            "scheduler_id": beat.scheduler_id,
            "started_at": beat.started_at,
            "seen_at": beat.seen_at,
            "next_sync_at": beat.next_sync_at,
            "next_summary_at": beat.next_summary_at,
            "stopped_at": beat.stopped_at,
        }
        insert = self._insert(t.scheduler_heartbeats).values(**values)
        statement = insert.on_conflict_do_update(
            index_elements=[t.scheduler_heartbeats.c.scheduler_id],
            set_={k: getattr(insert.excluded, k) for k in values if k != "scheduler_id"},
        )
        with self._write() as session:
            session.execute(statement)
            session.execute(
                sa.delete(t.scheduler_heartbeats).where(
                    t.scheduler_heartbeats.c.seen_at < beat.seen_at - HEARTBEAT_RETENTION
                )
            )

    def latest_heartbeat(self) -> SchedulerBeat | None:
        """The most recently seen scheduler (stopped or not), or None."""
        hb = t.scheduler_heartbeats
        query = sa.select(hb).order_by(hb.c.seen_at.desc(), hb.c.scheduler_id).limit(1)
        with self._read() as session:
            row = session.execute(query).mappings().first()
        if row is None:
            return None
        return SchedulerBeat(
            scheduler_id=row["scheduler_id"],
            started_at=row["started_at"],
            seen_at=row["seen_at"],
            next_sync_at=row["next_sync_at"],
            next_summary_at=row["next_summary_at"],
            stopped_at=row["stopped_at"],
        )

    def alerted_failure_since(self) -> datetime | None:
        """When the failure streak that was alerted began; None when no alert is out."""
        return self._state("alerted_failure_since")

    def set_alerted_failure_since(self, since: datetime | None) -> None:
        """Record the alerted streak (``since``), or its end (None: the sync recovered)."""
        self._set_state(alerted_failure_since=since)

    def summary_watermark(self) -> datetime | None:
        """Where the next summary starts (just after the last one posted); None: never posted."""
        return self._state("summary_watermark")

    def set_summary_watermark(self, at: datetime) -> None:
        self._set_state(summary_watermark=at)

    def _state(self, column: str) -> datetime | None:
        state = t.scheduler_state
        with self._read() as session:
            value: datetime | None = session.execute(
                sa.select(state.c[column]).where(state.c.id == STATE_ROW_ID)
            ).scalar_one_or_none()
        return value

    def _set_state(self, **values: Any) -> None:
        """Upsert the given columns of the one row, leaving the others as they are."""
        insert = self._insert(t.scheduler_state).values(id=STATE_ROW_ID, **values)
        statement = insert.on_conflict_do_update(
            index_elements=[t.scheduler_state.c.id],
            set_={name: getattr(insert.excluded, name) for name in values},
        )
        with self._write() as session:
            session.execute(statement)

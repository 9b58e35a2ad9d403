"""Scheduler heartbeats: what each scheduler last said about itself (issue 10, truthful next run)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from storage.repositories import SqlStore
from sync.ports import SchedulerBeat

from .conftest import T0


def beat(scheduler_id: str, seen_minutes: float, **values: object) -> SchedulerBeat:
    return SchedulerBeat(
        scheduler_id=scheduler_id,
        started_at=T0,
        seen_at=T0 + timedelta(minutes=seen_minutes),
        **values,  # type: ignore[arg-type]
    )


def test_no_heartbeat_before_any_scheduler_ran(store: SqlStore) -> None:
    assert store.latest_heartbeat() is None


def test_a_heartbeat_is_stored_with_its_next_run_times_in_utc(store: SqlStore) -> None:
    recorded = beat(
        "worker-1",
        1,
        next_sync_at=T0 + timedelta(minutes=15),
        next_summary_at=T0 + timedelta(hours=24),
    )
    store.record_heartbeat(recorded)
    latest = store.latest_heartbeat()
    assert latest == recorded
    assert latest is not None and latest.seen_at.utcoffset() == timedelta(0)


def test_a_scheduler_replaces_its_own_row_and_the_newest_wins(store: SqlStore) -> None:
    store.record_heartbeat(beat("worker-1", 1, next_sync_at=T0 + timedelta(minutes=15)))
    store.record_heartbeat(beat("worker-2", 2))
    store.record_heartbeat(beat("worker-1", 3, next_sync_at=T0 + timedelta(minutes=30)))
    latest = store.latest_heartbeat()
    assert latest is not None
    assert (latest.scheduler_id, latest.next_sync_at) == ("worker-1", T0 + timedelta(minutes=30))
    stopped = replace(
        latest, seen_at=T0 + timedelta(minutes=4), stopped_at=T0 + timedelta(minutes=4)
    )
    store.record_heartbeat(stopped)
    assert store.latest_heartbeat() == stopped


def test_rows_of_schedulers_gone_for_a_week_are_dropped(store: SqlStore) -> None:
    store.record_heartbeat(beat("old", 0))
    store.record_heartbeat(beat("new", 8 * 24 * 60))
    store.record_heartbeat(beat("new", 8 * 24 * 60 + 1))
    with store.engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT scheduler_id FROM scheduler_heartbeats")).all()
    assert [r[0] for r in ids] == ["new"]

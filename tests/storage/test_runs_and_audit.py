"""Sync runs and the audit trail (SPEC §3 Schedules: summaries since the last one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.repositories import SqlStore
from sync.errors import RecordNotFound
from sync.ports import AuditEvent, RunRecord

from .conftest import T0


def test_a_run_is_started_then_finished(store: SqlStore) -> None:
    run_id = store.start_run(trigger="schedule", at=T0)
    assert store.recent_runs() == [
        RunRecord(id=run_id, started_at=T0, finished_at=None, trigger="schedule", status="running")
    ]
    store.finish_run(
        run_id,
        at=T0 + timedelta(seconds=42),
        status="errors",
        counts={"created_in_sell": 3, "error": 1},
        error="1 record failed",
    )
    assert store.recent_runs() == [
        RunRecord(
            id=run_id,
            started_at=T0,
            finished_at=T0 + timedelta(seconds=42),
            trigger="schedule",
            status="errors",
            counts={"created_in_sell": 3, "error": 1},
            error="1 record failed",
        )
    ]
    with pytest.raises(RecordNotFound):
        store.finish_run(404, at=T0, status="ok", counts={})


def test_recent_runs_lists_the_newest_first_up_to_the_limit(store: SqlStore) -> None:
    ids = [store.start_run(trigger="manual", at=T0 + timedelta(minutes=i)) for i in range(5)]
    assert [run.id for run in store.recent_runs(limit=3)] == ids[::-1][:3]
    assert len(store.recent_runs()) == 5


def test_audit_since_returns_events_at_or_after_oldest_first(store: SqlStore) -> None:
    events = [
        AuditEvent(
            at=T0 + timedelta(minutes=i),
            kind="conflict_opened" if i % 2 else "created_in_sell",
            subject=f"lead:{i}",
            detail={"field": "phone", "values": ["a", None], "n": i},
            actor="U1" if i == 3 else None,
            run_id=7 if i < 3 else None,
        )
        for i in (3, 0, 4, 1, 2)  # recorded out of order
    ]
    for event in events:
        store.audit(event)
    everything = store.audit_since(None)
    assert [e.subject for e in everything] == [f"lead:{i}" for i in range(5)]
    assert everything[3] == events[0]
    assert [e.subject for e in store.audit_since(T0 + timedelta(minutes=2))] == [
        "lead:2",
        "lead:3",
        "lead:4",
    ]
    assert [e.subject for e in store.audit_since(None, limit=2)] == ["lead:0", "lead:1"]
    assert store.audit_since(T0 + timedelta(hours=1)) == []


def test_audit_keeps_events_recorded_at_the_same_instant_in_order(store: SqlStore) -> None:
    for i in range(3):
        store.audit(AuditEvent(at=T0, kind="k", subject=str(i)))
    assert [e.subject for e in store.audit_since(T0)] == ["0", "1", "2"]
    assert store.audit_since(T0)[0].detail == {}


def test_audit_many_stores_a_page_of_events_in_order(store: SqlStore) -> None:
    events = [
        AuditEvent(at=T0 + timedelta(seconds=i % 3), kind="merged", subject=f"lead:{i}|{i}",
                   detail={"n": i}, run_id=None)
        for i in range(1200)
    ]  # fmt: skip
    store.audit_many(events)
    store.audit_many([])
    back = store.audit_since(None)
    assert len(back) == 1200
    assert [e.at for e in back] == sorted(e.at for e in events)
    assert {e.detail["n"] for e in back} == set(range(1200))

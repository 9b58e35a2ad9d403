"""The audit log read for an export: every matching event, oldest first, streamed, by subject,
run and date, or the newest N of them (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from storage.repositories import SqlStore
from sync.ports import AuditEvent

from .conftest import T0


def test_audit_events_stream_every_match_by_subject_run_and_date(store: SqlStore) -> None:
    first = store.start_run(trigger="cli", at=T0)
    second = store.start_run(trigger="schedule", at=T0 + timedelta(days=1))
    store.audit_many(
        [
            AuditEvent(T0 + timedelta(seconds=i), "merged", f"lead:{i}|{900 + i}", {}, run_id=first)
            for i in range(1200)  # more than a streamed batch, and than any old cap
        ]
        + [
            AuditEvent(T0 + timedelta(days=1), "merged", "lead:5|905", {"n": 1}, run_id=second),
            AuditEvent(T0 + timedelta(days=2), "restored", "lead:5|905", {}),
        ]
    )
    stream = store.audit_events()
    assert not isinstance(stream, list)  # read as it is consumed
    events = list(stream)
    assert len(events) == 1202 and events[0].subject == "lead:0|900"
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert len(list(store.audit_events(run_id=first))) == 1200
    assert [e.subject for e in store.audit_events(run_id=second)] == ["lead:5|905"]
    late = list(store.audit_events(since=T0 + timedelta(hours=1)))
    assert [e.kind for e in late] == ["merged", "restored"]
    about = list(store.audit_events(subjects=["lead:5"], since=T0 + timedelta(hours=1)))
    assert [e.kind for e in about] == ["merged", "restored"]
    newest = list(store.audit_events(newest=3))
    assert [e.subject for e in newest] == ["lead:1199|2099", "lead:5|905", "lead:5|905"]
    assert store.audit_trail(limit=3) == newest

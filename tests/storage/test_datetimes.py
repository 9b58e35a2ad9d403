"""Timestamps go in as any aware datetime and come back as the same instant in aware UTC.

(PostgreSQL runs these in a +05:30 session; SQLite keeps no zone at all.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from storage.repositories import SqlStore
from sync.domain import Conflict, ConflictStatus, FeedMark, Link, SellRef
from sync.ports import AuditEvent, SellIndexEntry

CEST = timezone(timedelta(hours=2))
LOCAL = datetime(2025, 6, 1, 14, 30, 15, 123456, tzinfo=CEST)  # 12:30:15.123456 UTC
UTC_INSTANT = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)


def is_utc(value: datetime | None) -> bool:
    return value is not None and value.utcoffset() == timedelta(0) and value.tzinfo is UTC


def test_every_stored_timestamp_comes_back_as_aware_utc(store: SqlStore) -> None:
    ref = SellRef("lead", 1)
    saved = store.save_link(Link(sell=ref, hubspot_id="9", last_synced_at=LOCAL))
    assert saved.last_synced_at == UTC_INSTANT and is_utc(saved.last_synced_at)
    assert is_utc(store.links_by_sell([ref])[ref].last_synced_at)

    store.set_mark("c", FeedMark(updated_at=LOCAL))
    cursor = store.get_mark("c")
    assert cursor is not None and cursor.updated_at == UTC_INSTANT and is_utc(cursor.updated_at)

    store.index_sell_records([SellIndexEntry(ref=ref, email="a@b.co", updated_at=LOCAL)])
    (indexed,) = store.find_by_email(["a@b.co"])["a@b.co"]
    assert indexed.updated_at == UTC_INSTANT and is_utc(indexed.updated_at)

    opened, _ = store.open_conflict(
        Conflict(
            sell=ref, hubspot_id="9", field="f", sell_value="a", hubspot_value="b", opened_at=LOCAL
        )
    )
    assert opened.id is not None
    resolved, _ = store.resolve_conflict(
        opened.id, status=ConflictStatus.DISMISSED, by="U", at=LOCAL
    )
    assert is_utc(resolved.opened_at) and is_utc(resolved.resolved_at)
    assert resolved.resolved_at == UTC_INSTANT

    created, _ = store.create_request(
        setting="threshold", new_value="1", old_value="0", requested_by="U", reason="", at=LOCAL
    )
    decided, _ = store.decide_request(created.id, status="approved", by="M", at=LOCAL)
    assert decided.created_at == UTC_INSTANT and is_utc(decided.created_at)
    assert is_utc(decided.decided_at)

    run_id = store.start_run(trigger="t", at=LOCAL)
    store.finish_run(run_id, at=LOCAL + timedelta(seconds=1), status="ok", counts={})
    (run,) = store.recent_runs()
    assert run.started_at == UTC_INSTANT and is_utc(run.started_at) and is_utc(run.finished_at)

    store.audit(AuditEvent(at=LOCAL, kind="k", subject="s"))
    (event,) = store.audit_since(UTC_INSTANT)
    assert event.at == UTC_INSTANT and is_utc(event.at)


def test_comparisons_in_sql_use_the_instant_not_the_wall_clock(store: SqlStore) -> None:
    store.audit(AuditEvent(at=UTC_INSTANT, kind="k", subject="s"))
    # 13:00 in +02:00 is 11:00 UTC: before the event although its wall clock reads later.
    assert len(store.audit_since(datetime(2025, 6, 1, 13, 0, tzinfo=CEST))) == 1
    assert store.audit_since(datetime(2025, 6, 1, 15, 0, tzinfo=CEST)) == []
    assert store.try_lock("l", owner="a", at=UTC_INSTANT, ttl_seconds=60)
    # One minute later expressed in another zone: the lock has expired.
    later = (UTC_INSTANT + timedelta(seconds=60)).astimezone(CEST)
    assert store.try_lock("l", owner="b", at=later, ttl_seconds=60)


def test_naive_datetimes_are_taken_as_utc(store: SqlStore) -> None:
    store.set_mark("c", FeedMark(updated_at=UTC_INSTANT.replace(tzinfo=None)))
    cursor = store.get_mark("c")
    assert cursor is not None and cursor.updated_at == UTC_INSTANT and is_utc(cursor.updated_at)

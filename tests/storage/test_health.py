"""The Health inbox's table: failing streaks per record, cleared when the record syncs, Ignore
kept, and concurrent writers counted exactly (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

from storage.repositories import SqlStore
from sync.domain import Link, SellRef
from sync.ports import RecordFailure

from .conftest import T0

LEAD = SellRef("lead", 12)


def failure(subject: str = "lead:12", reason: str = "HubSpot refused: bad phone") -> RecordFailure:
    sell = SellRef.parse(subject) if not subject.startswith("HubSpot ") else None
    hubspot = subject.removeprefix("HubSpot ") if sell is None else None
    return RecordFailure(subject, sell, hubspot, reason)


def test_health_a_streak_counts_runs_and_keeps_its_first_failure(store: SqlStore) -> None:
    store.record_failures([failure(reason="first")], run_id=1, at=T0)
    assert store.health_records(2) == []  # one failed run is not yet "keeps failing"
    store.record_failures([failure(reason="second")], run_id=2, at=T0 + timedelta(hours=1))
    [entry] = store.health_records(2)
    assert entry.subject == "lead:12" and entry.sell == LEAD and entry.hubspot_id is None
    assert entry.failures == 2 and entry.reason == "second" and entry.last_run_id == 2
    assert entry.first_failed_at == T0 and entry.last_failed_at == T0 + timedelta(hours=1)


def test_health_a_record_that_syncs_after_its_failure_is_cleared(store: SqlStore) -> None:
    store.record_failures([failure(), failure("HubSpot 77")], run_id=1, at=T0)
    store.record_failures([failure(), failure("HubSpot 77")], run_id=2, at=T0 + timedelta(hours=1))
    # synced before its last failure: kept
    store.save_links([Link(LEAD, "900", last_synced_at=T0)])
    assert store.clear_synced() == 0
    # the HubSpot contact was created in Sell after its failure; the lead synced too
    later = T0 + timedelta(hours=2)
    store.save_links(
        [
            Link(SellRef("lead", 13), "77", last_synced_at=later),
            Link(LEAD, "900", last_synced_at=later),
        ]
    )
    assert store.clear_synced() == 2
    assert store.health_records(1) == []


def test_health_ignore_is_kept_once_and_until_the_record_syncs(store: SqlStore) -> None:
    for run in (1, 2):
        store.record_failures([failure()], run_id=run, at=T0 + timedelta(hours=run))
    assert store.ignore_health("lead:12", by="UMGR1", at=T0) is True
    assert store.ignore_health("lead:12", by="UMGR2", at=T0) is False  # already ignored
    store.record_failures([failure()], run_id=3, at=T0 + timedelta(hours=3))
    entry = store.health_record("lead:12")
    assert entry is not None and entry.ignored_by == "UMGR1" and entry.failures == 3
    # an event can be ignored too: a row of its own, with no failures
    assert store.ignore_health("event:5", by="UMGR1", at=T0) is True
    assert {r.subject for r in store.health_records(2)} == {"lead:12", "event:5"}
    assert store.forget_health("event:5") is True and store.forget_health("event:5") is False


def test_health_concurrent_runs_count_every_failure_and_ignores_apply_once(
    store: SqlStore,
) -> None:
    barrier = threading.Barrier(6)
    ignored: list[bool] = []

    def fail(i: int) -> None:
        barrier.wait(timeout=30)
        store.record_failures([failure()], run_id=i, at=T0 + timedelta(minutes=i))

    def ignore(i: int) -> None:
        barrier.wait(timeout=30)
        ignored.append(store.ignore_health("lead:12", by=f"U{i}", at=T0))

    threads = [threading.Thread(target=fail, args=(i,)) for i in range(4)]
    threads += [threading.Thread(target=ignore, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    entry = store.health_record("lead:12")
    assert entry is not None and entry.failures == 4
    assert sorted(ignored) == [False, True]


def test_health_reasons_are_bounded_and_kept_as_given(store: SqlStore) -> None:
    hostile = "HubSpot refused: <!channel> *bold* " + "x" * 5000
    store.record_failures([failure(reason=hostile)], run_id=1, at=T0)
    entry = store.health_record("lead:12")
    assert entry is not None and entry.reason == hostile[:1000]

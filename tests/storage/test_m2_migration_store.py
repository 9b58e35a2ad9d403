"""What a migration records (M2) and where leaving Sell stands (M3), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage.repositories import SqlStore
from sync.ports import MigrationRefusal, MigrationVerification, MovedItem

from .conftest import T0


def test_m3_standing_knows_nothing_before_anything_moved(store: SqlStore) -> None:
    standing = store.migration_standing()
    assert standing.verified_at is None
    assert standing.unverified is None
    assert (standing.verified, standing.differences, standing.moved) == (0, 0, 0)


def test_m2_moved_items_are_kept_once_per_sell_key(store: SqlStore) -> None:
    run = store.start_migration_run(T0)
    store.record_moved(
        run,
        [MovedItem("lead:1", "contacts", "101"), MovedItem("organization:7", "companies", "9")],
        T0,
    )
    # a rerun finds the same record again (HubSpot answered the same id): still one row
    store.record_moved(run, [MovedItem("lead:1", "contacts", "101")], T0 + timedelta(minutes=1))
    assert store.moved_ids(["lead:1", "organization:7", "lead:2"]) == {
        "lead:1": "101",
        "organization:7": "9",
    }
    pages = list(store.moved_pages("contacts", size=1))
    assert pages == [[MovedItem("lead:1", "contacts", "101")]]
    store.finish_migration_run(run, T0 + timedelta(minutes=2), "finished", {"contacts": 1})


def test_m2_refusals_are_kept_per_run_with_their_reason(store: SqlStore) -> None:
    first = store.start_migration_run(T0)
    second = store.start_migration_run(T0)
    store.record_refusals(first, [MigrationRefusal("lead:3", "invalid email 'x@'")], T0)
    assert store.migration_refusals(first) == [MigrationRefusal("lead:3", "invalid email 'x@'")]
    assert store.migration_refusals(second) == []


def test_m3_standing_counts_what_the_newest_verification_vouches_for(store: SqlStore) -> None:
    run = store.start_migration_run(T0)
    store.record_moved(run, [MovedItem(f"lead:{i}", "contacts", str(i)) for i in range(5)], T0)
    assert store.migration_standing().unverified == 5
    store.record_verification(
        MigrationVerification(
            T0 + timedelta(hours=1),
            checked=5,
            verified=3,
            differences=2,
            details=({"key": "lead:1", "field": "email", "sell": "a", "hubspot": "b"},),
        )
    )
    store.record_verification(
        MigrationVerification(T0 + timedelta(hours=2), checked=5, verified=4, differences=1)
    )
    standing = store.migration_standing()
    assert standing.verified_at == T0 + timedelta(hours=2)
    assert (standing.verified, standing.differences, standing.unverified) == (4, 1, 1)
    # moved after the verification: unverified grows
    store.record_moved(run, [MovedItem("lead:9", "contacts", "9")], T0 + timedelta(hours=3))
    assert store.migration_standing().unverified == 2

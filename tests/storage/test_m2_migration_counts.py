"""How many Sell items the newest plan or complete run counted (a later run's progress total),
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from storage.repositories import SqlStore
from sync.ports import MigrationCount

from .conftest import T0


def test_m2_the_newest_plan_or_complete_run_gives_the_count(store: SqlStore) -> None:
    assert store.latest_migration_count() is None
    store.record_migration_plan(T0, 40)
    assert store.latest_migration_count() == MigrationCount(40, T0, planned=True)
    done = store.start_migration_run(T0 + timedelta(minutes=1))
    store.finish_migration_run(done, T0 + timedelta(minutes=2), "finished", {"walked": 42})
    assert store.latest_migration_count() == MigrationCount(
        42, T0 + timedelta(minutes=2), planned=False
    )


def test_m2_an_unfinished_run_or_one_without_a_count_does_not_give_the_total(
    store: SqlStore,
) -> None:
    store.record_migration_plan(T0, 40)
    stopped = store.start_migration_run(T0 + timedelta(minutes=1))  # read only part of Sell
    store.finish_migration_run(stopped, T0 + timedelta(minutes=2), "interrupted", {"walked": 9})
    old = store.start_migration_run(T0 + timedelta(minutes=3))  # before runs kept the count
    store.finish_migration_run(old, T0 + timedelta(minutes=4), "finished", {"moved": 5})
    store.start_migration_run(T0 + timedelta(minutes=5))  # still running
    assert store.latest_migration_count() == MigrationCount(40, T0, planned=True)

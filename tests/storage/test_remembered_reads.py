"""Remembered reads and the list's roster survive a new process: a store opened again on the
same database recalls them, until their lifetime runs out."""

from __future__ import annotations

from datetime import timedelta

from storage.db import make_engine, open_store
from storage.repositories import RememberedReadRepository, SqlStore
from sync.ports import RememberedReads, RosterStore

from .conftest import T0


def test_remembered_read_survives_a_new_store_on_the_same_database(db_url: str) -> None:
    with open_store(db_url) as first:
        memory: RememberedReads = first
        memory.remember("sell:custom_fields:lead", [{"name": "HubSpot score"}], timedelta(days=1))
    with open_store(db_url) as second:
        assert second.recall("sell:custom_fields:lead") == [{"name": "HubSpot score"}]


def test_a_remembered_read_expires_after_its_ttl(db_url: str) -> None:
    now = [T0]
    engine = make_engine(db_url)
    try:
        with open_store(db_url):
            pass  # migrated
        memory = RememberedReadRepository(engine, clock=lambda: now[0])
        memory.remember("sell:sync_api", {"refused": 403}, timedelta(days=1))
        now[0] = T0 + timedelta(hours=23, minutes=59)
        assert memory.recall("sell:sync_api") == {"refused": 403}
        now[0] = T0 + timedelta(days=1)
        assert memory.recall("sell:sync_api") is None
    finally:
        engine.dispose()


def test_remember_replaces_forget_removes_and_none_forgets(store: SqlStore) -> None:
    store.remember("k", {"a": 1}, None)
    store.remember("k", {"a": 2}, timedelta(seconds=60))
    assert store.recall("k") == {"a": 2}
    store.forget("k")
    assert store.recall("k") is None
    store.remember("k", "x", None)
    store.remember("k", None, None)
    assert store.recall("k") is None
    assert store.recall("never") is None


def test_roster_adds_removes_and_keeps_lists_apart(store: SqlStore) -> None:
    roster: RosterStore = store
    roster.add_to_roster("7", ["1", "2", "2", "3"])
    roster.add_to_roster("7", ["3", "4"])
    roster.add_to_roster("8", ["1"])
    roster.remove_from_roster("7", ["2", "9"])
    assert roster.roster("7") == {"1", "3", "4"}
    assert roster.roster("8") == {"1"}
    roster.add_to_roster("7", (str(i) for i in range(1200)))  # more than one chunk
    assert len(roster.roster("7")) == 1200

"""Once-only marks (``mark_once``): the replay guard records each Slack signature with one
statement that commits on its own, so per-request marks stay cheap beside a sync's writes."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.engine import make_url

from storage.db import open_store
from storage.repositories import SqlStore

from .conftest import T0


def test_a_key_is_marked_once_until_its_mark_expires(store: SqlStore) -> None:
    assert store.mark_once("k", owner="o", at=T0, ttl_seconds=60) is True
    assert store.mark_once("k", owner="o", at=T0 + timedelta(seconds=59), ttl_seconds=60) is False
    assert store.mark_once("other", owner="o", at=T0, ttl_seconds=60) is True
    assert store.mark_once("k", owner="o", at=T0 + timedelta(seconds=60), ttl_seconds=60) is True
    assert store.mark_once("k", owner="o", at=T0 + timedelta(seconds=61), ttl_seconds=60) is False
    assert store.purge_marks(at=T0 + timedelta(seconds=200)) == 2
    assert store.mark_once("k", owner="o", at=T0 + timedelta(seconds=200), ttl_seconds=60) is True


def test_a_mark_is_not_a_lock(store: SqlStore) -> None:
    """Markers live in a table of their own: lock housekeeping and lock names never meet them."""
    assert store.mark_once("sync", owner="o", at=T0, ttl_seconds=60) is True
    assert store.lock_holder("sync") is None
    assert store.try_lock("sync", owner="run", at=T0, ttl_seconds=60) is True
    assert store.purge_locks(at=T0 + timedelta(seconds=200)) == 1
    assert (
        store.mark_once("sync", owner="o", at=T0 + timedelta(seconds=30), ttl_seconds=60) is False
    )
    store.unlock("sync", owner="o")  # the lock API cannot drop a mark
    assert (
        store.mark_once("sync", owner="o", at=T0 + timedelta(seconds=30), ttl_seconds=60) is False
    )
    assert store.purge_marks(at=T0 + timedelta(seconds=200)) == 1


def test_a_mark_given_back_can_be_taken_again(store: SqlStore) -> None:
    assert store.mark_once("k", owner="a", at=T0, ttl_seconds=60) is True
    store.release_mark("k", owner="someone else")
    assert store.mark_once("k", owner="b", at=T0, ttl_seconds=60) is False
    store.release_mark("k", owner="a")
    assert store.mark_once("k", owner="b", at=T0, ttl_seconds=60) is True
    store.release_mark("k", owner="a")  # "a" no longer owns it: "b"'s mark stays
    assert store.mark_once("k", owner="c", at=T0, ttl_seconds=60) is False


def test_a_mark_is_seen_by_another_store_on_the_same_database(db_url: str) -> None:
    with open_store(db_url) as first, open_store(db_url, migrate=False) as second:
        assert first.mark_once("sig", owner="o", at=T0, ttl_seconds=60) is True
        assert second.mark_once("sig", owner="o", at=T0, ttl_seconds=60) is False


def test_exactly_one_of_many_concurrent_marks_of_a_key_wins(db_url: str) -> None:
    stores = [open_store(db_url, migrate=i == 0) for i in range(4)]
    start = threading.Barrier(16)

    def attempt(i: int) -> bool:
        start.wait()
        return stores[i % 4].mark_once("sig", owner=f"o{i}", at=T0, ttl_seconds=60)

    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(attempt, range(16)))
    finally:
        for store in stores:
            store.close()
    assert results.count(True) == 1
    winner = f"o{results.index(True)}"
    with open_store(db_url, migrate=False) as store:
        for loser in {f"o{i}" for i in range(16)} - {winner}:
            store.release_mark("sig", owner=loser)
        assert store.mark_once("sig", owner="x", at=T0, ttl_seconds=60) is False
        store.release_mark("sig", owner=winner)  # only the winner's mark was stored
        assert store.mark_once("sig", owner="x", at=T0, ttl_seconds=60) is True


def test_a_mark_leaves_no_transaction_open(store: SqlStore) -> None:
    assert store.mark_once("sig", owner="o", at=T0, ttl_seconds=60) is True
    # a writer that needs the whole database gets it at once (SQLite) / nothing is pending (PG)
    store.start_run(trigger="test", at=T0)
    assert [r.trigger for r in store.recent_runs()] == ["test"]


def test_a_mark_leaves_the_connection_settings_as_they_were(store: SqlStore) -> None:
    """On PostgreSQL the mark's commit skips the WAL flush; the setting ends with the mark."""
    assert store.mark_once("sig", owner="o", at=T0, ttl_seconds=60) is True
    with store.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"
    assert store.mark_once("sig", owner="o", at=T0, ttl_seconds=60) is False  # it was committed


def test_on_sqlite_a_mark_does_not_wait_for_the_sync_holding_the_write_lock(
    sqlite_url: str,
) -> None:
    """A sync's write transaction holds the database file's write lock; the replay guard's
    marks, written on every Slack request, live in a file of their own and do not wait for it."""
    database = make_url(sqlite_url).database
    assert database is not None
    with open_store(sqlite_url) as store:
        writer = sqlite3.connect(database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # a sync's write transaction, held
        writer.execute("DELETE FROM links")
        marked: list[object] = []

        def marks() -> None:
            marked.append(store.mark_once("sig", owner="o", at=T0, ttl_seconds=60))
            store.release_mark("sig", owner="o")
            marked.append(store.mark_once("sig", owner="p", at=T0, ttl_seconds=60))
            marked.append(store.purge_marks(at=T0 + timedelta(seconds=61)))

        thread = threading.Thread(target=marks, daemon=True)
        try:
            thread.start()
            thread.join(timeout=5)
            assert marked == [True, True, 1]  # done while the write lock is still held
        finally:
            writer.rollback()
            writer.close()
            thread.join(timeout=60)
        with open_store(sqlite_url, migrate=False) as another:  # every process finds them
            assert another.mark_once("k", owner="o", at=T0, ttl_seconds=60) is True
            assert store.mark_once("k", owner="o", at=T0, ttl_seconds=60) is False

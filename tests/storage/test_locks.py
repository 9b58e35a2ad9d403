"""The sync lock (SPEC §4: runs never overlap, whoever starts them), across processes."""

from __future__ import annotations

import multiprocessing
from collections import defaultdict
from datetime import timedelta

from storage.repositories import SqlStore

from . import workers
from .conftest import T0


def test_try_lock_is_exclusive_and_reentrant(store: SqlStore) -> None:
    assert store.try_lock("sync", owner="web-1", at=T0, ttl_seconds=60) is True
    assert (
        store.try_lock("sync", owner="web-2", at=T0 + timedelta(seconds=30), ttl_seconds=60)
        is False
    )
    # The holder may take it again, which extends it.
    assert (
        store.try_lock("sync", owner="web-1", at=T0 + timedelta(seconds=50), ttl_seconds=60) is True
    )
    assert (
        store.try_lock("sync", owner="web-2", at=T0 + timedelta(seconds=70), ttl_seconds=60)
        is False
    )
    assert store.try_lock("other", owner="web-2", at=T0, ttl_seconds=60) is True


def test_an_expired_lock_can_be_taken_over(store: SqlStore) -> None:
    assert store.try_lock("sync", owner="crashed", at=T0, ttl_seconds=60) is True
    assert (
        store.try_lock("sync", owner="web-2", at=T0 + timedelta(seconds=59), ttl_seconds=60)
        is False
    )
    assert (
        store.try_lock("sync", owner="web-2", at=T0 + timedelta(seconds=60), ttl_seconds=60) is True
    )
    assert (
        store.try_lock("sync", owner="crashed", at=T0 + timedelta(seconds=61), ttl_seconds=60)
        is False
    )


def test_unlock_releases_only_the_owners_lock(store: SqlStore) -> None:
    assert store.try_lock("sync", owner="web-1", at=T0, ttl_seconds=60)
    store.unlock("sync", owner="web-2")
    assert store.try_lock("sync", owner="web-2", at=T0, ttl_seconds=60) is False
    store.unlock("sync", owner="web-1")
    assert store.try_lock("sync", owner="web-2", at=T0, ttl_seconds=60) is True
    store.unlock("never-taken", owner="web-1")


def test_processes_racing_for_a_lock_get_exactly_one_winner(store: SqlStore, db_url: str) -> None:
    """Three processes race, round after round, for new locks and for expired ones."""
    fresh = [f"fresh-{i}" for i in range(8)]
    expired = [f"expired-{i}" for i in range(8)]
    for name in expired:
        assert store.try_lock(name, owner="crashed", at=T0 - timedelta(hours=1), ttl_seconds=60)

    context = multiprocessing.get_context("spawn")
    contenders = 3
    barrier = context.Barrier(contenders)
    results = context.Queue()
    processes = [
        context.Process(
            target=workers.contend,
            args=(db_url, f"proc-{i}", fresh + expired, T0, barrier, results),
        )
        for i in range(contenders)
    ]
    for process in processes:
        process.start()
    outcomes: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    try:
        for _ in range(contenders * len(fresh + expired)):
            name, owner, won = results.get(timeout=120)
            outcomes[name].append((owner, won))
    finally:
        for process in processes:
            process.join(timeout=60)
        results.close()
        results.join_thread()
    assert [process.exitcode for process in processes] == [0] * contenders

    for name in fresh + expired:
        winners = [owner for owner, won in outcomes[name] if won]
        assert len(outcomes[name]) == contenders, name
        assert len(winners) == 1, (name, outcomes[name])
        # The database agrees: the winner holds it, the others still cannot take it.
        losers = {f"proc-{i}" for i in range(contenders)} - set(winners)
        for loser in losers:
            assert store.try_lock(name, owner=loser, at=T0, ttl_seconds=60) is False
        assert store.try_lock(name, owner=winners[0], at=T0, ttl_seconds=60) is True


def test_a_lock_held_by_this_process_blocks_another_until_it_expires(
    store: SqlStore, db_url: str
) -> None:
    assert store.try_lock("sync", owner="here", at=T0, ttl_seconds=60)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    names = ["sync"]

    def run_child(at_offset: int) -> bool:
        barrier = context.Barrier(1)
        child = context.Process(
            target=workers.contend,
            args=(db_url, "there", names, T0 + timedelta(seconds=at_offset), barrier, results),
        )
        child.start()
        _, _, won = results.get(timeout=120)
        child.join(timeout=60)
        assert child.exitcode == 0
        return bool(won)

    try:
        assert run_child(30) is False
        assert run_child(61) is True
    finally:
        results.close()
        results.join_thread()
    assert (
        store.try_lock("sync", owner="here", at=T0 + timedelta(seconds=62), ttl_seconds=60) is False
    )


def test_purge_locks_drops_only_the_expired_ones(store: SqlStore) -> None:
    assert store.try_lock("old", owner="a", at=T0, ttl_seconds=60)
    assert store.try_lock("live", owner="b", at=T0, ttl_seconds=3600)
    assert store.purge_locks(at=T0 + timedelta(seconds=60)) == 1
    assert store.try_lock("old", owner="c", at=T0 + timedelta(seconds=61), ttl_seconds=60)
    assert not store.try_lock("live", owner="c", at=T0 + timedelta(seconds=61), ttl_seconds=60)


def test_lock_holder_names_the_owner(store: SqlStore) -> None:
    assert store.lock_holder("sync") is None
    assert store.try_lock("sync", owner="host:1:schedule:x", at=T0, ttl_seconds=60)
    assert store.lock_holder("sync") == "host:1:schedule:x"
    store.unlock("sync", owner="host:1:schedule:x")
    assert store.lock_holder("sync") is None

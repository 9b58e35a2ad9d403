"""A run lock whose holder died is released at once (SPEC §7): the process lock under the lease
(a file lock beside SQLite, a session advisory lock on PostgreSQL) dies with its process, so
after ``kill -9`` of a sync the very next run starts, and closes the killed run's row as
interrupted. A live holder still blocks (see test_run_lease.py for a paused one). On SQLite
and, with ``TEST_DATABASE_URL``, PostgreSQL; the holder is a spawned process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from bot.wiring import SystemClock
from storage.db import open_store
from storage.repositories import SqlStore
from storage.repositories.leases import advisory_key
from sync.engine import ORPHANED, SYNC_LOCK, Engine, EngineConfig
from sync.errors import LeaseLost, RunInProgress
from sync.lease import RunLease
from tests.fakes import FakeHubSpot, FakeSell, TickClock

from . import workers

LIST_ID = workers.LIST_ID

#: The killed holder's lease: long enough that waiting it out would show.
HOLDER_TTL_SECONDS = 120


@pytest.fixture
def holder(db_url: str) -> Iterator[tuple[Any, Any]]:
    """A sync in another process, stopped half-way through its import (it holds the lock)."""
    context = multiprocessing.get_context("spawn")
    events, resumed = context.Queue(), context.Event()
    process = context.Process(
        target=workers.paused_sync, args=(db_url, HOLDER_TTL_SECONDS, 150, events, resumed)
    )
    process.start()
    try:
        kind, _ = events.get(timeout=120)
        assert kind == "paused here"
        yield process, resumed
    finally:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=60)
        events.close()
        events.join_thread()


def kill_9(process: Any) -> None:
    """``kill -9``; then wait until the database saw its session go (PostgreSQL notices the
    closed connection within milliseconds; a file lock is gone with the process)."""
    os.kill(process.pid, signal.SIGKILL)
    process.join(timeout=30)
    time.sleep(0.1)


def engine_on(store: SqlStore) -> Engine:
    hubspot = FakeHubSpot()
    hubspot.make_list(LIST_ID)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID)
    return Engine(hubspot, FakeSell(), store, SystemClock(), config)


def test_after_kill_9_of_a_sync_the_next_run_starts_at_once_and_closes_the_killed_one(
    store: SqlStore, holder: tuple[Any, Any]
) -> None:
    process, _resumed = holder
    engine = engine_on(store)
    with pytest.raises(RunInProgress, match="released with its process"):
        engine.run(trigger="cli")  # a live holder blocks
    (killed,) = store.running_runs()
    expires_at = store.lock_expiry(SYNC_LOCK)
    assert store.lock_holder(SYNC_LOCK) is not None and expires_at is not None

    kill_9(process)
    started = time.monotonic()
    report = engine.run(trigger="cli")  # at once: no "already running", no wait for the TTL
    assert time.monotonic() - started < 10
    assert report.status == "ok", report.failure
    assert report.started_at < expires_at  # its lease had not expired: the process lock told

    runs = {r.id: r for r in store.recent_runs()}
    assert runs[killed.id].status == "interrupted" and runs[killed.id].error == ORPHANED
    assert runs[killed.id].finished_at == report.started_at
    assert runs[report.run_id].status == "ok"  # type: ignore[index]
    stats = store.run_stats()
    assert stats.by_status["running"] == 0 and stats.by_status["interrupted"] == 1
    assert store.lock_holder(SYNC_LOCK) is None  # released at the end of the run


def test_the_worker_start_closes_a_run_whose_process_vanished_but_never_a_live_one(
    store: SqlStore, holder: tuple[Any, Any]
) -> None:
    process, _resumed = holder
    engine = engine_on(store)
    assert engine.close_orphans() == []  # the holder lives: its run is no orphan
    (running,) = store.running_runs()
    kill_9(process)
    assert engine.close_orphans() == [running.id]
    assert store.running_runs() == [] and store.run_stats().by_status["running"] == 0
    assert store.lock_holder(SYNC_LOCK) is None  # the worker's start took it and gave it back


@pytest.mark.postgres
def test_a_holder_whose_database_session_ended_loses_its_lease_at_its_next_renewal(
    pg_url: str, pg_admin: sa.Engine
) -> None:
    """The server dropped the advisory lock with the session (a restart, a terminated
    backend): another run takes over at once, and the holder stops before writing again."""
    with open_store(pg_url) as store, open_store(pg_url, migrate=False) as other:
        lease = RunLease(store, SystemClock(), name=SYNC_LOCK, ttl_seconds=120)
        assert lease.acquire()
        with store.engine.connect() as connection:
            schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
        classid, objid = advisory_key(schema, SYNC_LOCK)  # this test's schema's lock only
        with pg_admin.connect() as connection:
            terminated = connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND classid = :c AND objid = :o AND objsubid = 2 AND granted"
                ),
                {"c": classid, "o": objid},
            ).all()
        assert len(terminated) == 1
        time.sleep(0.2)
        taker = RunLease(other, SystemClock(), name=SYNC_LOCK, ttl_seconds=120)
        assert taker.acquire() and taker.took_over == lease.owner
        with pytest.raises(LeaseLost):
            lease.renew()
        lease.release()
        assert other.lock_holder(SYNC_LOCK) == taker.owner  # the loser frees nothing
        taker.release()


def test_a_holder_without_the_process_lock_is_waited_for_until_its_lease_expires(
    store: SqlStore,
) -> None:
    """A row taken without the process lock (a holder where none could be had, or a version
    without it) proves nothing when the process lock is free: the refusal says when its lease
    expires, and the run takes it over then."""
    clock = TickClock()
    holder = store.start_run(trigger="schedule", at=clock.now())
    assert store.try_lock(SYNC_LOCK, owner="older version", at=clock.now(), ttl_seconds=120)
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list(LIST_ID)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID)
    engine = Engine(hubspot, FakeSell(clock=clock), store, clock, config)
    with pytest.raises(RunInProgress) as refused:
        engine.run(trigger="cli")
    expires = store.lock_expiry(SYNC_LOCK)
    assert expires is not None
    assert str(refused.value) == (
        f"a sync is already running (run #{holder}, started by the schedule at "
        f"{clock.now().strftime('%Y-%m-%d %H:%M:%S UTC')}); try again when it has finished. "
        f"If its holder is gone, the lock is taken over at "
        f"{expires.strftime('%Y-%m-%d %H:%M:%S UTC')}"
    )
    clock.tick(121)
    assert engine.run(trigger="cli").status == "ok"
    assert {r.id: r.status for r in store.recent_runs()}[holder] == "interrupted"

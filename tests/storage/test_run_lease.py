"""The run lease (sync/lease.py): runs never overlap, even across hosts, containers sharing a
host name, or a paused process; a run that loses its lease stops (SPEC §7). On SQLite and, with
``TEST_DATABASE_URL``, PostgreSQL; the cross-process tests use spawned processes.

The lease stands on a process lock (a file lock beside SQLite, an advisory lock on PostgreSQL):
a live holder, paused or not, keeps it. Where no process lock can be had, the lease's TTL alone
decides: the tests of that fallback block the SQLite lock file (:func:`no_process_lock`)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.settings import load_settings
from bot.wiring import SystemClock, engine_config
from storage import tables as t
from storage.db import open_store
from storage.repositories import SqlStore
from sync.domain import FeedMark
from sync.engine import SYNC_LOCK, Engine, EngineConfig
from sync.errors import ConfigError, LeaseLost, RunInProgress
from sync.lease import RunLease
from sync.ports import JoinPage
from sync.report import SyncReport
from tests.fakes import FakeHubSpot, FakeSell, TickClock

from . import workers
from .conftest import T0

LIST_ID = workers.LIST_ID


class FixedClock:
    def __init__(self, at: datetime = T0) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


class Monotonic:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def lock_row(store: SqlStore) -> tuple[str, datetime] | None:
    with store.engine.connect() as connection:
        row = connection.execute(
            sa.select(t.locks.c.owner, t.locks.c.expires_at).where(t.locks.c.name == SYNC_LOCK)
        ).first()
    return None if row is None else (row[0], row[1])


def no_process_lock(db_url: str) -> None:
    """Make the SQLite lock file impossible to open (a directory in its place), as on a host
    where no file lock can be had: the lease then falls back to its TTL alone."""
    path = db_url.removeprefix("sqlite:///")
    os.mkdir(f"{path}.{SYNC_LOCK}.lock")


@pytest.fixture
def fallback_url(sqlite_url: str) -> str:
    no_process_lock(sqlite_url)
    return sqlite_url


@pytest.fixture
def fallback_store(fallback_url: str) -> Iterator[SqlStore]:
    with open_store(fallback_url) as opened:
        yield opened


def wait_until(probe: Any, *, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --------------------------------------------------------------------------- configuration


def test_the_lease_ttl_comes_from_sync_lock_ttl_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(os.path.dirname(__file__))  # no .env here
    monkeypatch.delenv("SYNC_LOCK_TTL_SECONDS", raising=False)
    assert engine_config(load_settings()).lock_ttl_seconds == 120
    monkeypatch.setenv("SYNC_LOCK_TTL_SECONDS", "45")
    assert engine_config(load_settings()).lock_ttl_seconds == 45
    monkeypatch.setenv("SYNC_LOCK_TTL_SECONDS", "0")
    with pytest.raises(ConfigError, match="SYNC_LOCK_TTL_SECONDS"):
        load_settings()


# --------------------------------------------------------------------------- the store


def test_renew_lock_extends_only_the_holders_lock_and_never_takes_one(store: SqlStore) -> None:
    assert store.renew_lock("sync", owner="a", at=T0, ttl_seconds=60) is False  # never taken
    assert store.lock_holder("sync") is None
    assert store.try_lock("sync", owner="a", at=T0, ttl_seconds=60)
    assert store.renew_lock("sync", owner="a", at=T0 + timedelta(seconds=50), ttl_seconds=60)
    # renewed to T0 + 110 s: not expired at T0 + 100 s
    assert not store.try_lock("sync", owner="b", at=T0 + timedelta(seconds=100), ttl_seconds=60)
    assert store.renew_lock("sync", owner="b", at=T0 + timedelta(seconds=100), ttl_seconds=60) is (
        False
    )
    # expired but nobody took it: still the holder's, and renewable
    assert store.renew_lock("sync", owner="a", at=T0 + timedelta(seconds=200), ttl_seconds=60)
    assert store.try_lock("sync", owner="b", at=T0 + timedelta(seconds=260), ttl_seconds=60)
    assert store.renew_lock("sync", owner="a", at=T0 + timedelta(seconds=261), ttl_seconds=60) is (
        False
    )
    store.unlock("sync", owner="b")
    # gone, then taken again by someone else: still lost
    assert store.renew_lock("sync", owner="a", at=T0 + timedelta(seconds=262), ttl_seconds=60) is (
        False
    )
    assert store.lock_holder("sync") is None


# --------------------------------------------------------------------------- the lease


def test_every_run_lease_has_its_own_random_owner(store: SqlStore) -> None:
    clock = FixedClock()
    first = RunLease(store, clock, name="sync", ttl_seconds=60)
    second = RunLease(store, clock, name="sync", ttl_seconds=60)
    assert first.owner != second.owner
    for owner in (first.owner, second.owner):  # random: nothing of the host or the process
        assert uuid.UUID(hex=owner[:32]).version == 4
    assert first.acquire() is True
    assert second.acquire() is False  # same host, same process: still two owners
    assert store.lock_holder("sync") == first.owner
    first.release()


def test_a_live_holder_keeps_its_lease_after_its_ttl_and_frees_it_at_once_when_it_ends(
    store: SqlStore, db_url: str
) -> None:
    """A holder that stopped renewing but lives keeps its process lock: nobody takes over,
    however long; once it gives the lock back, the next run takes it at once."""
    ttl = 1
    holder = RunLease(store, SystemClock(), name="sync", ttl_seconds=ttl)
    assert holder.acquire()
    with open_store(db_url, migrate=False) as other_store:
        contender = RunLease(other_store, SystemClock(), name="sync", ttl_seconds=ttl)
        deadline = time.monotonic() + 2.5 * ttl  # its row expired long ago
        while time.monotonic() < deadline:
            assert contender.acquire() is False and contender.refused_by == "process"
            time.sleep(0.1)
        holder.release()
        assert contender.acquire() is True
        contender.release()


def test_without_a_process_lock_a_lease_kept_by_its_heartbeat_holds_and_one_that_stops_renewing_expires(
    fallback_store: SqlStore, fallback_url: str
) -> None:
    store, db_url = fallback_store, fallback_url
    ttl = 3
    with open_store(db_url, migrate=False) as other_store:
        holder = RunLease(store, SystemClock(), name="sync", ttl_seconds=ttl)
        contender = RunLease(other_store, SystemClock(), name="sync", ttl_seconds=ttl)
        assert holder.acquire()
        with holder:  # renews every ttl/3 s
            deadline = time.monotonic() + ttl + 0.5  # longer than one TTL
            while time.monotonic() < deadline:
                assert contender.acquire() is False
                time.sleep(0.1)
        stopped = time.monotonic()
        wait_until(contender.acquire)
        assert time.monotonic() - stopped >= ttl / 3  # held until it expired
        with pytest.raises(LeaseLost, match="lost the lock"):
            holder.renew()
        assert holder.lost and other_store.lock_holder("sync") == contender.owner


def test_the_heartbeat_notices_a_lost_lease_and_a_guarded_store_refuses_to_write(
    store: SqlStore,
) -> None:
    lease = RunLease(store, FixedClock(), name="sync", ttl_seconds=60, heartbeat_seconds=0.02)
    assert lease.acquire()
    guarded = lease.guard(store)
    guarded.set_mark("before", FeedMark(last_id="1"))
    with lease:
        store.unlock("sync", owner=lease.owner)  # released behind its back ...
        assert store.try_lock("sync", owner="another run", at=T0, ttl_seconds=60)  # ... retaken
        wait_until(lambda: lease.lost)
    with pytest.raises(LeaseLost, match="lost the lock"):
        guarded.set_mark("after", FeedMark(last_id="2"))
    assert store.get_mark("after") is None and store.get_mark("before") is not None
    lease.release()
    assert store.lock_holder("sync") == "another run"  # the loser frees nothing


def test_a_lease_not_confirmed_for_half_its_ttl_is_renewed_before_the_next_write(
    store: SqlStore,
) -> None:
    """What a process resumed after a pause does: its monotonic clock moved on while it was
    stopped, so it renews before writing, finds the lease taken, and writes nothing."""
    clock, monotonic = FixedClock(), Monotonic()
    lease = RunLease(store, clock, name="sync", ttl_seconds=60, monotonic=monotonic)
    assert lease.acquire()
    guarded = lease.guard(store)
    monotonic.t += 29  # fresh enough: no renewal, no database round trip needed
    guarded.set_mark("fresh", FeedMark(last_id="1"))
    # stopped for 90 s: the lease expired and another run took it
    monotonic.t += 90
    assert store.try_lock(
        "sync", owner="another run", at=T0 + timedelta(seconds=90), ttl_seconds=60
    )
    with pytest.raises(LeaseLost):
        guarded.set_mark("stale", FeedMark(last_id="2"))
    assert store.get_mark("stale") is None and store.get_mark("fresh") is not None
    lease.release()


# --------------------------------------------------------------------------- the engine


def engine_on(store: SqlStore, clock: TickClock, hubspot: FakeHubSpot, ttl: int) -> Engine:
    config = EngineConfig(
        default_threshold=50, default_list_id=LIST_ID, lock_ttl_seconds=ttl, bulk_limit=1000
    )
    return Engine(hubspot, FakeSell(clock=clock), store, clock, config)


def test_a_run_whose_lease_was_taken_over_stops_at_its_next_page_and_writes_nothing_more(
    store: SqlStore,
) -> None:
    ttl = 120
    clock = TickClock()
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list(LIST_ID)
    for i in range(250):  # three chunks of new members: 100, 100, 50
        hubspot.join(
            LIST_ID, hubspot.add_contact(email=f"m{i}@x.com", lastname=f"M{i}", hubspotscore=90)
        )
    engine = engine_on(store, clock, hubspot, ttl)
    sell: FakeSell = engine.sell  # type: ignore[assignment]
    real_create = sell.create_record

    def create_record(kind: Any, values: Any) -> Any:
        created = real_create(kind, values)
        if sell.calls["lead_create"] == 100:  # the first chunk's last creation (the creations
            # come at the run's end, chunk by chunk): the lease expires, another run takes it
            clock.tick(ttl + 1)
            assert store.try_lock(SYNC_LOCK, owner="another run", at=clock.now(), ttl_seconds=ttl)
        return created

    sell.create_record = create_record  # type: ignore[method-assign]
    report = engine.run(trigger="test")
    assert report.failure is not None and "lost the lock" in report.failure
    assert report.status == "failed"
    (run,) = store.recent_runs()
    assert run.status == "failed" and run.error is not None and "lost the lock" in run.error
    # the first chunk only: nothing of the second chunk or after, in Sell or in the store
    assert len(engine.sell.of_kind("lead")) == 100  # type: ignore[attr-defined]
    assert store.count_links()["active"] == 100
    assert len(store.known_members(LIST_ID)) == 100
    assert store.lock_holder(SYNC_LOCK) == "another run"  # the new holder keeps its lease


def test_a_stage_longer_than_the_ttl_keeps_its_lease_through_the_heartbeat(
    store: SqlStore, db_url: str
) -> None:
    ttl = 2
    started = threading.Event()

    class SlowHubSpot(FakeHubSpot):
        def list_join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
            started.set()
            time.sleep(ttl * 1.75)  # one stage, no page in between: only the heartbeat renews
            yield from super().list_join_pages(list_id, after)

    hubspot = SlowHubSpot()
    hubspot.make_list(LIST_ID)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID, lock_ttl_seconds=ttl)
    slow = Engine(hubspot, FakeSell(), store, SystemClock(), config)
    outcome: list[SyncReport] = []
    runner = threading.Thread(target=lambda: outcome.append(slow.run(trigger="slow")))
    runner.start()
    refused, ran = 0, []
    with open_store(db_url, migrate=False) as other_store:
        other_hubspot = FakeHubSpot()
        other_hubspot.make_list(LIST_ID)
        other = Engine(other_hubspot, FakeSell(), other_store, SystemClock(), config)
        assert started.wait(timeout=30)
        while runner.is_alive():
            try:
                ran.append(other.run(trigger="other"))
            except RunInProgress:
                refused += 1
            time.sleep(0.1)
    runner.join()
    (report,) = outcome
    assert report.status == "ok", report.failure
    assert report.finished_at is not None and refused >= 5
    assert all(r.started_at >= report.finished_at for r in ran)  # only once it had finished


# --------------------------------------------------------------------------- two processes


def _unused_pids(count: int) -> list[int]:
    """Pids no process of this machine has (as another PID namespace's pids look from here)."""
    found = []
    candidate = 4_000_000
    while len(found) < count:
        candidate -= 1
        try:
            os.kill(candidate, 0)
        except ProcessLookupError:
            found.append(candidate)
        except PermissionError:
            pass
    return found


def test_two_processes_on_one_host_with_unseen_pids_never_run_at_once(
    store: SqlStore, db_url: str
) -> None:
    """As two containers sharing a host name: each one's pid is invisible to the other, so an
    owner of host + pid would look like a dead process of this host. Only one sync runs."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    pids = _unused_pids(2)
    processes = [
        context.Process(target=workers.race_runs, args=(db_url, pid, barrier, results))
        for pid in pids
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=60)
        results.close()
        results.join_thread()
    assert [p.exitcode for p in processes] == [0, 0]
    statuses = sorted(status for _, status, _, _ in outcomes)
    assert statuses == ["ok", "refused"], outcomes
    assert len(store.recent_runs()) == 1
    assert store.lock_holder(SYNC_LOCK) is None  # released by the run that ran


@pytest.fixture
def paused_worker(db_url: str) -> Iterator[tuple[Any, Any, Any]]:
    yield from _paused_worker(db_url)


@pytest.fixture
def paused_fallback_worker(fallback_url: str) -> Iterator[tuple[Any, Any, Any]]:
    yield from _paused_worker(fallback_url)


def _paused_worker(db_url: str) -> Iterator[tuple[Any, Any, Any]]:
    context = multiprocessing.get_context("spawn")
    events, resumed = context.Queue(), context.Event()
    process = context.Process(target=workers.paused_sync, args=(db_url, 3, 150, events, resumed))
    process.start()
    try:
        yield process, events, resumed
    finally:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGCONT)
            resumed.set()
        process.join(timeout=60)
        events.close()
        events.join_thread()


def test_a_paused_holder_keeps_the_lock_past_its_expiry_and_the_refusal_names_it(
    store: SqlStore, paused_worker: tuple[Any, Any, Any]
) -> None:
    """A paused process is alive: its process lock holds however long it is stopped (no
    takeover, no overlap), and every refused run says which run holds it and since when."""
    process, events, resumed = paused_worker
    kind, _creates = events.get(timeout=120)
    assert kind == "paused here"
    os.kill(process.pid, signal.SIGSTOP)
    held = lock_row(store)
    assert held is not None
    (holder,) = store.running_runs()
    hubspot = FakeHubSpot()
    hubspot.make_list(LIST_ID)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID, lock_ttl_seconds=2)
    engine = Engine(hubspot, FakeSell(), store, SystemClock(), config)
    deadline = datetime.now(UTC) + timedelta(seconds=1.5)
    while datetime.now(UTC) < max(deadline, held[1] + timedelta(seconds=1)):
        with pytest.raises(RunInProgress) as refused:
            engine.run(trigger="contender")
        time.sleep(0.1)
    message = str(refused.value)
    assert f"run #{holder.id}, started by paused at " in message
    assert holder.started_at.strftime("%Y-%m-%d %H:%M:%S UTC") in message
    assert "released with its process" in message
    os.kill(process.pid, signal.SIGCONT)
    resumed.set()
    done, status, failure, _ = events.get(timeout=120)
    assert (done, status, failure) == ("done", "ok", None)
    assert engine.run(trigger="after").status == "ok"
    assert [r.status for r in store.recent_runs()] == ["ok", "ok"]


def test_without_a_process_lock_a_paused_holder_is_taken_over_only_after_expiry_and_stops_when_resumed(
    fallback_store: SqlStore, paused_fallback_worker: tuple[Any, Any, Any]
) -> None:
    store = fallback_store
    process, events, resumed = paused_fallback_worker
    kind, creates_before_pause = events.get(timeout=120)
    assert kind == "paused here" and creates_before_pause == 100
    os.kill(process.pid, signal.SIGSTOP)
    held = lock_row(store)
    assert held is not None
    worker_owner, expires_at = held
    counts_at_pause = (store.count_links(), len(store.known_members(LIST_ID)))

    hubspot = FakeHubSpot()
    hubspot.make_list(LIST_ID)  # an empty list: this run writes nothing that is counted here
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID, lock_ttl_seconds=2)
    engine = Engine(hubspot, FakeSell(), store, SystemClock(), config)
    seen: dict[str, Any] = {}

    def while_holding(stage: str, report: SyncReport) -> None:
        if seen:
            return
        seen["holder"] = store.lock_holder(SYNC_LOCK)
        os.kill(process.pid, signal.SIGCONT)  # the old holder wakes up behind our back
        resumed.set()  # (a multiprocessing Event waits for its sleepers: they must run)
        seen["worker"] = events.get(timeout=120)
        seen["counts"] = (store.count_links(), len(store.known_members(LIST_ID)))

    refused_at: list[datetime] = []
    deadline = time.monotonic() + 60
    while True:
        attempt = datetime.now(UTC)
        try:
            report = engine.run(trigger="takeover", progress=while_holding)
            break
        except RunInProgress:
            refused_at.append(attempt)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert refused_at and refused_at[0] < expires_at  # refused at once: the holder may be alive
    assert report.started_at >= expires_at  # taken over only once the lease had expired
    assert report.status == "ok", report.failure
    assert seen["holder"] not in (None, worker_owner)

    done, status, failure, creates_after = seen["worker"]
    assert (done, status) == ("done", "failed")
    assert failure is not None and "lost the lock" in failure
    assert creates_after == creates_before_pause  # not one Sell write after it woke up
    assert seen["counts"] == counts_at_pause  # nor a link or a member in the store
    runs = {r.trigger: r for r in store.recent_runs()}
    assert runs["paused"].status == "failed" and "lost the lock" in (runs["paused"].error or "")
    assert runs["takeover"].status == "ok"

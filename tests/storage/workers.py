"""Run in child processes (spawned) by the cross-process tests: each opens its own engine."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from storage.db import make_engine, open_store, upgrade
from sync.ports import JoinPage


def contend(
    url: str, owner: str, names: list[str], at: datetime, barrier: Any, results: Any
) -> None:
    """For each lock name: wait for every contender, then try to take it; report the outcome."""
    with open_store(url, migrate=False) as store:
        store.get_mark("warm-up")  # connect before the first race
        for name in names:
            barrier.wait(timeout=60)
            results.put((name, owner, store.try_lock(name, owner=owner, at=at, ttl_seconds=60)))


def migrate(url: str, barrier: Any) -> None:
    """Wait for every migrator, then upgrade to head."""
    engine = make_engine(url)
    try:
        with engine.connect():
            pass  # connected before the race
        barrier.wait(timeout=60)
        upgrade(engine)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- the run lease

LIST_ID = "7"


class _PidNamespace:
    """``os`` as seen from a container: the same module, but ``getpid`` reads ``pid``."""

    def __init__(self, pid: int) -> None:
        self._pid = pid

    def getpid(self) -> int:
        return self._pid

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


def race_runs(url: str, fake_pid: int, barrier: Any, results: Any) -> None:
    """Start a sync together with another process. This process's pid reads ``fake_pid``, one
    the other process cannot see (as in two containers that share a host name): whatever an
    owner made of host and pid would say, only one of the two syncs may run."""
    import sync.engine as engine_module
    from bot.wiring import SystemClock
    from sync.engine import Engine, EngineConfig
    from sync.errors import RunInProgress
    from tests.fakes import FakeHubSpot, FakeSell

    engine_module.os = _PidNamespace(fake_pid)  # type: ignore[attr-defined]
    spans: list[tuple[float, float]] = []

    class SlowHubSpot(FakeHubSpot):
        def list_join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
            start = time.time()
            time.sleep(1.5)  # long enough for the other process to try meanwhile
            yield from super().list_join_pages(list_id, after)
            spans.append((start, time.time()))

    hubspot = SlowHubSpot()
    hubspot.make_list(LIST_ID)
    hubspot.join(LIST_ID, hubspot.add_contact(email=f"r{fake_pid}@example.com", lastname="R"))
    config = EngineConfig(default_threshold=0, default_list_id=LIST_ID)
    with open_store(url, migrate=False) as store:
        store.get_mark("warm-up")  # connect before the race
        engine = Engine(hubspot, FakeSell(), store, SystemClock(), config)
        barrier.wait(timeout=60)
        try:
            report = engine.run(trigger=f"race-{fake_pid}")
        except RunInProgress:
            results.put((fake_pid, "refused", None, None))
            return
    results.put((fake_pid, report.status, report.failure, spans[0] if spans else None))


def paused_sync(url: str, ttl: int, members: int, events: Any, resumed: Any) -> None:
    """A sync importing ``members`` new list members. Once the first chunk of them is created
    and stored (the run's creations come at its end, chunk by chunk, and the page boundary after
    the first renewed the lease) it reports ("paused here", its Sell creates so far) and waits
    for ``resumed``: the parent stops this process there (SIGSTOP), takes the lease over once it
    expired, and resumes it. At the end it reports ("done", status, failure, its Sell creates)."""
    from bot.wiring import SystemClock
    from sync.engine import Engine, EngineConfig
    from sync.report import SyncReport
    from tests.fakes import FakeHubSpot, FakeSell

    hubspot = FakeHubSpot()
    hubspot.make_list(LIST_ID)
    for i in range(members):
        cid = hubspot.add_contact(email=f"p{i}@example.com", lastname=f"P{i}", hubspotscore=90)
        hubspot.join(LIST_ID, cid)
    sell = FakeSell()
    paused = False

    def pause_after_the_first_chunk(stage: str, report: SyncReport) -> None:
        nonlocal paused
        if stage == "bulk" and not paused:  # the first chunk is written; the lease renewed
            paused = True
            events.put(("paused here", sell.calls["lead_create"]))
            assert resumed.wait(timeout=120)

    config = EngineConfig(
        default_threshold=50,
        default_list_id=LIST_ID,
        lock_ttl_seconds=ttl,
        # No heartbeat here: a process stopped in the middle of a renewal's transaction would
        # hold the row (PostgreSQL) or the database (SQLite) and block the takeover under test.
        lock_heartbeat_seconds=3600,
        bulk_limit=10 * members,  # an import this size is no mistake here: no hold
    )
    with open_store(url, migrate=False) as store:
        report = Engine(hubspot, sell, store, SystemClock(), config).run(
            trigger="paused", progress=pause_after_the_first_chunk
        )
    events.put(("done", report.status, report.failure, sell.calls["lead_create"]))


def connect(url: str, barrier: Any, results: Any) -> None:
    """Open a first connection to ``url`` at the same moment as the others; report the error."""
    engine = make_engine(url)
    try:
        barrier.wait(timeout=60)
        with engine.connect():
            pass
        results.put("")
    except Exception as exc:  # reported to the test
        results.put(repr(exc))
    finally:
        engine.dispose()

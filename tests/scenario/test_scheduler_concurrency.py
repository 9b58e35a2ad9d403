"""Two schedulers (as two processes would: each with its own store on one database) firing the
sync job every 50 ms never run two syncs at once: the engine's database lock decides, and the
loser skips quietly. On PostgreSQL with ``TEST_DATABASE_URL``; on SQLite always."""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.pool import NullPool

from bot.scheduler import SYNC_JOB, build_scheduler
from bot.settings import AppSettings
from bot.wiring import SystemClock
from storage.db import normalize_url, open_store
from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.ports import JoinPage
from sync.service import SyncService
from tests.conftest import LIST_ID
from tests.fakes import FakeHubSpot, FakeSell
from tests.scenario.test_scheduler import RecordingNotifier
from tests.storage.conftest import PG_ENV, pg_url_in_schema

SKIP_PG = f"{PG_ENV} is not set: the two-scheduler test on PostgreSQL is skipped (SQLite ran)"


class Probe:
    """Counts syncs in progress at once, across both schedulers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.runs = 0


class SlowHubSpot(FakeHubSpot):
    """Reading the list takes 100 ms, so overlapping runs would be caught in the act."""

    probe: Probe

    def list_join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
        with self.probe.lock:
            self.probe.active += 1
            self.probe.runs += 1
            self.probe.max_active = max(self.probe.max_active, self.probe.active)
        try:
            time.sleep(0.1)
            yield from super().list_join_pages(list_id, after)
        finally:
            with self.probe.lock:
                self.probe.active -= 1


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(SKIP_PG)
    admin = sa.create_engine(normalize_url(base), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    schema = f"sellsync_sched_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield pg_url_in_schema(base, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_two_schedulers_on_one_database_never_run_two_syncs_at_once(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sellsync.scheduler")
    probe = Probe()
    hubspot = SlowHubSpot()
    hubspot.probe = probe
    hubspot.make_list(LIST_ID)
    for i in range(5):
        hubspot.join(
            LIST_ID,
            hubspot.add_contact(email=f"c{i}@example.com", lastname=f"C{i}", hubspotscore=90),
        )
    sell = FakeSell()
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID)
    stores: list[SqlStore] = [open_store(db_url), open_store(db_url, migrate=False)]
    schedulers = []
    try:
        for store in stores:
            service = SyncService(Engine(hubspot, sell, store, SystemClock(), config))
            scheduler = build_scheduler(AppSettings(_env_file=None), service, RecordingNotifier())  # type: ignore[call-arg]
            scheduler.start()
            scheduler.reschedule_job(SYNC_JOB, trigger=IntervalTrigger(seconds=0.05))
            schedulers.append(scheduler)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            skipped = sum("another sync is running" in r.getMessage() for r in caplog.records)
            if len(stores[0].recent_runs(50)) >= 6 and skipped >= 2:
                break
            time.sleep(0.02)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    try:
        runs = sorted(stores[0].recent_runs(500), key=lambda r: r.started_at)
        skipped = sum("another sync is running" in r.getMessage() for r in caplog.records)
        assert len(runs) >= 6 and skipped >= 2, (len(runs), skipped)
        assert probe.max_active == 1
        assert all(r.status == "ok" and r.finished_at is not None for r in runs)
        for earlier, later in itertools.pairwise(runs):
            assert earlier.finished_at is not None and earlier.finished_at <= later.started_at
        assert len(hubspot.contacts) == 5 and len(sell.of_kind("lead")) == 5  # nothing duplicated
    finally:
        for store in stores:
            store.close()

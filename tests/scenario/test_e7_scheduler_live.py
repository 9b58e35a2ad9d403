"""The scheduler's job of changes in seconds (bot/live.py): it ticks every second in the process
that runs the scheduler, one at a time, applies a stored webhook event within seconds, and a tick
that fails costs one tick, never the scheduler."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from bot.live import LIVE_JOB, TICK_SECONDS, apply_changes
from bot.scheduler import build_scheduler
from bot.settings import AppSettings
from bot.wiring import SystemClock
from storage.db import open_store
from sync.engine import Engine, EngineConfig
from sync.event_payload import parse_events
from sync.service import SyncService
from tests.conftest import LIST_ID
from tests.fakes import FakeHubSpot, FakeSell
from tests.scenario.test_scheduler import RecordingNotifier


def settings(**values: object) -> AppSettings:
    return AppSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_e7_the_live_job_ticks_every_second_one_at_a_time(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    try:
        service = SyncService(
            Engine(FakeHubSpot(), FakeSell(), store, SystemClock(), EngineConfig())
        )
        scheduler = build_scheduler(settings(), service, RecordingNotifier())
        job = scheduler.get_job(LIVE_JOB)
        assert job is not None and job.func is apply_changes
        assert job.trigger.interval.total_seconds() == TICK_SECONDS == 1.0
        assert job.max_instances == 1 and job.coalesce is True
    finally:
        store.close()


def test_e5_a_stored_event_is_applied_within_seconds_by_the_running_scheduler(
    tmp_path: Path,
) -> None:
    clock = SystemClock()
    hubspot = FakeHubSpot()
    hubspot.make_list(LIST_ID)
    sell = FakeSell()
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID, poll_seconds=0)
    service = SyncService(Engine(hubspot, sell, store, clock, config))
    try:
        cid = hubspot.add_contact(hubspotscore=80, email="fast@x.com", lastname="Fast")
        hubspot.join(LIST_ID, cid)
        assert service.engine.run(trigger="test").failure is None  # linked
        (lead,) = sell.of_kind("lead")
        hubspot.set(cid, phone="555-0199")
        event = {
            "eventId": 1,
            "subscriptionType": "contact.propertyChange",
            "objectId": int(cid),
            "occurredAt": int(time.time() * 1000),
            "propertyName": "phone",
            "propertyValue": "555-0199",
        }
        store.store_batch(parse_events([event]))
        scheduler = build_scheduler(settings(sync_poll_seconds=0), service, RecordingNotifier())
        stored_at = time.monotonic()
        scheduler.start()
        try:
            while sell.value("lead", lead.id, "phone") != "555-0199":
                assert time.monotonic() - stored_at < 10, "not applied within 10 s"
                time.sleep(0.05)
        finally:
            scheduler.shutdown(wait=True)
        assert time.monotonic() - stored_at < 5
        assert store.depth() == 0
    finally:
        store.close()


class Broken:
    def tick(self) -> object:
        raise ConnectionError("database went away")


def test_e7_a_failing_tick_is_logged_by_kind_and_the_job_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="sellsync.live")
    apply_changes(Broken())  # type: ignore[arg-type]
    (record,) = caplog.records
    assert "ConnectionError" in record.getMessage()
    assert "database went away" not in record.getMessage()  # no raw error text in the log

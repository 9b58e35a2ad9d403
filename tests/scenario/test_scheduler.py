"""The schedules: triggers checked with ``get_next_fire_time``, job functions called directly with
the service's (injected) clock; alerts once per failure streak, kept in the store."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.blocks.common import Message
from bot.blocks.home import home_view
from bot.blocks.status import status_message
from bot.live import LIVE_JOB
from bot.migration_job import MIGRATION_JOB
from bot.scheduler import (
    EXPIRE_JOB,
    HEARTBEAT_JOB,
    SUMMARY_JOB,
    SYNC_JOB,
    SlackNotifier,
    add_jobs,
    build_scheduler,
    post_summary,
    run_scheduled_sync,
    summary_trigger,
    sync_trigger,
)
from bot.settings import AppSettings
from sync.errors import AuthError, ConfigError, RateLimited, ServiceUnavailable
from sync.ports import SchedulerBeat
from sync.service import SyncService
from tests.conftest import LIST_ID, World, make_world

BERLIN = ZoneInfo("Europe/Berlin")


class RecordingNotifier:
    def __init__(self) -> None:
        self.posted: list[Message] = []
        self.updated: list[tuple[str, str, Message]] = []
        self.fail = False

    def post(self, message: Message) -> None:
        if self.fail:
            raise ConnectionError("slack is down")
        self.posted.append(message)

    def update(self, channel: str, ts: str, message: Message) -> None:
        self.updated.append((channel, ts, message))

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.posted]


def settings(**values: object) -> AppSettings:
    return AppSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


# --------------------------------------------------------------------------- triggers


def test_the_sync_job_fires_every_sync_interval_minutes() -> None:
    before = datetime(2026, 3, 2, 9, 0, 7, tzinfo=UTC)
    with freeze_time(before):  # APScheduler starts the interval from its own reading of now
        trigger = sync_trigger(settings(sync_interval_minutes=15))
    first = trigger.get_next_fire_time(None, before)
    assert first == before + timedelta(minutes=15)
    assert trigger.get_next_fire_time(first, first) == first + timedelta(minutes=15)
    later = first + timedelta(hours=5, minutes=1)  # after a pause: the next slot on the grid
    assert trigger.get_next_fire_time(None, later) == first + timedelta(hours=5, minutes=15)


def test_the_scheduler_has_fixed_job_ids_one_instance_coalesced(
    world: World, notifier: RecordingNotifier
) -> None:
    scheduler = build_scheduler(settings(summary_tz="Europe/Berlin"), world.service, notifier)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {SYNC_JOB, SUMMARY_JOB, EXPIRE_JOB, HEARTBEAT_JOB, LIVE_JOB, MIGRATION_JOB}
    for job in jobs.values():
        assert job.coalesce is True and job.max_instances == 1
    assert str(scheduler.timezone) == "Europe/Berlin"
    scheduler.start(paused=True)
    try:
        add_jobs(scheduler, settings(), world.service, notifier)  # again: replaced, not copied
        assert sorted(job.id for job in scheduler.get_jobs()) == sorted(jobs)
    finally:
        scheduler.shutdown(wait=True)


def test_the_summary_fires_at_nine_on_weekdays_in_its_time_zone_and_never_on_saturday() -> None:
    trigger = summary_trigger(settings(summary_cron="0 9 * * mon-fri", summary_tz="Europe/Berlin"))
    friday_evening = datetime(2026, 11, 6, 18, 0, tzinfo=BERLIN)
    next_fire = trigger.get_next_fire_time(None, friday_evening)
    assert next_fire == datetime(2026, 11, 9, 9, 0, tzinfo=BERLIN)  # Monday, not Saturday
    saturday = datetime(2026, 11, 7, 0, 0, tzinfo=BERLIN)
    assert trigger.get_next_fire_time(None, saturday).weekday() == 0
    fires, at = [], datetime(2026, 10, 19, 0, 0, tzinfo=BERLIN)
    for _ in range(15):
        at = trigger.get_next_fire_time(None, at + timedelta(seconds=1))
        fires.append(at)
    assert all(f.weekday() < 5 and (f.hour, f.minute) == (9, 0) for f in fires)
    assert fires[0].astimezone(UTC).hour == 7  # CEST before the clocks change …
    assert fires[-1].astimezone(UTC).hour == 8  # … and CET after


def test_bad_schedule_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="SUMMARY_CRON"):
        summary_trigger(settings(summary_cron="every morning"))
    with pytest.raises(ConfigError, match="SUMMARY_TZ"):
        summary_trigger(settings(summary_tz="Mars/Olympus"))


# --------------------------------------------------------------------------- the sync job


def break_hubspot(world: World) -> None:
    world.hubspot.lists.pop(LIST_ID)  # every run now fails: the synced list is gone


def fix_hubspot(world: World) -> None:
    world.hubspot.make_list(LIST_ID)


def test_a_scheduled_sync_runs_as_the_schedule(world: World, notifier: RecordingNotifier) -> None:
    world.member(score=80, email="s@example.com", lastname="S")
    report = run_scheduled_sync(world.service, notifier)
    assert report is not None and report.status == "ok"
    run = world.store.recent_runs(1)[0]
    assert run.trigger == "schedule" and run.counts.get("created_in_sell") == 1
    assert notifier.posted == []


def test_a_failure_streak_alerts_once_and_recovery_is_announced_once(
    world: World, notifier: RecordingNotifier
) -> None:
    break_hubspot(world)
    for _ in range(4):  # an hour of failing runs
        world.clock.tick(15 * 60)
        report = run_scheduled_sync(world.service, notifier)
        assert report is not None and report.status == "failed"
    assert len(notifier.posted) == 1 and "A scheduled sync failed" in notifier.texts[0]
    assert "no synced list" in notifier.texts[0] and "list 7 not found" not in notifier.texts[0]
    fix_hubspot(world)
    world.clock.tick(15 * 60)
    run_scheduled_sync(world.service, notifier)
    run_scheduled_sync(world.service, notifier)
    assert notifier.texts[1:] == ["Syncing recovered"]
    break_hubspot(world)  # a new streak: a new alert
    run_scheduled_sync(world.service, notifier)
    assert len(notifier.posted) == 3


def test_the_failure_streak_survives_a_restart(world: World, notifier: RecordingNotifier) -> None:
    break_hubspot(world)
    run_scheduled_sync(world.service, notifier)
    restarted = SyncService(world.engine)  # a new process: only the store remembers
    run_scheduled_sync(restarted, RecordingNotifier())
    assert world.store.alerted_failure_since() is not None
    assert len(notifier.posted) == 1


def test_an_alert_that_could_not_be_posted_is_tried_again(
    world: World, notifier: RecordingNotifier
) -> None:
    break_hubspot(world)
    notifier.fail = True
    run_scheduled_sync(world.service, notifier)
    notifier.fail = False
    run_scheduled_sync(world.service, notifier)
    run_scheduled_sync(world.service, notifier)
    assert len(notifier.posted) == 1


def test_a_scheduled_sync_skips_quietly_while_another_runs(
    world: World, notifier: RecordingNotifier
) -> None:
    assert world.store.try_lock("sync", owner="manual:x", at=world.clock.now(), ttl_seconds=600)
    assert run_scheduled_sync(world.service, notifier) is None
    assert notifier.posted == [] and world.store.recent_runs(1) == []
    assert world.store.alerted_failure_since() is None


#: What a database error carries: SQL with a contact's data in it.
LEAKY_SQL = (
    "INSERT INTO links (email, name, phone) VALUES ('jane.doe@example.com', 'Jane Doe', "
    "'+1 555 0100')"
)
RECORD_DATA = ("jane.doe@example.com", "Jane Doe", "555 0100", "INSERT", "IntegrityError")


def alert_text(notifier: RecordingNotifier) -> str:
    (message,) = notifier.posted
    return str(message.to_dict())


def test_a_crash_outside_the_engine_alerts_with_its_kind_and_not_its_text(
    world: World, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(**kwargs: object) -> object:
        raise OperationalError(LEAKY_SQL, {}, Exception("database is locked"))

    monkeypatch.setattr(world.service, "run", crash)
    assert run_scheduled_sync(world.service, notifier) is None
    text = alert_text(notifier)
    assert "database failed" in text and "sellsync status" in text and "worker's log" in text
    for leaked in (*RECORD_DATA, "database is locked", "OperationalError"):
        assert leaked not in text, leaked


def test_a_database_error_in_the_middle_of_a_run_alerts_without_record_data(
    world: World, notifier: RecordingNotifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.member(score=80, email="jane.doe@example.com", lastname="Doe")

    def broken(*args: object, **kwargs: object) -> object:
        raise IntegrityError(LEAKY_SQL, {}, Exception("duplicate key"))

    monkeypatch.setattr(world.store, "save_links", broken)
    assert run_scheduled_sync(world.service, notifier) is None
    text = alert_text(notifier)
    assert "database failed" in text
    for leaked in RECORD_DATA:
        assert leaked not in text, leaked
    # the operator still finds the error itself with the run (``sellsync status``)
    (run,) = world.store.recent_runs(1)
    assert run.status == "failed" and run.error and "IntegrityError" in run.error


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (AuthError("HubSpot", "token for jane.doe@example.com revoked", 401), "HubSpot refused"),
        (AuthError("Sell", "invalid token jane.doe@example.com", 401), "Sell refused"),
        (ServiceUnavailable("HubSpot", "502 from jane.doe@example.com", 502), "could not be"),
        (RateLimited("HubSpot", 10.0, "jane.doe@example.com"), "rate limit"),
        (ConfigError("SELL_ACCESS_TOKEN", "jane.doe@example.com"), "setting"),
    ],
    ids=["hubspot-auth", "sell-auth", "unreachable", "rate-limit", "config"],
)
def test_a_failed_run_alert_names_the_kind_of_failure(
    world: World,
    notifier: RecordingNotifier,
    monkeypatch: pytest.MonkeyPatch,
    error: Exception,
    words: str,
) -> None:
    def fail(list_id: str) -> object:
        raise error

    monkeypatch.setattr(world.hubspot, "get_list", fail)
    report = run_scheduled_sync(world.service, notifier)
    assert report is not None and report.status == "failed"
    text = alert_text(notifier)
    assert words in text and "jane.doe@example.com" not in text


# --------------------------------------------------------------------------- the summary job


def test_the_summary_covers_everything_since_the_last_one_and_advances_its_cursor(
    world: World, notifier: RecordingNotifier
) -> None:
    world.member(score=80, email="a@example.com", lastname="A")
    world.member(score=10, email="low@example.com", lastname="Low")
    world.sync()
    assert post_summary(world.service, notifier) is True
    fields = [f["text"] for f in notifier.posted[0].to_dict()["blocks"][0]["fields"]]
    assert "*Created in Sell*\n1" in fields
    watermark = world.store.summary_watermark()
    assert watermark == world.clock.now() + timedelta(microseconds=1)
    # a second scheduler firing at the same time posts nothing
    assert post_summary(world.service, notifier) is False
    world.clock.tick(24 * 3600)
    assert post_summary(world.service, notifier) is True
    assert notifier.texts[1] == "sellsync summary: nothing changed"


def test_a_summary_is_not_posted_while_another_scheduler_holds_its_lock(
    world: World, notifier: RecordingNotifier
) -> None:
    assert world.store.try_lock("summary", owner="other", at=world.clock.now(), ttl_seconds=600)
    assert post_summary(world.service, notifier) is False
    assert notifier.posted == []


def test_the_summary_job_on_schedule_posts_on_weekdays_only(
    tmp_path: Path, notifier: RecordingNotifier
) -> None:
    """Drive the summary job by its trigger through two weeks: ten summaries, none on a weekend."""
    world = make_world(tmp_path)
    try:
        trigger = summary_trigger(settings(summary_tz="Europe/Berlin"))
        at = datetime(2026, 11, 1, 0, 0, tzinfo=BERLIN)  # a Sunday
        posted_on = []
        while True:
            at = trigger.get_next_fire_time(None, at + timedelta(seconds=1))
            if at >= datetime(2026, 11, 15, tzinfo=BERLIN):
                break
            world.clock.t = at.astimezone(UTC)
            if post_summary(world.service, notifier):
                posted_on.append(at.strftime("%a"))
        assert posted_on == ["Mon", "Tue", "Wed", "Thu", "Fri"] * 2
    finally:
        world.store.close()


# --------------------------------------------------------------------------- schedule state


def wait_for_heartbeat(world: World) -> None:
    deadline = time.monotonic() + 10
    while world.store.latest_heartbeat() is None:
        assert time.monotonic() < deadline, "the scheduler recorded no heartbeat"
        time.sleep(0.02)


def test_a_running_scheduler_records_its_next_runs_and_marks_itself_stopped(
    world: World, notifier: RecordingNotifier
) -> None:
    scheduler = build_scheduler(settings(summary_tz="Europe/Berlin"), world.service, notifier)
    scheduler.start()
    try:
        wait_for_heartbeat(world)
        status = world.service.status()
        next_sync = scheduler.get_job(SYNC_JOB).next_run_time
        next_summary = scheduler.get_job(SUMMARY_JOB).next_run_time
    finally:
        scheduler.shutdown(wait=True)
    assert status.schedule.state == "running"
    assert status.next_run == next_sync and status.schedule.next_summary == next_summary
    assert status.to_dict()["next_run"] == next_sync.astimezone(UTC).isoformat()
    stopped = world.service.status()
    assert stopped.schedule.state == "stopped" and stopped.next_run is None
    assert (
        "the scheduler stopped" in status_message(stopped).blocks[0].to_dict()["fields"][1]["text"]
    )


def test_a_silent_scheduler_is_called_stale_and_gives_no_next_run(world: World) -> None:
    now = world.clock.now()
    beat = SchedulerBeat("host:1:abc", now, now, next_sync_at=now + timedelta(minutes=15))
    world.store.record_heartbeat(beat)
    assert world.service.status().next_run == now + timedelta(minutes=15)
    world.clock.tick(6 * 60)
    status = world.service.status()
    assert status.schedule.state == "stale" and status.next_run is None
    text = status_message(status).blocks[0].to_dict()["fields"][1]["text"]
    assert "last seen" in text and "sellsync worker" in text
    home = home_view(
        status, [], world.service.conflicts(), viewer="U1", viewer_is_manager=False
    ).to_dict()
    assert "sellsync worker" in json.dumps(home)  # App Home says the same


def test_without_a_scheduler_no_next_run_is_made_up(
    world: World, notifier: RecordingNotifier
) -> None:
    run_scheduled_sync(world.service, notifier)  # a worker ran once, long gone
    status = world.service.status()
    assert status.schedule.state == "never" and status.next_run is None
    text = status_message(status).blocks[0].to_dict()["fields"][1]["text"]
    assert "no scheduler has run yet" in text


# --------------------------------------------------------------------------- operators' logs


class _FakeSlack(http.server.BaseHTTPRequestHandler):
    """chat.postMessage answers as Slack does for a channel the bot cannot post to."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        _FakeSlack.calls.append(self.path)
        body = json.dumps({"ok": False, "error": "not_in_channel"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def unreachable_slack() -> Iterator[WebClient]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeSlack)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield WebClient(token="xoxb-test-0000", base_url=f"http://127.0.0.1:{server.server_port}/")
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_summary_channel_is_a_warning_naming_the_variable(
    world: World, unreachable_slack: WebClient, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = SlackNotifier(unreachable_slack, "C0SUMMARY")
    world.member(score=80, email="s@example.com", lastname="S")
    world.sync()
    with caplog.at_level(logging.INFO):
        assert post_summary(world.service, notifier) is False
        break_hubspot(world)
        run_scheduled_sync(world.service, notifier)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    unreachable = [w for w in warnings if "SLACK_SUMMARY_CHANNEL C0SUMMARY is unreachable" in w]
    assert len(unreachable) == 2 and "not_in_channel" in unreachable[0]
    assert not [r for r in caplog.records if r.exc_info], "no traceback for a setup problem"
    assert world.store.summary_watermark() is None  # the next summary covers it all
    assert world.store.alerted_failure_since() is None  # the alert is tried again next time


def test_each_scheduled_run_logs_one_info_line_with_its_counts(
    world: World, notifier: RecordingNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    world.member(score=80, email="s@example.com", lastname="S")
    with caplog.at_level(logging.INFO):
        report = run_scheduled_sync(world.service, notifier)
    assert report is not None
    lines = [r.getMessage() for r in caplog.records if r.name == "sellsync.runs"]
    assert lines == [lines[0]] and lines[0].startswith(f"sync run #{report.run_id} (schedule) ok")
    assert "created_in_sell=1" in lines[0]

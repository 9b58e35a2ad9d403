"""The schedules: triggers checked with ``get_next_fire_time``, job functions called directly with
the service's (injected) clock; alerts once per failure streak, kept in the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.blocks.common import Message
from bot.scheduler import (
    ALERT_CURSOR,
    EXPIRE_JOB,
    SUMMARY_CURSOR,
    SUMMARY_JOB,
    SYNC_JOB,
    add_jobs,
    build_scheduler,
    post_summary,
    run_scheduled_sync,
    summary_trigger,
    sync_trigger,
)
from bot.settings import AppSettings
from sync.errors import AuthError, ConfigError, RateLimited, ServiceUnavailable
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
    before = datetime.now(UTC)
    trigger = sync_trigger(settings(sync_interval_minutes=15))
    first = trigger.get_next_fire_time(None, before)
    assert first is not None
    assert timedelta(minutes=15) <= first - before < timedelta(minutes=15, seconds=5)
    assert trigger.get_next_fire_time(first, first) == first + timedelta(minutes=15)
    later = first + timedelta(hours=5, minutes=1)  # after a pause: the next slot on the grid
    assert trigger.get_next_fire_time(None, later) == first + timedelta(hours=5, minutes=15)


def test_the_scheduler_has_fixed_job_ids_one_instance_coalesced(
    world: World, notifier: RecordingNotifier
) -> None:
    scheduler = build_scheduler(settings(summary_tz="Europe/Berlin"), world.service, notifier)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {SYNC_JOB, SUMMARY_JOB, EXPIRE_JOB}
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
    cursor = world.store.get_cursor(ALERT_CURSOR)
    assert cursor is not None and cursor.last_id == "failing"
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
    assert world.store.get_cursor(ALERT_CURSOR) is None


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
    cursor = world.store.get_cursor(SUMMARY_CURSOR)
    assert cursor is not None and cursor.updated_at == world.clock.now() + timedelta(microseconds=1)
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

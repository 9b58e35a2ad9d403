"""The schedules of SPEC §3 on APScheduler 3.x: a sync every ``SYNC_INTERVAL_MINUTES``, the
summary on ``SUMMARY_CRON`` in ``SUMMARY_TZ``, an hourly sweep of expired change requests, and
changes in seconds between syncs (``bot/live.py``: stored webhook events applied every second,
a short poll every ``SYNC_POLL_SECONDS``).

The job functions are module-level and take everything they need (the service, a notifier), so
tests call them directly with an injected clock (the service's) and check the triggers with
``trigger.get_next_fire_time(None, now)``. Their state lives in the store's scheduler state,
never in the process, kept by the digest use case (``sync/usecases/digest.py``):

* the alerted failure streak — when the streak whose failure was alerted began, cleared after a
  success: one alert per failure streak, across restarts and across processes;
* the summary watermark — just after the end of the last summary posted.

Every scheduler also records a heartbeat row (``scheduler_heartbeats``) once a minute with the
times its sync and summary jobs fire next, and marks it stopped when it shuts down: web
processes, the command line and App Home read that row, so they show the real next run, and
say plainly when no scheduler is alive.

Runs never overlap whoever starts them: the engine takes the database lock ``sync``; a scheduled
run that finds it taken skips quietly. Summaries take a ``summary`` lock, so two schedulers
(``serve`` on two dynos, say) post one summary.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, EVENT_SCHEDULER_START, SchedulerEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Message
from bot.blocks.runs import failure_alert, recovered_message, summary_message
from bot.blocks.threshold import request_closed_message
from bot.chart_uploads import share_trend_chart
from bot.firehose_job import add_firehose_job
from bot.listeners.approvals import announce_bulk
from bot.live import add_live_job
from bot.migration_job import add_migration_job
from bot.settings import AppSettings
from bot.signals import StopOnSignals
from sync.api import (
    Actor,
    ConfigError,
    RunInProgress,
    SchedulerBeat,
    SchedulerState,
    Summary,
    SyncReport,
    SyncService,
    classify_failure,
)

log = logging.getLogger("sellsync.scheduler")

SYNC_JOB = "sellsync-sync"
SUMMARY_JOB = "sellsync-summary"
EXPIRE_JOB = "sellsync-expire-requests"
HEARTBEAT_JOB = "sellsync-heartbeat"

#: How often a scheduler records its heartbeat (sync.service.HEARTBEAT_STALE is the bound after
#: which the others take it for dead).
HEARTBEAT_SECONDS = 60

#: ``sellsync worker --healthcheck`` takes the scheduler for alive while its newest heartbeat is
#: younger than three beats: one beat lost to a busy database is no reason to restart it.
HEALTHY_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)

#: How long a stopping worker or ``serve`` waits for the run going on to reach its next page
#: (``docker stop`` kills after 10 s).
STOP_GRACE_SECONDS = 8.0

#: Who runs scheduled syncs (a manager, as far as the service is concerned).
SCHEDULE_ACTOR = Actor("schedule", is_manager=True, name="schedule")


class Notifier(Protocol):
    """Where the scheduler's messages go (the summary channel)."""

    def post(self, message: Message) -> None: ...

    def update(self, channel: str, ts: str, message: Message) -> None: ...


#: Slack errors that mean the configured channel cannot be posted to (a setup problem, not a
#: hiccup): the operator is warned with the variable to fix.
UNREACHABLE_CHANNEL_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_channel", "restricted_action"}
)


class ChannelUnreachable(Exception):
    """The summary channel refused the post; the warning naming the variable is already logged."""


class SlackNotifier:
    """Posts to ``SLACK_SUMMARY_CHANNEL`` (with ``chat:write.public`` the bot needs no invite)."""

    def __init__(
        self, client: WebClient, channel: str | None, approval_channel: str | None = None
    ) -> None:
        self.client = client
        self.channel = channel
        self.approval_channel = approval_channel  # where a run's bulk hold is posted

    def post(self, message: Message) -> None:
        if not self.channel:
            log.warning("SLACK_SUMMARY_CHANNEL is not set; not posted: %s", message.text)
            return
        try:
            self.client.chat_postMessage(channel=self.channel, **message.kwargs())
        except SlackApiError as exc:
            error = str(exc.response.get("error", "")) if exc.response is not None else ""
            if error not in UNREACHABLE_CHANNEL_ERRORS:
                raise
            log.warning(
                "SLACK_SUMMARY_CHANNEL %s is unreachable (%s): invite the bot to it or fix the "
                "id; not posted: %s",
                self.channel,
                error,
                message.text,
            )
            raise ChannelUnreachable(error) from None

    def update(self, channel: str, ts: str, message: Message) -> None:
        self.client.chat_update(channel=channel, ts=ts, **message.kwargs())


class LogNotifier:
    """For a worker without Slack: the messages go to the log."""

    def post(self, message: Message) -> None:
        log.info("summary channel: %s", message.text)

    def update(self, channel: str, ts: str, message: Message) -> None:
        log.info("message %s/%s: %s", channel, ts, message.text)


# --------------------------------------------------------------------------- jobs


def run_scheduled_sync(service: SyncService, notifier: Notifier) -> SyncReport | None:
    """One scheduled sync; alerts once per failure streak and says when it recovered. While
    a setting holds runs (the sync is paused) it is skipped: logged, not a failure."""
    try:
        held = service.runs_held()
        if held is not None:
            log.info("scheduled sync skipped: %s", held.why)
            return None
        report = service.run(actor=SCHEDULE_ACTOR, trigger="schedule")
    except RunInProgress:
        log.info("scheduled sync skipped: another sync is running")
        return None
    except Exception as exc:  # the run could not even record itself (database down …)
        log.exception("scheduled sync crashed")
        _failed(service, notifier, failure_alert(None, kind=classify_failure(exc)))
        return None
    if report.status == "interrupted":  # the process is stopping: neither failed nor recovered
        log.info("scheduled sync interrupted (%s); the next run resumes", report.interrupted)
        return report
    if report.status == "failed":
        _failed(service, notifier, failure_alert(report))
    else:
        _succeeded(service, notifier, report)
    _announce_bulk(service, notifier, report)
    return report


def _announce_bulk(service: SyncService, notifier: Notifier, report: SyncReport) -> None:
    """A hold this run filed (or a terminal run did) goes to the approvals channel."""
    try:
        if isinstance(notifier, SlackNotifier):
            channel = notifier.approval_channel or notifier.channel
            announce_bulk(notifier.client, channel, service, report)
        elif report.bulk is not None and report.bulk.total:
            log.warning("%s", report.bulk.line(dry_run=False))
    except Exception:
        log.exception("could not post the bulk request")


def _failed(service: SyncService, notifier: Notifier, alert: Message) -> None:
    try:
        service.run_failed(lambda: notifier.post(alert))
    except ChannelUnreachable:
        pass  # warned already, with the variable to fix; retried at the next failed run
    except Exception:
        log.exception("could not alert the summary channel about a failed sync")


def _succeeded(service: SyncService, notifier: Notifier, report: SyncReport) -> None:
    try:
        service.run_succeeded(
            lambda since: notifier.post(recovered_message(report, failing_since=since))
        )
    except ChannelUnreachable:
        pass
    except Exception:
        log.exception("could not post the recovery note")


def post_summary(service: SyncService, notifier: Notifier) -> bool:
    """Post everything since the last summary (the use case then advances its watermark).

    Returns False when another scheduler holds the summary lock or has just posted one.
    """

    def post(summary: Summary) -> bool:
        try:
            notifier.post(summary_message(summary))
        except ChannelUnreachable:
            return False  # the watermark stays: the next summary covers this period too
        if isinstance(notifier, SlackNotifier) and notifier.channel:  # its trend, as a chart
            share_trend_chart(notifier.client, notifier.channel, service)
        return True

    return service.post_summary(post)


def expire_requests(service: SyncService, notifier: Notifier) -> list[int]:
    """Expire change requests older than 7 days and rewrite their approval messages; also drop
    expired lock rows (replay markers of Slack requests, locks of crashed runs) and webhook
    events applied more than 7 days ago."""
    service.markers.purge_expired()
    if purged := service.webhook_inbox.purge_applied():
        log.info("purged %d webhook events applied more than 7 days ago", purged)
    expired = []
    for request in service.expire_requests():
        expired.append(request.id)
        if request.channel and request.message_ts:
            try:
                notifier.update(
                    request.channel, request.message_ts, request_closed_message(request)
                )
            except SlackApiError as exc:
                log.warning("could not mark request #%s expired: %s", request.id, exc)
    return expired


@dataclass
class Heartbeat:
    """This scheduler's row in ``scheduler_heartbeats``: alive, and when its jobs fire next."""

    service: SyncService
    scheduler: BaseScheduler
    scheduler_id: str
    started_at: datetime

    def _next(self, job_id: str) -> datetime | None:
        job = self.scheduler.get_job(job_id)
        when: datetime | None = getattr(job, "next_run_time", None) if job is not None else None
        return when.astimezone(UTC) if when is not None else None

    def beat(self) -> SchedulerBeat:
        beat = SchedulerBeat(
            scheduler_id=self.scheduler_id,
            started_at=self.started_at,
            seen_at=self.service.clock.now(),
            next_sync_at=self._next(SYNC_JOB),
            next_summary_at=self._next(SUMMARY_JOB),
        )
        self.service.record_heartbeat(beat)
        return beat

    def stopped(self) -> SchedulerBeat:
        now = self.service.clock.now()
        beat = SchedulerBeat(self.scheduler_id, self.started_at, seen_at=now, stopped_at=now)
        self.service.record_heartbeat(beat)
        return beat


def record_heartbeat(heartbeat: Heartbeat) -> None:
    """The heartbeat job: a database hiccup costs one beat, never the scheduler."""
    try:
        heartbeat.beat()
    except Exception as exc:
        log.warning("could not record the scheduler heartbeat: %s", type(exc).__name__)


def heartbeat_of(scheduler: BaseScheduler) -> Heartbeat | None:
    job = scheduler.get_job(HEARTBEAT_JOB)
    return job.args[0] if job is not None else None


def scheduler_health(service: SyncService) -> tuple[bool, str]:
    """``sellsync worker --healthcheck``: is a scheduler alive, from the newest heartbeat in the
    database (``HEALTHY_WITHIN``), and one line saying why."""
    schedule = service.schedule_state()
    if schedule.state is SchedulerState.NEVER or schedule.seen_at is None:
        return False, "no scheduler has recorded a heartbeat yet"
    if schedule.state is SchedulerState.STOPPED:
        stopped = (schedule.stopped_at or schedule.seen_at).astimezone(UTC)
        return False, f"the scheduler stopped at {stopped:%Y-%m-%d %H:%M:%S} UTC"
    age = service.clock.now() - schedule.seen_at
    when = schedule.seen_at.astimezone(UTC)
    seen = f"{when:%Y-%m-%d %H:%M:%S} UTC ({max(age.total_seconds(), 0):.0f} s ago)"
    if schedule.state is SchedulerState.STALE or age > HEALTHY_WITHIN:
        return False, f"no scheduler heartbeat since {seen}"
    return True, f"scheduler alive: last heartbeat {seen}"


def _scheduler_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------- the scheduler


def zone(settings: AppSettings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.summary_tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("SUMMARY_TZ", f"is not a time zone: {settings.summary_tz!r}") from None


def summary_trigger(settings: AppSettings) -> CronTrigger:
    """``SUMMARY_CRON`` in ``SUMMARY_TZ``. Day-of-week names (``mon-fri``) mean what they say;
    APScheduler 3 numbers days from Monday = 0, unlike cron, so numbers are best avoided."""
    try:
        return CronTrigger.from_crontab(settings.summary_cron, timezone=zone(settings))
    except ValueError as exc:
        raise ConfigError("SUMMARY_CRON", f"is not a crontab expression: {exc}") from None


def sync_trigger(settings: AppSettings) -> IntervalTrigger:
    return IntervalTrigger(minutes=settings.sync_interval_minutes, timezone=zone(settings))


def build_scheduler(
    settings: AppSettings,
    service: SyncService,
    notifier: Notifier,
    *,
    blocking: bool = False,
) -> BaseScheduler:
    """A scheduler (not started) with the three jobs under fixed ids."""
    tz = zone(settings)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler: BaseScheduler = scheduler_class(
        timezone=tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    add_jobs(scheduler, settings, service, notifier)
    scheduler.add_listener(
        lambda _event: log_first_sync(scheduler, settings), EVENT_SCHEDULER_START
    )
    return scheduler


def log_first_sync(scheduler: BaseScheduler, settings: AppSettings) -> None:
    """Once started: when the first scheduled sync runs, and how often they follow (a worker
    that says nothing for 15 minutes looks stuck)."""
    first = next_sync_time(scheduler)
    if first is None:
        return
    log.info(
        "first sync at %s (%s), then every %s min",
        first.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        first.astimezone(zone(settings)).strftime("%H:%M %Z"),
        settings.sync_interval_minutes,
    )


def add_jobs(
    scheduler: BaseScheduler, settings: AppSettings, service: SyncService, notifier: Notifier
) -> None:
    """The jobs under fixed ids: adding them again replaces them (no copies on restart)."""
    common: dict[str, Any] = {
        "args": (service, notifier),
        "replace_existing": True,
        "coalesce": True,
        "max_instances": 1,
    }
    scheduler.add_job(
        run_scheduled_sync, sync_trigger(settings), id=SYNC_JOB, name="sync", **common
    )
    scheduler.add_job(
        post_summary, summary_trigger(settings), id=SUMMARY_JOB, name="summary", **common
    )
    scheduler.add_job(
        expire_requests,
        IntervalTrigger(hours=1, timezone=zone(settings)),
        id=EXPIRE_JOB,
        name="expire requests",
        **common,
    )
    add_live_job(scheduler, settings, service)  # events and short polls (bot/live.py)
    add_firehose_job(scheduler, settings, service)  # Sell's Firehose (bot/firehose_job.py)
    add_migration_job(scheduler, service, *_migration_channel(notifier))  # bot/migration_job.py
    add_heartbeat(scheduler, service)


def _migration_channel(notifier: Notifier) -> tuple[WebClient | None, str | None]:
    """Where an approved migration's progress goes: the approvals channel (else the summary's)."""
    if isinstance(notifier, SlackNotifier):
        return notifier.client, notifier.approval_channel or notifier.channel
    return None, None


def add_heartbeat(scheduler: BaseScheduler, service: SyncService) -> Heartbeat:
    """The heartbeat job (first beat as soon as the scheduler starts, then every minute), and a
    last beat marked stopped when the scheduler shuts down."""
    existing = heartbeat_of(scheduler)
    heartbeat = existing or Heartbeat(service, scheduler, _scheduler_id(), service.clock.now())
    scheduler.add_job(
        record_heartbeat,
        IntervalTrigger(seconds=HEARTBEAT_SECONDS, timezone=UTC),
        args=(heartbeat,),
        id=HEARTBEAT_JOB,
        name="heartbeat",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
    )
    if existing is None:

        def on_shutdown(_event: SchedulerEvent) -> None:
            try:
                heartbeat.stopped()
            except Exception as exc:
                log.warning("could not record that the scheduler stopped: %s", type(exc).__name__)

        scheduler.add_listener(on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
    return heartbeat


def next_sync_time(scheduler: BaseScheduler) -> datetime | None:
    job = scheduler.get_job(SYNC_JOB)
    return job.next_run_time if job is not None else None


def notifier_for(settings: AppSettings, client: WebClient | None = None) -> Notifier:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if client is None and not token:
        log.warning("no SLACK_BOT_TOKEN: summaries and alerts go to the log only")
        return LogNotifier()
    client = client or WebClient(token=token, base_url=settings.slack_api_url)
    if not settings.slack_summary_channel:
        log.warning("SLACK_SUMMARY_CHANNEL is not set: summaries and failure alerts are not posted")
    return SlackNotifier(client, settings.slack_summary_channel, settings.slack_approval_channel)


def run_worker(settings: AppSettings, service: SyncService) -> None:
    """``sellsync worker``: run the schedules in this process until SIGTERM or Ctrl-C.

    At start, the runs left "running" by a process that vanished are closed as interrupted.
    SIGTERM (``docker stop``) or Ctrl-C stops the scheduler and the run going on at its next
    page (recorded as interrupted, its lock released), within :data:`STOP_GRACE_SECONDS`."""
    try:
        closed = service.close_orphaned_runs()
    except Exception as exc:  # the start-up check already said whether the database answers
        log.warning("could not close runs left running: %s", type(exc).__name__)
    else:
        if closed:
            log.warning("closed run(s) %s as interrupted: their process had vanished", closed)
    scheduler = build_scheduler(settings, service, notifier_for(settings), blocking=True)

    def stop(name: str) -> None:
        log.info("%s: stopping the scheduler and the run going on", name)
        service.interrupt(name)  # a run stops at its next page, recorded as interrupted
        scheduler.shutdown(wait=False)  # wakes the blocking scheduler: start() returns

    log.info(
        "scheduler: sync every %s min, summary on %r (%s), short poll %s",
        settings.sync_interval_minutes,
        settings.summary_cron,
        settings.summary_tz,
        f"every {settings.sync_poll_seconds} s" if settings.sync_poll_seconds else "off",
    )
    with StopOnSignals(stop):
        try:
            scheduler.start()  # blocks until shutdown
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            if scheduler.running:
                service.interrupt("shutdown")
                scheduler.shutdown(wait=False)
            if not service.wait_for_runs(STOP_GRACE_SECONDS):
                log.warning("the run going on did not reach a page boundary in time")

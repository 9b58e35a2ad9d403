"""The worker's migration job: an approved ``/sellsync migrate`` request, moved to HubSpot.

Every :data:`CHECK_SECONDS` (and at once when the scheduler starts, so a restarted worker
resumes an approved move without waiting) the job reads the ``migration`` order from the
database; when one waits it runs it under the run lock (a sync holding the lock makes it wait
for the next tick; no sync starts while it moves), and keeps one Slack message in the approvals
channel true: posted at the first page, updated in place with the progress of the known total at
most every :data:`PROGRESS_SECONDS` (``chat.update`` is a Tier 3 method, about 50 a minute, and
a message edited more than about once a second is throttled), then its final state: counts,
refusals, what stays in Sell and the verify command. The message's place is stored with the
order, so a worker killed mid-move and started again goes on updating the same message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Message
from bot.blocks.migrate import (
    migration_crashed,
    migration_finished,
    migration_paused,
    migration_progress,
)
from sync.api import (
    ApprovedMigrations,
    MigrationOrder,
    MigrationProgress,
    MigrationReport,
    RunInProgress,
    SyncService,
    classify_failure,
)

log = logging.getLogger("sellsync.migration")

MIGRATION_JOB = "sellsync-migration"

#: How often the worker looks for an approved migration.
CHECK_SECONDS = 10

#: The least time between two edits of the progress message.
PROGRESS_SECONDS = 3.0


class MigrationMessage:
    """The approved migration's one message: posted at the first progress, then edited in
    place (throttled); without a client or a channel, progress goes to the log."""

    def __init__(
        self,
        migrations: ApprovedMigrations,
        order: MigrationOrder,
        client: WebClient | None,
        channel: str | None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        interval: float = PROGRESS_SECONDS,
    ) -> None:
        self.migrations = migrations
        self.order = order
        self.client = client
        self.channel = order.channel or channel
        self.ts = order.ts  # a restarted worker edits the message it posted before
        self.monotonic = monotonic
        self.interval = interval
        self.last: float | None = None
        self.updates = 0

    def _post(self, message: Message) -> None:
        if self.client is None or not self.channel:
            log.info("migration: %s", message.text)
            return
        try:
            posted = self.client.chat_postMessage(channel=self.channel, **message.kwargs())
        except SlackApiError as exc:
            log.warning("could not post the migration's progress: %s", exc.response.get("error"))
            return
        self.channel, self.ts = str(posted["channel"]), str(posted["ts"])
        self.migrations.remember_message(self.channel, self.ts)

    def _edit(self, message: Message) -> None:
        if self.client is None or not (self.channel and self.ts):
            self._post(message)
            return
        try:
            self.client.chat_update(channel=self.channel, ts=self.ts, **message.kwargs())
            self.updates += 1
        except SlackApiError as exc:  # a missed update never stops the move
            log.warning("could not update the migration's progress: %s", exc.response.get("error"))

    def __call__(self, progress: MigrationProgress) -> None:
        now = self.monotonic()
        if self.last is not None and now - self.last < self.interval:
            return
        self.last = now
        self._edit(migration_progress(self.order, progress))

    def finish(self, message: Message) -> None:
        """The final state, whatever the throttle says."""
        self._edit(message)


def run_approved_migration(
    service: SyncService,
    client: WebClient | None,
    channel: str | None,
    *,
    monotonic: Callable[[], float] = time.monotonic,
    interval: float = PROGRESS_SECONDS,
) -> MigrationReport | None:
    """Run the approved migration, if one waits; None when none does or a sync holds the lock.
    A move that fails is closed (asked again, it goes on from what moved), its message naming
    the kind of failure."""
    migrations = ApprovedMigrations(service)
    order = migrations.pending()
    if order is None:
        return None
    message = MigrationMessage(
        migrations, order, client, channel, monotonic=monotonic, interval=interval
    )
    try:
        report = migrations.run(order, on_progress=message)
    except RunInProgress:
        log.info("approved migration waits: a sync holds the run lock")
        return None
    except Exception as exc:
        kind = classify_failure(exc)
        log.warning("the approved migration failed: %s", kind.value)
        migrations.close("failed")
        message.finish(migration_crashed(order, kind))
        return None
    if report is None:  # another worker ran it meanwhile
        return None
    if report.status == "interrupted":
        message.finish(migration_paused(order, report))
    else:
        message.finish(migration_finished(order, report))
    return report


def add_migration_job(
    scheduler: BaseScheduler, service: SyncService, client: WebClient | None, channel: str | None
) -> None:
    """The job under its fixed id; its first look is at once (a restarted worker resumes)."""
    scheduler.add_job(
        run_approved_migration,
        IntervalTrigger(seconds=CHECK_SECONDS, timezone=UTC),
        args=(service, client, channel),
        id=MIGRATION_JOB,
        name="approved migration",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        next_run_time=datetime.now(UTC),
    )

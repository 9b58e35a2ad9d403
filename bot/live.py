"""Changes in seconds in the process that runs the scheduler (``worker``, or ``serve`` without
``--no-scheduler``): one APScheduler job, every :data:`TICK_SECONDS`, applies the HubSpot
webhook events stored by any web process and, every ``SYNC_POLL_SECONDS``, runs the short poll
(list joins; Sell's changes without the Firehose; HubSpot's without webhooks). The loop body is
the core's (:class:`sync.api.LiveChanges`): this module only schedules it and logs what it did.

The job never overlaps itself (``max_instances=1``); a tick that finds the run lock taken (a
scheduled reconcile) leaves the events where they are, and the next tick takes them again.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.settings import AppSettings
from sync.api import LiveChanges, SyncService, firehose_follower, live_changes

log = logging.getLogger("sellsync.live")

LIVE_JOB = "sellsync-changes"

#: How often the worker looks in the inbox (and whether a poll is due).
TICK_SECONDS = 1.0


def apply_changes(live: LiveChanges) -> None:
    """The job: one tick. A database or CRM hiccup costs one tick, never the scheduler."""
    try:
        result = live.tick()
    except Exception as exc:
        log.warning("changes in seconds: this tick failed (%s)", type(exc).__name__)
        return
    if result.applied or result.failed:
        log.info(
            "changes in seconds: %d event(s) applied, %d failed", result.applied, result.failed
        )


def add_live_job(
    scheduler: BaseScheduler, settings: AppSettings, service: SyncService
) -> LiveChanges:
    """The job under a fixed id (added again, it replaces itself)."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    # the Firehose job follows Sell where it is on and the Sell client reads it
    # (bot/firehose_job.py); elsewhere the poll reads Sell's changes
    followed = settings.sell_firehose_seconds > 0 and firehose_follower(service) is not None
    live = live_changes(service, owner=owner, firehose_followed=followed)
    scheduler.add_job(
        apply_changes,
        IntervalTrigger(seconds=TICK_SECONDS),
        args=(live,),
        id=LIVE_JOB,
        name="changes in seconds",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=30,
    )
    return live

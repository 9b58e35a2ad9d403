"""The scheduler's Firehose job: Sell's Firehose read every ``SELL_FIREHOSE_SECONDS`` (default 5).

The process that runs the scheduler (``worker``, or ``serve`` without ``--no-scheduler``) follows
both streams (sync/pipeline/firehose.py): what they name is synced by small runs, an expired
position starts one full reconcile, an account without the Firehose is remembered and costs no
request until it is asked again a day later; meanwhile the short poll (``bot/live.py``) reads
Sell's ``updated_at`` feed instead.

A follow that cannot run now (another run holds the lock, the sync is paused) stores nothing:
the same pages are read on the next tick. Any other failure is logged by its kind, never with
record data, and the job carries on at its next tick.
"""

from __future__ import annotations

import logging
from typing import Protocol

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.settings import AppSettings
from sync.api import (
    Followed,
    FollowResult,
    RunInProgress,
    RunsHeld,
    SyncService,
    classify_failure,
    firehose_follower,
)

log = logging.getLogger("sellsync.firehose")

FIREHOSE_JOB = "sellsync-firehose"


def add_firehose_job(scheduler: BaseScheduler, settings: AppSettings, service: SyncService) -> bool:
    """The Firehose job under its fixed id, when ``SELL_FIREHOSE_SECONDS`` > 0 and the Sell
    client reads it. True when added."""
    if settings.sell_firehose_seconds <= 0:
        return False
    follower = firehose_follower(service)
    if follower is None:
        return False
    scheduler.add_job(
        follow_firehose,
        IntervalTrigger(seconds=settings.sell_firehose_seconds),
        args=(follower,),
        id=FIREHOSE_JOB,
        name="sell firehose",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    return True


class Follows(Protocol):
    def follow(self) -> FollowResult: ...


def follow_firehose(follower: Follows) -> FollowResult | None:
    """One follow; None when it could not run now (nothing stored: read again next tick)."""
    try:
        result = follower.follow()
    except (RunInProgress, RunsHeld):
        return None
    except Exception as exc:
        log.warning("Sell's Firehose was not followed: %s", classify_failure(exc).value)
        return None
    if result.outcome is Followed.NOT_APPLIED:
        log.warning("Sell's Firehose pages were not applied; they are read again next time")
    elif result.records:
        log.info("Sell's Firehose: %d record(s) synced", result.records)
    return result

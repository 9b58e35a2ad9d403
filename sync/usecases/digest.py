"""The scheduled summary of what happened since the last one, and the failure alert streak.

Both keep a mark in the store's scheduler state: the summary its watermark (so each period is
told once, by one scheduler, under a lock), the alert the start of the failure streak it alerted
(so a failing sync alerts once and says when it recovered). Posting is the caller's: it is given a callable that
posts and returns, or raises when the post did not go out, in which case no mark moves.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sync.domain import SellMode
from sync.ports import AuditLog, Clock, EventInbox, LeaseStore, RunLog, SchedulerStateStore
from sync.usecases.live import FAILING_AFTER
from sync.usecases.status import RunStatus

log = logging.getLogger("sellsync.scheduler")

SUMMARY_LOCK = "summary"
#: Two schedulers (or a restart) never post two summaries within this gap.
SUMMARY_MIN_GAP = timedelta(minutes=5)


class ChangeKind(StrEnum):
    SETTING = "setting"  # approved, or set from the command line: ``threshold=60``, ``list_id=7``
    FIELD_MAPPED = "field_mapped"  # ``subject`` the HubSpot property, ``target`` the Sell field
    RESTORED = "restored"  # ``subject`` the Sell record whose tombstone was lifted


@dataclass(frozen=True)
class SettingChange:
    """A change to what syncs, for the summary; ``approved_by`` is a user id."""

    kind: ChangeKind
    subject: str
    target: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class Summary:
    since: datetime | None
    until: datetime
    counts: dict[str, int]
    skipped_by_reason: dict[str, int]
    setting_changes: list[SettingChange]
    runs: int
    failed_runs: int
    sell_mode: SellMode = SellMode.ACTIVE  # the Sell mode in force when it was built (M5)
    #: Stored webhook events whose apply failed three times or more (still retried), now
    failing_events: int = 0
    #: Entries the Health inbox lists now: records that keep failing and those events
    failing: int = 0

    @property
    def empty(self) -> bool:
        return (
            not self.counts
            and not self.setting_changes
            and not self.runs
            and not self.failing_events
            and not self.failing
        )


class Digest:
    def __init__(
        self,
        audit_log: AuditLog,
        runs: RunLog,
        leases: LeaseStore,
        state: SchedulerStateStore,
        clock: Clock,
        sell_mode: Callable[[], SellMode] = lambda: SellMode.ACTIVE,
        inbox: EventInbox | None = None,
        failing: Callable[[], int] | None = None,
    ) -> None:
        self.failing = failing  # how many entries the Health inbox lists
        self.sell_mode = sell_mode
        self.inbox = inbox  # the webhook inbox: its events that keep failing are counted
        self.audit_log = audit_log
        self.runs = runs
        self.leases = leases
        self.state = state
        self.clock = clock

    def summary_since(self, since: datetime | None) -> Summary:
        events = self.audit_log.audit_since(since)
        counts: Counter[str] = Counter()
        changes: list[SettingChange] = []
        for e in events:
            if e.kind in ("change_approved", "setting_changed"):  # Slack, or `settings set`
                changes.append(SettingChange(ChangeKind.SETTING, e.subject, approved_by=e.actor))
            elif e.kind == "field_mapped":
                target = e.detail.get("sell_field")
                changes.append(
                    SettingChange(
                        ChangeKind.FIELD_MAPPED,
                        e.subject,
                        None if target is None else str(target),
                    )
                )
            elif e.kind == "restored":
                changes.append(SettingChange(ChangeKind.RESTORED, e.subject.split("|")[0]))
            if e.kind == "conflict_opened":
                counts[e.kind] += len(e.detail.get("conflicts") or ()) or 1
            else:
                counts[e.kind] += 1
        runs = [r for r in self.runs.recent_runs(500) if since is None or r.started_at >= since]
        skipped: Counter[str] = Counter()
        for r in runs:
            for k, v in r.counts.items():
                if k.startswith("skipped:"):
                    skipped[k.removeprefix("skipped:")] += v
        errors = sum(r.counts.get("error", 0) for r in runs)
        if errors:
            counts["error"] = errors
        return Summary(
            since,
            self.clock.now(),
            dict(counts),
            dict(skipped),
            changes,
            len(runs),
            sum(1 for r in runs if r.status == RunStatus.FAILED),
            self.sell_mode(),
            len(self.inbox.failing(FAILING_AFTER)) if self.inbox is not None else 0,
            self.failing() if self.failing is not None else 0,
        )

    def post_summary(self, post: Callable[[Summary], bool]) -> bool:
        """Build the summary since the last one and ``post`` it; the watermark moves only when
        ``post`` returns True. False as well when another scheduler holds the summary lock or
        has just posted one."""
        leases = self.leases
        state = self.state
        owner = f"summary:{uuid.uuid4().hex[:12]}"
        now = self.clock.now()
        if not leases.try_lock(SUMMARY_LOCK, owner=owner, at=now, ttl_seconds=600):
            log.info("summary skipped: another scheduler is posting it")
            return False
        try:
            since = state.summary_watermark()
            if since is not None and since.tzinfo is None:
                since = since.replace(tzinfo=UTC)
            if since is not None and now - since < SUMMARY_MIN_GAP:
                log.info("summary skipped: one was posted at %s", since)
                return False
            summary = self.summary_since(since)
            if not post(summary):
                return False  # the watermark stays: the next summary covers this period too
            # audit_since() includes its bound: start the next summary just after this one ended
            state.set_summary_watermark(summary.until + timedelta(microseconds=1))
            return True
        finally:
            leases.unlock(SUMMARY_LOCK, owner=owner)

    def failed(self, alert: Callable[[], object]) -> bool:
        """A run failed: ``alert()`` unless this failure streak was alerted already. The streak
        is recorded only once ``alert`` returns, so a failed alert is tried again next time."""
        state = self.state
        alerted = state.alerted_failure_since()
        if alerted is not None:
            log.info("sync still failing; already alerted at %s", alerted)
            return False
        alert()
        state.set_alerted_failure_since(self.clock.now())
        return True

    def succeeded(self, note: Callable[[datetime | None], object]) -> bool:
        """A run did not fail: when a failure streak was alerted, ``note(failing_since)`` says
        it recovered, and the streak ends."""
        state = self.state
        alerted = state.alerted_failure_since()
        if alerted is None:
            return False
        note(alerted)
        state.set_alerted_failure_since(None)
        return True

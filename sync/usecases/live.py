"""Changes in seconds: the stored webhook events applied as small runs, and the short polls.

The worker (``worker``, or ``serve`` with its scheduler) calls :meth:`LiveChanges.tick` about
every second:

1. While a setting holds runs (the sync is paused), nothing is claimed and nothing is polled:
   webhooks are still stored by the web processes and wait in the inbox.
2. Due events are claimed from the inbox (:class:`sync.ports.EventInbox`) for
   :data:`CLAIM_SECONDS`; their contact ids become :class:`~sync.pipeline.short_run.Hints`; one
   small run (trigger ``events``) reads those contacts as they are now and syncs them. Only
   then are the events marked applied. A worker killed anywhere before that leaves them claimed;
   the claim runs out and the next worker applies them again, which changes nothing already
   done, because a small run reads before it decides.
3. A run that failed as a whole (a CRM unreachable, a token refused) marks every event it held
   failed, with the failure's kind and a back-off (:func:`backoff`); an event whose own record
   was refused (S14) is marked failed alone. After :data:`FAILING_AFTER` failures an event
   shows in ``status`` (and keeps being retried, at the longest back-off).
4. While another run holds the run lock (a reconcile), the claimed events stay claimed by this
   worker and are taken again at its next tick: none is lost, none counted as failed.
5. Every ``SYNC_POLL_SECONDS`` (0: never) a small run of trigger ``poll`` reads the poll's feeds
   (:class:`~sync.pipeline.short_run.Poll`).

:class:`Sources` is the status of each source of changes, from the database alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sync.domain import Held
from sync.errors import RunInProgress, RunsHeld
from sync.events import CONTACT_EVENT_TYPES, StoredEvent
from sync.pipeline.firehose import firehose_available, firehose_stored_at
from sync.pipeline.short_run import EVENTS, POLL, Hints, Poll, ShortWork, join_order
from sync.ports import Clock, EventInbox, LinkStore, MarkStore, RememberedReads, SourceFigures
from sync.report import SyncReport
from sync.usecases.common import iso

__all__ = [
    "CLAIM_SECONDS",
    "FAILING_AFTER",
    "LiveChanges",
    "SourceStatus",
    "Sources",
    "TickResult",
    "backoff",
    "hints_of",
    "poll_feeds",
    "source_statuses",
]

log = logging.getLogger("sellsync.live")

#: How long a claim holds: a worker killed mid-apply leaves its events for this long.
CLAIM_SECONDS = 60
#: Events one small run takes at most (ten HubSpot batch reads).
BATCH = 1000
#: Failed applies after which an event is listed as failing.
FAILING_AFTER = 3
#: The waits between the applies of a failing event: 5 s, 30 s, 2 min, then every 10 min.
BACKOFF_SECONDS = (5, 30, 120, 600)


def backoff(attempts: int) -> timedelta:
    """The wait before the next apply of an event that failed ``attempts`` times (>= 1)."""
    index = min(max(attempts, 1), len(BACKOFF_SECONDS)) - 1
    return timedelta(seconds=BACKOFF_SECONDS[index])


def hints_of(events: Sequence[StoredEvent]) -> Hints:
    """The contacts the events name (a merge names every contact it joined). Events of other
    kinds name nothing: they are applied as they are."""
    ids: list[str] = []
    for stored in events:
        if stored.event.subscription_type in CONTACT_EVENT_TYPES:
            ids.extend(stored.event.contact_ids)
    return Hints.of(hubspot=ids)


def _classified(reason: str) -> str:
    """A failed record's reason as a kind, without the record's data."""
    text = reason.lower()
    for prefix, kind in (
        ("invalid email", "invalid email"),
        ("hubspot refused", "refused by HubSpot"),
        ("sell refused", "refused by Sell"),
        ("unreadable value", "a value could not be read"),
    ):
        if text.startswith(prefix):
            return kind
    return "the record could not be written"


RunShort = Callable[[ShortWork, str], SyncReport]


def poll_feeds(
    remembered: RememberedReads, *, webhooks: bool, firehose_followed: bool
) -> Callable[[], Poll]:
    """What each short poll reads: the synced list's joins always (HubSpot sends no webhook for
    them); Sell's ``updated_at`` feed unless its Firehose is followed and the account has it
    (asked again after a day); HubSpot's changes unless webhooks are accepted."""

    def poll() -> Poll:
        firehose = firehose_followed and firehose_available(remembered)
        return Poll(joins=join_order, sell_changes=not firehose, hubspot_changes=not webhooks)

    return poll


@dataclass(frozen=True)
class TickResult:
    """What one tick did (for the logs and the tests)."""

    applied: int = 0  # events marked applied
    failed: int = 0  # events marked failed
    waiting: int = 0  # events claimed and kept: another run held the lock
    polled: bool = False
    held: Held | None = None  # the sync is paused: nothing was claimed or polled
    reports: tuple[SyncReport, ...] = ()


@dataclass
class LiveChanges:
    """The worker's loop body: apply stored events, and poll when a poll is due.

    ``run_short(work, trigger)`` runs one small run (raising RunsHeld while paused and
    RunInProgress while another run holds the lock); ``poll`` is the poll's feeds (None: no
    poll); ``poll_seconds`` 0 turns polls off."""

    inbox: EventInbox
    links: LinkStore
    clock: Clock
    run_short: RunShort
    runs_held: Callable[[], Held | None]
    owner: str
    #: The poll's feeds, or what gives them at each poll (whether Sell's Firehose is followed
    #: may change: its absence is asked again after a while). None: no poll.
    poll: Poll | Callable[[], Poll] | None = None
    poll_seconds: int = 60
    _claimed: list[StoredEvent] = field(default_factory=list)
    _next_poll: datetime | None = None

    def tick(self) -> TickResult:
        held = self.runs_held()
        if held is not None:
            return TickResult(held=held)
        now = self.clock.now()
        reports: list[SyncReport] = []
        applied = failed = waiting = 0
        events = self._claim(now)
        if events:
            outcome = self._apply(events)
            if isinstance(outcome, RunsHeld):
                return TickResult(held=outcome.held)
            if outcome is None:
                waiting = len(events)
            else:
                report, applied, failed = outcome
                if report is not None:
                    reports.append(report)
        polled = False
        poll = self._poll_now(now)
        if poll:
            report_or_none = self._run(ShortWork(poll=poll), POLL)
            if isinstance(report_or_none, SyncReport):
                reports.append(report_or_none)
                polled = True
                self._next_poll = now + timedelta(seconds=self.poll_seconds)
        return TickResult(applied, failed, waiting, polled, None, tuple(reports))

    # ------------------------------------------------------------------ events
    def _claim(self, now: datetime) -> list[StoredEvent]:
        """The events kept from a tick the lock was busy, and the newly due ones."""
        room = BATCH - len(self._claimed)
        until = now + timedelta(seconds=CLAIM_SECONDS)
        fresh = self.inbox.claim_due(room, owner=self.owner, until=until) if room > 0 else []
        kept = {e.id: e for e in self._claimed}
        kept.update((e.id, e) for e in fresh)
        self._claimed = []
        return [kept[i] for i in sorted(kept)]

    def _apply(
        self, events: list[StoredEvent]
    ) -> tuple[SyncReport | None, int, int] | RunsHeld | None:
        hints = hints_of(events)
        if not hints:  # kinds sellsync does not act on
            return None, self.inbox.mark_applied([e.id for e in events], owner=self.owner), 0
        result = self._run(ShortWork(hints), EVENTS)
        if isinstance(result, RunsHeld):
            return result
        if result is None:  # another run holds the lock: the events wait, claimed by us
            self._claimed = events
            return None
        report = result
        now = self.clock.now()
        if report.interrupted is not None:  # stopped by a signal: the claim runs out
            return report, 0, 0
        if report.failure is not None:
            kind = str(report.failure_kind or "unexpected")
            return report, 0, self._fail(events, kind, now)
        failing = self._failed_records(events, report)
        done = [e.id for e in events if e.id not in failing]
        count = self.inbox.mark_applied(done, owner=self.owner) if done else 0
        failed = 0
        for reason, group in _by_reason(events, failing).items():
            failed += self._fail(group, reason, now)
        return report, count, failed

    def _fail(self, events: Sequence[StoredEvent], reason: str, now: datetime) -> int:
        failed = 0
        by_attempts: dict[int, list[int]] = {}
        for e in events:
            by_attempts.setdefault(e.attempts + 1, []).append(e.id)
        for attempts, ids in by_attempts.items():
            failed += self.inbox.mark_failed(
                ids, owner=self.owner, reason=reason, next_attempt_at=now + backoff(attempts)
            )
            if attempts >= FAILING_AFTER:
                log.warning("%d event(s) failed %d times: %s", len(ids), attempts, reason)
        return failed

    def _failed_records(self, events: Sequence[StoredEvent], report: SyncReport) -> dict[int, str]:
        """The events whose own record failed in the run (S14): inbox id → reason's kind."""
        if not report.errors:
            return {}
        reasons = {e.item: _classified(e.reason) for e in report.errors}
        ids = {cid for e in events for cid in e.event.contact_ids}
        links = self.links.links_by_hubspot(ids)
        out: dict[int, str] = {}
        for stored in events:
            for cid in stored.event.contact_ids:
                link = links.get(cid)
                for item in (f"HubSpot {cid}", str(link.sell) if link is not None else None):
                    if item is not None and item in reasons:
                        out[stored.id] = reasons[item]
        return out

    def _run(self, work: ShortWork, trigger: str) -> SyncReport | RunsHeld | None:
        try:
            return self.run_short(work, trigger)
        except RunInProgress:
            log.debug("%s run waits: another run holds the lock", trigger)
            return None
        except RunsHeld as exc:
            return exc

    # ------------------------------------------------------------------ polls
    def _poll_now(self, now: datetime) -> Poll | None:
        """The poll's feeds when a poll is due (None: not due, or nothing to poll)."""
        if self.poll is None or self.poll_seconds <= 0:
            return None
        if self._next_poll is not None and now < self._next_poll:
            return None
        poll = self.poll() if callable(self.poll) else self.poll
        return poll if poll else None


def _by_reason(
    events: Sequence[StoredEvent], failing: dict[int, str]
) -> dict[str, list[StoredEvent]]:
    out: dict[str, list[StoredEvent]] = {}
    for e in events:
        if e.id in failing:
            out.setdefault(failing[e.id], []).append(e)
    return out


# --------------------------------------------------------------------------- status per source


@dataclass(frozen=True)
class SourceStatus:
    """One source of changes, as ``status``, App Home and ``/metrics`` show it.

    ``received``: events stored so far (None: the source stores none); ``last_event_at``: the
    newest one; ``position_age_seconds``: how old the stored position of a followed feed is
    (None: not followed); ``queue_depth`` / ``oldest_unapplied_at``: events not applied yet;
    ``failing``: events whose apply failed :data:`FAILING_AFTER` times or more."""

    name: str
    enabled: bool
    received: int | None = None
    last_event_at: datetime | None = None
    position_age_seconds: float | None = None
    queue_depth: int | None = None
    oldest_unapplied_at: datetime | None = None
    oldest_unapplied_age_seconds: float | None = None
    failing: int = 0
    failing_reasons: tuple[str, ...] = ()
    interval_seconds: int | None = None  # how often it is read (the poll)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "received": self.received,
            "last_event_at": iso(self.last_event_at),
            "position_age_seconds": self.position_age_seconds,
            "queue_depth": self.queue_depth,
            "oldest_unapplied_at": iso(self.oldest_unapplied_at),
            "oldest_unapplied_age_seconds": self.oldest_unapplied_age_seconds,
            "failing": self.failing,
            "failing_reasons": list(self.failing_reasons),
            "interval_seconds": self.interval_seconds,
        }


@dataclass
class Sources:
    """The status of each source of changes: HubSpot webhooks (the inbox), Sell's Firehose
    (followed once both streams have a stored position; its age is the older one's), and the
    short poll."""

    inbox: EventInbox
    marks: MarkStore
    remembered: RememberedReads
    clock: Clock
    webhooks_enabled: bool = False
    poll_seconds: int = 60

    def sources(self) -> list[SourceStatus]:
        return source_statuses(
            self.figures(),
            self.clock.now(),
            webhooks_enabled=self.webhooks_enabled,
            poll_seconds=self.poll_seconds,
        )

    def figures(self) -> SourceFigures:
        """The figures, each read on its own (the status board reads them all in its one
        statement: :meth:`sync.ports.Store.board`)."""
        failing = self.inbox.failing(FAILING_AFTER)
        return SourceFigures(
            received=self.inbox.received_count(),
            last_received_at=self.inbox.last_received_at(),
            depth=self.inbox.depth(),
            oldest_unapplied_at=self.inbox.oldest_unapplied(),
            failing=len(failing),
            failing_reasons=tuple(dict.fromkeys(e.last_error for e in failing)),
            firehose_stored_at=firehose_stored_at(self.marks),
            firehose_absent=not firehose_available(self.remembered),
        )


def source_statuses(
    figures: SourceFigures, now: datetime, *, webhooks_enabled: bool, poll_seconds: int
) -> list[SourceStatus]:
    """Each source's status from its stored figures, however they were read: HubSpot webhooks
    (the inbox), Sell's Firehose (followed once both streams have a stored position and the
    account is not remembered to lack it; its age is the older position's), the short poll."""
    oldest = figures.oldest_unapplied_at
    webhooks = SourceStatus(
        "hubspot_webhooks",
        enabled=webhooks_enabled,
        received=figures.received,
        last_event_at=figures.last_received_at,
        queue_depth=figures.depth,
        oldest_unapplied_at=oldest,
        oldest_unapplied_age_seconds=(
            None if oldest is None else max((now - oldest).total_seconds(), 0.0)
        ),
        failing=figures.failing,
        failing_reasons=tuple(sorted({r or "unknown" for r in figures.failing_reasons})),
    )
    stored_at = figures.firehose_stored_at
    firehose = SourceStatus(
        "sell_firehose",
        enabled=stored_at is not None and not figures.firehose_absent,
        position_age_seconds=(
            None if stored_at is None else max((now - stored_at).total_seconds(), 0.0)
        ),
    )
    poll = SourceStatus("poll", enabled=poll_seconds > 0, interval_seconds=poll_seconds or None)
    return [webhooks, firehose, poll]

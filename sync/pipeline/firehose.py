"""Following Sell's Firehose between scheduled runs: each page's records go to a small run, then
the page's position is stored.

:meth:`FirehoseFollower.follow` (the worker calls it every ``SELL_FIREHOSE_SECONDS``) reads the
leads and the contacts streams side by side, a page of each at a time, from their stored
positions (:mod:`sync.feeds.firehose`), until both are at their top:

1. the records the two pages name are handed to ``apply`` (a small run:
   :mod:`sync.pipeline.short_run`, which reads each record as it is now, so an echo of our own
   write, a repeat or a deletion hint is decided from Sell's current state);
2. only then are the pages' positions stored. A process killed in between reads the same pages
   again, and the small run finds nothing left to do for what was applied already. A run
   refused (another run holds the lock, the sync is paused) stores nothing either.

A stream read for the first time starts at its ``top``: the past is the reconcile's. A stored
position older than Sell keeps (``410``) means events were lost: one full reconcile
(``reconcile``) is run, from tops taken *before* it started (what happens during it is read
again), and the streams are followed from there; both streams expired cost one reconcile. An
account without the Firehose (``403``/``404``) is remembered among the remembered reads (across
processes and restarts) and asked again after a day: meanwhile :meth:`available` is False, and the worker polls
Sell's ``updated_at`` feed every ``SYNC_POLL_SECONDS`` instead.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sync.domain import RECORD_KINDS, RecordKind, SellRef
from sync.feeds.base import Page
from sync.feeds.firehose import (
    FIREHOSE_ABSENT,
    RECHECK,
    TOP,
    UNAVAILABLE,
    FirehoseFeed,
    FirehoseMark,
    FirehoseRefusal,
    SellFirehosePort,
    firehose_name,
)
from sync.ports import Clock, MarkStore, RememberedReads

log = logging.getLogger("sellsync.firehose")

#: Hands records to a small run: True once it applied them; False (or an exception: another
#: run holds the lock, the sync is paused) and nothing is stored.
ApplyHints = Callable[[Sequence[SellRef]], bool]
#: Runs one full reconcile; True once it completed.
Reconcile = Callable[[], bool]


class Followed(enum.StrEnum):
    """What one follow did."""

    READ = "read"  # pages read and applied (maybe none new)
    NOT_APPLIED = "not_applied"  # the small run failed: the pages are read again next time
    ABSENT = "absent"  # the account has no Firehose (remembered): the poll reads instead
    RECONCILED = "reconciled"  # a position expired: one full reconcile, then the tops
    NOT_RECONCILED = "not_reconciled"  # expired, and the reconcile did not complete


@dataclass(frozen=True)
class FollowResult:
    outcome: Followed
    events: int = 0
    records: int = 0


class FirehoseFollower:
    """Both Firehose streams, followed into small runs (see the module docstring)."""

    def __init__(
        self,
        firehose: SellFirehosePort,
        marks: MarkStore,
        clock: Clock,
        *,
        remembered: RememberedReads,
        apply: ApplyHints,
        reconcile: Reconcile,
        max_pages: int = 50,
    ) -> None:
        self.firehose = firehose
        self.marks = marks
        self.clock = clock
        self.remembered = remembered
        self.apply = apply
        self.reconcile = reconcile
        self.max_pages = max_pages

    def available(self) -> bool:
        """False while Sell's answer "no Firehose for this account" is remembered."""
        return firehose_available(self.remembered)

    def follow(self) -> FollowResult:
        now = self.clock.now()
        if not self.available():
            return FollowResult(Followed.ABSENT)
        feeds: list[FirehoseFeed] = []
        for kind in RECORD_KINDS:
            stored = FirehoseMark.from_mark(self.marks.get_mark(firehose_name(kind)))
            feeds.append(
                FirehoseFeed(
                    self.firehose,
                    kind,
                    stored.position or TOP,
                    save=self.marks.set_mark,
                    now=now,
                    max_pages=self.max_pages,
                )
            )
        records = 0
        while True:
            pages: list[tuple[FirehoseFeed, Page[SellRef]]] = []
            for feed in feeds:
                page = feed.read()
                if page is not None:
                    pages.append((feed, page))
            refusals = {feed.refused for feed in feeds if feed.refused is not None}
            if UNAVAILABLE in refusals:
                return self._absent()
            if refusals:
                return self._expired()
            if not pages:
                break
            refs = list(dict.fromkeys(ref for _, page in pages for ref in page.items))
            if refs and not self.apply(refs):
                return FollowResult(Followed.NOT_APPLIED, sum(f.events for f in feeds), records)
            records += len(refs)
            for feed, page in pages:
                feed.close(page)
        return FollowResult(Followed.READ, sum(f.events for f in feeds), records)

    def _absent(self) -> FollowResult:
        """Remember Sell's answer for :data:`RECHECK` (read only once it ran out)."""
        log.info("Sell's Firehose is not available; Sell's changes are polled instead")
        self.remembered.remember(FIREHOSE_ABSENT, self.clock.now().isoformat(), RECHECK)
        return FollowResult(Followed.ABSENT)

    def _expired(self) -> FollowResult:
        """One full reconcile, from tops taken before it began."""
        tops: dict[RecordKind, str] = {}
        for kind in RECORD_KINDS:
            answer = self.firehose.stream(kind, TOP, limit=1)
            if isinstance(answer, FirehoseRefusal):
                return self._absent() if answer is UNAVAILABLE else self._not_reconciled()
            tops[kind] = answer.position
        log.warning("Sell's Firehose position is older than Sell keeps: a full reconcile runs")
        if not self.reconcile():
            return self._not_reconciled()
        at = self.clock.now()
        for kind, position in tops.items():
            self.marks.set_mark(firehose_name(kind), FirehoseMark.at(position, at))
        return FollowResult(Followed.RECONCILED)

    @staticmethod
    def _not_reconciled() -> FollowResult:
        return FollowResult(Followed.NOT_RECONCILED)


def firehose_available(remembered: RememberedReads) -> bool:
    """False while it is remembered that Sell has no Firehose for this account (asked again
    after a day): the poll scheduler then reads Sell's ``updated_at`` feed instead."""
    return remembered.recall(FIREHOSE_ABSENT) is None


def firehose_stored_at(marks: MarkStore) -> datetime | None:
    """When the older of the two streams' positions was stored (None: never followed)."""
    stored = [FirehoseMark.from_mark(marks.get_mark(firehose_name(k))) for k in RECORD_KINDS]
    times = [m.stored_at for m in stored if m.stored_at is not None]
    if len(times) < len(RECORD_KINDS):
        return None
    return min(times)


def firehose_lag(marks: MarkStore, clock: Clock) -> timedelta | None:
    """How long ago the older of the two streams' positions was stored (None: never followed)."""
    stored_at = firehose_stored_at(marks)
    return None if stored_at is None else clock.now() - stored_at

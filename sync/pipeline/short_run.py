"""A small run: what events and short polls bring up, through the same pipeline as a sync run.

Between scheduled runs (the reconcile), changes arrive as *hints*: HubSpot webhooks name contact
ids, Sell's Firehose and polls name leads and contacts, the join-order feed names contacts that
joined the synced list. A hint says only "look at this record": :class:`ShortRun` reads each
record's **current** state in batches (HubSpot ``batch/read`` of 100, Sell ``ids=`` reads of
100), and hands what it read to the same steps a sync run uses (:class:`~sync.pipeline.sync_run.
SyncRun`'s page handlers): facts, the planner with the stored snapshots, the one applier. So a
hint repeated, retried or delivered out of order changes nothing the record's state does not
already say, and a deletion or merge hint is read back before anything is decided (a lead gone
is looked up among Sell's conversions before it becomes a tombstone; a merged contact answers
with its survivor).

A write sellsync made comes back as an event too (an echo). Its record then equals the link's
snapshot: the Sell side of a Sell echo is not even read on the other side, and a HubSpot echo
costs one batch read and no write.

A short run runs under the same run lease and is recorded in the run log with its own trigger
(``events``, ``poll``): :meth:`sync.engine.Engine.run_short`. The bulk guard judges its
creations like any run's; it leaves the holds a manager has not carried out to the reconcile
(their members are skipped here, never created behind a pending request).

A short poll (:class:`Poll`) reads, under the same lease and with the same marks as the
reconcile, the feeds asked of it: the join-order feed of the synced list, Sell's ``updated_at``
feed of leads and contacts (accounts without the Firehose), and HubSpot's ``lastmodifieddate``
search (no webhooks). Each page is applied before its mark is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sync.domain import RECORD_KINDS, HubSpotContact, LinkState, SellRef
from sync.feeds.base import BatchFeed, Feed
from sync.feeds.join_order import JoinOrderFeed
from sync.feeds.marks import JOIN_ORDER, JoinOrderMark
from sync.feeds.members import CHUNK
from sync.pipeline.bulk_guard import BulkGuard
from sync.pipeline.sync_run import RunParts, SyncRun
from sync.plan import LinkedPair

__all__ = ["EVENTS", "POLL", "Hints", "JoinFeed", "Poll", "ShortRun", "ShortWork", "join_order"]

#: The run log's triggers of small runs.
EVENTS = "events"
POLL = "poll"

#: Builds the join-order feed over a run's parts (its client, its stored mark, the applier's
#: ``save_mark``): its pages are the HubSpot ids that joined the synced list, oldest first.
JoinFeed = Callable[[RunParts], Feed[str]]


def join_order(parts: RunParts) -> Feed[str]:
    """The synced list's joins since the stored mark (:mod:`sync.feeds.join_order`: one call
    when no one joined), each page applied before the mark moves. A poll never reads the list
    whole: before the first sweep, or when the join order cannot be followed from the mark, it
    reads no joins and leaves the mark as it is, for the reconcile's sweep."""
    list_id = parts.context.settings.list_id
    return JoinOrderFeed(
        parts.hubspot,
        JoinOrderMark.from_mark(list_id, parts.store.get_mark(JOIN_ORDER)),
        sweep=False,
        follow_only=True,
        now=parts.clock.now,
        save=parts.applier.save_mark,
    )


@dataclass(frozen=True)
class Hints:
    """Records to look at now. Only ids: what an event said of a value is never used.

    * ``hubspot``: HubSpot contact ids (a creation, a property change, a deletion, a restore, a
      merge's ids, a privacy deletion);
    * ``joined``: HubSpot contact ids that joined the synced list (read, and evaluated as
      members);
    * ``sell``: Sell leads and contacts (an update, a creation, a deletion)."""

    hubspot: frozenset[str] = frozenset()
    joined: frozenset[str] = frozenset()
    sell: frozenset[SellRef] = frozenset()

    @classmethod
    def of(
        cls,
        *,
        hubspot: Iterable[str] = (),
        joined: Iterable[str] = (),
        sell: Iterable[SellRef] = (),
    ) -> Hints:
        return cls(frozenset(hubspot), frozenset(joined), frozenset(sell))

    def __or__(self, other: Hints) -> Hints:
        return Hints(
            self.hubspot | other.hubspot, self.joined | other.joined, self.sell | other.sell
        )

    def __bool__(self) -> bool:
        return bool(self.hubspot or self.joined or self.sell)

    def __len__(self) -> int:
        return len(self.hubspot | self.joined) + len(self.sell)


@dataclass(frozen=True)
class Poll:
    """The feeds a short poll reads (each from its stored mark, the reconcile's own)."""

    joins: JoinFeed | None = None  # the synced list's join order (E2)
    sell_changes: bool = False  # Sell's updated_at feed: the account has no Firehose
    hubspot_changes: bool = False  # HubSpot's lastmodifieddate search: no webhooks

    def __bool__(self) -> bool:
        return self.joins is not None or self.sell_changes or self.hubspot_changes


@dataclass(frozen=True)
class ShortWork:
    """What one small run does: look at ``hints``, then read the ``poll``'s feeds."""

    hints: Hints = field(default_factory=Hints)
    poll: Poll = field(default_factory=Poll)


def _chunks(items: Iterable[str]) -> list[list[str]]:
    ordered = sorted(set(items), key=lambda v: (len(v), v))
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


class ShortRun(SyncRun):
    """The small run over ``work``, in the reconcile's order (a pair one step decided is left
    be by the next): Sell hints first, then HubSpot's, then the Sell records found gone, then
    the poll's feeds."""

    def __init__(self, parts: RunParts, work: ShortWork) -> None:
        super().__init__(parts, full=False, yes_bulk=False)
        self.work = work
        self._gone: list[SellRef] = []  # Sell records a hint's read found gone

    def sync(self) -> None:
        p = self.p
        p.tick("start")
        self.guard = BulkGuard(p, yes=False, reconcile=False)
        list_id = p.context.settings.list_id
        # members as the runs before read them (the roster), and those joining now; a member
        # held for a manager is the reconcile's to carry out. Only the joined are members for
        # certain: one of the roster that would qualify is asked whether it is still in the
        # list before it is imported (as by a reconcile that did not read the list whole)
        self._roster = p.store.roster(list_id)
        self.members = (self._roster | self.work.hints.joined) - self.guard.unsettled
        self.joined = set(self.work.hints.joined)
        hints = self.work.hints
        if hints.sell:
            refs = sorted(hints.sell, key=lambda r: (r.kind, r.id))
            batches = [refs[i : i + CHUNK] for i in range(0, len(refs), CHUNK)]
            self._read(BatchFeed("sell events", batches), self._on_sell_hints)
        joined = set(hints.joined)
        contacts = _chunks(hints.hubspot | hints.joined)
        self._read(
            BatchFeed("hubspot events", contacts),
            lambda ids: self._on_hubspot_hints(ids, joined & set(ids)),
        )
        gone = [self._gone[i : i + CHUNK] for i in range(0, len(self._gone), CHUNK)]
        self._read(BatchFeed("sell deletions", gone), self._on_gone)
        self._poll(self.work.poll)
        self.guard.settle(p.context)

    # ---------------------------------------------------------------- hints
    def _on_sell_hints(self, refs: Sequence[SellRef]) -> None:
        """Records read as they are now: changed ones are synced as the Sell feed's are (and
        indexed for S8); a linked lead gone that Sell converted moves its link now (L1); the
        other records gone are decided after the HubSpot hints (:meth:`_on_gone`)."""
        p = self.p
        records = p.facts.read_sell(refs)
        if records:
            self._on_sell_changes(list(records.values()))
        gone = [ref for ref in refs if ref not in records]
        if not gone:
            return
        p.index.remove(set(gone))
        # linked leads Sell converted: their links move first, as the reconcile's conversion
        # feed moves them before any other feed (L1), so a HubSpot merge finds them moved (L2)
        leads = [
            ref.id
            for ref, link in p.store.links_by_sell(gone).items()
            if ref.kind == "lead" and link.state is LinkState.ACTIVE
        ]
        converted = p.sell.conversions_of(leads) if leads else {}
        if converted:
            self._on_conversions([converted[i] for i in sorted(converted)])
        self._gone.extend(ref for ref in gone if not (ref.kind == "lead" and ref.id in converted))

    def _on_gone(self, refs: Sequence[SellRef]) -> None:
        """Records a read found gone, with an active link no HubSpot contact merge of this run
        decided: decided as gone, a converted lead's link moving (L1) before any tombstone (S5).
        As the reconcile's deletion checks, last: a merge decides its links first (L2)."""
        p = self.p
        pairs = [
            LinkedPair(link, None, None)
            for link in p.store.links_by_sell(refs).values()
            if self.state.still_to_check(link)
        ]
        self.state.handle(pair.link.hubspot_id for pair in pairs)
        p.decide(pairs)

    def _on_hubspot_hints(self, ids: Sequence[str], joined: set[str]) -> None:
        """Contacts read as they are now (a merged-away id answers with its survivor) and
        handled as the HubSpot feed's; a linked one HubSpot no longer has is decided (S6)."""
        p = self.p
        found, missing = p.hubspot.read_contacts(ids, p.context.hubspot_props())
        contacts: dict[str, HubSpotContact] = {}
        for contact in found.values():
            contacts.setdefault(contact.id, contact)
        self._on_hubspot_changes(list(contacts.values()))
        self._on_hubspot_gone(sorted(missing))
        if joined:  # on the roster; evaluated, unless their creation waits for the guard
            self._on_joined(sorted(joined))
            waiting = self.guard.waiting()
            p.applier.add_members(
                p.context.settings.list_id, sorted(i for i in joined if i not in waiting)
            )

    def _on_hubspot_gone(self, ids: Sequence[str]) -> None:
        p = self.p
        links = [
            link
            for link in p.store.links_by_hubspot(ids).values()
            if link.state is LinkState.ACTIVE and not self.state.handled(link.hubspot_id)
        ]
        if not links:
            return
        records = p.facts.read_sell(link.sell for link in links)
        self.state.handle(link.hubspot_id for link in links)
        p.decide(
            [LinkedPair(link, records.get(link.sell), None, hubspot_missing=True) for link in links]
        )

    # ---------------------------------------------------------------- polls
    def _poll(self, poll: Poll) -> None:
        if poll.joins is not None:
            self._read(poll.joins(self.p), self._on_poll_joins)
        if poll.sell_changes:
            for kind in RECORD_KINDS:
                self._read_sell_changes(kind)
        if poll.hubspot_changes:
            self._read_hubspot_changes()

    def _on_poll_joins(self, ids: Sequence[str]) -> None:
        """Contacts that joined the synced list: members now, read and evaluated (S1)."""
        fresh = [i for i in ids if i not in self.guard.unsettled]
        self.members.update(fresh)
        self.joined.update(fresh)
        for chunk in _chunks(fresh):
            self._on_hubspot_hints(chunk, set(chunk))

"""One sync cycle: feeds → planner → applier, page by page, then each feed's mark is stored.

A run reads, in this order:

1. the synced list's members: those who joined since the last run, from HubSpot's join order
   (one call when no one joined, :mod:`sync.feeds.join_order`), with the members the last runs
   evaluated; the whole list (the sweep, which also finds who left) at most daily, on a
   ``--full`` run and after a settings change;
1b. Sell's lead conversions since the last run, moving a converted lead's link to its new
   contact (L1; :mod:`sync.feeds.conversions`) before any feed can see the lead as deleted;
2. the Sell change feed of leads and contacts, which keeps the bulk email index current and
   yields linked records changed in Sell;
3. the HubSpot contacts changed since the last run (search on ``lastmodifieddate``), which yields
   linked contacts changed in HubSpot and members whose score may have risen;
4. the list members never evaluated before (new members, or all of them after a settings change);
5. the deletions Sell's Sync API reports where the account has it (:mod:`sync.feeds.sell_sync`),
   else a rotating share of the links' Sell records (``ids=`` reads of 100), so a record deleted
   while nothing touches it is noticed within a day of runs (:mod:`sync.feeds.links`); with
   ``full``, every link instead, on both sides. A linked lead found missing by any of these is
   looked up among the conversions first: a converted lead moves, only a deleted one is
   tombstoned;
6. the bulk guard (:mod:`sync.pipeline.bulk_guard`): the creations and link removals the
   applier kept back are applied at the end, or, above ``SYNC_BULK_LIMIT`` creations (or a
   mass of removals), held for a manager; members whose creation waits are marked evaluated
   only once created.

Every feed is a :class:`~sync.feeds.base.Feed` driven by the one reader,
:func:`~sync.feeds.base.read_through`; this class only says what to plan of each feed's page. For
each page it gathers the facts the decisions need (:mod:`sync.pipeline.facts`: links, the other
side, conversions, survivors), asks the planner once, hands the plan to the applier, hands what
the writes found back to the planner, and only then closes the page (its mark is stored through
the applier). What the run decided so far is the planner's (:class:`~sync.run_state.RunState`). Besides
the applier, only the email index is written (a cache of the Sell pages read). A dry run is the
same run with an applier that only keeps the plan and an index overlaid in memory.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import TypeVar

from sync.applier import Applier, PlanOnly
from sync.config import EngineConfig
from sync.domain import (
    RECORD_KINDS,
    HubSpotContact,
    LeadConversion,
    Link,
    LinkState,
    RecordKind,
    SellRecord,
    SellRef,
)
from sync.email_index import EmailIndex
from sync.feeds.base import BatchFeed, Feed, read_through
from sync.feeds.conversions import ConversionFeed
from sync.feeds.hubspot import HubSpotChangeFeed
from sync.feeds.join_order import MEMBERSHIP_PAGE, JoinOrderFeed, ReadAhead, sweep_due
from sync.feeds.links import LinkCheckFeed, runs_per_day
from sync.feeds.marks import (
    HUBSPOT_CHANGES,
    JOIN_ORDER,
    LEAD_CONVERSIONS,
    LINK_CHECK,
    LIST_MEMBERS,
    ConversionMark,
    HubSpotChangeMark,
    JoinOrderMark,
    LinkCheckMark,
    MembersEvaluatedKey,
    SellChangeMark,
    sell_changes_name,
)
from sync.feeds.members import CHUNK, all_links, never_evaluated
from sync.feeds.sell import RemembersWalks, SellChangeFeed
from sync.feeds.sell_sync import SellSyncFeed
from sync.interrupt import RunInterrupted, StopFlag
from sync.lease import RunLease
from sync.pipeline.bulk_guard import BulkGuard
from sync.pipeline.facts import Facts
from sync.plan import LinkedPair, PagePlan
from sync.planner import Planner
from sync.ports import Clock, HubSpotPort, SellPort, Store
from sync.qualify import qualify
from sync.report import SyncReport
from sync.run_context import RunContext

Progress = Callable[[str, SyncReport], None]
Item = TypeVar("Item")


class RunParts:
    """What a sync run and a push share: ports, the run context, the index, the applier."""

    def __init__(
        self,
        *,
        hubspot: HubSpotPort,
        sell: SellPort,
        store: Store,
        clock: Clock,
        config: EngineConfig,
        context: RunContext,
        index: EmailIndex,
        applier: PlanOnly,
        report: SyncReport,
        lease: RunLease | None = None,
        progress: Progress | None = None,
        stop: StopFlag | None = None,
    ) -> None:
        self.hubspot = hubspot
        self.sell = sell
        self.store = store
        self.clock = clock
        self.config = config
        self.context = context
        self.index = index
        self.applier = applier
        self.report = report
        self.lease = lease
        self.progress = progress
        self.stop = stop  # set: the run stops at its next page boundary (sync/interrupt.py)

    @cached_property
    def planner(self) -> Planner:
        return self.context.planner(import_as=self.config.import_as)

    @cached_property
    def facts(self) -> Facts:
        return Facts(self)

    def tick(self, stage: str) -> None:
        """A page boundary: what the page applied is stored. The run stops here when asked."""
        if self.lease is not None:
            self.lease.renew()  # at every page; raises LeaseLost once another run holds it
        if self.progress is not None:
            self.progress(stage, self.report)
        if self.stop is not None:
            self.stop.check()  # raises RunInterrupted once a stop was asked

    def apply(self, plan: PagePlan) -> None:
        """Apply ``plan``; what its writes found (a record gone) goes back to the planner, and
        its decision is applied too, before the page is closed."""
        try:
            self.applier.apply(plan)
        except RunInterrupted:
            self._decide_found()
            raise
        self._decide_found()

    def _decide_found(self) -> None:
        found = self.applier.take_found()
        if found:
            self.facts.converted_meanwhile(found)
            self.applier.record_found(self.planner.after_writes(found))

    def decide(self, pairs: Sequence[LinkedPair]) -> None:
        """Linked pairs read again: their L1/L2 facts gathered, decided once, applied."""
        if not pairs:
            return
        pairs, converted = self.facts.for_decision(pairs)
        self.apply(self.planner.decide(pairs, converted))

    def plan_imports(self, contacts: Sequence[HubSpotContact], members: set[str]) -> PagePlan:
        """S1, S3, S5, S8 for list members that are not linked (reads, then plans)."""
        links = self.store.links_by_hubspot(c.id for c in contacts)
        out, todo = self.planner.screen_imports(contacts, links, members)
        if todo:
            out.extend(self.planner.imports(todo, self.facts.matches_in_sell(todo)))
        return out


class SyncRun:
    def __init__(self, parts: RunParts, *, full: bool, yes_bulk: bool = False) -> None:
        self.p = parts
        self.full = full
        self.yes_bulk = yes_bulk  # the operator confirmed any bulk from the terminal
        self.members: set[str] = set()
        #: Whether this run read the list whole; if not, ``members`` are those the last runs
        #: evaluated and those who joined since, and only ``joined`` are known members now.
        self.swept = False
        self.joined: set[str] = set()
        self.confirmed: set[str] = set()  # members this run asked HubSpot about
        self._roster: set[str] = set()
        self.state = parts.planner.state  # what this run decided so far (asked, never written)

    def sync(self) -> None:
        p = self.p
        settings = p.context.settings
        list_id = settings.list_id
        save = p.applier.save_mark
        p.tick("start")
        # creations and link removals wait for the run's end: the bulk guard (sync/bulk.py)
        self.guard = BulkGuard(p, yes=self.yes_bulk)
        # 1. members of the one synced list (S2): who joined since the last run, or the whole
        # list when it is due (their mark moves once they are evaluated, in step 4)
        key = MembersEvaluatedKey(list_id, settings.version)
        known = p.store.known_members(list_id)
        reset = self.full or not key.matches(p.store.get_mark(LIST_MEMBERS))
        joined_to = JoinOrderMark.from_mark(list_id, p.store.get_mark(JOIN_ORDER))
        join_feed = JoinOrderFeed(
            p.hubspot,
            joined_to,
            sweep=reset or sweep_due(joined_to, p.clock.now()),
            now=p.clock.now,
            save=save,
            joined=self._on_joined,
        )
        joins = ReadAhead(join_feed)
        self.swept = join_feed.swept
        self.joined = set(joins.items)
        self.members = set(self.joined)
        p.tick("members")
        if reset:
            p.applier.remove_members(list_id, known)
            known = set()
        self._roster = p.store.roster(list_id)
        if not self.swept:  # members as the runs before found them (the last sweep's roster,
            # those a poll evaluated since), and those joining now
            self.members |= self._roster | known
        # 1b. lead conversions: links move before a feed can take the lead for deleted (L1)
        mark = ConversionMark.from_mark(p.store.get_mark(LEAD_CONVERSIONS))
        self._read(ConversionFeed(p.sell, mark, save), self._on_conversions)
        # 2. the Sell change feed: index + linked records changed in Sell
        for kind in RECORD_KINDS:
            self._read_sell_changes(kind)
            if self.real and isinstance(p.sell, RemembersWalks):
                p.sell.walk_applied(kind)  # read and applied whole
        # 3. HubSpot changes since the last run
        self._read_hubspot_changes()
        # 4. members never evaluated (new to the list, or after a settings change), and those
        # held for a manager: read again until a run carries them out
        if self.swept:  # who left is known only from the whole list
            p.applier.remove_members(list_id, known - self.members)
        evaluated = (known - self.guard.unsettled) | self.state.handled_ids
        fresh = BatchFeed(
            "members",
            never_evaluated(self.members, evaluated),
            name=LIST_MEMBERS,
            mark=key.close_slice,
            save=save,
        )
        self._read(fresh, self._on_fresh_members)
        # the joins were evaluated with the members above: they join the roster, the mark moves
        self._read(joins, lambda ids: None)
        if self.swept and self.real:  # the roster is the list as read whole
            p.store.remove_from_roster(list_id, self._roster - self.members)
        # 5. deletions no feed reports: a full run re-checks every link, any other a share
        if self.full:
            self._read(self._links_to_recheck("full check", all_links(p.store)), self._recheck)
        else:
            deletions = self._sync_api_deletions()
            if deletions is not None:
                self._read(deletions, self._on_deleted)
            else:
                self._read(self._link_share(), self._on_absence)
        # 6. what the bulk guard kept back: applied, or held for a manager (with the links a
        # hold names read again, so that its decision finds them)
        decided = self.guard.collector.removals()
        refs = [SellRef.parse(key) for key in sorted(self.guard.unsettled_links - decided)]
        held = list(p.store.links_by_sell(refs).values()) if refs else []
        chunks = [held[i : i + CHUNK] for i in range(0, len(held), CHUNK)]
        # even those a feed read this run: a feed that reads a contact may not read its record
        self._read(self._links_to_recheck("held links", chunks, skip_handled=False), self._recheck)
        self.guard.settle(p.context)

    def _read_sell_changes(self, kind: RecordKind) -> None:
        """Sell's changes to ``kind`` records since its mark, read and applied."""
        p = self.p
        mark = SellChangeMark.from_mark(p.store.get_mark(sell_changes_name(kind)))
        self._read(SellChangeFeed(p.sell, kind, mark, p.applier.save_mark), self._on_sell_changes)

    def _read_hubspot_changes(self) -> None:
        """HubSpot's changes since its mark (with the configured overlap), read and applied."""
        p = self.p
        hubspot = HubSpotChangeFeed(
            p.hubspot,
            HubSpotChangeMark.from_mark(p.store.get_mark(HUBSPOT_CHANGES)),
            overlap_ms=p.config.hubspot_overlap_ms,
            properties=p.context.hubspot_props,
            now_ms=lambda: int(p.clock.now().timestamp() * 1000),
            save=p.applier.save_mark,
        )
        self._read(hubspot, self._on_hubspot_changes)

    def _read(self, feed: Feed[Item], plan: Callable[[Sequence[Item]], None]) -> None:
        read_through(feed, plan, self.p.tick)

    # ---------------------------------------------------- what each page plans
    def _on_conversions(self, batch: Sequence[LeadConversion]) -> None:
        p = self.p
        leads = p.facts.conversions_read(p.facts.conversions_linked(batch))
        if leads:  # a conversion of an unlinked lead creates nothing
            p.apply(p.planner.conversions(leads))

    def _on_sell_changes(self, page: Sequence[SellRecord]) -> None:
        p = self.p
        p.index.add(page)
        links = p.store.links_by_sell(r.ref for r in page)
        changed: list[tuple[SellRecord, Link]] = []
        for r in page:
            link = links.get(r.ref)
            if link is None or link.state is not LinkState.ACTIVE:
                continue
            if self.full or p.facts.changed_in_sell(r, link):
                changed.append((r, link))
        if changed:
            pairs = p.facts.with_contacts(changed)
            self.state.handle(link.hubspot_id for _, link in changed)
            p.decide(pairs)

    def _on_hubspot_changes(self, page: Sequence[HubSpotContact]) -> None:
        p = self.p
        contacts = [c for c in page if not self.state.handled(c.id)]
        # L2 from the survivor's side: the links of the contacts it absorbed move to it
        p.decide(p.facts.absorbed_by(contacts))
        contacts = [c for c in contacts if not self.state.handled(c.id)]
        links = p.store.links_by_hubspot(c.id for c in contacts)
        linked = [
            (c, links[c.id])
            for c in contacts
            if c.id in links
            and links[c.id].state is LinkState.ACTIVE
            and (self.full or p.facts.changed_in_hubspot(c, links[c.id]))
        ]
        if linked:
            p.decide(p.facts.with_records(linked))
        candidates = self._still_members(
            [c for c in contacts if c.id not in links and c.id in self.members]
        )
        if candidates:
            self._import(candidates)
        self.state.handle(c.id for c in contacts)

    def _still_members(self, contacts: Sequence[HubSpotContact]) -> list[HubSpotContact]:
        """Of members a run that did not read the list whole knows from before, those that
        would qualify are asked whether they are still in the list, so one who left is never
        imported (S2): one call each, or, when they are more than the list has pages, the list
        read whole once (whichever costs fewer calls)."""
        if self.swept:
            return list(contacts)
        p = self.p
        list_id = p.context.settings.list_id
        threshold, score = p.context.settings.threshold, p.config.score_property
        unsure = [
            c.id
            for c in contacts
            if c.id not in self.joined
            and c.id not in self.confirmed
            and qualify(c.properties.get(score), in_list=True, threshold=threshold).qualifies
        ]
        if len(unsure) > math.ceil(len(self.members) / MEMBERSHIP_PAGE):
            now = {i for page in p.hubspot.list_join_pages(list_id) for i in page.ids}
            self.confirmed |= now  # this run asks no more
            left = set(unsure) - now
        else:
            left = {i for i in unsure if list_id not in p.hubspot.lists_of(i)}
            self.confirmed.update(set(unsure) - left)
        if left:
            self.members -= left
            p.applier.remove_members(list_id, left)
            if self.real:
                p.store.remove_from_roster(list_id, left)
        return [c for c in contacts if c.id not in left]

    @property
    def real(self) -> bool:
        """Whether this run writes (a dry run writes nothing, not even the roster)."""
        return isinstance(self.p.applier, Applier)

    def _on_joined(self, ids: Sequence[str]) -> None:
        if self.real:
            new = [i for i in ids if i not in self._roster]
            self.p.store.add_to_roster(self.p.context.settings.list_id, new)

    def _on_fresh_members(self, chunk: Sequence[str]) -> None:
        p = self.p
        links = p.store.links_by_hubspot(chunk)
        unlinked = [i for i in chunk if i not in links]
        if unlinked:
            found, _missing = p.hubspot.read_contacts(unlinked, p.context.hubspot_props())
            self._import([found[i] for i in unlinked if i in found])
        waiting = self.guard.waiting()  # evaluated once created (or held: read again)
        p.applier.add_members(p.context.settings.list_id, [i for i in chunk if i not in waiting])

    def _import(self, contacts: Sequence[HubSpotContact]) -> None:
        p = self.p
        p.apply(p.plan_imports(contacts, self.members))
        score = p.config.score_property
        scores = {c.id: c.properties.get(score) for c in contacts}
        waiting = self.guard.waiting() & set(scores)
        for i in waiting:  # a member whose creation waits is evaluated once it is created
            self.guard.collector.scores[i] = scores.pop(i)
        list_id = p.context.settings.list_id
        p.applier.remember_scores(list_id, scores)
        if waiting:  # one a feed marked before (its score rose): read again if held
            p.applier.remove_members(list_id, waiting)

    def _on_deleted(self, refs: Sequence[SellRef]) -> None:
        """Records the Sync API reports deleted: their links, checked as the link share's."""
        self._on_absence(list(self.p.store.links_by_sell(refs).values()))

    def _on_absence(self, links: Sequence[Link]) -> None:
        """Links whose Sell record may be gone (the Sync API's deletions, or this run's share of
        the links): a record missing from an ``ids=`` read is planned exactly as in the
        ``--full`` check (S5), a converted lead moves (L1)."""
        p = self.p
        # Not only links left out of this run's feeds: a feed that read a contact may not have
        # read its Sell record.
        active = [link for link in links if self.state.still_to_check(link)]
        p.decide(p.facts.gone_from_sell(active))

    def _recheck(self, links: Sequence[Link]) -> None:
        """Both sides of each link read again, and the pairs decided."""
        self.state.handle(link.hubspot_id for link in links)
        self.p.decide(self.p.facts.both_sides(links))

    # ------------------------------------------------------------- the feeds
    def _sync_api_deletions(self) -> SellSyncFeed | None:
        """Deletions from Sell's Sync API (:mod:`sync.feeds.sell_sync`); None when the account
        has none, and the rotating link check runs instead. A dry run leaves the queue alone
        (starting a session is a POST) and previews the link check."""
        if not isinstance(self.p.applier, Applier):
            return None
        feed = SellSyncFeed.of(self.p.sell)
        if feed is not None:  # tombstones wait for the guard: so does the ack
            feed.waiting = lambda: len(self.guard.collector.removals())
            feed.after_settle = self.guard.after_settle
        return feed

    def _link_share(self) -> BatchFeed[Link]:
        """This run's share of the links (:mod:`sync.feeds.links`)."""
        p = self.p
        mark = LinkCheckMark.from_mark(p.store.get_mark(LINK_CHECK))
        share = LinkCheckFeed(
            p.store,
            mark,
            total=sum(p.store.count_links().values()),
            per_day=runs_per_day(p.config.sync_interval_minutes),
        )
        return BatchFeed(
            "link check",
            share.batches(),
            name=LINK_CHECK,
            mark=mark.close_slice,
            save=p.applier.save_mark,
        )

    def _links_to_recheck(
        self, stage: str, batches: Iterable[Sequence[Link]], *, skip_handled: bool = True
    ) -> BatchFeed[Link]:
        """Active links no lifecycle event of this run decided (nor, with ``skip_handled``,
        read already), batch by batch: both sides are read again."""

        def keep(link: Link) -> bool:
            return self.state.still_to_check(link) and not (
                skip_handled and self.state.handled(link.hubspot_id)
            )

        return BatchFeed(stage, batches, keep=keep)

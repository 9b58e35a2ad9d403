"""One sync cycle: feeds → planner → applier, page by page, then each feed's mark is stored.

A run reads, in this order:

1. the synced list's member ids (the only per-run cost that grows with the list);
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

For each page it reads what the store knows of it (links, index entries), asks the planner for a
plan, hands the plan to the applier, and only then stores the feed's mark through it. Besides
the applier, only the email index is written (a cache of the Sell pages read). A dry run is the
same run with an applier that only keeps the plan and an index overlaid in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from functools import partial

from sync.applier import Applier, PlanOnly
from sync.config import EngineConfig
from sync.domain import (
    RECORD_KINDS,
    HubSpotContact,
    LeadConversion,
    Link,
    LinkState,
    Outcome,
    RecordKind,
    SellRecord,
    SellRef,
)
from sync.email_index import EmailIndex
from sync.feeds.conversions import ConversionFeed
from sync.feeds.cursors import (
    HUBSPOT_CHANGES,
    LEAD_CONVERSIONS,
    LINK_CHECK,
    LIST_MEMBERS,
    ConversionCursor,
    HubSpotChangeCursor,
    LinkCheckCursor,
    MembersEvaluatedKey,
    SellChangeCursor,
    sell_changes_name,
)
from sync.feeds.hubspot import HubSpotChangeFeed
from sync.feeds.links import LinkCheckFeed, runs_per_day
from sync.feeds.members import CHUNK, all_links, list_members, never_evaluated
from sync.feeds.sell import SellChangeFeed
from sync.feeds.sell_sync import SellSyncFeed
from sync.interrupt import StopFlag
from sync.lease import RunLease
from sync.pipeline.bulk_guard import BulkGuard
from sync.planner import FOLLOWS_A_MERGE, ConvertedLead, LinkedPair, PagePlan, Planner
from sync.ports import Clock, HubSpotPort, SellPort, Store
from sync.report import SyncReport
from sync.run_context import RunContext

Progress = Callable[[str, SyncReport], None]


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
        self._planner: Planner | None = None

    @property
    def planner(self) -> Planner:
        if self._planner is None:
            self._planner = self.context.planner(import_as=self.config.import_as)
        return self._planner

    def tick(self, stage: str) -> None:
        """A page boundary: what the page applied is stored. The run stops here when asked."""
        if self.lease is not None:
            self.lease.renew()  # at every page; raises LeaseLost once another run holds it
        if self.progress is not None:
            self.progress(stage, self.report)
        if self.stop is not None:
            self.stop.check()  # raises RunInterrupted once a stop was asked

    def read_sell(self, refs: Iterable[SellRef]) -> dict[SellRef, SellRecord]:
        out: dict[SellRef, SellRecord] = {}
        by_kind: dict[RecordKind, list[int]] = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, []).append(ref.id)
        for kind, ids in by_kind.items():
            for start in range(0, len(ids), CHUNK):
                for rid, rec in self.sell.get_records(kind, ids[start : start + CHUNK]).items():
                    out[SellRef(kind, rid)] = rec
        return out

    def plan_pairs(self, pairs: Sequence[LinkedPair]) -> PagePlan:
        """The planner's S5/S6/S9 for linked pairs read again, with L2 for pairs HubSpot answered
        with another contact (a merge): the links those survivors already have are read first,
        so a survivor linked to another Sell record is held for a manager, not guessed."""
        survivors = {p.contact.id for p in pairs if p.merged and p.contact is not None}
        if survivors:
            owners = self.store.links_by_hubspot(survivors)
            pairs = [
                replace(p, survivor_link=owners.get(p.contact.id))
                if p.merged and p.contact is not None
                else p
                for p in pairs
            ]
        return self.planner.linked_pairs(pairs)

    def plan_imports(self, contacts: Sequence[HubSpotContact], members: set[str]) -> PagePlan:
        """S1, S3, S5, S8 for list members that are not linked (reads, then plans)."""
        links = self.store.links_by_hubspot(c.id for c in contacts)
        out, todo = self.planner.screen_imports(contacts, links, members)
        if todo:
            out.extend(self.planner.imports(todo, self._match_in_sell(todo)))
        return out

    def _match_in_sell(self, contacts: Sequence[HubSpotContact]) -> dict[str, SellRecord]:
        by_email = self.index.find(c.email for c in contacts if c.email)
        candidates = Planner.match_candidates(by_email)
        if not candidates:
            return {}
        records = self.read_sell(candidates)
        stale = candidates - set(records)
        if stale:
            self.index.remove(stale)  # deleted in Sell since they were indexed
        taken = self.store.links_by_sell(records)
        return Planner.choose_matches(contacts, by_email, records, taken)


class SyncRun:
    def __init__(self, parts: RunParts, *, full: bool, yes_bulk: bool = False) -> None:
        self.p = parts
        self.full = full
        self.yes_bulk = yes_bulk  # the operator confirmed any bulk from the terminal
        self.members: set[str] = set()
        self.done: set[str] = set()  # HubSpot ids handled in this run
        self.followed: set[SellRef] = set()  # converted leads whose link this run moved (L1)
        self.merged: set[SellRef] = set()  # records whose link a HubSpot merge decided (L2)
        # converted leads' links as this run moved them (a dry run's store still has the lead)
        self.moved: dict[SellRef, Link] = {}

    def sync(self) -> None:
        p = self.p
        settings = p.context.settings
        list_id = settings.list_id
        p.tick("start")
        # creations and link removals wait for the run's end: the bulk guard (sync/bulk.py)
        self.guard = BulkGuard(p, yes=self.yes_bulk)
        # 1. members of the one synced list (S2)
        for page in list_members(p.hubspot, p.context.hs_list.id):
            self.members.update(page)
        p.tick("members")
        key = MembersEvaluatedKey(list_id, settings.version)
        known = p.store.known_members(list_id)
        if self.full or not key.matches(p.store.get_cursor(LIST_MEMBERS)):
            p.applier.remove_members(list_id, known)
            known = set()
        # 1b. lead conversions: links move before a feed can take the lead for deleted (L1)
        self._lead_conversions()
        # 2. the Sell change feed: index + linked records changed in Sell
        for kind in RECORD_KINDS:
            self._sell_changes(kind)
        # 3. HubSpot changes since the last run
        self._hubspot_changes()
        # 4. members never evaluated (new to the list, or after a settings change)
        # (and those held for a manager: read again until a run carries them out)
        for chunk in never_evaluated(self.members, (known - self.guard.unsettled) | self.done):
            links = p.store.links_by_hubspot(chunk)
            unlinked = [i for i in chunk if i not in links]
            if unlinked:
                found, _missing = p.hubspot.read_contacts(unlinked, p.context.hubspot_props())
                self._import([found[i] for i in unlinked if i in found])
            waiting = self.guard.waiting()  # evaluated once created (or held: read again)
            p.applier.add_members(list_id, [i for i in chunk if i not in waiting])
            p.tick("members")
        p.applier.remove_members(list_id, known - self.members)
        p.applier.save_mark(LIST_MEMBERS, key.close_slice())
        # 5. deletions no feed reports: a full run re-checks every link, any other a share
        if self.full:
            self._recheck_all_links()
        elif not self._sync_api_deletions():
            self._check_link_share()
        # 6. what the bulk guard kept back: applied, or held for a manager (with the links a
        # hold names read again, so that its decision finds them)
        self._recheck_held_links()
        self.guard.settle(p.context)

    def _import(self, contacts: Sequence[HubSpotContact]) -> None:
        p = self.p
        p.applier.apply(p.plan_imports(contacts, self.members))
        score = p.config.score_property
        scores = {c.id: c.properties.get(score) for c in contacts}
        waiting = self.guard.waiting() & set(scores)
        for i in waiting:  # a member whose creation waits is evaluated once it is created
            self.guard.collector.scores[i] = scores.pop(i)
        list_id = p.context.settings.list_id
        p.applier.remember_scores(list_id, scores)
        if waiting:  # one a feed marked before (its score rose): read again if held
            p.applier.remove_members(list_id, waiting)

    # ------------------------------------------------------ lead conversions
    def _lead_conversions(self) -> None:
        p = self.p
        cursor = ConversionCursor.from_mark(p.store.get_cursor(LEAD_CONVERSIONS))
        for batch in ConversionFeed(p.sell, cursor).batches():
            links = p.store.links_by_sell(SellRef("lead", c.lead_id) for c in batch)
            linked = []  # a conversion of an unlinked lead creates nothing
            for conversion in batch:
                link = links.get(SellRef("lead", conversion.lead_id))
                if link is not None and link.state is LinkState.ACTIVE:
                    linked.append((conversion, link))
            if linked:
                self._follow_conversions(linked)
            cursor.observe(batch)
            p.applier.save_mark(LEAD_CONVERSIONS, cursor.close_slice())
            p.tick("lead conversions")

    def _follow_conversions(self, linked: Sequence[tuple[LeadConversion, Link]]) -> None:
        """Read each converted lead's new contact and HubSpot contact; plan and apply the move."""
        p = self.p

        def ref(conversion: LeadConversion) -> SellRef | None:
            contact_id = conversion.individual_id
            return None if contact_id is None else SellRef("contact", contact_id)

        records = p.read_sell(r for r in (ref(c) for c, _ in linked) if r is not None)
        found, missing = p.hubspot.read_contacts(
            [link.hubspot_id for _, link in linked], p.context.hubspot_props()
        )
        leads = []
        for conversion, link in linked:
            self.done.add(link.hubspot_id)
            self.followed.add(link.sell)
            new_ref = ref(conversion)
            leads.append(
                ConvertedLead(
                    link,
                    conversion,
                    None if new_ref is None else records.get(new_ref),
                    found.get(link.hubspot_id),
                    hubspot_missing=link.hubspot_id in missing,
                )
            )
        plan = p.planner.conversions(leads)
        p.applier.apply(plan)
        for d in plan.plan.actions:
            if d.moved_from is not None and d.link is not None:
                self.moved[d.moved_from] = d.link

    def _unless_converted(self, pairs: Sequence[LinkedPair]) -> list[LinkedPair]:
        """Pairs less the converted leads among those whose Sell record is missing: these are
        followed here (L1), or were already this run (a dry run's store still has them)."""

        def missing_lead(pair: LinkedPair) -> bool:
            link = pair.link
            return (
                pair.record is None and link.sell.kind == "lead" and link.state is LinkState.ACTIVE
            )

        unknown = [
            p.link.sell.id for p in pairs if missing_lead(p) and p.link.sell not in self.followed
        ]
        converted = self.p.sell.conversions_of(unknown) if unknown else {}
        follow = [
            (converted[p.link.sell.id], p.link)
            for p in pairs
            if missing_lead(p) and p.link.sell not in self.followed and p.link.sell.id in converted
        ]
        if follow:
            self._follow_conversions(follow)
        return [p for p in pairs if not (missing_lead(p) and p.link.sell in self.followed)]

    # ------------------------------------------------------------ Sell feed
    def _sell_changes(self, kind: RecordKind) -> None:
        p = self.p
        name = sell_changes_name(kind)
        feed = SellChangeFeed(p.sell, kind, SellChangeCursor.from_mark(p.store.get_cursor(name)))
        for page in feed.pages():
            p.index.add(page)
            links = p.store.links_by_sell(r.ref for r in page)
            changed: list[tuple[SellRecord, Link]] = []
            for r in page:
                link = links.get(r.ref)
                if link is None or link.state is not LinkState.ACTIVE:
                    continue
                if self.full or p.planner.sell_side_changed(r, link):
                    changed.append((r, link))
            if changed:
                found, missing = p.hubspot.read_contacts(
                    [link.hubspot_id for _, link in changed], p.context.hubspot_props()
                )
                pairs = []
                for record, link in changed:
                    self.done.add(link.hubspot_id)
                    if link.hubspot_id in missing or link.hubspot_id in found:
                        pairs.append(
                            LinkedPair(
                                link,
                                record,
                                found.get(link.hubspot_id),
                                hubspot_missing=link.hubspot_id in missing,
                            )
                        )
                self._apply_pairs(pairs)
            p.tick(f"sell {kind}s")
        mark = feed.cursor.close_slice()  # newest first: only once the whole feed is applied
        if mark is not None:
            p.applier.save_mark(name, mark)

    # --------------------------------------------------------- HubSpot feed
    def _hubspot_changes(self) -> None:
        p = self.p
        cursor = HubSpotChangeCursor.from_mark(p.store.get_cursor(HUBSPOT_CHANGES))
        if cursor.position_ms is None:
            # First run: every member is new and read in step 4; start watching from now.
            p.applier.save_mark(
                HUBSPOT_CHANGES, cursor.start(int(p.clock.now().timestamp() * 1000))
            )
            return
        feed = HubSpotChangeFeed(p.hubspot, cursor, overlap_ms=p.config.hubspot_overlap_ms)
        for page in feed.pages(p.context.hubspot_props()):
            contacts = [c for c in page.contacts if c.id not in self.done]
            self._merged_into(contacts)
            contacts = [c for c in contacts if c.id not in self.done]
            links = p.store.links_by_hubspot(c.id for c in contacts)
            linked = [
                (c, links[c.id])
                for c in contacts
                if c.id in links
                and links[c.id].state is LinkState.ACTIVE
                and (self.full or p.planner.hubspot_side_changed(c, links[c.id]))
            ]
            if linked:
                records = p.read_sell([link.sell for _, link in linked])
                pairs = [LinkedPair(link, records.get(link.sell), c) for c, link in linked]
                pairs = self._unless_converted(pairs)
                p.applier.apply(p.plan_pairs(pairs))
            candidates = [c for c in contacts if c.id not in links and c.id in self.members]
            if candidates:
                self._import(candidates)
            self.done.update(c.id for c in contacts)
            p.applier.save_mark(HUBSPOT_CHANGES, cursor.close_slice())
            p.tick("hubspot changes")

    def _merged_into(self, contacts: Sequence[HubSpotContact]) -> None:
        """L2 from the survivor's side: a changed contact whose ``hs_merged_object_ids`` holds
        the id of a link moves that link to it (or holds it, when the survivor is linked to
        another Sell record). A link S6 stopped because a read reported its merged contact
        missing is followed too. Survivors a link moved to are done for this run."""
        p = self.p
        into = {absorbed: c for c in contacts for absorbed in c.merged_ids}
        if not into:
            return
        links = p.store.links_by_hubspot(into)
        followed = [
            self.moved.get(link.sell, link)
            for link in links.values()
            if link.state in FOLLOWS_A_MERGE
        ]
        if not followed:
            return
        live = [link for link in followed if link.state is not LinkState.TOMBSTONED]
        records = p.read_sell(link.sell for link in live) if live else {}
        pairs = [
            LinkedPair(
                link
                if link.state is LinkState.TOMBSTONED
                else replace(link, state=LinkState.ACTIVE),
                records.get(link.sell),
                into[link.hubspot_id],
            )
            for link in followed
        ]
        self._apply_pairs(self._unless_converted(pairs))

    def _apply_pairs(self, pairs: Sequence[LinkedPair]) -> None:
        """Plan and apply linked pairs; a survivor a merged link moved to (L2) was synced with
        it and is done for this run. A survivor that holds a link conflict is not: its own
        pair may have changed with the merge and is still read by the HubSpot feed."""
        plan = self.p.plan_pairs(pairs)
        self.p.applier.apply(plan)
        for d in plan.plan.actions:
            if d.merged_from is not None and d.sell is not None:
                self.merged.add(d.sell)  # a dry run's store still has it on the merged id
            if d.hubspot_id is not None and Outcome.HUBSPOT_MERGED in d.outcomes:
                self.done.add(d.hubspot_id)

    def _unchecked(self, link: Link) -> bool:
        """An active link no lifecycle event of this run decided already: the deletion checks
        read it (a dry run's store still holds what this run moved or held)."""
        return link.state is LinkState.ACTIVE and link.sell not in self.merged

    # ------------------------------------------------------- Sell's Sync API
    def _sync_api_deletions(self) -> bool:
        """Deletions from Sell's Sync API (:mod:`sync.feeds.sell_sync`); False when the account
        has none, and the rotating link check runs instead. A dry run leaves the queue alone
        (starting a session is a POST) and previews the link check."""
        p = self.p
        if not isinstance(p.applier, Applier):
            return False
        feed = SellSyncFeed.of(p.sell)
        if feed is None:
            return False
        for gone, page in feed.pages():
            links = p.store.links_by_sell(gone) if gone else {}
            active = [link for link in links.values() if self._unchecked(link)]
            records = p.read_sell(link.sell for link in active) if active else {}
            missing = [LinkedPair(link, None, None) for link in active if link.sell not in records]
            missing = self._unless_converted(missing)  # a converted lead reads as deleted (L1)
            waiting = len(self.guard.collector.removals())
            if missing:
                p.applier.apply(p.plan_pairs(missing))
            if len(self.guard.collector.removals()) > waiting:  # tombstones wait for the guard
                self.guard.after_settle(partial(feed.ack, page))
            else:
                feed.ack(page)  # only once applied: unacked items come back in the next session
            p.tick("sell sync api")
        return True

    # ------------------------------------------------------- the link check
    def _check_link_share(self) -> None:
        """This run's share of the links: a Sell record missing from an ``ids=`` read is
        planned exactly as in the ``--full`` check (S5)."""
        p = self.p
        cursor = LinkCheckCursor.from_mark(p.store.get_cursor(LINK_CHECK))
        feed = LinkCheckFeed(
            p.store,
            cursor,
            total=sum(p.store.count_links().values()),
            per_day=runs_per_day(p.config.sync_interval_minutes),
        )
        for batch in feed.batches():
            # Not only links left out of this run's feeds: ``done`` also holds contacts a feed
            # read without reading their Sell record.
            active = [link for link in batch if self._unchecked(link)]
            records = p.read_sell(link.sell for link in active) if active else {}
            gone = [LinkedPair(link, None, None) for link in active if link.sell not in records]
            gone = self._unless_converted(gone)
            if gone:
                p.applier.apply(p.plan_pairs(gone))
            p.tick("link check")
        p.applier.save_mark(LINK_CHECK, cursor.close_slice())

    # ------------------------------------------------------------ --full
    def _recheck_all_links(self) -> None:
        for batch in all_links(self.p.store):
            self._recheck(batch, "full check")

    def _recheck_held_links(self) -> None:
        """Links a hold names that no manager's decision has carried out: read again whatever
        share of the links this run checked, so the guard finds them (an approval carries them
        out; a pending hold stays asked) or finds them back."""
        p = self.p
        decided = self.guard.collector.removals()
        refs = [SellRef.parse(key) for key in sorted(self.guard.unsettled_links - decided)]
        links = list(p.store.links_by_sell(refs).values()) if refs else []
        for start in range(0, len(links), CHUNK):
            # even those a feed read this run: a feed that reads a contact may not read its record
            self._recheck(links[start : start + CHUNK], "held links", skip_done=False)

    def _recheck(self, batch: Sequence[Link], stage: str, *, skip_done: bool = True) -> None:
        """Both sides of each active link in ``batch`` read again, and the pairs planned."""
        p = self.p
        active = [
            link
            for link in batch
            if self._unchecked(link) and not (skip_done and link.hubspot_id in self.done)
        ]
        if not active:
            return
        records = p.read_sell(link.sell for link in active)
        found, missing = p.hubspot.read_contacts(
            [link.hubspot_id for link in active], p.context.hubspot_props()
        )
        pairs = []
        for link in active:
            self.done.add(link.hubspot_id)
            pairs.append(
                LinkedPair(
                    link,
                    records.get(link.sell),
                    found.get(link.hubspot_id),
                    hubspot_missing=link.hubspot_id in missing,
                )
            )
        self._apply_pairs(self._unless_converted(pairs))
        p.tick(stage)

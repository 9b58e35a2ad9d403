"""The applier: the only code that writes to a CRM or records what a run did.

It takes a :class:`~sync.planner.PagePlan` and writes it, in the order that makes a run safe to
kill anywhere and re-run:

1. conflicts first: when Sell wins a both-sides change (S9), HubSpot's value survives only in
   its conflict, so it is stored before that value is overwritten;
2. HubSpot updates in one batch, then Sell writes (one request per record, several in flight;
   the client paces them), each checked against the run lease before it is sent;
3. audit events, then the links with their snapshots. Links go last: a run killed before they
   are stored decides the same pairs again next time, while a stored snapshot would hide what
   it missed. A converted lead's link (L1) is moved to its contact, conflicts with it, just
   before the links are stored, for the same reason;
4. then the run stores the page's feed mark, members and scores (also through here).

It decides nothing: a write that finds its record gone is reported (:meth:`Applier.take_found`),
and the run hands that back to the planner, whose decision (a tombstone, a "deleted in HubSpot"
mark) comes back through :meth:`Applier.record_found` before the page's mark is stored.

A resolved conflict writes one field to one side through :func:`write_field`, here too.

A dry run gets a :class:`PlanOnly` instead: it takes the same plans, keeps them for printing,
and writes nothing. Nothing else in a run asks whether it is dry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from sync.bulk import BulkCollector
from sync.domain import Conflict, FeedMark, Link, LinkState, RecordKind, SellRecord, SellRef, Skip
from sync.email_index import EmailIndex
from sync.errors import FieldWriteRefused, RecordNotFound, RecordRejected
from sync.interrupt import RunInterrupted, StopFlag
from sync.lease import RunLease
from sync.mapping import FieldMapping
from sync.new_records import NewRecordNotifier, NewSellRecord, new_sell_record
from sync.plan import PagePlan, RecordDecision, WriteFacts
from sync.ports import AuditEvent, Clock, ContactWrite, HubSpotPort, SellPort, Store
from sync.report import SyncReport
from sync.run_context import RunContext

log = logging.getLogger("sellsync.applier")


@dataclass
class Created:
    """What creating contacts in HubSpot gave: new ids, and records HubSpot already had."""

    ids: list[str] = field(default_factory=list)
    duplicates: list[tuple[SellRef, str]] = field(default_factory=list)  # (record, existing id)


class PlanOnly:
    """A dry run's applier: every plan is kept for printing; nothing is written anywhere."""

    def __init__(self, report: SyncReport) -> None:
        self.report = report
        #: Set by a sync run: creations and link removals wait for the run's end (sync/bulk.py).
        self.bulk: BulkCollector | None = None

    def apply(self, page: PagePlan) -> None:
        """Apply ``page``, less what the bulk guard keeps back for the run's end."""
        if self.bulk is not None:
            page = PagePlan(self.bulk.take(page.plan), page.errors, page.not_qualified)
        self.write(page)

    def write(self, page: PagePlan) -> None:
        """Apply ``page`` as it is (the guard's released decisions come back through here)."""
        self.report.plan.extend(page.plan)
        self.report.errors.extend(page.errors)
        self.report.not_qualified += page.not_qualified

    def create_in_hubspot(self, page: PagePlan) -> Created:
        self.write(page)
        return Created()

    def take_found(self) -> WriteFacts:
        """What the writes of the last pages found (a record gone, a contact gone), which the
        run hands back to the planner; a dry run writes nothing and finds nothing."""
        return WriteFacts()

    def record_found(self, page: PagePlan) -> None:
        pass

    def save_mark(self, name: str, mark: FeedMark) -> None:
        pass

    def add_members(self, list_id: str, ids: Sequence[str]) -> None:
        pass

    def remove_members(self, list_id: str, ids: set[str]) -> None:
        pass

    def remember_scores(self, list_id: str, scores: Mapping[str, str | None]) -> None:
        pass

    def add_to_synced_list(self, context: RunContext, ids: Sequence[str]) -> None:
        pass

    def audit(self, event: AuditEvent) -> None:
        pass


class Applier(PlanOnly):
    """A real run's applier: keeps the plan as :class:`PlanOnly` does, then writes it."""

    def __init__(
        self,
        report: SyncReport,
        *,
        hubspot: HubSpotPort,
        sell: SellPort,
        store: Store,
        clock: Clock,
        index: EmailIndex,
        lease: RunLease | None,
        actor: str | None,
        sell_write_workers: int,
        stop: StopFlag | None = None,
        announce: NewRecordNotifier | None = None,
    ) -> None:
        super().__init__(report)
        self.announcer = announce  # told of the records created in Sell, once stored (E6)
        self._created: list[NewSellRecord] = []
        self.hubspot = hubspot
        self.sell = sell
        self.store = store
        self.clock = clock
        self.index = index
        self.lease = lease  # a real sync's lease (sync/lease.py), checked before writes
        self.actor = actor  # the rep who pushed, named in the audit events
        self.workers = sell_write_workers
        self.stop = stop  # once set, no more Sell writes: the run stops after this page's
        self._links: list[Link] = []  # applied, not yet stored (see _flush)
        self._applied: list[RecordDecision] = []  # counted once stored (see _flush)
        self._moves: list[tuple[SellRef, SellRef]] = []  # converted leads' links (L1)
        self._events: list[AuditEvent] = []
        self._found = WriteFacts()  # what writes found (a record gone), for the planner

    # ---------------------------------------------------------- records
    def write(self, page: PagePlan) -> None:
        super().write(page)
        plan = page.plan
        if self.lease is not None:
            self.lease.renew()  # before the page's writes; raises LeaseLost once it was taken
        self.report.applied.skipped.extend(plan.skipped)
        now = self.clock.now()
        for decision in plan.actions:  # 1. conflicts, before any value is overwritten
            if decision.merge is not None and decision.link is not None:
                for d in decision.merge.conflicts:
                    self.store.open_conflict(
                        Conflict(
                            sell=decision.link.sell,
                            hubspot_id=decision.link.hubspot_id,
                            field=d.mapping.key,
                            sell_value=d.sell,
                            hubspot_value=d.hubspot,
                            opened_at=now,
                        )
                    )
        writes = [
            ContactWrite(key=str(i), properties=a.hubspot_writes, id=a.hubspot_id)
            for i, a in enumerate(plan.actions)
            if a.hubspot_writes and a.hubspot_id and a.create_kind is None
        ]
        results = {r.key: r for r in self.hubspot.update_contacts(writes)} if writes else {}
        ready: list[RecordDecision] = []
        for i, decision in enumerate(plan.actions):
            result = results.get(str(i))
            assert decision.link is not None
            if result is not None and result.missing:
                self._found.hubspot_gone.append(decision)  # decided by the planner (S6)
            elif result is not None and result.error:
                self.report.errors.append(Skip(_who(decision), f"HubSpot refused: {result.error}"))
            else:
                ready.append(decision)
        outcomes = self._pool_map(self._write_sell, ready)  # 2. Sell, recorded in plan order
        written: list[SellRecord] = []
        interrupted: RunInterrupted | None = None
        for decision, outcome in zip(ready, outcomes, strict=True):
            assert decision.link is not None
            if isinstance(outcome, RunInterrupted):  # not sent: the next run decides it again
                interrupted = outcome
            elif isinstance(outcome, RecordNotFound):
                self._found.sell_gone.append(decision)  # decided by the planner (S5, L1)
            elif isinstance(outcome, RecordRejected):
                self.report.errors.append(Skip(_who(decision), f"Sell refused: {outcome.reason}"))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                if outcome is not None:
                    written.append(outcome)
                    if decision.create_kind is not None:
                        link = replace(decision.link, sell=outcome.ref)
                        decision = replace(decision, sell=outcome.ref, link=link)
                        self._new_record(outcome, link.hubspot_id)
                self._record(decision)
        self.index.add(written)
        self._flush()
        if interrupted is not None:  # what was sent is stored; the page's mark must not move
            raise interrupted

    def take_found(self) -> WriteFacts:
        found, self._found = self._found, WriteFacts()
        return found

    def record_found(self, page: PagePlan) -> None:
        """What the planner decided of :meth:`take_found` (no writes: links marked gone)."""
        self.report.errors.extend(page.errors)
        for decision in page.plan.actions:
            self._record(decision)
        self._flush()

    def create_in_hubspot(self, page: PagePlan) -> Created:
        """S4: create the planned contacts; ones HubSpot already has come back as duplicates."""
        PlanOnly.write(self, page)
        planned = {str(a.sell): a for a in page.plan.actions}
        writes = [ContactWrite(key=key, properties=a.hubspot_writes) for key, a in planned.items()]
        out = Created()
        if not writes:
            return out
        for result in self.hubspot.create_contacts(writes):
            decision = planned[result.key]
            assert decision.link is not None and decision.sell is not None
            if result.duplicate_of:
                out.duplicates.append((decision.sell, result.duplicate_of))
            elif result.error or result.id is None:
                self.report.errors.append(Skip(result.key, f"HubSpot refused: {result.error}"))
            else:
                link = replace(decision.link, hubspot_id=result.id)
                self._record(replace(decision, hubspot_id=result.id, link=link))
                out.ids.append(result.id)
        self._flush()
        return out

    def _pool_map(
        self,
        fn: Callable[[RecordDecision], SellRecord | None],
        decisions: Sequence[RecordDecision],
    ) -> list[SellRecord | BaseException | None]:
        def safe(decision: RecordDecision) -> SellRecord | BaseException | None:
            try:
                return fn(decision)
            except (RecordNotFound, RecordRejected, RunInterrupted) as exc:
                return exc

        workers = min(self.workers, len(decisions))
        if workers <= 1:
            return [safe(a) for a in decisions]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sell-write") as pool:
            futures = [pool.submit(safe, a) for a in decisions]
            return [_outcome(f) for f in futures]

    def _write_sell(self, decision: RecordDecision) -> SellRecord | None:
        link = decision.link
        assert link is not None
        if self.lease is not None:
            self.lease.check()  # lost meanwhile (seen by the heartbeat): not one more write
        if self.stop is not None and (decision.create_kind is not None or decision.sell_writes):
            self.stop.check()  # asked to stop: this write is not sent (RunInterrupted)
        if decision.create_kind is not None:
            kind: RecordKind = "contact" if decision.create_kind == "contact" else "lead"
            return self.sell.create_record(kind, decision.sell_writes)
        if decision.sell_writes:
            return self.sell.update_record(link.sell.kind, link.sell.id, decision.sell_writes)
        return None

    def _record(self, decision: RecordDecision) -> None:
        """Queue the link and audit events of an applied decision (see _flush)."""
        link = decision.link
        assert link is not None
        now = self.clock.now()
        self._links.append(replace(link, last_synced_at=now))
        if decision.moved_from is not None:
            self._moves.append((decision.moved_from, link.sell))
            self.index.remove([decision.moved_from])  # the lead is gone from Sell's lists
        if link.state is LinkState.TOMBSTONED:
            self.index.remove([link.sell])
        self._applied.append(decision)
        for outcome in decision.outcomes:
            self._events.append(
                AuditEvent(
                    at=now,
                    kind=outcome.value,
                    subject=f"{link.sell}|{link.hubspot_id}",
                    detail={
                        "summary": decision.summary,
                        "sell_writes": sorted(decision.sell_writes),
                        "hubspot_writes": sorted(decision.hubspot_writes),
                        "conflicts": list(decision.conflicts),
                        **(
                            {"moved_from": str(decision.moved_from)}
                            if decision.moved_from is not None
                            else {}
                        ),
                        **(
                            {"merged_from": decision.absorbed_from}
                            if decision.absorbed_from is not None
                            else {}
                        ),
                    },
                    actor=self.actor,
                    run_id=self.report.run_id,
                )
            )

    def _flush(self) -> None:
        """Store what a page applied, before the page's mark moves: audit events, then links.
        Only then is it counted: a run stopped before its links are stored decides the same
        pairs again next time, and counting them here too would count them twice."""
        if self._events:
            self.store.audit_many(self._events)
        for old, new in self._moves:
            self.store.move_link(old, new)
        if self._links:
            self.store.save_links(self._links)
        for decision in self._applied:
            self.report.applied.add(decision)
        self._links, self._events, self._moves, self._applied = [], [], [], []
        self._announce()

    def _new_record(self, record: SellRecord, hubspot_id: str) -> None:
        if self.announcer is not None:
            url = self.hubspot.contact_url(hubspot_id)
            self._created.append(new_sell_record(record, hubspot_id, url))

    def _announce(self) -> None:
        """Records created in Sell are announced once their links are stored; an announcement
        that fails is logged, and the run goes on (the records exist either way)."""
        created, self._created = self._created, []
        if not created or self.announcer is None:
            return
        try:
            self.announcer.announce(created)
        except Exception as exc:  # announcing never fails a run
            log.warning(
                "%d new Sell record(s) could not be announced: %s",
                len(created),
                type(exc).__name__,
            )

    # ------------------------------------------------------- run state
    def save_mark(self, name: str, mark: FeedMark) -> None:
        self.store.set_mark(name, mark)

    def add_members(self, list_id: str, ids: Sequence[str]) -> None:
        self.store.add_members(list_id, ids)

    def remove_members(self, list_id: str, ids: set[str]) -> None:
        if ids:
            self.store.remove_members(list_id, ids)

    def remember_scores(self, list_id: str, scores: Mapping[str, str | None]) -> None:
        """Evaluated members and their scores: the threshold impact is read from these."""
        self.store.set_member_scores(list_id, scores)

    def add_to_synced_list(self, context: RunContext, ids: Sequence[str]) -> None:
        """S4: pushed contacts join the synced list, when it is a manual (static) list."""
        hs_list = context.hs_list
        if hs_list.accepts_members and ids:
            self.hubspot.add_list_members(hs_list.id, list(dict.fromkeys(ids)))

    def audit(self, event: AuditEvent) -> None:
        self.store.audit(event)


def write_field(
    hubspot: HubSpotPort,
    sell: SellPort,
    link: Link,
    mapping: FieldMapping,
    raw: Any,
    *,
    to_hubspot: bool,
) -> None:
    """Write one mapped field's value to one side of a link (a conflict's resolution)."""
    if to_hubspot:
        write = ContactWrite(key="resolve", id=link.hubspot_id, properties={mapping.hubspot: raw})
        result = hubspot.update_contacts([write])[0]
        if not result.ok:
            raise FieldWriteRefused(
                f"HubSpot refused the value: {result.error or 'contact is gone'}"
            )
        return
    try:
        sell.update_record(link.sell.kind, link.sell.id, {mapping.sell: raw})
    except (RecordNotFound, RecordRejected) as exc:
        raise FieldWriteRefused(f"Sell refused the value: {exc}") from exc


def _outcome(
    future: Future[SellRecord | BaseException | None],
) -> SellRecord | BaseException | None:
    try:
        return future.result()
    except BaseException as exc:  # re-raised in order by the caller
        return exc


def _who(decision: RecordDecision) -> str:
    if decision.sell is not None:
        return str(decision.sell)
    return f"HubSpot {decision.hubspot_id}"

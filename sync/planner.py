"""The planner: a page plus the store's snapshot of it in, a plan value out. No I/O.

Everything a decision needs is handed in: the page (Sell records, HubSpot contacts), the links
and index entries the run read for it, the settings and the field tables. What comes out is a
:class:`PagePlan`: the record decisions to apply (:class:`~sync.plan.RecordDecision`), the
records skipped with a reason, the records that failed to plan, and how many members did not
qualify. The run hands it to the applier, or, in a dry run, only prints it; ``status ITEM``
explains a record with the same rules, so neither can disagree with what a run does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sync.domain import (
    HubSpotContact,
    Link,
    LinkOrigin,
    LinkState,
    Outcome,
    PropertyInfo,
    RecordKind,
    SellMode,
    SellRecord,
    SellRef,
    Skip,
)
from sync.mapping import FieldMapping, valid_email
from sync.merge import (
    FieldMove,
    RecordMerge,
    initial_hubspot_properties,
    initial_sell_values,
    merge_record,
)
from sync.plan import (
    ConvertedLead,
    LinkedPair,
    PagePlan,
    RecordDecision,
    WriteFacts,
    hubspot_gone,
    tombstone,
)
from sync.ports import SellIndexEntry
from sync.qualify import qualify
from sync.rules.contact_merges import MOVES_TO_SURVIVOR, follow_absorbed_contact
from sync.rules.conversions import follow_conversions, sell_gone_on_write
from sync.run_state import RunState

#: Why a run writes nothing to Sell (M5): a skipped record's reason starts with it.
SELL_READ_ONLY = "Sell is read-only"

__all__ = [
    "MOVES_TO_SURVIVOR",
    "SELL_READ_ONLY",
    "ConvertedLead",
    "LinkedPair",
    "PagePlan",
    "Planner",
    "WriteFacts",
    "hubspot_gone",
    "tombstone",
]


class Planner:
    def __init__(
        self,
        *,
        tables: Mapping[RecordKind, Sequence[FieldMapping]],
        props: Mapping[str, PropertyInfo],
        threshold: int,
        score_property: str,
        import_as: RecordKind,
        contact_url: Callable[[str], str | None],
        sell_mode: SellMode = SellMode.ACTIVE,
    ) -> None:
        self.tables = tables
        #: ``read_only``: nothing is written to Sell (M5): new members are skipped, a value
        #: for Sell is held back (the pair is decided afresh whenever a run reads it again).
        self.sell_mode = sell_mode
        self._held: list[Skip] = []
        self.props = props
        self.threshold = threshold
        self.score_property = score_property
        self.import_as = import_as
        self.contact_url = contact_url
        #: What this run decided so far (one value, owned here; the run only asks it).
        self.state = RunState()

    # ------------------------------------------------------- linked pairs
    def decide(
        self, pairs: Sequence[LinkedPair], converted: Sequence[ConvertedLead] = ()
    ) -> PagePlan:
        """Linked pairs read again, decided once with what was read about them: the converted
        leads among them move (L1), and the rest is planned as :meth:`linked_pairs`. A pair
        whose lead this run moved already is left out (a dry run's store still has the lead)."""
        out = self.conversions(converted) if converted else PagePlan()
        rest = [p for p in pairs if not (p.lead_missing and self.state.was_followed(p.link.sell))]
        out.extend(self.linked_pairs(rest))
        return out

    def linked_pairs(self, pairs: Sequence[LinkedPair]) -> PagePlan:
        """S5, S6, S9 for linked pairs read again (a feed's page or the ``--full`` check), and
        L2 for those whose HubSpot contact was merged into another."""
        out = PagePlan()
        claimed: dict[str, SellRef] = {}  # survivors a link moved to in this plan (L2)
        for p in pairs:
            if p.absorbed:
                follow_absorbed_contact(p, claimed, out, self.link_sync)
            elif p.record is None:
                out.add(tombstone(p.link, "deleted in Sell"))
            elif p.hubspot_missing:
                out.add(hubspot_gone(p.link))
            elif p.contact is not None:
                out.add(self.link_sync(p.record, p.contact, p.link))
        for d in out.plan.actions:
            if d.absorbed_from is not None and d.sell is not None:
                self.state.absorb_decided(d.sell)
            if d.hubspot_id is not None and Outcome.HUBSPOT_ABSORBED in d.outcomes:
                # a survivor a link moved to was synced with it; one holding a link conflict
                # is not: its own pair may have changed with the merge
                self.state.handle([d.hubspot_id])
        return self._with_held(out)

    def conversions(self, leads: Sequence[ConvertedLead]) -> PagePlan:
        """L1 (:mod:`sync.rules.conversions`): each converted lead's link moves."""
        self.state.handle(c.link.hubspot_id for c in leads)
        out = follow_conversions(leads, self.link_sync)
        moved = {d.moved_from: d.link for d in out.plan.actions if d.moved_from is not None}
        for c in leads:
            self.state.conversion_followed(c.link.sell, moved.get(c.link.sell))
        return self._with_held(out)

    def after_writes(self, found: WriteFacts) -> PagePlan:
        """What the applier found while writing, decided: a record a write found gone is
        tombstoned (S5, unless the lead was converted meanwhile: L1), a contact gone is marked
        so (S6). The links keep where they came from (``moved_from``, ``absorbed_from``)."""
        out = PagePlan()
        for decision in found.hubspot_gone:
            assert decision.link is not None
            gone = hubspot_gone(decision.link)
            out.add(
                replace(gone, moved_from=decision.moved_from, absorbed_from=decision.absorbed_from)
            )
        for decision in found.sell_gone:
            assert decision.link is not None
            out.add(sell_gone_on_write(decision, decision.link.sell in found.converted))
        return out

    def link_sync(
        self, record: SellRecord, contact: HubSpotContact, link: Link
    ) -> RecordDecision | Skip | None:
        """S9 for a linked pair (S7: whatever its list membership or score); None: in step."""
        try:
            merge = self._merge(record, contact, link)
        except ValueError as exc:
            return Skip(str(record.ref), f"unreadable value: {exc}")
        new_link = replace(link, snapshot=merge.snapshot, email=record.email or contact.email)
        if not merge.writes_anything and not merge.conflicts and new_link.snapshot == link.snapshot:
            return None
        outcomes: list[Outcome] = []
        if merge.sell_writes:
            outcomes.append(Outcome.UPDATED_SELL)
        if merge.hubspot_writes:
            outcomes.append(Outcome.UPDATED_HUBSPOT)
        if merge.conflicts:
            outcomes.append(Outcome.CONFLICT_OPENED)
        return RecordDecision(
            tuple(outcomes),
            record.ref,
            contact.id,
            "changes since the last sync" if outcomes else "snapshot refreshed",
            merge.sell_writes,
            merge.hubspot_writes,
            _conflict_lines(merge),
            link=new_link,
            merge=merge,
        )

    def first_link(
        self, record: SellRecord, contact: HubSpotContact, origin: LinkOrigin, summary: str
    ) -> RecordDecision | Skip:
        """S8: first link of an existing pair."""
        try:
            merge = self._merge(record, contact, None)
        except ValueError as exc:
            return Skip(str(record.ref), f"unreadable value: {exc}")
        outcomes = [Outcome.MERGED]
        if merge.conflicts:
            outcomes.append(Outcome.CONFLICT_OPENED)
        link = Link(
            sell=record.ref,
            hubspot_id=contact.id,
            origin=origin,
            snapshot=merge.snapshot,
            email=record.email or contact.email,
        )
        return RecordDecision(
            tuple(outcomes),
            record.ref,
            contact.id,
            summary,
            merge.sell_writes,
            merge.hubspot_writes,
            _conflict_lines(merge),
            link=link,
            merge=merge,
        )

    def _merge(self, record: SellRecord, contact: HubSpotContact, link: Link | None) -> RecordMerge:
        merge = merge_record(
            self.tables[record.kind],
            record.values,
            contact,
            None if link is None else link.snapshot,
            self.props,
            fallback_url=self.contact_url(contact.id),
        )
        if self.sell_mode.writes_sell or not merge.sell_writes:
            return merge
        # M5 read_only: what would go to Sell stays where it is. Each side keeps its value in
        # the snapshot, so nothing reads as a change; an empty Sell field or a mirror is
        # offered again each time the pair is read (and written once Sell is active again).
        held = [d for d in merge.decisions if d.action is FieldMove.TO_SELL]
        self._held.append(
            Skip(
                str(record.ref),
                f"{SELL_READ_ONLY}: not written to Sell: "
                + ", ".join(d.mapping.label or d.mapping.key for d in held),
            )
        )
        return replace(
            merge,
            decisions=tuple(
                replace(d, action=FieldMove.NONE) if d.action is FieldMove.TO_SELL else d
                for d in merge.decisions
            ),
            sell_writes={},
        )

    def _with_held(self, out: PagePlan) -> PagePlan:
        """``out`` with the writes to Sell held back since the last call, as skipped records."""
        out.plan.skipped.extend(self.held())
        return out

    def held(self) -> list[Skip]:
        """The writes to Sell held back (read_only) since the last call, as skipped records."""
        held, self._held = self._held, []
        return held

    # ------------------------------------------------------------ imports
    def screen_imports(
        self,
        contacts: Sequence[HubSpotContact],
        links: Mapping[str, Link],
        members: set[str],
    ) -> tuple[PagePlan, list[HubSpotContact]]:
        """S1, S3, S5: which unlinked members qualify; the rest are skipped or counted."""
        out = PagePlan()
        todo: list[HubSpotContact] = []
        for c in contacts:
            q = qualify(
                c.properties.get(self.score_property),
                in_list=c.id in members,
                threshold=self.threshold,
            )
            link = links.get(c.id)
            if link is not None:
                if link.state is LinkState.TOMBSTONED and q.qualifies:
                    out.plan.skip(
                        f"HubSpot {c.id}",
                        f"its Sell record {link.sell} was deleted; it is not created again "
                        "unless a manager restores it",
                    )
                continue
            if not q.qualifies:
                out.not_qualified += 1
                continue
            if not self.sell_mode.writes_sell:
                out.plan.skip(f"HubSpot {c.id}", f"{SELL_READ_ONLY}: it is not added to Sell")
            elif c.email is None:
                out.plan.skip(f"HubSpot {c.id}", "no email")
            elif not valid_email(c.email):
                out.errors.append(Skip(f"HubSpot {c.id}", f"invalid email {c.email!r}"))
            else:
                todo.append(c)
        return out, todo

    @staticmethod
    def match_candidates(by_email: Mapping[str, Sequence[SellIndexEntry]]) -> set[SellRef]:
        """The index entries worth reading from Sell to match (organizations never match)."""
        return {e.ref for entries in by_email.values() for e in entries if not e.is_organization}

    @staticmethod
    def choose_matches(
        contacts: Sequence[HubSpotContact],
        by_email: Mapping[str, Sequence[SellIndexEntry]],
        records: Mapping[SellRef, SellRecord],
        taken: Mapping[SellRef, Link],
    ) -> dict[str, SellRecord]:
        """S8: the Sell record each contact's email matches (contact over lead, then newest)."""
        out: dict[str, SellRecord] = {}
        for c in contacts:
            options = [
                records[e.ref]
                for e in by_email.get(c.email or "", [])
                if e.ref in records
                and not records[e.ref].is_organization
                and records[e.ref].email == c.email
                and (e.ref not in taken or taken[e.ref].state is not LinkState.ACTIVE)
            ]
            if options:
                options.sort(key=lambda r: (r.kind == "contact", r.updated_at), reverse=True)
                out[c.id] = options[0]
        return out

    def imports(
        self, contacts: Sequence[HubSpotContact], matches: Mapping[str, SellRecord]
    ) -> PagePlan:
        """S8 for each qualifying contact: merge with its match, or create it in Sell."""
        out = PagePlan()
        for c in contacts:
            record = matches.get(c.id)
            if record is not None:
                out.add(self.first_link(record, c, LinkOrigin.LIST, "matched by email"))
            else:
                out.add(self.create_in_sell(c))
        return self._with_held(out)

    def create_in_sell(self, contact: HubSpotContact) -> RecordDecision | Skip:
        kind = self.import_as
        try:
            values, snapshot = initial_sell_values(
                self.tables[kind], contact, self.props, fallback_url=self.contact_url(contact.id)
            )
        except ValueError as exc:
            return Skip(f"HubSpot {contact.id}", f"unreadable value: {exc}")
        link = Link(
            sell=SellRef(kind, 0), hubspot_id=contact.id, snapshot=snapshot, email=contact.email
        )
        return RecordDecision(
            (Outcome.CREATED_IN_SELL,),
            None,
            contact.id,
            f"new {kind} from HubSpot",
            values,
            link=link,
            create_kind=kind,
        )

    # --------------------------------------------------------------- push
    def create_in_hubspot(self, record: SellRecord) -> RecordDecision | Skip:
        """S4: a new HubSpot contact from a Sell record (its id is known once created)."""
        try:
            properties, snapshot = initial_hubspot_properties(
                self.tables[record.kind], record.values, self.props
            )
        except ValueError as exc:
            return Skip(str(record.ref), f"unreadable value: {exc}")
        return RecordDecision(
            (Outcome.CREATED_IN_HUBSPOT,),
            record.ref,
            None,
            "new HubSpot contact",
            hubspot_writes=properties,
            link=Link(
                sell=record.ref,
                hubspot_id="",
                origin=LinkOrigin.PUSH,
                snapshot=snapshot,
                email=record.email,
            ),
        )


def _conflict_lines(merge: RecordMerge) -> tuple[str, ...]:
    return tuple(
        f"{d.mapping.label or d.mapping.key}: Sell {d.sell!r} vs HubSpot {d.hubspot!r}"
        for d in merge.conflicts
    )

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
from dataclasses import dataclass, field, replace
from typing import Any

from sync.domain import (
    HubSpotContact,
    LeadConversion,
    Link,
    LinkOrigin,
    LinkState,
    Outcome,
    PropertyInfo,
    RecordKind,
    SellRecord,
    SellRef,
    Skip,
)
from sync.mapping import FieldMapping, hubspot_canonical, sell_canonical, valid_email
from sync.merge import (
    RecordMerge,
    hubspot_raw,
    initial_hubspot_properties,
    initial_sell_values,
    merge_record,
)
from sync.plan import RecordDecision, SyncPlan
from sync.ports import SellIndexEntry
from sync.qualify import qualify


@dataclass
class PagePlan:
    """What one page (or a push) decided: decisions, skips, failures, members not qualified."""

    plan: SyncPlan = field(default_factory=SyncPlan)
    errors: list[Skip] = field(default_factory=list)
    not_qualified: int = 0

    def add(self, decided: RecordDecision | Skip | None) -> None:
        """A decision is planned, a Skip is a record that could not be planned (S14)."""
        if isinstance(decided, Skip):
            self.errors.append(decided)
        elif decided is not None:
            self.plan.add(decided)

    def extend(self, other: PagePlan) -> None:
        self.plan.extend(other.plan)
        self.errors.extend(other.errors)
        self.not_qualified += other.not_qualified


#: Link states a HubSpot merge moves to the survivor (L2): a link S6 stopped may have been
#: stopped by a read that reported its merged contact missing, and a tombstone moves so that S5
#: keeps the survivor out of Sell.
FOLLOWS_A_MERGE = (LinkState.ACTIVE, LinkState.HUBSPOT_DELETED, LinkState.TOMBSTONED)


@dataclass(frozen=True)
class LinkedPair:
    """A linked pair as read for re-syncing: either side may be gone."""

    link: Link
    record: SellRecord | None  # None: deleted in Sell
    contact: HubSpotContact | None  # None with ``hubspot_missing``: gone from HubSpot
    hubspot_missing: bool = False
    #: L2: when ``contact`` is another contact than the link's (HubSpot merged the link's contact
    #: into it), the link that contact already has, if any (read by the run).
    survivor_link: Link | None = None

    @property
    def merged(self) -> bool:
        """HubSpot answered for the link's contact with the contact it was merged into (L2)."""
        return self.contact is not None and self.contact.id != self.link.hubspot_id


@dataclass(frozen=True)
class ConvertedLead:
    """A linked lead Sell converted (L1), read for moving its link to the new contact."""

    link: Link
    conversion: LeadConversion
    record: SellRecord | None  # the individual contact; None: there is none (any more)
    contact: HubSpotContact | None  # None with ``hubspot_missing``: gone from HubSpot
    hubspot_missing: bool = False


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
    ) -> None:
        self.tables = tables
        self.props = props
        self.threshold = threshold
        self.score_property = score_property
        self.import_as = import_as
        self.contact_url = contact_url

    # ------------------------------------------------------- what changed
    def sell_side_changed(self, record: SellRecord, link: Link) -> bool:
        for m in self.tables[record.kind]:
            snap = link.snapshot.get(m.key)
            if snap is None:
                return True
            try:
                if sell_canonical(m, record.values.get(m.sell)) != snap.sell:
                    return True
            except ValueError:
                return True
        return False

    def hubspot_side_changed(self, contact: HubSpotContact, link: Link) -> bool:
        for m in self.tables[link.sell.kind]:
            snap = link.snapshot.get(m.key)
            if snap is None:
                return True
            raw = hubspot_raw(m, contact, self.contact_url(contact.id))
            try:
                if hubspot_canonical(m, raw, self.props.get(m.hubspot)) != snap.hubspot:
                    return True
            except ValueError:
                return True
        return False

    # ------------------------------------------------------- linked pairs
    def linked_pairs(self, pairs: Sequence[LinkedPair]) -> PagePlan:
        """S5, S6, S9 for linked pairs read again (a feed's page or the ``--full`` check), and
        L2 for those whose HubSpot contact was merged into another."""
        out = PagePlan()
        claimed: dict[str, SellRef] = {}  # survivors a link moved to in this plan (L2)
        for p in pairs:
            if p.merged:
                self._follow_merge(p, claimed, out)
            elif p.record is None:
                out.add(tombstone(p.link, "deleted in Sell"))
            elif p.hubspot_missing:
                out.add(hubspot_gone(p.link))
            elif p.contact is not None:
                out.add(self.link_sync(p.record, p.contact, p.link))
        return out

    def _follow_merge(self, p: LinkedPair, claimed: dict[str, SellRef], out: PagePlan) -> None:
        """L2: the link moves to the surviving contact and is synced there, unless the survivor
        is linked to another Sell record already; then the link is held for a manager."""
        survivor = p.contact
        assert survivor is not None
        link, absorbed = p.link, p.link.hubspot_id
        head = f"merged in HubSpot: contact {absorbed} into {survivor.id}"
        owner = p.survivor_link
        other = (
            owner.sell
            if owner is not None and owner.state is LinkState.ACTIVE and owner.sell != link.sell
            else claimed.get(survivor.id)
        )
        if link.state is LinkState.TOMBSTONED:
            # S5 follows the person: the survivor is not imported again, unless another Sell
            # record holds it already (then there is nothing to choose and the tombstone stays).
            if other is None:
                claimed[survivor.id] = link.sell
                out.add(
                    RecordDecision(
                        (Outcome.HUBSPOT_MERGED,),
                        link.sell,
                        survivor.id,
                        f"{head}; its tombstone moved with it",
                        link=replace(link, hubspot_id=survivor.id),
                        merged_from=absorbed,
                    )
                )
            return
        if other is not None and other != link.sell:
            out.add(
                RecordDecision(
                    (Outcome.LINK_CONFLICT,),
                    link.sell,
                    survivor.id,
                    f"{head}, which is linked to {other} already; "
                    "a manager chooses which link stays",
                    link=replace(link, hubspot_id=survivor.id, state=LinkState.MERGE_HELD),
                    merged_from=absorbed,
                )
            )
            return
        claimed[survivor.id] = link.sell
        moved = replace(link, hubspot_id=survivor.id, state=LinkState.ACTIVE)
        summary = f"{head}; the link moved with it"
        if p.record is None:
            gone = tombstone(moved, "deleted in Sell")
            out.add(_after(Outcome.HUBSPOT_MERGED, summary, gone, merged_from=absorbed))
            return
        synced = self.link_sync(p.record, survivor, moved)
        if isinstance(synced, Skip):
            out.errors.append(synced)  # the link still moves; its values wait for a fix
            synced = None
        if synced is None:
            decision = RecordDecision(
                (Outcome.HUBSPOT_MERGED,), link.sell, survivor.id, summary, link=moved
            )
        else:
            decision = _after(Outcome.HUBSPOT_MERGED, summary, synced)
        out.add(replace(decision, merged_from=absorbed))

    def conversions(self, leads: Sequence[ConvertedLead]) -> PagePlan:
        """L1: each converted lead's link moves to its individual contact, snapshots kept, and
        is synced there at once (S10 mirrors land in the contact's custom fields)."""
        out = PagePlan()
        for c in leads:
            lead = c.link.sell
            if c.record is None:
                reason = (
                    "converted in Sell into an organization only"
                    if c.conversion.individual_id is None
                    else "converted in Sell, then its contact was deleted"
                )
                out.add(tombstone(c.link, reason))
                continue
            moved = replace(c.link, sell=c.record.ref, email=c.record.email or c.link.email)
            summary = f"converted in Sell: the link moved from {lead} to {c.record.ref}"
            if c.hubspot_missing:
                out.add(_after(Outcome.CONVERTED, summary, hubspot_gone(moved), moved_from=lead))
                continue
            # A contact HubSpot merged meanwhile (L2) is followed by the next run's read of it,
            # which checks the survivor's links first: this move only re-points the Sell side.
            merged = c.contact is not None and c.contact.id != c.link.hubspot_id
            synced = (
                None if c.contact is None or merged else self.link_sync(c.record, c.contact, moved)
            )
            if isinstance(synced, Skip):
                out.errors.append(synced)
                synced = None
            if synced is None:
                out.add(
                    RecordDecision(
                        (Outcome.CONVERTED,),
                        c.record.ref,
                        c.link.hubspot_id,
                        summary,
                        link=moved,
                        moved_from=lead,
                    )
                )
            else:
                out.add(_after(Outcome.CONVERTED, summary, synced, moved_from=lead))
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
        return merge_record(
            self.tables[record.kind],
            record.values,
            contact,
            None if link is None else link.snapshot,
            self.props,
            fallback_url=self.contact_url(contact.id),
        )

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
            if c.email is None:
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
        return out

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


def _after(event: Outcome, summary: str, decision: RecordDecision, **origin: Any) -> RecordDecision:
    """``decision`` for a link a lifecycle event (L1, L2) moved: the event's outcome first, its
    summary before the decision's, and where the link came from (``moved_from``/``merged_from``)."""
    return replace(
        decision,
        outcomes=(event, *decision.outcomes),
        summary=f"{summary}; {decision.summary}",
        **origin,
    )


def tombstone(link: Link, reason: str) -> RecordDecision:
    """S5: the Sell record is gone; the pair is never synced or created again unless restored."""
    return RecordDecision(
        (Outcome.TOMBSTONED,),
        link.sell,
        link.hubspot_id,
        reason,
        link=replace(link, state=LinkState.TOMBSTONED),
    )


def hubspot_gone(link: Link) -> RecordDecision:
    """S6: the HubSpot contact is gone; the Sell record is kept and no longer synced."""
    return RecordDecision(
        (Outcome.HUBSPOT_DELETED,),
        link.sell,
        link.hubspot_id,
        "archived or deleted in HubSpot; the Sell record is kept and no longer synced",
        link=replace(link, state=LinkState.HUBSPOT_DELETED),
    )


def _conflict_lines(merge: RecordMerge) -> tuple[str, ...]:
    return tuple(
        f"{d.mapping.label or d.mapping.key}: Sell {d.sell!r} vs HubSpot {d.hubspot!r}"
        for d in merge.conflicts
    )

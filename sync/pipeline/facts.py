"""Read first: every fact a linked pair's decision needs, gathered before the planner decides.

For a pair a feed brought up, that is the other side's current state (a Sell record or a
HubSpot contact read again, or proven gone), and for the lifecycle rules:

* L1 (:mod:`sync.rules.conversions`): for a lead gone from Sell, whether Sell converted it, into
  which contact, and that contact and the link's HubSpot contact as they are now;
* L2 (:mod:`sync.rules.contact_merges`): for a contact HubSpot answered with another (it was
  merged), the link the surviving contact already has; from the survivor's side, the links of
  the contacts it absorbed;
* the email owner: for an unlinked member, the Sell records its email matches and the links
  they already have.

The planner is then asked once (:meth:`sync.planner.Planner.decide`). What a write finds (a
record gone) comes back the same way: :meth:`Facts.converted_meanwhile` reads what the planner
needs to decide it. ``--dry-run`` gathers the same facts; ``status ITEM`` decides one record with
the same rules (:mod:`sync.usecases.explain`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from sync.changes import changed_in_hubspot, changed_in_sell
from sync.domain import (
    HubSpotContact,
    LeadConversion,
    Link,
    LinkState,
    RecordKind,
    SellRecord,
    SellRef,
)
from sync.email_index import EmailIndex
from sync.feeds.members import CHUNK
from sync.plan import ConvertedLead, LinkedPair, WriteFacts
from sync.planner import Planner
from sync.ports import HubSpotPort, SellPort, Store
from sync.rules.contact_merges import MOVES_TO_SURVIVOR
from sync.rules.conversions import follows, leads_to_look_up
from sync.run_context import RunContext


class FactParts(Protocol):
    """What gathering facts reads through (:class:`sync.pipeline.sync_run.RunParts`)."""

    hubspot: HubSpotPort
    sell: SellPort
    store: Store
    context: RunContext
    index: EmailIndex

    @property
    def planner(self) -> Planner: ...


@dataclass
class FactSources:
    """:class:`FactParts` outside a run: ``status ITEM`` gathers one record's facts."""

    hubspot: HubSpotPort
    sell: SellPort
    store: Store
    context: RunContext
    index: EmailIndex
    planner: Planner


class Facts:
    def __init__(self, parts: FactParts) -> None:
        self.p = parts

    # ------------------------------------------------------- the other side
    def read_sell(self, refs: Iterable[SellRef]) -> dict[SellRef, SellRecord]:
        out: dict[SellRef, SellRecord] = {}
        by_kind: dict[RecordKind, list[int]] = {}
        for ref in refs:
            by_kind.setdefault(ref.kind, []).append(ref.id)
        for kind, ids in by_kind.items():
            for start in range(0, len(ids), CHUNK):
                for rid, rec in self.p.sell.get_records(kind, ids[start : start + CHUNK]).items():
                    out[SellRef(kind, rid)] = rec
        return out

    def changed_in_sell(self, record: SellRecord, link: Link) -> bool:
        """Whether the Sell side moved since the link's snapshot (no read: a fact at hand)."""
        return changed_in_sell(self.p.context.table(record.kind), record, link)

    def changed_in_hubspot(self, contact: HubSpotContact, link: Link) -> bool:
        c = self.p.context
        return changed_in_hubspot(
            c.table(link.sell.kind), c.lazy_props, contact, link, c.contact_url
        )

    def with_contacts(self, changed: Sequence[tuple[SellRecord, Link]]) -> list[LinkedPair]:
        """Sell records changed, with their links' HubSpot contacts read (or proven gone)."""
        p = self.p
        found, missing = p.hubspot.read_contacts(
            [link.hubspot_id for _, link in changed], p.context.hubspot_props()
        )
        return [
            LinkedPair(
                link,
                record,
                found.get(link.hubspot_id),
                hubspot_missing=link.hubspot_id in missing,
            )
            for record, link in changed
            if link.hubspot_id in missing or link.hubspot_id in found
        ]

    def with_records(self, changed: Sequence[tuple[HubSpotContact, Link]]) -> list[LinkedPair]:
        """HubSpot contacts changed, with their links' Sell records read (None: gone)."""
        records = self.read_sell([link.sell for _, link in changed])
        return [LinkedPair(link, records.get(link.sell), c) for c, link in changed]

    def both_sides(self, links: Sequence[Link]) -> list[LinkedPair]:
        """Both sides of each link read again."""
        p = self.p
        records = self.read_sell(link.sell for link in links)
        found, missing = p.hubspot.read_contacts(
            [link.hubspot_id for link in links], p.context.hubspot_props()
        )
        return [
            LinkedPair(
                link,
                records.get(link.sell),
                found.get(link.hubspot_id),
                hubspot_missing=link.hubspot_id in missing,
            )
            for link in links
        ]

    def gone_from_sell(self, links: Sequence[Link]) -> list[LinkedPair]:
        """The links whose Sell record a read proves gone (deleted, or a lead converted)."""
        records = self.read_sell(link.sell for link in links) if links else {}
        return [LinkedPair(link, None, None) for link in links if link.sell not in records]

    # ------------------------------------------------- before the planner
    def for_decision(
        self, pairs: Sequence[LinkedPair]
    ) -> tuple[list[LinkedPair], list[ConvertedLead]]:
        """Everything the lifecycle rules need about ``pairs``, read before the planner decides
        them once: the survivors' links (L2) and the conversions of leads gone (L1)."""
        pairs = self.with_survivor_links(pairs)
        return pairs, self.converted_leads(pairs)

    # ------------------------------------------------------------------ L2
    def absorbed_by(self, contacts: Sequence[HubSpotContact]) -> list[LinkedPair]:
        """From the survivor's side: the links of the contacts each changed contact absorbed
        (``hs_merged_object_ids``), with their Sell records, to move there. A link S6 stopped
        because a read reported its merged contact missing follows too."""
        into = {absorbed: c for c in contacts for absorbed in c.merged_ids}
        if not into:
            return []
        state = self.p.planner.state
        links = self.p.store.links_by_hubspot(into)
        followed = [
            state.as_moved(link) for link in links.values() if link.state in MOVES_TO_SURVIVOR
        ]
        live = [link for link in followed if link.state is not LinkState.TOMBSTONED]
        records = self.read_sell(link.sell for link in live) if live else {}
        return [
            LinkedPair(
                link
                if link.state is LinkState.TOMBSTONED
                else replace(link, state=LinkState.ACTIVE),
                records.get(link.sell),
                into[link.hubspot_id],
            )
            for link in followed
        ]

    def with_survivor_links(self, pairs: Sequence[LinkedPair]) -> list[LinkedPair]:
        """Pairs HubSpot answered with another contact (merged) get the link that surviving
        contact already has, so a survivor linked to another Sell record is held, not guessed."""
        survivors = {p.contact.id for p in pairs if p.absorbed and p.contact is not None}
        if not survivors:
            return list(pairs)
        owners = self.p.store.links_by_hubspot(survivors)
        return [
            replace(p, survivor_link=owners.get(p.contact.id))
            if p.absorbed and p.contact is not None
            else p
            for p in pairs
        ]

    # ------------------------------------------------------------------ L1
    def converted_leads(self, pairs: Sequence[LinkedPair]) -> list[ConvertedLead]:
        """The leads gone from Sell among ``pairs`` that Sell converted (one lookup), read for
        moving their links (leads this run moved already are not looked up again)."""
        unknown = leads_to_look_up(pairs, self._followed(pairs))
        converted = self.p.sell.conversions_of(unknown) if unknown else {}
        linked = [
            (converted[p.link.sell.id], p.link)
            for p in pairs
            if p.link.sell.id in converted and p.link.sell.id in unknown and p.lead_missing
        ]
        return self.conversions_read(linked)

    def conversions_read(
        self, linked: Sequence[tuple[LeadConversion, Link]]
    ) -> list[ConvertedLead]:
        """Each converted lead's new contact and its link's HubSpot contact, read."""
        if not linked:
            return []
        p = self.p

        def ref(conversion: LeadConversion) -> SellRef | None:
            contact_id = conversion.individual_id
            return None if contact_id is None else SellRef("contact", contact_id)

        records = self.read_sell(r for r in (ref(c) for c, _ in linked) if r is not None)
        found, missing = p.hubspot.read_contacts(
            [link.hubspot_id for _, link in linked], p.context.hubspot_props()
        )
        out = []
        for conversion, link in linked:
            new_ref = ref(conversion)
            out.append(
                ConvertedLead(
                    link,
                    conversion,
                    None if new_ref is None else records.get(new_ref),
                    found.get(link.hubspot_id),
                    hubspot_missing=link.hubspot_id in missing,
                )
            )
        return out

    def conversions_linked(
        self, batch: Sequence[LeadConversion]
    ) -> list[tuple[LeadConversion, Link]]:
        """The conversion feed's page: the conversions of leads with an active link."""
        links = self.p.store.links_by_sell(SellRef("lead", c.lead_id) for c in batch)
        out = []
        for conversion in batch:
            link = links.get(SellRef("lead", conversion.lead_id))
            if follows(link):
                assert link is not None
                out.append((conversion, link))
        return out

    def converted_meanwhile(self, found: WriteFacts) -> WriteFacts:
        """Of the leads a Sell write found gone, those Sell converted (one lookup)."""
        gone = [
            d.link.sell
            for d in found.sell_gone
            if d.link is not None and d.link.sell.kind == "lead"
        ]
        if gone:
            answered = self.p.sell.conversions_of([ref.id for ref in gone])
            found.converted = {ref for ref in gone if ref.id in answered}
        return found

    def _followed(self, pairs: Sequence[LinkedPair]) -> set[SellRef]:
        state = self.p.planner.state
        return {p.link.sell for p in pairs if state.was_followed(p.link.sell)}

    # ------------------------------------------------------ the email owner
    def matches_in_sell(self, contacts: Sequence[HubSpotContact]) -> dict[str, SellRecord]:
        """S8: the Sell record each unlinked contact's email matches, not linked already."""
        p = self.p
        by_email = p.index.find(c.email for c in contacts if c.email)
        candidates = Planner.match_candidates(by_email)
        if not candidates:
            return {}
        records = self.read_sell(candidates)
        stale = candidates - set(records)
        if stale:
            p.index.remove(stale)  # deleted in Sell since they were indexed
        taken: Mapping[SellRef, Link] = p.store.links_by_sell(records)
        return Planner.choose_matches(contacts, by_email, records, taken)

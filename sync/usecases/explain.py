"""``status ITEM``: why a record did or did not sync, from its link, both sides and the rules.

The answer is a :class:`Verdict` with what it rests on (the link, the Sell record, the HubSpot
contact, list membership, the qualification rule's reason, open conflicts), not sentences: the bot
words it, in Slack with the slash command to push a record and in a terminal with ``sellsync``.
An unlinked member is screened by the run's own planner (``Engine.planner``) against the synced
list as the next run reads it, so the answer is what the next sync does with it, skips included.
A pair's Sell record is read whichever side is asked about (a record gone is what the next run
tombstones or follows), and a contact a linked lead was converted into is told that the run moves
the lead's link there, from the same conversion feed the run follows (L5).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from sync.domain import (
    Conflict,
    ConflictStatus,
    HubSpotContact,
    Link,
    LinkState,
    Outcome,
    SellRecord,
    SellRef,
)
from sync.email_index import StoredEmailIndex
from sync.feeds.conversions import ConversionFeed
from sync.feeds.marks import LEAD_CONVERSIONS, ConversionMark
from sync.pipeline.facts import Facts, FactSources
from sync.push import parse_items
from sync.qualify import qualify
from sync.rules.contact_merges import links_that_follow
from sync.rules.conversions import converted_into
from sync.usecases.common import Parts, Refused


class Verdict(StrEnum):
    NOT_FOUND = "not_found"
    TOMBSTONED = "tombstoned"  # its Sell record was deleted (S5)
    HUBSPOT_DELETED = "hubspot_deleted"  # its HubSpot contact was deleted (S6)
    SYNCED = "synced"  # linked (S7)
    QUALIFIES = "qualifies"  # enters Sell at the next sync (S1)
    NOT_QUALIFIED = "not_qualified"  # a HubSpot contact the rules keep out of Sell
    SKIPPED = "skipped"  # it qualifies, and a run skips it (``skip`` says why: no email …)
    COMPANY = "company"  # a Sell company contact: never sent to HubSpot
    NO_EMAIL = "no_email"  # a Sell record without an email
    NOT_LINKED = "not_linked"  # a Sell record that can be pushed
    # linked, and HubSpot absorbed its contact into another: the next sync moves the link (L2)
    ABSORBED = "merged"
    # a HubSpot contact merge left two Sell records on one contact: a manager chooses
    HELD = "merge_held"


@dataclass(frozen=True)
class Explanation:
    """Why ITEM did or did not sync, and what the verdict rests on."""

    item: str
    kind: Verdict
    link: Link | None = None
    conflicts: list[Conflict] = field(default_factory=list)  # the link's open conflicts
    record: SellRecord | None = None  # the Sell record, when there is one
    missing: SellRef | None = None  # a Sell record asked for that does not exist
    contact: HubSpotContact | None = None  # the HubSpot contact, when there is one
    contact_missing: bool = False  # a HubSpot contact was expected and is archived or gone
    score: str | None = None  # the contact's score, as HubSpot holds it
    list_id: str | None = None  # an unlinked contact: the synced list …
    in_list: bool | None = None  # … whether it is a member now
    reason: str | None = None  # … and the qualification rule's reason
    skip: str | None = None  # why a run skips it although it qualifies
    converted_from: SellRef | None = None  # a linked lead converted into it: the link moves (L1)
    held_by: SellRef | None = None  # L2: the other Sell record on the contact a merge left
    marked_by_run: int | None = None  # the run that tombstoned it or marked it deleted in HubSpot
    sell_held: str | None = None  # a linked pair: what the next sync holds back from Sell (M5)


class Explain:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def explain(self, item: str) -> Explanation:
        """Why ITEM did or did not sync: list, score vs threshold, link, tombstone, conflicts."""
        item = item.strip()
        parts = self.parts
        found = self._locate(item)
        link, contact, record = found.link, found.contact, found.record
        if link is None and contact is None and record is None:
            return found
        conflicts = parts.store.conflicts_for(link.sell) if link else []
        open_conflicts = [c for c in conflicts if c.status is ConflictStatus.OPEN]
        if link is not None:
            kind = {
                LinkState.TOMBSTONED: Verdict.TOMBSTONED,
                LinkState.HUBSPOT_DELETED: Verdict.HUBSPOT_DELETED,
                LinkState.HELD: Verdict.HELD,
            }.get(link.state, Verdict.SYNCED)
            found = replace(found, marked_by_run=self._marked_by(link))
            if link.state is LinkState.HELD:
                held_by = self._counterpart(link)
                return replace(found, kind=kind, conflicts=open_conflicts, held_by=held_by)
            if contact is not None and contact.id != link.hubspot_id:
                return self._absorbed(found, link, contact, open_conflicts)
            held = self._sell_held(link, record, contact) if kind is Verdict.SYNCED else None
            return replace(found, kind=kind, conflicts=open_conflicts, sell_held=held)
        if contact is not None:
            # the run's own planner screens it, so the answer is what the next run does
            planner = parts.engine.planner()
            list_id = parts.settings().list_id
            # the list as the next run reads it, not as the last run left it
            members = {contact.id} if self._in_list(list_id, contact.id) else set()
            screened, todo = planner.screen_imports([contact], {}, members)
            q = qualify(
                contact.properties.get(planner.score_property),
                in_list=bool(members),
                threshold=planner.threshold,
            )
            skips = [*screened.plan.skipped, *screened.errors]
            if todo:
                kind, skip = Verdict.QUALIFIES, None
            elif skips:
                kind, skip = Verdict.SKIPPED, skips[0].reason
            else:
                kind, skip = Verdict.NOT_QUALIFIED, None
            return replace(
                found,
                kind=kind,
                list_id=list_id,
                in_list=bool(members),
                reason=q.reason,
                skip=skip,
            )
        assert record is not None
        moved = self._converted_into(record.ref)
        if moved is not None:  # the next run moves the converted lead's link here (L1)
            link, lead = moved
            conflicts = parts.store.conflicts_for(lead)
            return replace(
                found,
                kind=Verdict.SYNCED,
                link=link,
                converted_from=lead,
                conflicts=[c for c in conflicts if c.status is ConflictStatus.OPEN],
            )
        if record.is_organization:
            kind = Verdict.COMPANY
        elif record.email is None:
            kind = Verdict.NO_EMAIL
        else:
            kind = Verdict.NOT_LINKED
        return replace(found, kind=kind)

    def _sell_held(
        self, link: Link, record: SellRecord | None, contact: HubSpotContact | None
    ) -> str | None:
        """Under ``read_only``: what the next sync holds back from Sell for this pair, as the
        run's planner decides it (None: nothing)."""
        if record is None or contact is None:
            return None
        planner = self.parts.engine.planner()
        if planner.sell_mode.writes_sell:
            return None
        planner.link_sync(record, contact, link)
        held = planner.held()
        return held[0].reason if held else None

    def _absorbed(
        self, found: Explanation, link: Link, survivor: HubSpotContact, conflicts: list[Conflict]
    ) -> Explanation:
        """L2: HubSpot merged the link's contact into ``survivor``. The run's facts step reads
        what the run reads from the survivor's side (every link it absorbed, their records, the
        link it has) and the run's planner decides once, as in the run: the link moves there
        (ABSORBED), is held (HELD, with its counterpart), or, a tombstone, moves as one."""
        facts = self._facts()
        pairs, converted = facts.for_decision(facts.absorbed_by([survivor]))
        plan = facts.p.planner.decide(pairs, converted).plan
        mine = next((d for d in plan.actions if d.sell == link.sell), None)
        if mine is None or Outcome.HUBSPOT_ABSORBED not in mine.outcomes:
            hold = None if mine is None or mine.link is None else mine.link.hold
            owner = next((p.survivor_link for p in pairs if p.survivor_link), None)
            if hold is not None:
                holder: SellRef | None = hold.counterpart
            elif owner is not None and owner.state is LinkState.ACTIVE:
                holder = owner.sell
            else:  # another absorbed link moves there first
                holder = next(
                    (d.sell for d in plan.actions if Outcome.HUBSPOT_ABSORBED in d.outcomes), None
                )
            kind = Verdict.TOMBSTONED if link.state is LinkState.TOMBSTONED else Verdict.HELD
            return replace(found, kind=kind, conflicts=conflicts, held_by=holder)
        kind = Verdict.TOMBSTONED if link.state is LinkState.TOMBSTONED else Verdict.ABSORBED
        return replace(found, kind=kind, conflicts=conflicts)

    def _facts(self) -> Facts:
        """The run's facts step over a read-only context, for one record."""
        p = self.parts
        context = p.engine.context()
        return Facts(
            FactSources(
                hubspot=p.hubspot,
                sell=p.sell,
                store=p.store,
                context=context,
                index=StoredEmailIndex(p.store),
                planner=context.planner(import_as=p.config.import_as),
            )
        )

    def _locate(self, item: str) -> Explanation:
        """What ITEM names: its link, Sell record and HubSpot contact (kind NOT_FOUND so far)."""
        store, hubspot, sell = self.parts.store, self.parts.hubspot, self.parts.sell
        link: Link | None = None
        contact: HubSpotContact | None = None
        record: SellRecord | None = None
        missing: SellRef | None = None
        props = self._props_to_read()
        hub_id = item.split(":", 1)[1] if item.lower().startswith("hubspot:") else None
        if hub_id is not None:
            link = store.links_by_hubspot([hub_id]).get(hub_id)
            found, _ = hubspot.read_contacts([hub_id], props)
            contact = found.get(hub_id)
            if link is None and contact is not None and contact.id != hub_id:
                link = store.links_by_hubspot([contact.id]).get(contact.id)  # merged (L2)
            if (
                contact is not None
                and contact.merged_ids
                and (link is None or link.state is not LinkState.ACTIVE)
            ):
                # a link to a contact merged into this one moves here at the next sync (L2)
                moving = links_that_follow(store.links_by_hubspot(contact.merged_ids).values())
                if moving:
                    link = moving[0]
        else:
            parsed = parse_items([item])
            if parsed.invalid:
                raise Refused(parsed.invalid[0].reason)
            if parsed.refs:
                ref = parsed.refs[0]
                link = store.links_by_sell([ref]).get(ref)
                record = sell.get_records(ref.kind, [ref.id]).get(ref.id)
                if record is None:
                    missing = ref
            elif parsed.emails:
                email = parsed.emails[0]
                entries = [e for entries in store.find_by_email([email]).values() for e in entries]
                if entries:
                    best = max(entries, key=lambda e: (e.ref.kind == "contact", e.updated_at))
                    link = store.links_by_sell([best.ref]).get(best.ref)
                    record = sell.get_records(best.ref.kind, [best.ref.id]).get(best.ref.id)
                contact = hubspot.read_contacts_by_email([email], props).get(email)
                if contact is not None and link is None:
                    link = store.links_by_hubspot([contact.id]).get(contact.id)
            else:
                raise Refused("give an email, lead:ID, contact:ID, a Sell URL or hubspot:ID")
            if link is not None and contact is None:
                found, _ = hubspot.read_contacts([link.hubspot_id], props)
                contact = found.get(link.hubspot_id)
        if link is not None and record is None:
            # both sides of a pair: a Sell record gone is what the next run finds (S5, L1); a
            # tombstone's record too, which may exist after all (a read that left it out)
            record = sell.get_records(link.sell.kind, [link.sell.id]).get(link.sell.id)
            if record is None:
                missing = link.sell
        return Explanation(
            item,
            Verdict.NOT_FOUND,
            link=link,
            record=record,
            missing=missing,
            contact=contact,
            contact_missing=contact is None and (hub_id is not None or link is not None),
            score=None
            if contact is None
            else contact.properties.get(self.parts.config.score_property),
        )

    def _marked_by(self, link: Link) -> int | None:
        """The run whose audit event tombstoned ``link`` or marked it deleted in HubSpot (the
        newest such event about the pair); None for other links."""
        if link.state not in (LinkState.TOMBSTONED, LinkState.HUBSPOT_DELETED):
            return None
        events = self.parts.store.audit_trail(subjects=[f"{link.sell}|{link.hubspot_id}"])
        marks = [e for e in events if e.kind == link.state.value and e.run_id is not None]
        return marks[-1].run_id if marks else None

    def _converted_into(self, ref: SellRef) -> tuple[Link, SellRef] | None:
        """A linked lead converted into this contact since the last run, read from the same
        conversion feed the run follows and decided by the same rule (L1)."""
        if ref.kind != "contact":
            return None
        store = self.parts.store
        mark = ConversionMark.from_mark(store.get_mark(LEAD_CONVERSIONS))
        for batch in ConversionFeed(self.parts.sell, mark).batches():
            mine = [c for c in batch if c.individual_id == ref.id]
            if mine:
                links = store.links_by_sell(SellRef("lead", c.lead_id) for c in mine)
                moved = converted_into(ref, mine, links)
                if moved is not None:
                    return moved
        return None

    def _counterpart(self, link: Link) -> SellRef | None:
        """A held link's counterpart, as stored with it, while it is still linked (a link held
        before counterparts were stored: the record its contact is linked to)."""
        stored = link.hold.counterpart if link.hold is not None else None
        if stored is not None:
            other = self.parts.store.links_by_sell([stored]).get(stored)
            return stored if other is not None and other.state is LinkState.ACTIVE else None
        owner = self.parts.store.links_by_hubspot([link.hubspot_id]).get(link.hubspot_id)
        return owner.sell if owner and owner.state is LinkState.ACTIVE else None

    def _in_list(self, list_id: str, contact_id: str) -> bool:
        """Whether the contact is a member of the synced list now, as the next run reads it (a
        member joined since the last sync is one): one call for the lists it is in."""
        return list_id in self.parts.hubspot.lists_of(contact_id)

    def _props_to_read(self) -> list[str]:
        return sorted({"email", "firstname", "lastname", self.parts.config.score_property})

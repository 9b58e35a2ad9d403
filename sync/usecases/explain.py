"""``status ITEM``: why a record did or did not sync, from its link, both sides and the rules.

The answer is a :class:`Verdict` with the facts it rests on. The facts are plain sentences about
the data (no Slack markup, no command names); what a person should do next (the command that
pushes a record) is worded by the bot, which knows whether it is talking in Slack or a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sync.domain import (
    Conflict,
    ConflictStatus,
    HubSpotContact,
    Link,
    LinkState,
    SellRecord,
    SellRef,
)
from sync.push import parse_items
from sync.qualify import qualify
from sync.usecases.common import Parts, Refused
from sync.usecases.fields import field_label


class Verdict(StrEnum):
    NOT_FOUND = "not_found"
    TOMBSTONED = "tombstoned"  # its Sell record was deleted (S5)
    HUBSPOT_DELETED = "hubspot_deleted"  # its HubSpot contact was deleted (S6)
    SYNCED = "synced"  # linked (S7)
    QUALIFIES = "qualifies"  # enters Sell at the next sync (S1)
    NOT_QUALIFIED = "not_qualified"  # a HubSpot contact the rules keep out of Sell
    COMPANY = "company"  # a Sell company contact: never sent to HubSpot
    NO_EMAIL = "no_email"  # a Sell record without an email
    NOT_LINKED = "not_linked"  # a Sell record that can be pushed


@dataclass(frozen=True)
class Explanation:
    """Why a record did or did not sync.

    ``verdict`` is the one-line answer as plain text; ``kind`` says which answer it is, and
    ``ref`` the Sell record a NOT_LINKED answer is about (the bot adds how to push it).
    """

    item: str
    verdict: str  # one line
    facts: list[str]
    link: Link | None = None
    conflicts: list[Conflict] = field(default_factory=list)
    kind: Verdict | None = None
    ref: SellRef | None = None


class Explain:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def explain(self, item: str) -> Explanation:
        """Why ITEM did or did not sync: list, score vs threshold, link, tombstone, conflicts."""
        item = item.strip()
        parts = self.parts
        settings = parts.settings()
        link, contact, record, facts = self._locate(item)
        if link is None and contact is None and record is None:
            return Explanation(
                item,
                "not found in Sell, in HubSpot or among synced records",
                facts,
                kind=Verdict.NOT_FOUND,
            )
        conflicts = parts.store.conflicts_for(link.sell) if link else []
        open_conflicts = [c for c in conflicts if c.status is ConflictStatus.OPEN]
        if link is not None:
            when = (
                link.last_synced_at.strftime("%Y-%m-%d %H:%M UTC")
                if link.last_synced_at
                else "never"
            )
            facts.append(
                f"Linked: {link.sell} ↔ HubSpot {link.hubspot_id} (from {link.origin.value}); last synced {when}"
            )
        ref = None
        if link is not None and link.state is LinkState.TOMBSTONED:
            kind = Verdict.TOMBSTONED
            verdict = (
                f"not synced: its Sell record {link.sell} was deleted, so HubSpot contact "
                f"{link.hubspot_id} is never created in Sell again (a manager can restore it)"
            )
        elif link is not None and link.state is LinkState.HUBSPOT_DELETED:
            kind = Verdict.HUBSPOT_DELETED
            verdict = (
                f"not synced: HubSpot contact {link.hubspot_id} was deleted in HubSpot; the Sell "
                "record is kept. Push it again to re-create it in HubSpot"
            )
        elif link is not None:
            kind = Verdict.SYNCED
            verdict = "synced: linked pairs keep syncing both ways whatever their list or score"
            if open_conflicts:
                verdict += f" ({len(open_conflicts)} open conflict{'s' if len(open_conflicts) > 1 else ''})"
        elif contact is not None:
            members = parts.store.known_members(settings.list_id)
            in_list = contact.id in members
            facts.append(
                f"In the synced list {settings.list_id}: {'yes' if in_list else 'no'} (as of the last sync)"
            )
            q = qualify(
                contact.properties.get(parts.config.score_property),
                in_list=in_list,
                threshold=settings.threshold,
            )
            facts.append(f"Score: {q.reason}")
            if q.qualifies:
                kind, verdict = Verdict.QUALIFIES, "qualifies: it enters Sell at the next sync"
            else:
                kind, verdict = Verdict.NOT_QUALIFIED, f"not synced: {q.reason}"
        else:
            assert record is not None
            if record.is_organization:
                kind = Verdict.COMPANY
                verdict = "not synced: company contacts can't be added to HubSpot"
            elif record.email is None:
                kind, verdict = (
                    Verdict.NO_EMAIL,
                    "not synced: it has no email (HubSpot requires one)",
                )
            else:
                kind, verdict, ref = Verdict.NOT_LINKED, "not linked yet", record.ref
        for c in open_conflicts:
            facts.append(
                f"Open conflict on {field_label(c.field)}: Sell {c.sell_value!r} vs HubSpot {c.hubspot_value!r}"
            )
        return Explanation(item, verdict, facts, link, open_conflicts, kind, ref)

    def _locate(
        self, item: str
    ) -> tuple[Link | None, HubSpotContact | None, SellRecord | None, list[str]]:
        store, hubspot, sell = self.parts.store, self.parts.hubspot, self.parts.sell
        facts: list[str] = []
        link: Link | None = None
        contact: HubSpotContact | None = None
        record: SellRecord | None = None
        props = self._props_to_read()
        hub_id = item.split(":", 1)[1] if item.lower().startswith("hubspot:") else None
        if hub_id is not None:
            link = store.links_by_hubspot([hub_id]).get(hub_id)
            found, _ = hubspot.read_contacts([hub_id], props)
            contact = found.get(hub_id)
        else:
            parsed = parse_items([item])
            if parsed.invalid:
                raise Refused(parsed.invalid[0].reason)
            if parsed.refs:
                ref = parsed.refs[0]
                link = store.links_by_sell([ref]).get(ref)
                record = sell.get_records(ref.kind, [ref.id]).get(ref.id)
                if record is None:
                    facts.append(f"Sell: {ref} does not exist (deleted?)")
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
        if record is not None:
            facts.append(f"Sell: {record.ref}, email {record.email or '(none)'}")
        if contact is not None:
            score = contact.properties.get(self.parts.config.score_property)
            facts.append(
                f"HubSpot: contact {contact.id}, email {contact.email or '(none)'}, score {score or '(blank)'}"
            )
        elif hub_id is not None or (link is not None):
            facts.append("HubSpot: the contact is archived or does not exist")
        return link, contact, record, facts

    def _props_to_read(self) -> list[str]:
        return sorted({"email", "firstname", "lastname", self.parts.config.score_property})

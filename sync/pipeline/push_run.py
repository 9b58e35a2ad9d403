"""S4, a push: send the Sell records a rep names to HubSpot, built from the run's parts.

The items are parsed and resolved to Sell records (refs, emails through the email index, tags),
each is planned like a run plans it (re-sync when linked, merge with a HubSpot contact that has
its email, or create one), and the applier writes it. Contacts HubSpot reports as duplicates
while creating (created meanwhile, or by an interrupted push) are merged, never duplicated.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.domain import (
    RECORD_KINDS,
    HubSpotContact,
    LinkOrigin,
    LinkState,
    RecordKind,
    SellRecord,
    SellRef,
)
from sync.feeds.marks import SellChangeMark, sell_changes_name, sell_index_name
from sync.feeds.sell import SellChangeFeed
from sync.pipeline.sync_run import RunParts
from sync.plan import LinkedPair, PagePlan, RecordDecision
from sync.ports import AuditEvent
from sync.push import parse_items, select_records


class PushRun:
    def __init__(self, parts: RunParts) -> None:
        self.p = parts

    def push(self, items: Sequence[str], *, actor: str) -> None:
        p = self.p
        parsed = parse_items(items)
        out = PagePlan()
        for bad in parsed.invalid:
            out.plan.skip(bad.item, bad.reason)
        if parsed.emails or parsed.tags:
            for kind in RECORD_KINDS:  # a couple of calls when idle
                self._refresh_index(kind)
        refs: dict[SellRef, str] = {ref: str(ref) for ref in parsed.refs}
        found_emails = p.index.find(parsed.emails)
        for email in parsed.emails:
            entries = found_emails.get(email, [])
            if not entries:
                out.plan.skip(email, "no Sell lead or contact has this email")
            for entry in entries:
                refs.setdefault(entry.ref, email)
        for tag in parsed.tags:
            entries = p.index.find_by_tag(tag)
            if not entries:
                out.plan.skip(f"tag:{tag}", "no Sell lead or contact has this tag")
            for entry in entries:
                refs.setdefault(entry.ref, f"tag:{tag}")
        records = p.facts.read_sell(refs)
        for ref, item in refs.items():
            if ref not in records:
                out.plan.skip(item if item == str(ref) else f"{item} ({ref})", "not found in Sell")
        selection = select_records(list(records.values()))
        for s in selection.skipped:
            out.plan.skip(s.item, s.reason)
        to_hubspot = self._plan_linked(out, list(selection.chosen))
        creates = self._plan_merges(out, to_hubspot)
        p.apply(out)
        linked_ids = [a.hubspot_id for a in p.report.applied.actions if a.hubspot_id]
        created_ids = self._create(creates)
        p.applier.add_to_synced_list(p.context, linked_ids + created_ids)
        p.applier.audit(
            AuditEvent(
                at=p.clock.now(),
                kind="push",
                subject=", ".join(items)[:500],
                detail={"counts": dict(p.report.counts())},
                actor=actor,
            )
        )

    def _plan_linked(self, out: PagePlan, chosen: list[SellRecord]) -> list[SellRecord]:
        """Re-sync records already linked; return those to merge or create in HubSpot."""
        p = self.p
        existing = p.store.links_by_sell(r.ref for r in chosen)
        active = {
            r.ref: existing[r.ref]
            for r in chosen
            if r.ref in existing and existing[r.ref].state is LinkState.ACTIVE
        }
        contacts: dict[str, HubSpotContact] = {}
        if active:
            contacts, _gone = p.hubspot.read_contacts(
                [link.hubspot_id for link in active.values()], p.context.hubspot_props()
            )
        to_hubspot: list[SellRecord] = []
        for r in chosen:
            link = active.get(r.ref)
            if link is None or link.hubspot_id not in contacts:
                to_hubspot.append(r)  # never linked, or its HubSpot contact is gone (S6)
                continue
            if contacts[link.hubspot_id].id != link.hubspot_id:  # merged in HubSpot (L2)
                pair = LinkedPair(link, r, contacts[link.hubspot_id])
                out.extend(p.planner.linked_pairs(p.facts.with_survivor_links([pair])))
                continue
            decided = p.planner.link_sync(r, contacts[link.hubspot_id], link)
            out.add(decided)
            if not isinstance(decided, RecordDecision):
                out.plan.skip(
                    str(r.ref),
                    f"already linked to HubSpot contact {link.hubspot_id} and up to date",
                )
        return to_hubspot

    def _plan_merges(self, out: PagePlan, records: list[SellRecord]) -> list[SellRecord]:
        """Merge with the HubSpot contact holding the email; return the records to create."""
        p = self.p
        emails = [r.email for r in records if r.email]
        existing = (
            p.hubspot.read_contacts_by_email(emails, p.context.hubspot_props()) if emails else {}
        )
        hub_links = p.store.links_by_hubspot(c.id for c in existing.values())
        creates: list[SellRecord] = []
        for r in records:
            contact = existing.get(r.email or "")
            if contact is None:
                creates.append(r)
                continue
            other = hub_links.get(contact.id)
            if other is not None and other.state is LinkState.ACTIVE and other.sell != r.ref:
                out.plan.skip(
                    str(r.ref), f"HubSpot contact {contact.id} is already linked to {other.sell}"
                )
                continue
            note = "merged with the existing HubSpot contact"
            if other is not None and other.state is LinkState.TOMBSTONED:
                note += " (its tombstone was lifted by this push)"
            out.add(p.planner.first_link(r, contact, LinkOrigin.PUSH, note))
        return creates

    def _create(self, records: Sequence[SellRecord]) -> list[str]:
        p = self.p
        out = PagePlan()
        for r in records:
            out.add(p.planner.create_in_hubspot(r))
        created = p.applier.create_in_hubspot(out)
        if not created.duplicates:
            return created.ids
        # Created meanwhile (or by an earlier, interrupted push): merge, never duplicate.
        by_ref = {r.ref: r for r in records}
        contacts, _ = p.hubspot.read_contacts(
            [cid for _, cid in created.duplicates], p.context.hubspot_props()
        )
        merges = PagePlan()
        for ref, cid in created.duplicates:
            if cid in contacts:
                merges.add(
                    p.planner.first_link(
                        by_ref[ref],
                        contacts[cid],
                        LinkOrigin.PUSH,
                        "merged with the existing HubSpot contact",
                    )
                )
        p.apply(merges)
        return created.ids + [cid for _, cid in created.duplicates if cid in contacts]

    def _refresh_index(self, kind: RecordKind) -> None:
        """The email index from the Sell feed, under its own mark (the run's feed stays put)."""
        p = self.p
        mark = p.store.get_mark(sell_index_name(kind)) or p.store.get_mark(sell_changes_name(kind))
        feed = SellChangeFeed(p.sell, kind, SellChangeMark.from_mark(mark))
        for page in feed.pages():
            p.index.add(page)
        new_mark = feed.mark.close_slice()
        if new_mark is not None:
            p.applier.save_mark(sell_index_name(kind), new_mark)

"""L1, lead conversions: a linked lead Sell converted moves its link to the new contact.

Converting a lead gives it a new id as a contact and takes the lead off the leads list, so to
every read of the lead it looks deleted. The conversion (``GET /v2/lead_conversions``) is the
only map from the lead to its contact: a converted lead's link moves there, snapshots kept, and
is synced there at once (S10 mirrors land in the contact's custom fields); only a lead that was
not converted is tombstoned (S5). A lead converted into an organization only, or whose contact
was deleted since, is tombstoned with that reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from sync.domain import LeadConversion, Link, LinkState, Outcome, SellRef, Skip
from sync.plan import (
    ConvertedLead,
    LinkedPair,
    PagePlan,
    RecordDecision,
    after_event,
    hubspot_gone,
    tombstone,
)
from sync.rules.contact_merges import SyncPair

#: Why a write to a lead that Sell converted meanwhile did not happen (the next run's
#: conversion feed moves its link).
CONVERTED_DURING_RUN = "converted in Sell during the run"


def follows(link: Link | None) -> bool:
    """A conversion moves only an active link (a conversion of an unlinked lead creates nothing)."""
    return link is not None and link.state is LinkState.ACTIVE


def leads_to_look_up(pairs: Iterable[LinkedPair], followed: set[SellRef]) -> list[int]:
    """The leads gone from Sell among ``pairs`` that may be converted rather than deleted."""
    return [p.link.sell.id for p in pairs if p.lead_missing and p.link.sell not in followed]


def follow_conversions(leads: Sequence[ConvertedLead], sync: SyncPair) -> PagePlan:
    """Each converted lead's link moves to its individual contact and is synced there."""
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
            out.add(after_event(Outcome.CONVERTED, summary, hubspot_gone(moved), moved_from=lead))
            continue
        # A contact HubSpot merged meanwhile (L2) is followed by the next run's read of it,
        # which checks the survivor's links first: this move only re-points the Sell side.
        absorbed = c.contact is not None and c.contact.id != c.link.hubspot_id
        synced = None if c.contact is None or absorbed else sync(c.record, c.contact, moved)
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
            out.add(after_event(Outcome.CONVERTED, summary, synced, moved_from=lead))
    return out


def sell_gone_on_write(decision: RecordDecision, converted: bool) -> RecordDecision | Skip:
    """A Sell write found the record gone: a lead converted after it was read is left to the
    next run's conversion feed; any other record is tombstoned (S5)."""
    assert decision.link is not None
    if converted:
        return Skip(str(decision.link.sell), CONVERTED_DURING_RUN)
    gone = tombstone(decision.link, "deleted in Sell")
    return replace(gone, moved_from=decision.moved_from)


def converted_into(
    contact: SellRef,
    conversions: Iterable[LeadConversion],
    links: Mapping[SellRef, Link],
) -> tuple[Link, SellRef] | None:
    """The linked lead converted into ``contact`` that the next run moves here: the link it
    will have, and the lead it moves from (``links``: the links of the converted leads)."""
    if contact.kind != "contact":
        return None
    for conversion in conversions:
        if conversion.individual_id != contact.id:
            continue
        lead = SellRef("lead", conversion.lead_id)
        link = links.get(lead)
        if follows(link):
            assert link is not None
            return replace(link, sell=contact), lead
    return None

"""L2, HubSpot contact merges: a linked contact merged into another moves its link there.

HubSpot answers a read of the merged (absorbed) contact with the surviving one, and the survivor
lists the absorbed ids in ``hs_merged_object_ids``. The link moves to the survivor and is synced
there, unless the survivor is linked to another Sell record already: then the link is held for a
manager (a held link, :class:`~sync.domain.Hold`: reason ``CONTACT_MERGE``, its counterpart the
record the survivor is linked to), never guessed. A tombstone
moves too, so that S5 keeps the survivor out of Sell.

Words: the event is HubSpot's "contact merge" (this module's name, HubSpot's
``hs_merged_object_ids``, and what users read: "merged in HubSpot"). What the code does about it
says "absorb" (the survivor absorbed a contact: ``absorbed_from``, ``HUBSPOT_ABSORBED``), because
"merge" alone is the merge of two records on their first link (:mod:`sync.merge`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from sync.domain import (
    Hold,
    HoldReason,
    HubSpotContact,
    Link,
    LinkState,
    Outcome,
    SellRecord,
    SellRef,
    Skip,
)
from sync.plan import LinkedPair, PagePlan, RecordDecision, after_event, tombstone

#: Link states a HubSpot contact merge moves to the survivor (L2): a link S6 stopped may have been
#: stopped by a read that reported its merged contact missing, and a tombstone moves so that S5
#: keeps the survivor out of Sell.
MOVES_TO_SURVIVOR = (LinkState.ACTIVE, LinkState.HUBSPOT_DELETED, LinkState.TOMBSTONED)

#: S9 for a pair (the planner's ``link_sync``): a decision, a record that cannot be planned, or
#: None when the pair is in step.
SyncPair = Callable[[SellRecord, HubSpotContact, Link], RecordDecision | Skip | None]


def links_that_follow(links: Iterable[Link]) -> list[Link]:
    """The links of absorbed contacts that move to the survivor, lowest row first (the order
    the run reads them in)."""
    return sorted(
        (link for link in links if link.state in MOVES_TO_SURVIVOR), key=lambda link: link.id or 0
    )


def follow_absorbed_contact(
    p: LinkedPair, claimed: dict[str, SellRef], out: PagePlan, sync: SyncPair
) -> None:
    """The link moves to the surviving contact and is synced there, unless the survivor is
    linked to another Sell record already (or another link of this plan moved there first):
    then the link is held for a manager. ``claimed``: survivors a link moved to in this plan."""
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
                    (Outcome.HUBSPOT_ABSORBED,),
                    link.sell,
                    survivor.id,
                    f"{head}; its tombstone moved with it",
                    link=replace(link, hubspot_id=survivor.id),
                    absorbed_from=absorbed,
                )
            )
        return
    if other is not None and other != link.sell:
        out.add(
            RecordDecision(
                (Outcome.LINK_HELD,),
                link.sell,
                survivor.id,
                f"{head}, which is linked to {other} already; a manager chooses which link stays",
                link=replace(
                    link,
                    hubspot_id=survivor.id,
                    state=LinkState.HELD,
                    hold=Hold(HoldReason.CONTACT_MERGE, other),
                ),
                absorbed_from=absorbed,
            )
        )
        return
    claimed[survivor.id] = link.sell
    moved = replace(link, hubspot_id=survivor.id, state=LinkState.ACTIVE)
    summary = f"{head}; the link moved with it"
    if p.record is None:
        gone = tombstone(moved, "deleted in Sell")
        out.add(after_event(Outcome.HUBSPOT_ABSORBED, summary, gone, absorbed_from=absorbed))
        return
    synced = sync(p.record, survivor, moved)
    if isinstance(synced, Skip):
        out.errors.append(synced)  # the link still moves; its values wait for a fix
        synced = None
    if synced is None:
        decision = RecordDecision(
            (Outcome.HUBSPOT_ABSORBED,), link.sell, survivor.id, summary, link=moved
        )
    else:
        decision = after_event(Outcome.HUBSPOT_ABSORBED, summary, synced)
    out.add(replace(decision, absorbed_from=absorbed))

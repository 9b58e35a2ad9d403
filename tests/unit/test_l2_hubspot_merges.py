"""L2 over the in-memory CRMs: a HubSpot contact merged into another is not a deletion. The link
moves to the surviving contact (same row, snapshots kept) and is audited; nothing is written to
the merged-away id again; a survivor already linked to another Sell record is not guessed: the
link is held and reported to managers as a link conflict, which a manager settles.
"""

from __future__ import annotations

import pytest

from sync.domain import Hold, HoldReason, Link, LinkState, Outcome, SellRef
from sync.service import Actor, Refused
from tests.conftest import World

MANAGER = Actor("U_MANAGER", is_manager=True)
REP = Actor("U_REP")


def _linked(world: World, email: str, last: str, **props: object) -> tuple[SellRef, str]:
    rid = world.sell.add("lead", email=email, last_name=last)
    cid = world.member(score=80, email=email, lastname=last, **props)
    world.sync()
    link = world.link_of_hubspot(cid)
    assert link is not None and link.sell == SellRef("lead", rid)
    return link.sell, cid


def _survivor(world: World, email: str, last: str, **props: object) -> str:
    """A HubSpot contact outside the list, so no run links it by itself."""
    return world.hubspot.add_contact(hubspotscore=10, email=email, lastname=last, **props)


def test_l2_a_merged_contact_moves_its_link_to_the_survivor(world: World) -> None:
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    before = world.link_of_hubspot(absorbed)
    survivor = _survivor(world, "ada.l@x.com", "Lovelace", jobtitle="Countess")
    world.hubspot.merge(survivor, absorbed)
    report = world.sync()
    link = world.store.links_by_sell([ref])[ref]
    assert link.hubspot_id == survivor and link.state is LinkState.ACTIVE
    assert link.id == before.id  # the same row: snapshots and history kept
    assert report.counts()[Outcome.HUBSPOT_ABSORBED.value] == 1
    assert report.counts().get("hubspot_deleted", 0) == 0
    events = world.store.audit_trail(subjects=[f"{ref}|{survivor}"])
    merged = [e for e in events if e.kind == Outcome.HUBSPOT_ABSORBED.value]
    assert len(merged) == 1 and merged[0].detail["merged_from"] == absorbed
    # synced at once with the survivor (S9: HubSpot's new value fills Sell's blank title)
    assert world.sell.value("lead", ref.id, "title") == "Countess"
    assert world.hubspot.writes_to_merged_ids == []


def test_l2_a_merge_seen_by_a_sell_side_read_moves_the_link_and_writes_to_the_survivor(
    world: World,
) -> None:
    """The Sell change feed reads the linked contact: HubSpot answers with the survivor. The
    Sell value is written to the survivor, never to the merged-away id."""
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    survivor = _survivor(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    world.sell.edit(ref.kind, ref.id, title="Analyst")
    world.sync()
    assert world.link_of_hubspot(survivor).sell == ref
    assert world.hubspot.value(survivor, "jobtitle") == "Analyst"
    assert world.hubspot.writes_to_merged_ids == []
    # and from then on the pair syncs through the survivor only
    world.sell.edit(ref.kind, ref.id, title="Engineer")
    world.sync()
    assert world.hubspot.value(survivor, "jobtitle") == "Engineer"
    assert world.hubspot.writes_to_merged_ids == []


def test_l2_a_link_stopped_as_deleted_before_its_merge_was_seen_is_followed(
    world: World,
) -> None:
    """A read that reported the merged contact missing made it an S6 deletion; the survivor's
    ``hs_merged_object_ids`` brings the link back, moved."""
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    world.store.save_link(
        _with_state(world.store.links_by_sell([ref])[ref], LinkState.HUBSPOT_DELETED)
    )
    survivor = _survivor(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    world.sync()
    link = world.store.links_by_sell([ref])[ref]
    assert link.hubspot_id == survivor and link.state is LinkState.ACTIVE


def test_l2_a_tombstone_follows_the_merge_so_the_survivor_is_not_imported(world: World) -> None:
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    world.sell.delete(ref.kind, ref.id)
    world.sync(full=True)
    assert world.link_of_hubspot(absorbed).state is LinkState.TOMBSTONED
    survivor = world.member(score=90, email="ada.l@x.com", lastname="Lovelace")
    world.hubspot.merge(survivor, absorbed)
    leads = len(world.sell.of_kind("lead"))
    world.sync()
    world.sync()
    assert len(world.sell.of_kind("lead")) == leads  # S5 follows the person
    assert world.link_of_hubspot(survivor).state is LinkState.TOMBSTONED


def test_l2_a_survivor_linked_to_another_record_is_a_link_conflict_not_a_guess(
    world: World,
) -> None:
    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace")
    ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    report = world.sync()
    assert report.counts()[Outcome.LINK_HELD.value] == 1
    held = world.store.links_by_sell([ref_a])[ref_a]
    assert held.state is LinkState.HELD and held.hubspot_id == survivor
    owner = world.link_of_hubspot(survivor)
    assert owner.sell == ref_b and owner.state is LinkState.ACTIVE
    page = world.service.held_links()
    assert page.total == 1
    assert page.links[0].held.sell == ref_a and page.links[0].linked.sell == ref_b
    # held links are not synced: a Sell change on A reaches no HubSpot contact
    world.sell.edit(ref_a.kind, ref_a.id, title="Held")
    world.sync()
    assert world.hubspot.value(survivor, "jobtitle") != "Held"
    assert world.hubspot.writes_to_merged_ids == []
    # reported once, not again at every run
    assert world.sync().counts().get(Outcome.LINK_HELD.value, 0) == 0


@pytest.mark.parametrize("keep_held", [True, False])
def test_l2_a_manager_keeps_one_of_the_two_links(world: World, keep_held: bool) -> None:
    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace")
    ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    world.sync()
    with pytest.raises(Refused):
        world.service.keep_link(ref_a, ref_a, actor=REP)
    keep, other = (ref_a, ref_b) if keep_held else (ref_b, ref_a)
    unlinked, changed = world.service.keep_link(ref_a, keep, actor=MANAGER)
    assert changed and unlinked == other
    links = world.store.links_by_sell([ref_a, ref_b])
    assert links[keep].state is LinkState.ACTIVE and links[keep].hubspot_id == survivor
    assert other not in links
    assert world.link_of_hubspot(survivor).sell == keep
    assert world.service.held_links().total == 0
    # a second click (another manager at the same time) changes nothing
    assert world.service.keep_link(ref_a, keep, actor=MANAGER) == (None, False)
    events = world.store.audit_trail(subjects=[f"{ref_a}|{survivor}"])
    assert [e.detail["unlinked"] for e in events if e.kind == "link_conflict_resolved"] == [
        str(other)
    ]
    # the kept pair syncs again
    world.sell.edit(keep.kind, keep.id, title="Kept")
    world.sync()
    assert world.hubspot.value(survivor, "jobtitle") == "Kept"


def test_l2_keeping_a_record_that_is_not_part_of_the_conflict_is_refused(world: World) -> None:
    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace")
    _ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    world.sync()
    with pytest.raises(Refused, match="not one of the two"):
        world.service.keep_link(ref_a, SellRef("lead", 999_999), actor=MANAGER)
    assert world.service.held_links().total == 1


def test_l2_only_the_stored_counterpart_is_kept_not_whoever_links_the_survivor_now(
    world: World,
) -> None:
    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace")
    ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    world.sync()
    assert world.store.links_by_sell([ref_a])[ref_a].hold == Hold(HoldReason.CONTACT_MERGE, ref_b)
    newcomer = SellRef("lead", 424_242)
    world.store.delete_link(ref_b)  # the counterpart was unlinked; another record took the contact
    world.store.save_link(Link(sell=newcomer, hubspot_id=survivor))
    page = world.service.held_links()
    assert page.total == 1 and page.links[0].linked is None
    with pytest.raises(Refused, match="not one of the two"):
        world.service.keep_link(ref_a, newcomer, actor=MANAGER)
    assert world.store.links_by_sell([newcomer])[newcomer].state is LinkState.ACTIVE


def test_l2_two_links_merged_into_one_unlinked_survivor_move_one_and_hold_the_other(
    world: World,
) -> None:
    ref_a, first = _linked(world, "ada@x.com", "Lovelace")
    ref_b, second = _linked(world, "ada.l@x.com", "Lovelace")
    survivor = _survivor(world, "ada.b@x.com", "Byron")
    world.hubspot.merge(survivor, first)
    world.hubspot.merge(survivor, second)
    world.sync()
    links = world.store.links_by_sell([ref_a, ref_b])
    states = sorted(link.state.value for link in links.values())
    assert states == [LinkState.ACTIVE.value, LinkState.HELD.value]
    assert {link.hubspot_id for link in links.values()} == {survivor}
    assert world.service.held_links().total == 1


def test_l2_status_says_a_merged_link_moves_at_the_next_sync(world: World) -> None:
    """L5 for L2: the status of a linked record whose contact was merged says what the run does."""
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    survivor = _survivor(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    assert world.service.explain(str(ref)).kind.value == "merged"
    world.sync()
    assert world.service.explain(str(ref)).kind.value == "synced"
    # asked by the merged-away id, the answer is the survivor's link
    assert world.service.explain(f"hubspot:{absorbed}").link.sell == ref


def test_l2_resolving_a_field_conflict_of_a_merged_contact_waits_for_the_move(
    world: World,
) -> None:
    rid = world.sell.add("lead", email="ada@x.com", last_name="Lovelace", title="Analyst")
    absorbed = world.member(score=80, email="ada@x.com", lastname="Lovelace", jobtitle="Eng")
    world.sync()
    (conflict,) = world.service.conflicts().conflicts
    survivor = _survivor(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    with pytest.raises(Refused, match="merged"):
        world.service.resolve_conflict(conflict.id or 0, "keep_sell", actor=MANAGER)
    assert world.hubspot.writes_to_merged_ids == []
    world.sync()
    _, changed = world.service.resolve_conflict(conflict.id or 0, "keep_sell", actor=MANAGER)
    assert changed
    assert world.hubspot.value(survivor, "jobtitle") == "Analyst"
    assert world.sell.value("lead", rid, "title") == "Analyst"


def test_l2_a_push_of_a_record_whose_contact_was_merged_moves_its_link(world: World) -> None:
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    survivor = _survivor(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    result = world.service.push([str(ref)], actor=REP)
    assert Outcome.HUBSPOT_ABSORBED.value in result.counts()
    assert world.link_of_hubspot(survivor).sell == ref
    assert world.hubspot.writes_to_merged_ids == []


def _with_state(link, state):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    return replace(link, state=state)


def test_l2_status_says_a_merge_onto_a_linked_contact_will_be_held_and_then_is(
    world: World,
) -> None:
    from bot.blocks.status import verdict_text

    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace")
    ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    before = world.service.explain(str(ref_a))
    assert before.kind.value == "merge_held" and before.held_by == ref_b
    assert verdict_text(before).startswith("about to be held")
    world.sync()
    after = world.service.explain(str(ref_a))
    assert after.kind.value == "merge_held" and after.held_by == ref_b
    assert verdict_text(after).startswith(f"held: HubSpot merged its contact into {survivor}")
    assert str(ref_b) in verdict_text(after)


def test_l2_the_survivor_of_a_link_conflict_still_syncs_what_the_merge_gave_it(
    world: World,
) -> None:
    """A's contact (with a job title) merges into B's (without one). The merge is seen through
    a Sell change of A (its link is held), and B's pair still takes the survivor's new title."""
    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace", jobtitle="Countess")
    ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    assert world.hubspot.value(survivor, "jobtitle") == "Countess"
    world.sell.edit(ref_a.kind, ref_a.id, phone="+1 555 0100")
    report = world.sync()
    assert report.counts()[Outcome.LINK_HELD.value] == 1
    assert world.sell.value(ref_b.kind, ref_b.id, "title") == "Countess"


def test_l2_a_lead_converted_while_its_contact_was_merged_follows_both(world: World) -> None:
    """L1 and L2 in one run: the link moves to the new Sell contact, and (a run later at most)
    to the HubSpot survivor; nothing is written to the merged-away id."""
    ref, absorbed = _linked(world, "ada@x.com", "Lovelace")
    survivor = _survivor(world, "ada.l@x.com", "Lovelace")
    contact = SellRef("contact", world.sell.convert(ref.id).individual_id or 0)
    world.hubspot.merge(survivor, absorbed)
    world.sync()
    world.sync()
    link = world.store.links_by_sell([contact])[contact]
    assert link.hubspot_id == survivor and link.state is LinkState.ACTIVE
    assert world.hubspot.writes_to_merged_ids == []


def test_l2_a_held_link_stores_why_it_is_held_and_its_counterpart(world: World) -> None:
    ref_a, absorbed = _linked(world, "ada@x.com", "Lovelace")
    ref_b, survivor = _linked(world, "ada.l@x.com", "Lovelace")
    world.hubspot.merge(survivor, absorbed)
    world.sync()
    held = world.store.links_by_sell([ref_a])[ref_a]
    assert held.state is LinkState.HELD
    assert held.hold == Hold(HoldReason.CONTACT_MERGE, ref_b)
    assert world.service.explain(f"{ref_a}").held_by == ref_b
    world.service.keep_link(ref_a, ref_a, actor=MANAGER)  # kept: no longer held
    kept = world.store.links_by_sell([ref_a])[ref_a]
    assert kept.state is LinkState.ACTIVE and kept.hold is None

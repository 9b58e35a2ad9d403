"""L1 over the in-memory CRMs: a converted Sell lead is not a deletion. Its link moves to the new
individual contact (same row, snapshots and open conflicts kept), the move is audited, and the S10
mirrors go to the contact's custom fields; a conversion of an unlinked lead creates nothing; a
linked lead found missing is looked up among the conversions before it could become a tombstone.
"""

from __future__ import annotations

import pytest

from sync.domain import ConflictStatus, FeedMark, LinkState, Outcome, SellRef
from sync.feeds.marks import LEAD_CONVERSIONS, ConversionMark
from tests.conftest import World

SCORE = "custom_fields.HubSpot score"


def _linked_lead(world: World, **lead: object) -> tuple[int, str]:
    rid = world.sell.add("lead", email="ada@x.com", last_name="Lovelace", **lead)
    cid = world.member(score=80, email="ada@x.com", lastname="Lovelace")
    world.sync()
    link = world.link_of_hubspot(cid)
    assert link is not None and link.sell == SellRef("lead", rid)
    return rid, cid


def test_l1_a_converted_linked_lead_moves_its_link_to_the_new_contact(world: World) -> None:
    rid, cid = _linked_lead(world)
    before = world.link_of_hubspot(cid)
    conversion = world.sell.convert(rid)
    assert conversion.individual_id is not None
    contact = SellRef("contact", conversion.individual_id)
    world.sell.records[("contact", contact.id)].values.pop(SCORE, None)  # not copied over
    leads_before = len(world.sell.of_kind("lead"))
    report = world.sync()
    after = world.link_of_hubspot(cid)
    assert after is not None and after.sell == contact and after.state is LinkState.ACTIVE
    assert after.id == before.id and after.hubspot_id == cid
    assert after.snapshot["email"] == before.snapshot["email"]
    assert report.counts()["converted"] == 1 and report.counts().get("tombstoned", 0) == 0
    assert world.store.links_by_sell([SellRef("lead", rid)]) == {}
    assert world.sell.custom("contact", contact.id, "HubSpot score") in ("80", 80)  # S10
    assert len(world.sell.of_kind("lead")) == leads_before  # no new lead for that email
    events = world.store.audit_trail(subjects=[f"{contact}|{cid}"])
    moved = [e for e in events if e.kind == Outcome.CONVERTED.value]
    assert len(moved) == 1 and moved[0].detail["moved_from"] == f"lead:{rid}"
    # The contact then syncs like any linked record: a HubSpot change reaches it.
    world.hubspot.set(cid, jobtitle="Countess")
    world.sync()
    assert world.sell.value("contact", contact.id, "title") == "Countess"


def test_l1_open_conflicts_move_with_the_link(world: World) -> None:
    rid = world.sell.add("lead", email="ada@x.com", last_name="Lovelace", title="Analyst")
    cid = world.member(score=80, email="ada@x.com", lastname="Lovelace", jobtitle="Engineer")
    world.sync()
    lead = SellRef("lead", rid)
    opened = world.store.conflicts_for(lead)
    assert [(c.field, c.status) for c in opened] == [("title", ConflictStatus.OPEN)]
    contact = SellRef("contact", world.sell.convert(rid).individual_id or 0)
    world.sync()
    assert world.store.conflicts_for(lead) == []
    moved = world.store.conflicts_for(contact)
    assert [(c.id, c.field, c.status) for c in moved] == [
        (opened[0].id, "title", ConflictStatus.OPEN)
    ]
    assert world.link_of_hubspot(cid).sell == contact


def test_l1_a_conversion_of_an_unlinked_lead_creates_nothing(world: World) -> None:
    rid = world.sell.add("lead", email="solo@x.com", last_name="Solo")
    world.sync()
    contacts_before = len(world.hubspot.contacts)
    world.sell.convert(rid)
    report = world.sync()
    assert world.store.count_links().get("active", 0) == 0
    assert len(world.hubspot.contacts) == contacts_before
    counts = report.counts()
    assert counts.get("converted", 0) == 0 and counts.get("created_in_hubspot", 0) == 0
    # the feed moved past it
    mark = ConversionMark.from_mark(world.store.get_mark(LEAD_CONVERSIONS))
    assert mark.after_id == world.sell.conversions[-1].id


def test_l1_a_linked_lead_found_missing_is_checked_against_conversions_first(
    world: World,
) -> None:
    rid, cid = _linked_lead(world)
    conversion = world.sell.convert(rid)
    # The feed already passed this conversion (say it was read before the lead was linked):
    # only the link check finds the lead missing.
    world.store.set_mark(LEAD_CONVERSIONS, FeedMark(last_id=str(conversion.id)))
    report = world.sync()
    link = world.link_of_hubspot(cid)
    assert link is not None and link.state is LinkState.ACTIVE
    assert link.sell == SellRef("contact", conversion.individual_id or 0)
    assert report.counts().get("tombstoned", 0) == 0 and report.counts()["converted"] == 1


def test_l1_the_full_check_follows_a_conversion_too(world: World) -> None:
    rid, cid = _linked_lead(world)
    conversion = world.sell.convert(rid)
    world.store.set_mark(LEAD_CONVERSIONS, FeedMark(last_id=str(conversion.id)))
    report = world.sync(full=True)
    assert report.counts().get("tombstoned", 0) == 0
    assert world.link_of_hubspot(cid).sell == SellRef("contact", conversion.individual_id or 0)


def test_l1_a_conversion_reported_as_a_deletion_by_the_sync_api_moves_the_link(
    world: World,
) -> None:
    """Sell's Sync API reports a converted lead as deleted: it is looked up among the
    conversions before it could become a tombstone (L1 with L3's Sync API)."""
    world.sell.sync_api = True
    rid, cid = _linked_lead(world)
    conversion = world.sell.convert(rid)
    world.store.set_mark(LEAD_CONVERSIONS, FeedMark(last_id=str(conversion.id)))
    report = world.sync()
    link = world.link_of_hubspot(cid)
    assert link is not None and link.state is LinkState.ACTIVE
    assert link.sell == SellRef("contact", conversion.individual_id or 0)
    assert report.counts().get("tombstoned", 0) == 0 and report.counts()["converted"] == 1


def test_l1_a_deleted_lead_is_still_a_tombstone(world: World) -> None:
    rid, cid = _linked_lead(world)
    world.sell.delete("lead", rid)
    report = world.sync()
    assert report.counts()["tombstoned"] == 1
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED


def test_l1_a_dry_run_plans_the_move_and_changes_nothing(world: World) -> None:
    rid, cid = _linked_lead(world)
    world.sell.convert(rid)
    mark = world.store.get_mark(LEAD_CONVERSIONS)
    world.clock.tick(60)
    dry = world.engine.run(trigger="test", dry_run=True, keep_actions=True)
    assert dry.counts()["converted"] == 1
    assert "converted in Sell: the link moved from lead:" in dry.plan.render()
    assert world.link_of_hubspot(cid).sell == SellRef("lead", rid)
    assert world.store.get_mark(LEAD_CONVERSIONS) == mark


def test_l1_a_lead_converted_between_the_runs_read_and_its_write_is_not_tombstoned(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run reads the pair, a rep converts the lead, then the run's write to the lead finds
    it gone: a conversion, not a deletion. The link moves to the contact (this run's link check
    or the next run's conversion feed) and the write lands there."""
    rid, cid = _linked_lead(world)
    world.hubspot.set(cid, jobtitle="Countess")  # the run writes it to the lead
    real_update = world.sell.update_record
    converted: list[int] = []

    def convert_first(kind, id, values):  # type: ignore[no-untyped-def]
        if kind == "lead" and id == rid and not converted:
            converted.append(world.sell.convert(rid).individual_id or 0)
        return real_update(kind, id, values)

    monkeypatch.setattr(world.sell, "update_record", convert_first)
    report = world.sync()
    assert converted, "the run wrote to the lead"
    assert report.counts().get("tombstoned", 0) == 0
    assert [e.reason for e in report.errors] == ["converted in Sell during the run"]
    assert world.link_of_hubspot(cid).state is LinkState.ACTIVE
    monkeypatch.undo()
    after = world.sync()
    assert report.counts().get("converted", 0) + after.counts().get("converted", 0) == 1
    assert after.counts().get("tombstoned", 0) == 0
    link = world.link_of_hubspot(cid)
    assert link.sell == SellRef("contact", converted[0]) and link.state is LinkState.ACTIVE
    assert world.sell.value("contact", converted[0], "title") == "Countess"

"""Every sync rule of SPEC §2 (S1–S14), through the engine's public interface.

The CRMs are the in-memory fakes of tests/fakes.py; the store is the real SQLite store.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sync.domain import ConflictStatus, LinkOrigin, LinkState, SellRef
from sync.errors import ServiceUnavailable
from sync.mapping import NEVER_SENT_TO_HUBSPOT
from sync.service import Actor, Refused
from tests.conftest import LIST_ID, World, make_world

REP = Actor("U_REP", is_manager=False)
BOSS = Actor("U_BOSS", is_manager=True)
BOSS2 = Actor("U_BOSS2", is_manager=True)


def sell_leads(world: World) -> list:  # type: ignore[type-arg]
    return world.sell.of_kind("lead")


# --------------------------------------------------------------------------- S1


def test_s1_member_at_or_above_threshold_enters_sell(world: World) -> None:
    at = world.member(50, email="at@x.com", lastname="At")
    above = world.member("75.5", email="above@x.com", lastname="Above")
    world.sync()
    assert {r.values["email"] for r in sell_leads(world)} == {"at@x.com", "above@x.com"}
    assert world.link_of_hubspot(at) is not None and world.link_of_hubspot(above) is not None


def test_s1_below_threshold_blank_or_non_numeric_score_never_qualifies(world: World) -> None:
    world.member(49, email="below@x.com", lastname="B")
    world.member(None, email="blank@x.com", lastname="B")
    world.member("   ", email="spaces@x.com", lastname="B")
    world.member("high", email="text@x.com", lastname="B")
    report = world.sync()
    assert sell_leads(world) == []
    assert report.not_qualified == 4


def test_s1_threshold_seeded_from_config_then_stored_value_wins(tmp_path: Path) -> None:
    w = make_world(tmp_path, threshold=50)
    assert w.service.settings().threshold == 50
    w.store.update_settings(threshold=70)
    # a new process with another seed value keeps the stored one
    w2 = w.with_config(default_threshold=10)
    assert w2.service.settings().threshold == 70
    w2.member(60, email="sixty@x.com", lastname="S")
    w2.sync()
    assert sell_leads(w2) == []
    w.store.close()


def test_s1_score_rise_brings_member_in_on_a_later_run(world: World) -> None:
    cid = world.member(10, email="grow@x.com", lastname="G")
    world.sync()
    assert sell_leads(world) == []
    world.hubspot.set(cid, hubspotscore=90)
    world.sync()
    assert [r.values["email"] for r in sell_leads(world)] == ["grow@x.com"]


def test_s1_threshold_change_re_evaluates_known_members(world: World) -> None:
    world.member(30, email="thirty@x.com", lastname="T")
    world.sync()
    assert sell_leads(world) == []
    request = world.service.request_change("threshold", "25", actor=REP).request
    world.service.decide(request.id, approve=True, actor=BOSS)
    world.sync()
    assert [r.values["email"] for r in sell_leads(world)] == ["thirty@x.com"]


# --------------------------------------------------------------------------- S2


def test_s2_only_the_one_configured_list_feeds_sell(world: World) -> None:
    world.hubspot.make_list("99", "MANUAL")
    other = world.hubspot.add_contact(hubspotscore=100, email="other@x.com", lastname="O")
    world.hubspot.join("99", other)
    world.sync()
    assert sell_leads(world) == []


def test_s2_changing_the_list_is_an_approved_settings_change(world: World) -> None:
    world.hubspot.make_list("99", "MANUAL")
    cid = world.hubspot.add_contact(hubspotscore=100, email="other@x.com", lastname="O")
    world.hubspot.join("99", cid)
    result = world.service.request_change("list_id", "99", actor=REP)
    assert world.service.settings().list_id == LIST_ID  # not before approval
    with pytest.raises(Refused):
        world.service.decide(result.request.id, approve=True, actor=REP)
    world.service.decide(result.request.id, approve=True, actor=BOSS)
    assert world.service.settings().list_id == "99"
    world.sync()
    assert [r.values["email"] for r in sell_leads(world)] == ["other@x.com"]


def test_s2_a_second_list_cannot_be_added(world: World) -> None:
    with pytest.raises(Refused):
        world.service.request_change("second_list", "99", actor=BOSS)
    assert world.service.settings().list_id == LIST_ID


# --------------------------------------------------------------------------- S3


def test_s3_qualifying_contact_is_created_as_a_lead_by_default(world: World) -> None:
    world.member(80, email="new@x.com", firstname="New", lastname="Person")
    report = world.sync()
    assert report.counts()["created_in_sell"] == 1
    (lead,) = sell_leads(world)
    assert lead.values["first_name"] == "New" and lead.values["last_name"] == "Person"
    assert world.sell.of_kind("contact") == []


def test_s3_import_as_contact_when_configured(world: World) -> None:
    w = world.with_config(import_as="contact")
    w.member(80, email="c@x.com", lastname="C")
    w.sync()
    assert [r.values["email"] for r in w.sell.of_kind("contact")] == ["c@x.com"]
    assert sell_leads(w) == []


# --------------------------------------------------------------------------- S4


def test_s4_push_creates_and_links_and_joins_a_manual_list(world: World) -> None:
    rid = world.sell.add("lead", email="push@x.com", first_name="P", last_name="Ush")
    report = world.service.push([f"lead:{rid}"], actor=REP)
    assert report.counts()["created_in_hubspot"] == 1
    contact = world.hubspot.by_email("push@x.com")
    assert contact is not None and contact.properties["firstname"] == "P"
    link = world.store.links_by_sell([SellRef("lead", rid)])[SellRef("lead", rid)]
    assert link.hubspot_id == contact.id and link.origin is LinkOrigin.PUSH
    assert contact.id in world.hubspot.members[LIST_ID]


def test_s4_push_does_not_edit_a_dynamic_list(tmp_path: Path) -> None:
    w = make_world(tmp_path, processing_type="DYNAMIC")
    rid = w.sell.add("lead", email="dyn@x.com", last_name="D")
    report = w.service.push([f"lead:{rid}"], actor=REP)
    assert report.failure is None and report.counts()["created_in_hubspot"] == 1
    assert w.hubspot.calls["memberships_add"] == 0
    w.store.close()


def test_s4_push_refuses_no_email_and_company_contacts_with_reasons(world: World) -> None:
    no_email = world.sell.add("lead", last_name="Nomail")
    org = world.sell.add("contact", is_organization=True, name="ACME", email="acme@x.com")
    report = world.service.push([f"lead:{no_email}", f"contact:{org}"], actor=REP)
    reasons = {s.item: s.reason for s in report.applied.skipped}
    assert reasons[f"lead:{no_email}"] == "no email"
    assert reasons[f"contact:{org}"] == "company contacts can't be added"
    assert world.hubspot.live() == []


def test_s4_duplicate_emails_make_one_contact_linked_to_the_newest(world: World) -> None:
    old = world.sell.add("lead", email="Dup@X.com", last_name="Old")
    new = world.sell.add("contact", email=" dup@x.com ", last_name="New")
    report = world.service.push([f"lead:{old}", f"contact:{new}"], actor=REP)
    assert len(world.hubspot.live()) == 1
    assert world.store.links_by_sell([SellRef("contact", new)])
    assert not world.store.links_by_sell([SellRef("lead", old)])
    (skip,) = report.applied.skipped
    assert skip.item == f"lead:{old}" and skip.reason.startswith("duplicate email")


def test_s4_existing_hubspot_contact_is_merged_never_duplicated(world: World) -> None:
    cid = world.hubspot.add_contact(email="both@x.com", firstname="Hub", phone="")
    rid = world.sell.add("lead", email="both@x.com", last_name="Sell", phone="555")
    report = world.service.push([f"lead:{rid}"], actor=REP)
    assert report.counts()["merged"] == 1
    assert len(world.hubspot.live()) == 1
    assert world.hubspot.value(cid, "phone") == "555"  # blank in HubSpot filled from Sell
    assert world.sell.value("lead", rid, "first_name") == "Hub"  # blank in Sell filled


def test_s4_push_by_email_url_and_tag(world: World) -> None:
    a = world.sell.add("lead", email="a@x.com", last_name="A")
    b = world.sell.add("contact", email="b@x.com", last_name="B")
    c = world.sell.add("lead", email="c@x.com", last_name="C", tags=["Hot"])
    report = world.service.push(
        ["A@x.com", f"https://app.futuresimple.com/crm/contacts/{b}", "tag:hot"], actor=REP
    )
    assert report.counts()["created_in_hubspot"] == 3, report.to_dict()
    for ref in (SellRef("lead", a), SellRef("contact", b), SellRef("lead", c)):
        assert world.store.links_by_sell([ref])


def test_s4_result_names_every_record_not_created_or_linked(world: World) -> None:
    report = world.service.push(["lead:424242", "nobody@x.com", "tag:none", "garbage"], actor=REP)
    items = {s.item for s in report.applied.skipped}
    assert items == {"lead:424242", "nobody@x.com", "tag:none", "garbage"}


def test_s4_explicit_push_relinks_a_tombstoned_contact_and_audits_it(world: World) -> None:
    cid = world.member(80, email="t@x.com", lastname="T")
    world.sync()
    (lead,) = sell_leads(world)
    world.sell.delete("lead", lead.id)
    world.hubspot.set(cid, firstname="changed")
    world.sync()
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED
    rid = world.sell.add("lead", email="t@x.com", last_name="Again")
    report = world.service.push([f"lead:{rid}"], actor=REP)
    assert report.counts()["merged"] == 1
    link = world.link_of_hubspot(cid)
    assert link.state is LinkState.ACTIVE and link.sell == SellRef("lead", rid)
    events = [e for e in world.store.audit_since(None) if e.kind == "merged"]
    assert any("tombstone was lifted" in str(e.detail) for e in events)


# --------------------------------------------------------------------------- S5


def test_s5_deleted_lead_never_recreated(world: World) -> None:
    cid = world.member(80, email="gone@x.com", lastname="Gone")
    world.sync()
    (lead,) = sell_leads(world)
    world.sell.delete("lead", lead.id)
    world.hubspot.set(cid, firstname="Edited")  # next sync reads the linked record: 404
    report = world.sync()
    assert report.counts()["tombstoned"] == 1
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED
    # not at the next sync, not when re-added to the list, not when its score rises
    world.sync()
    world.hubspot.leave(LIST_ID, cid)
    world.sync()
    world.hubspot.join(LIST_ID, cid)
    world.hubspot.set(cid, hubspotscore=100)
    world.sync()
    world.sync(full=True)
    assert sell_leads(world) == []


def test_s5_deletion_found_on_write_makes_a_tombstone(world: World) -> None:
    cid = world.member(80, email="w@x.com", lastname="W")
    world.sync()
    (lead,) = sell_leads(world)
    # HubSpot fills a blank Sell field, but the lead is gone: 404 on write
    world.sell.records.pop(("lead", lead.id))
    world.hubspot.set(cid, jobtitle="CTO")
    world.sync()
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED


def test_s5_restore_lifts_the_tombstone_and_the_contact_is_created_again(world: World) -> None:
    cid = world.member(80, email="back@x.com", lastname="Back")
    world.sync()
    (lead,) = sell_leads(world)
    world.sell.delete("lead", lead.id)
    world.sync(full=True)
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED
    with pytest.raises(Refused):
        world.service.restore(f"hubspot:{cid}", actor=REP)
    world.service.restore(f"hubspot:{cid}", actor=BOSS)
    assert world.link_of_hubspot(cid) is None
    assert any(e.kind == "restored" and e.actor == BOSS.id for e in world.store.audit_since(None))
    world.sync()
    assert [r.values["email"] for r in sell_leads(world)] == ["back@x.com"]


# --------------------------------------------------------------------------- S6


def test_s6_hubspot_deletion_keeps_the_sell_record_and_stops_syncing(world: World) -> None:
    cid = world.member(80, email="hd@x.com", lastname="Hd", firstname="Keep")
    world.sync()
    (lead,) = sell_leads(world)
    before = dict(world.sell.records[("lead", lead.id)].values)
    world.hubspot.archive(cid)
    world.sell.edit("lead", lead.id, title="Changed in Sell")
    report = world.sync()
    assert report.counts()["hubspot_deleted"] == 1
    link = world.link_of_hubspot(cid)
    assert link.state is LinkState.HUBSPOT_DELETED
    after = world.sell.records[("lead", lead.id)].values
    assert after == {**before, "title": "Changed in Sell"}  # untouched by sellsync
    world.sell.edit("lead", lead.id, title="Again")
    world.sync()
    assert world.hubspot.live() == []  # nothing re-created in HubSpot
    # ... unless a rep pushes it again
    world.service.push([f"lead:{lead.id}"], actor=REP)
    assert world.hubspot.by_email("hd@x.com") is not None
    ref = SellRef("lead", lead.id)
    assert world.store.links_by_sell([ref])[ref].state is LinkState.ACTIVE


# --------------------------------------------------------------------------- S7


def test_s7_link_keeps_syncing_after_leaving_the_list_and_falling_below_threshold(
    world: World,
) -> None:
    cid = world.member(80, email="sticky@x.com", lastname="S")
    world.sync()
    (lead,) = sell_leads(world)
    world.hubspot.leave(LIST_ID, cid)
    world.hubspot.set(cid, hubspotscore=1, jobtitle="VP")
    request = world.service.request_change("threshold", "99", actor=REP).request
    world.service.decide(request.id, approve=True, actor=BOSS)
    world.sync()
    assert world.sell.value("lead", lead.id, "title") == "VP"
    world.sell.edit("lead", lead.id, phone="123")
    world.sync()
    assert world.hubspot.value(cid, "phone") == "123"


# --------------------------------------------------------------------------- S8


def test_s8_merge_on_first_link_fills_blanks_and_opens_conflicts(world: World) -> None:
    rid = world.sell.add(
        "lead", email="m@x.com", last_name="Sell", title="Sell title", phone=None, website="s.com"
    )
    cid = world.member(
        80, email="M@X.com", lastname="Sell", jobtitle="Hub title", phone="999", website=""
    )
    report = world.sync()
    assert report.counts()["merged"] == 1 and len(sell_leads(world)) == 1
    assert world.sell.value("lead", rid, "phone") == "999"  # empty in Sell -> written to Sell
    assert world.hubspot.value(cid, "website") == "s.com"  # empty in HubSpot -> to HubSpot
    assert world.sell.value("lead", rid, "title") == "Sell title"  # each keeps its value
    assert world.hubspot.value(cid, "jobtitle") == "Hub title"
    (conflict,) = world.store.list_conflicts()
    assert (conflict.field, conflict.sell_value, conflict.hubspot_value) == (
        "title",
        "Sell title",
        "Hub title",
    )


def test_s8_a_sell_contact_is_preferred_over_a_lead_then_the_newest(world: World) -> None:
    world.sell.add("lead", email="p@x.com", last_name="Lead")
    old_contact = world.sell.add("contact", email="p@x.com", last_name="OldContact")
    new_contact = world.sell.add("contact", email="p@x.com", last_name="NewContact")
    world.sell.add("lead", email="p@x.com", last_name="NewestLead")
    cid = world.member(80, email="p@x.com", lastname="")
    world.sync()
    assert world.link_of_hubspot(cid).sell == SellRef("contact", new_contact)
    assert not world.store.links_by_sell([SellRef("contact", old_contact)])
    assert len(world.sell.records) == 4  # never duplicated


def test_s8_organization_contacts_are_never_merge_targets(world: World) -> None:
    world.sell.add("contact", is_organization=True, name="ACME", email="org@x.com")
    cid = world.member(80, email="org@x.com", lastname="Person")
    world.sync()
    assert world.link_of_hubspot(cid).sell.kind == "lead"


# --------------------------------------------------------------------------- S9


@pytest.fixture
def linked(world: World) -> tuple[World, str, int]:
    cid = world.member(80, email="l@x.com", lastname="Linked", jobtitle="Engineer")
    world.sync()
    (lead,) = sell_leads(world)
    return world, cid, lead.id


def test_s9_changed_in_sell_is_written_to_hubspot(linked: tuple[World, str, int]) -> None:
    world, cid, rid = linked
    world.sell.edit("lead", rid, title="Manager")
    report = world.sync()
    assert world.hubspot.value(cid, "jobtitle") == "Manager"
    assert report.counts()["updated_hubspot"] == 1


def test_s9_changed_in_hubspot_with_sell_empty_is_written_to_sell(
    linked: tuple[World, str, int],
) -> None:
    world, cid, rid = linked
    world.hubspot.set(cid, city="Lisbon")
    world.sync()
    assert world.sell.value("lead", rid, "address.city") == "Lisbon"


def test_s9_changed_in_hubspot_never_overwrites_a_filled_sell_value(
    linked: tuple[World, str, int],
) -> None:
    world, cid, rid = linked
    world.hubspot.set(cid, jobtitle="Director")
    world.sync()
    assert world.sell.value("lead", rid, "title") == "Engineer"
    (c,) = world.store.list_conflicts()
    assert (c.field, c.sell_value, c.hubspot_value) == ("title", "Engineer", "Director")


def test_s9_one_open_conflict_per_link_and_field_refreshed_not_duplicated(
    linked: tuple[World, str, int],
) -> None:
    world, cid, _ = linked
    world.hubspot.set(cid, jobtitle="Director")
    world.sync()
    world.sync()
    world.hubspot.set(cid, jobtitle="CEO")
    world.sync()
    conflicts = world.store.list_conflicts()
    assert len(conflicts) == 1 and conflicts[0].hubspot_value == "CEO"


def test_s9_changed_on_both_sides_sell_wins_and_a_conflict_records_hubspot(
    linked: tuple[World, str, int],
) -> None:
    world, cid, rid = linked
    world.sell.edit("lead", rid, title="Sell says")
    world.hubspot.set(cid, jobtitle="HubSpot says")
    world.sync()
    assert world.hubspot.value(cid, "jobtitle") == "Sell says"
    assert world.sell.value("lead", rid, "title") == "Sell says"
    (c,) = world.store.list_conflicts()
    assert c.hubspot_value == "HubSpot says"


def test_s9_a_field_cleared_in_sell_is_refilled_from_hubspot(
    linked: tuple[World, str, int],
) -> None:
    world, cid, rid = linked
    world.sell.edit("lead", rid, title="   ")
    world.sync()
    assert world.sell.value("lead", rid, "title") == "Engineer"
    assert world.hubspot.value(cid, "jobtitle") == "Engineer"


def test_s9_conflict_resolution_writes_the_chosen_side(linked: tuple[World, str, int]) -> None:
    world, cid, rid = linked
    world.hubspot.set(cid, jobtitle="Director")
    world.sync()
    (c,) = world.store.list_conflicts()
    with pytest.raises(Refused):
        world.service.resolve_conflict(c.id, "use_hubspot", actor=REP)
    resolved, changed = world.service.resolve_conflict(c.id, "use_hubspot", actor=BOSS)
    assert changed and resolved.status is ConflictStatus.USED_HUBSPOT
    assert world.sell.value("lead", rid, "title") == "Director"
    _, again = world.service.resolve_conflict(c.id, "keep_sell", actor=BOSS)
    assert not again  # double click: harmless
    report = world.sync()
    assert report.counts().total() == 0  # settled: nothing more to do


def test_s9_keep_sell_writes_sells_value_to_hubspot(linked: tuple[World, str, int]) -> None:
    world, cid, _ = linked
    world.hubspot.set(cid, jobtitle="Director")
    world.sync()
    (c,) = world.store.list_conflicts()
    world.service.resolve_conflict(c.id, "keep_sell", actor=BOSS)
    assert world.hubspot.value(cid, "jobtitle") == "Engineer"
    assert world.store.count_conflicts() == 0


# --------------------------------------------------------------------------- S10


def test_s10_hubspot_owned_fields_are_mirrored_into_sell(world: World) -> None:
    world.sell.fields["lead"].append(world.sell.fields["contact"][-1])  # harmless extra
    cid = world.member(
        "80", email="mirror@x.com", lastname="M",
        hs_analytics_source="ORGANIC_SEARCH", lifecyclestage="marketingqualifiedlead",
    )  # fmt: skip
    world.sync()
    (lead,) = sell_leads(world)
    assert lead.values["lead_source"] == "Organic Search"
    assert lead.values["custom_fields.HubSpot score"] == "80"
    assert lead.values["custom_fields.HubSpot lifecycle stage"] == "Marketing Qualified Lead"
    assert lead.values["custom_fields.HubSpot public contact URL"].endswith(f"/record/0-1/{cid}")


def test_s10_contacts_get_the_source_in_a_custom_field(world: World) -> None:
    w = world.with_config(import_as="contact")
    w.member(80, email="src@x.com", lastname="S", hs_analytics_source="REFERRALS")
    w.sync()
    (contact,) = w.sell.of_kind("contact")
    assert contact.values["custom_fields.HubSpot source"] == "Referrals"
    assert "lead_source" not in contact.values


def test_s10_mirrors_are_always_refreshed_even_over_sell_edits(world: World) -> None:
    cid = world.member(80, email="r@x.com", lastname="R", lifecyclestage="lead")
    world.sync()
    (lead,) = sell_leads(world)
    world.sell.edit("lead", lead.id, **{"custom_fields.HubSpot score": "1"})
    world.hubspot.set(cid, hubspotscore=95, lifecyclestage="customer")
    world.sync()
    assert world.sell.custom("lead", lead.id, "HubSpot score") == "95"
    assert world.sell.custom("lead", lead.id, "HubSpot lifecycle stage") == "Customer"
    assert world.store.count_conflicts() == 0
    # and a mirror edited in Sell never flows back to HubSpot
    assert world.hubspot.value(cid, "hubspotscore") == "95"


def test_s10_missing_sell_mirror_field_is_a_warning_not_a_failure(world: World) -> None:
    world.sell.fields["lead"] = [f for f in world.sell.fields["lead"] if f.name != "HubSpot score"]
    world.member(80, email="w@x.com", lastname="W")
    report = world.sync()
    assert report.counts()["created_in_sell"] == 1
    assert any('"HubSpot score"' in w for w in report.plan.warnings)


# --------------------------------------------------------------------------- S11


def test_s11_sell_only_fields_never_reach_hubspot(world: World) -> None:
    rid = world.sell.add(
        "lead", email="s11@x.com", last_name="Eleven", status="Working", owner_id=77,
        description="x",
    )  # fmt: skip
    cid2 = world.sell.add(
        "contact", email="s11c@x.com", last_name="C", customer_status="current",
        prospect_status="lost",
    )  # fmt: skip
    world.service.push([f"lead:{rid}", f"contact:{cid2}"], actor=REP)
    world.sell.edit("lead", rid, status="Unqualified", title="Boss")
    world.sync()
    sent_names = {name for body in world.hubspot.written for name in body}
    sent_values = {value for body in world.hubspot.written for value in body.values()}
    assert sent_names and "jobtitle" in sent_names
    assert not sent_names & NEVER_SENT_TO_HUBSPOT
    assert not sent_names & {"hs_lead_status", "hubspot_owner_id"}
    forbidden_values = {"Working", "Unqualified", "77", "current", "lost", str(rid), str(cid2)}
    assert not sent_values & forbidden_values


# --------------------------------------------------------------------------- S12


STANDARD_PAIRS = [
    ("first_name", "firstname", "Ann"),
    ("last_name", "lastname", "Lee"),
    ("phone", "phone", "+1 555 0100"),
    ("mobile", "mobilephone", "+1 555 0101"),
    ("fax", "fax", "+1 555 0102"),
    ("title", "jobtitle", "CFO"),
    ("organization_name", "company", "Initech"),
    ("website", "website", "initech.example"),
    ("industry", "industry", "Software"),
    ("address.line1", "address", "1 Main St"),
    ("address.city", "city", "Austin"),
    ("address.state", "state", "TX"),
    ("address.postal_code", "zip", "73301"),
    ("address.country", "country", "US"),
]


@pytest.mark.parametrize(("sell_key", "prop", "value"), STANDARD_PAIRS)
def test_s12_standard_fields_sync_both_ways(
    world: World, sell_key: str, prop: str, value: str
) -> None:
    base = {"lastname": "Base"} if prop != "lastname" else {"company": "Sole Co"}
    cid = world.member(80, email="s12@x.com", **base)
    world.sync()
    (lead,) = sell_leads(world)
    # HubSpot -> Sell (Sell empty)
    world.hubspot.set(cid, **{prop: value})
    world.sync()
    assert world.sell.value("lead", lead.id, sell_key) == value
    # Sell -> HubSpot
    world.sell.edit("lead", lead.id, **{sell_key: value + " 2"})
    world.sync()
    assert world.hubspot.value(cid, prop) == value + " 2"


# --------------------------------------------------------------------------- S13


def test_s13_mapped_custom_field_follows_merge_rules_both_ways(world: World) -> None:
    from sync.domain import PropertyInfo, PropertyOption, SellCustomField

    world.hubspot.props["tier"] = PropertyInfo(
        "tier", "Tier", "enumeration", "select",
        (PropertyOption("gold", "Gold"), PropertyOption("silver", "Silver")),
    )  # fmt: skip
    world.hubspot.props["seats"] = PropertyInfo("seats", "Seats", "number", "number")
    for kind in ("lead", "contact"):
        world.sell.fields[kind] += [
            SellCustomField("Tier", "list", ("Gold", "Silver")),
            SellCustomField("Seats", "number"),
        ]
    assert world.service.map_field("tier", "Tier", actor=BOSS).ok
    assert world.service.map_field("seats", "Seats", actor=BOSS).ok
    cid = world.member(80, email="cf@x.com", lastname="Cf", tier="gold", seats="10.0")
    world.sync()
    (lead,) = sell_leads(world)
    assert world.sell.custom("lead", lead.id, "Tier") == "Gold"  # by label
    assert world.sell.custom("lead", lead.id, "Seats") == "10"
    world.sell.edit("lead", lead.id, **{"custom_fields.Tier": "Silver"})
    world.sync()
    assert world.hubspot.value(cid, "tier") == "silver"  # back as the option's value


def test_s13_mapping_to_a_missing_sell_field_tells_the_admin_what_to_create(world: World) -> None:
    from sync.domain import PropertyInfo

    world.hubspot.props["renewal"] = PropertyInfo("renewal", "Renewal", "date", "date")
    check = world.service.map_field("renewal", "Renewal date", actor=BOSS)
    assert check.status == "missing"
    assert 'as "Renewal date" of type date' in check.message


def test_s13_mapping_to_an_incompatible_sell_field_is_refused(world: World) -> None:
    from sync.domain import PropertyInfo, SellCustomField

    world.hubspot.props["seats"] = PropertyInfo("seats", "Seats", "number", "number")
    world.sell.fields["lead"].append(SellCustomField("Seats", "string"))
    check = world.service.map_field("seats", "Seats", actor=BOSS)
    assert check.status == "refused" and "needs a Sell field of type number" in check.message
    assert world.service.settings().custom_mappings == ()


def test_s13_only_managers_map_fields(world: World) -> None:
    with pytest.raises(Refused):
        world.service.map_field("seats", "Seats", actor=REP)


# --------------------------------------------------------------------------- S14


def test_s14_bad_data_is_skipped_counted_and_retried_while_the_run_goes_on(world: World) -> None:
    bad_email = world.member(80, email="not-an-email", lastname="Bad")
    no_name = world.member(80, email="noname@x.com")  # Sell refuses a lead without last name
    good = world.member(80, email="good@x.com", lastname="Good")
    report = world.sync()
    assert report.status == "errors"
    failed = {s.item for s in report.errors}
    assert failed == {f"HubSpot {bad_email}", f"HubSpot {no_name}"}
    assert world.link_of_hubspot(good) is not None
    assert [r.values["email"] for r in sell_leads(world)] == ["good@x.com"]
    # fixed at the source: retried and created on a later run
    world.hubspot.set(no_name, lastname="Named")
    report = world.sync()
    assert world.link_of_hubspot(no_name) is not None
    assert report.counts()["created_in_sell"] == 1


def test_s14_a_value_the_other_side_rejects_skips_only_that_record(
    linked: tuple[World, str, int],
) -> None:
    world, cid, rid = linked
    other = world.member(80, email="o@x.com", lastname="Other")
    world.sync()
    other_lead = next(r for r in sell_leads(world) if r.values["email"] == "o@x.com")
    world.sell.fail_updates[("lead", rid)] = "title: is too long"
    world.hubspot.set(cid, city="Rome")
    world.hubspot.set(other, city="Oslo")
    report = world.sync()
    assert [s.item for s in report.errors] == [f"lead:{rid}"]
    assert world.sell.value("lead", other_lead.id, "address.city") == "Oslo"
    del world.sell.fail_updates[("lead", rid)]
    world.hubspot.set(cid, phone="1")  # any later change: retried with the missed one
    world.sync()
    assert world.sell.value("lead", rid, "address.city") == "Rome"


def test_s14_unparseable_number_in_a_mapped_field_is_skipped_with_a_reason(world: World) -> None:
    from sync.domain import PropertyInfo, SellCustomField

    world.hubspot.props["seats"] = PropertyInfo("seats", "Seats", "string", "text")
    world.sell.fields["lead"].append(SellCustomField("Seats", "string"))
    world.service.map_field("seats", "Seats", actor=BOSS)
    cid = world.member("80", email="n@x.com", lastname="N")
    world.sync()
    (lead,) = sell_leads(world)
    world.sell.edit("lead", lead.id, **{"custom_fields.HubSpot score": None})
    world.hubspot.contacts[cid].properties["hubspotscore"] = "eighty"
    world.hubspot.set(cid, jobtitle="x")
    report = world.sync()
    assert report.errors and "not a number" in report.errors[0].reason


# --------------------------------------------------------------------------- whole-run properties


def test_second_run_with_no_changes_writes_nothing(world: World) -> None:
    for i in range(5):
        world.member(80, email=f"i{i}@x.com", lastname=f"I{i}", jobtitle="T")
    world.sell.add("lead", email="i0@x.com", last_name="I0", phone="1")
    world.sync()
    world.sync()  # echoes of the first run's own writes settle
    audit_before = len(world.store.audit_since(None))
    hub_writes = world.hubspot.calls["batch_update"] + world.hubspot.calls["batch_create"]
    sell_writes = sum(v for k, v in world.sell.calls.items() if k.endswith(("_update", "_create")))
    report = world.sync()
    assert report.counts().total() == 0
    assert len(world.store.audit_since(None)) == audit_before
    assert world.hubspot.calls["batch_update"] + world.hubspot.calls["batch_create"] == hub_writes
    assert sum(v for k, v in world.sell.calls.items() if k.endswith(("_update", "_create"))) == (
        sell_writes
    )


def test_dry_run_plan_equals_what_apply_does_and_writes_nothing(world: World) -> None:
    world.member(80, email="new@x.com", lastname="New")
    world.sell.add("lead", email="match@x.com", last_name="M", title="Sell")
    world.member(80, email="match@x.com", lastname="M", jobtitle="Hub")
    world.member(10, email="low@x.com", lastname="Low")
    sell_before = {k: dict(r.values) for k, r in world.sell.records.items()}
    dry = world.engine.run(trigger="test", dry_run=True)
    assert world.sell.records.keys() == sell_before.keys()
    assert {k: r.values for k, r in world.sell.records.items()} == sell_before
    assert world.store.recent_runs() == [] and world.store.audit_since(None) == []
    assert world.store.get_mark("hubspot:changes") is None
    real = world.engine.run(trigger="test", keep_actions=True)
    assert dry.counts() == real.counts()
    assert [
        (a.outcomes, a.hubspot_id, dict(a.sell_writes), dict(a.hubspot_writes))
        for a in dry.plan.actions
    ] == [
        (a.outcomes, a.hubspot_id, dict(a.sell_writes), dict(a.hubspot_writes))
        for a in real.applied.actions
    ]


def test_emails_are_compared_trimmed_and_lower_cased(world: World) -> None:
    rid = world.sell.add("lead", email="  MiXeD@Example.COM ", last_name="Case")
    cid = world.member(80, email="mixed@example.com", lastname="Case")
    world.sync()
    assert world.link_of_hubspot(cid).sell == SellRef("lead", rid)
    assert len(sell_leads(world)) == 1
    assert world.store.count_conflicts() == 0  # the same email, not a conflict


def test_run_interrupted_between_pages_resumes_without_duplicates(world: World) -> None:
    world = world.with_config(bulk_limit=1000)  # 250 creations in one run, unasked
    ids = [world.member(80, email=f"p{i}@x.com", lastname=f"P{i}") for i in range(250)]
    real_read = world.hubspot.read_contacts
    calls = {"n": 0}

    def flaky(ids_: list[str], props: list[str]):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise ServiceUnavailable("HubSpot", "connection dropped", 503)
        return real_read(ids_, props)

    world.hubspot.read_contacts = flaky  # type: ignore[method-assign]
    world.clock.tick(60)
    failed = world.engine.run(trigger="test")
    # creations wait for the run's end (the bulk guard counts them first): none were made
    assert failed.status == "failed" and len(sell_leads(world)) == 0
    assert world.store.known_members(LIST_ID) == set()  # and none was marked evaluated
    world.hubspot.read_contacts = real_read  # type: ignore[method-assign]
    world.sync()
    emails = [r.values["email"] for r in sell_leads(world)]
    assert len(emails) == 250 and len(set(emails)) == 250
    assert all(world.link_of_hubspot(i) is not None for i in ids)


def test_run_killed_after_a_sell_create_before_the_link_is_saved_adds_no_duplicate(
    world: World,
) -> None:
    world.member(80, email="k@x.com", lastname="K")
    real_save = world.store.save_links

    def crash(links):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt("killed")

    world.store.save_links = crash  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        world.engine.run(trigger="test")
    assert len(sell_leads(world)) == 1  # created in Sell, link never stored
    assert world.store.recent_runs(1)[0].status == "interrupted"
    world.store.save_links = real_save  # type: ignore[method-assign]
    world.store.unlock("sync", owner=world.store.recent_runs()[0].trigger)  # lock left behind
    world.clock.tick(3600)  # ... or it expires
    world.sync()
    assert len(sell_leads(world)) == 1


def test_runs_never_overlap(world: World) -> None:
    from sync.errors import RunInProgress

    host = socket.gethostname()

    assert world.store.try_lock("sync", owner="someone", at=world.clock.now(), ttl_seconds=600)
    with pytest.raises(RunInProgress):
        world.engine.run(trigger="test")
    world.store.unlock("sync", owner="someone")
    for holder in (
        f"{host}:{os.getppid()}:schedule:a1",
        f"other-host:{os.getpid() + 1}:schedule:b2",
    ):
        # a live process here, or any process elsewhere: its run goes on, ours waits
        assert world.store.try_lock("sync", owner=holder, at=world.clock.now(), ttl_seconds=600)
        with pytest.raises(RunInProgress):
            world.engine.run(trigger="test")
        world.store.unlock("sync", owner=holder)


def test_a_lock_naming_a_gone_local_pid_is_held_until_it_expires(world: World) -> None:
    """Two containers can share a host name, and a pid that is gone here may be a live run in
    another PID namespace: only the lease's expiry proves its holder gone."""
    from sync.errors import RunInProgress

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = f"{socket.gethostname()}:{gone.pid}:schedule:other-container"
    assert world.store.try_lock("sync", owner=holder, at=world.clock.now(), ttl_seconds=120)
    world.member(80, email="after@x.com", lastname="After")
    with pytest.raises(RunInProgress):
        world.engine.run(trigger="test")
    assert sell_leads(world) == [] and world.store.recent_runs() == []
    world.clock.tick(120)  # the holder missed every renewal for a whole TTL: gone
    world.sync()
    assert [r.values["email"] for r in sell_leads(world)] == ["after@x.com"]
    assert world.store.lock_holder("sync") is None  # released at the end of the run


@pytest.mark.parametrize("dies_in", ["open_conflict", "audit_many", "save_links"])
def test_run_killed_while_storing_a_page_loses_no_conflict(world: World, dies_in: str) -> None:
    rid = world.sell.add("lead", email="c@x.com", last_name="C", title="Sell title")
    cid = world.member(80, email="c@x.com", lastname="C", jobtitle="Hub title", phone="1")
    real = getattr(world.store, dies_in)

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("killed")

    setattr(world.store, dies_in, killed)
    with pytest.raises(KeyboardInterrupt):
        world.engine.run(trigger="test")
    setattr(world.store, dies_in, real)
    world.sync()
    world.sync()
    (conflict,) = world.store.list_conflicts()
    assert (conflict.field, conflict.sell_value, conflict.hubspot_value) == (
        "title", "Sell title", "Hub title",
    )  # fmt: skip
    assert world.link_of_hubspot(cid).sell == SellRef("lead", rid)
    assert world.sell.value("lead", rid, "phone") == "1" and len(sell_leads(world)) == 1


def test_s9_killed_after_sell_overwrote_hubspot_keeps_hubspots_value_in_a_conflict(
    linked: tuple[World, str, int],
) -> None:
    world, cid, rid = linked
    world.sell.edit("lead", rid, title="Sell says")
    world.hubspot.set(cid, jobtitle="HubSpot says")
    real = world.hubspot.update_contacts

    def applied_then_killed(writes):  # type: ignore[no-untyped-def]
        real(writes)
        raise KeyboardInterrupt("killed right after HubSpot applied the batch")

    world.hubspot.update_contacts = applied_then_killed  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        world.engine.run(trigger="test")
    world.hubspot.update_contacts = real  # type: ignore[method-assign]
    assert world.hubspot.value(cid, "jobtitle") == "Sell says"  # HubSpot's value overwritten
    world.sync()
    (c,) = world.store.list_conflicts()  # ... but kept in the conflict
    assert (c.field, c.sell_value, c.hubspot_value) == ("title", "Sell says", "HubSpot says")

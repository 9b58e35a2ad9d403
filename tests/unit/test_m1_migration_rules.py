"""The pure rules of leaving Sell (M1): what each Sell item becomes in HubSpot, and how a rerun
decides that nothing needs writing."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.domain import RecordKind, SellCustomField
from sync.mapping import FieldMapping, ValueType
from sync.migration.rules import (
    SELL_ID_PROPERTY,
    TAGS_PROPERTY,
    CompanyIndex,
    Note,
    contact_fields,
    decide,
    differences,
    domain_of,
    note_desired,
    note_target,
    organization_desired,
    organization_from_wire,
    owner_map,
    person_desired,
    person_from_wire,
    plan_custom_fields,
    same_value,
)


def lead(**values: object) -> dict[str, object]:
    return {"id": 12, "first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", **values}


def test_m1_a_lead_becomes_a_contact_keyed_by_its_sell_id_with_tags_and_owner() -> None:
    person = person_from_wire(
        "lead", lead(tags=["vip", "webinar"], owner_id=7, status="New", organization_name="Acme")
    )
    owners, unmatched = owner_map(
        [(7, "Rep@Example.com"), (8, "gone@example.com")], [("99", "rep@example.com")]
    )
    desired = person_desired(person, contact_fields("lead", []), owners)
    assert desired.properties[SELL_ID_PROPERTY] == "lead:12"
    assert desired.properties["firstname"] == "Ann"
    assert desired.properties["company"] == "Acme"
    assert desired.properties[TAGS_PROPERTY] == "vip;webinar"
    assert desired.properties["hubspot_owner_id"] == "99"
    assert unmatched == ["gone@example.com"]
    # S11: the lead status (and owner name, ids) never reach HubSpot
    assert "New" not in desired.properties.values()


def test_m1_an_owner_without_a_hubspot_owner_leaves_the_record_unassigned() -> None:
    person = person_from_wire("contact", {"id": 3, "email": "x@example.com", "owner_id": 8})
    desired = person_desired(person, contact_fields("contact", []), {7: "99"})
    assert "hubspot_owner_id" not in desired.properties
    assert desired.unassigned


def test_m1_a_record_without_email_still_moves() -> None:
    person = person_from_wire("contact", {"id": 4, "first_name": "Bo"})
    desired = person_desired(person, contact_fields("contact", []), {})
    assert desired.properties == {SELL_ID_PROPERTY: "contact:4", "firstname": "Bo"}
    assert decide(desired, None, None).action == "create"


def test_m1_an_unmapped_custom_field_gets_a_property_of_the_matching_type() -> None:
    fields: dict[RecordKind, list[SellCustomField]] = {
        "lead": [
            SellCustomField("Budget", "number"),
            SellCustomField("Regions", "multi_select_list", ("EU", "US")),
            SellCustomField("HubSpot score", "number"),  # an S10 mirror: not sent back
            SellCustomField("Favorite color", "string"),
        ],
        "contact": [],
    }
    mapped = FieldMapping("favorite_color", "favorite_color", "custom_fields.Favorite color")
    plans = plan_custom_fields(fields, [mapped])
    by_field = {p.sell_field: p for p in plans}
    assert set(by_field) == {"Budget", "Regions", "Favorite color"}
    budget = by_field["Budget"].new_property
    assert budget is not None and (budget.type, budget.field_type) == ("number", "number")
    assert budget.label == "Budget"
    regions = by_field["Regions"].new_property
    assert regions is not None and regions.field_type == "checkbox"
    assert regions.options == ("EU", "US")
    assert by_field["Favorite color"].new_property is None  # its S13 mapping is used
    person = person_from_wire(
        "lead",
        lead(custom_fields={"Budget": "1200.50", "Regions": ["US", "EU"], "HubSpot score": "80"}),
    )
    desired = person_desired(person, contact_fields("lead", plans), {})
    assert desired.properties["sell_budget"] == "1200.5"
    assert desired.properties["sell_regions"] == "EU;US"
    assert "80" not in desired.properties.values()


def test_m1_an_unreadable_custom_value_is_named() -> None:
    plans = plan_custom_fields({"lead": [SellCustomField("Budget", "number")], "contact": []}, [])
    person = person_from_wire("lead", lead(custom_fields={"Budget": "lots"}))
    desired = person_desired(person, contact_fields("lead", plans), {})
    assert "Budget" in desired.unusable


def test_m1_an_organization_becomes_a_company_matched_by_domain_then_name() -> None:
    org = organization_from_wire(
        {"id": 7, "name": "Acme", "is_organization": True, "website": "https://www.acme.io/about"}
    )
    desired = organization_desired(org, {})
    assert desired.properties["domain"] == "acme.io"
    assert desired.properties[SELL_ID_PROPERTY] == "organization:7"
    index = CompanyIndex()
    index.add("1", {"name": "Acme", "domain": None})
    index.add("2", {"name": "Other", "domain": "acme.io"})
    assert index.match(desired) == "2"  # the domain first
    by_name = organization_desired(organization_from_wire({"id": 8, "name": "acme "}), {})
    assert index.match(by_name) == "1"
    assert domain_of(None, "bo@beta.example") == "beta.example"


def test_m1_a_note_keeps_its_time_and_author_and_finds_its_record() -> None:
    note = Note(5, "contact", 40, "Called", 7, datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    desired = note_desired(note, {7: "99"})
    assert desired.properties == {
        SELL_ID_PROPERTY: "note:5",
        "hs_note_body": "Called",
        "hs_timestamp": "2026-05-01T09:30:00.000Z",
        "hubspot_owner_id": "99",
    }
    assert note_target(note) == ["contact:40", "organization:40"]
    assert note_target(Note(6, "deal", 3, "x", None, None)) == []


def test_m2_a_record_already_moved_and_equal_is_not_written_again() -> None:
    person = person_from_wire("lead", lead(phone="+1 555 0100"))
    desired = person_desired(person, contact_fields("lead", []), {})
    held = {**desired.properties, "email": "ANN@example.com", "lastmodifieddate": "x"}
    assert decide(desired, held, "101").action == "unchanged"
    # a killed run left a field out: the rerun writes just that
    resumed = decide(desired, {**held, "phone": None}, "101")
    assert (resumed.action, dict(resumed.properties)) == ("update", {"phone": "+1 555 0100"})
    # changed in HubSpot since it moved: kept, and listed
    changed = decide(desired, {**held, "phone": "+1 555 0199"}, "101")
    assert changed.action == "unchanged"
    assert [(c.property, c.hubspot) for c in changed.conflicts] == [("phone", "+1 555 0199")]


def test_m1_a_contact_matched_by_email_keeps_its_filled_values_and_lists_conflicts() -> None:
    person = person_from_wire("lead", lead(title="CTO", phone="+1"))
    desired = person_desired(person, contact_fields("lead", []), {})
    existing = {"email": "ann@example.com", "jobtitle": "CEO", "phone": None}
    decision = decide(desired, existing, "55")
    assert decision.action == "adopt"
    assert decision.properties[SELL_ID_PROPERTY] == "lead:12"
    assert decision.properties["phone"] == "+1"
    assert "jobtitle" not in decision.properties
    assert [(c.property, c.sell, c.hubspot) for c in decision.conflicts] == [
        ("jobtitle", "CTO", "CEO")
    ]


def test_m3_differences_name_each_field_and_a_missing_record() -> None:
    desired = person_desired(person_from_wire("lead", lead()), contact_fields("lead", []), {})
    assert differences(desired, dict(desired.properties)) == []
    found = differences(desired, {**desired.properties, "lastname": "Li"})
    assert [(d.field, d.sell, d.hubspot) for d in found] == [("lastname", "Lee", "Li")]
    assert [d.field for d in differences(desired, None)] == ["record"]


def test_m3_values_compare_as_hubspot_writes_them_back() -> None:
    assert same_value("sell_tags", "a;b", "b;a")
    assert same_value("sell_budget", "1200.5", "1200.50")
    assert same_value("hs_timestamp", "2026-05-01T09:30:00.000Z", "1777627800000")
    assert not same_value("lastname", "Lee", "")
    assert FieldMapping("k", "p", "s", value_type=ValueType.NUMBER).field_type.name == "number"

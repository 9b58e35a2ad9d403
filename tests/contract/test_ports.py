"""One contract suite per CRM port, run over every implementation: the in-memory fake and the
real httpx client talking HTTP to the sandbox server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Protocol

import pytest

from sandbox.server import Sandbox
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.domain import SellCustomField
from sync.errors import ApiError, RecordNotFound, RecordRejected
from sync.ports import ContactWrite, HubSpotPort, SellPort
from tests.contract.conftest import FAST_RETRY
from tests.fakes import FakeHubSpot, FakeSell, TickClock


class HubSpotWorld(Protocol):
    port: HubSpotPort

    def add(self, **props: Any) -> str: ...
    def archive(self, cid: str) -> None: ...
    def make_list(self, kind: str) -> str: ...
    def join(self, list_id: str, ids: list[str]) -> None: ...
    def value(self, cid: str, prop: str) -> str | None: ...
    def merge(self, primary: str, absorbed: str) -> None: ...
    def writes_to_merged_ids(self) -> list[str]: ...


class SellWorld(Protocol):
    port: SellPort

    def add(self, kind: str, **data: Any) -> int: ...
    def delete(self, kind: str, rid: int) -> None: ...
    def convert(self, lead_id: int) -> int: ...


# --------------------------------------------------------------------------- implementations


class FakeHubSpotWorld:
    def __init__(self) -> None:
        self.fake = FakeHubSpot(clock=TickClock())
        self.port = self.fake
        self.n = 0

    def add(self, **props: Any) -> str:
        return self.fake.add_contact(**props)

    def archive(self, cid: str) -> None:
        self.fake.archive(cid)

    def make_list(self, kind: str) -> str:
        self.n += 1
        return self.fake.make_list(str(100 + self.n), kind)

    def join(self, list_id: str, ids: list[str]) -> None:
        self.fake.join(list_id, *ids)

    def value(self, cid: str, prop: str) -> str | None:
        return self.fake.value(cid, prop)

    def merge(self, primary: str, absorbed: str) -> None:
        self.fake.merge(primary, absorbed)

    def writes_to_merged_ids(self) -> list[str]:
        return list(self.fake.writes_to_merged_ids)


class SandboxHubSpotWorld:
    def __init__(self, sb: Sandbox) -> None:
        self.state = sb.hubspot
        self.port = HubSpotClient(
            HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
            HubSpotLimits(retry=FAST_RETRY),
        )

    def add(self, **props: Any) -> str:
        return self.state.add_contact(props)

    def archive(self, cid: str) -> None:
        self.state.archive_contact(cid)

    def make_list(self, kind: str) -> str:
        return self.state.create_list(f"list-{kind}", kind)

    def join(self, list_id: str, ids: list[str]) -> None:
        self.state.add_to_list(list_id, ids)

    def value(self, cid: str, prop: str) -> str | None:
        contact = self.state.get_contact(cid)
        assert contact is not None
        return contact["properties"].get(prop)

    def merge(self, primary: str, absorbed: str) -> None:
        self.state.merge_contacts(primary, absorbed)

    def writes_to_merged_ids(self) -> list[str]:
        return list(self.state.writes_to_merged_ids)


class FakeSellWorld:
    def __init__(self) -> None:
        self.fake = FakeSell()
        self.fake.fields["lead"].append(SellCustomField("Seats", "number"))
        self.port = self.fake

    def add(self, kind: str, **data: Any) -> int:
        return self.fake.add(kind, **data)  # type: ignore[arg-type]

    def delete(self, kind: str, rid: int) -> None:
        self.fake.delete(kind, rid)  # type: ignore[arg-type]

    def convert(self, lead_id: int) -> int:
        return self.fake.convert(lead_id).id


class SandboxSellWorld:
    def __init__(self, sb: Sandbox) -> None:
        self.state = sb.sell
        for kind in ("lead", "contact"):
            self.state.add_custom_field(kind, "HubSpot score", "number")
        self.state.add_custom_field("lead", "Seats", "number")
        self.port = SellClient(sb.sell_url, sb.sell_token, retry=FAST_RETRY, overlap_seconds=0)

    def add(self, kind: str, **data: Any) -> int:
        nested: dict[str, Any] = {}
        for key, value in data.items():
            if key.startswith("address__"):
                nested.setdefault("address", {})[key.split("__", 1)[1]] = value
            else:
                nested[key] = value
        return self.state.add_record(kind, nested)

    def delete(self, kind: str, rid: int) -> None:
        self.state.delete_record(kind, rid)

    def convert(self, lead_id: int) -> int:
        return int(self.state.convert_lead(lead_id)["id"])


@pytest.fixture(params=["fake", "sandbox"])
def hub(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[HubSpotWorld]:
    if request.param == "fake":
        yield FakeHubSpotWorld()
        return
    sandbox.reset("empty")
    world = SandboxHubSpotWorld(sandbox)
    yield world
    world.port.close()  # type: ignore[attr-defined]


@pytest.fixture(params=["fake", "sandbox"])
def sell(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[SellWorld]:
    if request.param == "fake":
        yield FakeSellWorld()
        return
    sandbox.reset("empty")
    world = SandboxSellWorld(sandbox)
    yield world
    world.port.close()  # type: ignore[attr-defined]


PROPS = ["email", "firstname", "lastname", "jobtitle", "hubspotscore"]


# --------------------------------------------------------------------------- HubSpotPort


def test_hubspot_list_lookup_and_member_pages(hub: HubSpotWorld) -> None:
    list_id = hub.make_list("MANUAL")
    ids = [hub.add(email=f"m{i}@x.com") for i in range(260)]
    hub.join(list_id, ids)
    lst = hub.port.get_list(list_id)
    assert lst.id == list_id and lst.processing_type == "MANUAL" and lst.accepts_members
    pages = list(hub.port.list_member_pages(list_id))
    assert [len(p) for p in pages if p] == [250, 10]
    assert sorted(i for p in pages for i in p) == sorted(ids)
    with pytest.raises(ApiError):
        hub.port.get_list("987654")


def test_hubspot_lists_of_a_contact_name_the_lists_it_is_in(hub: HubSpotWorld) -> None:
    """``status ITEM`` asks whether a contact is in the synced list now (L5) in one call."""
    first, second = hub.make_list("MANUAL"), hub.make_list("MANUAL")
    a, b = hub.add(email="a@x.com"), hub.add(email="b@x.com")
    hub.join(first, [a, b])
    hub.join(second, [a])
    assert hub.port.lists_of(a) == {first, second}
    assert hub.port.lists_of(b) == {first}
    assert hub.port.lists_of(hub.add(email="c@x.com")) == set()
    assert hub.port.lists_of("999999999") == set()


def test_hubspot_read_contacts_reports_archived_and_unknown_as_missing(hub: HubSpotWorld) -> None:
    a = hub.add(email="a@x.com", firstname="A", hubspotscore="12")
    b = hub.add(email="b@x.com")
    hub.archive(b)
    found, missing = hub.port.read_contacts([a, b, "999999999"], PROPS)
    assert set(found) == {a} and missing == {b, "999999999"}
    assert found[a].properties["firstname"] == "A" and found[a].email == "a@x.com"
    assert found[a].properties["hubspotscore"] == "12"
    by_email = hub.port.read_contacts_by_email(["A@X.com", "nobody@x.com"], PROPS)
    assert list(by_email) == ["a@x.com"] and by_email["a@x.com"].id == a


def test_hubspot_changed_pages_since_a_time_oldest_first_without_archived(
    hub: HubSpotWorld,
) -> None:
    old = hub.add(email="old@x.com")
    found, _ = hub.port.read_contacts([old], PROPS)
    since = found[old].updated_at_ms + 1
    time.sleep(0.01)
    new = hub.add(email="new@x.com")
    gone = hub.add(email="gone@x.com")
    hub.archive(gone)
    pages = list(hub.port.changed_pages(since, PROPS))
    ids = [c.id for p in pages for c in p.contacts]
    assert new in ids and old not in ids and gone not in ids
    marks = [p.high_water_ms for p in pages]
    assert marks == sorted(marks) and all(m >= since for m in marks)


def test_hubspot_create_reports_duplicates_and_refusals_per_record(hub: HubSpotWorld) -> None:
    existing = hub.add(email="taken@x.com")
    results = hub.port.create_contacts(
        [
            ContactWrite("ok", {"email": "fresh@x.com", "firstname": "F"}),
            ContactWrite("dup", {"email": "TAKEN@x.com"}),
            ContactWrite("bad", {"email": "x@x.com", "hubspotscore": "5"}),  # read-only
        ]
    )
    by_key = {r.key: r for r in results}
    assert by_key["ok"].ok and hub.value(by_key["ok"].id or "", "firstname") == "F"
    assert by_key["dup"].duplicate_of == existing
    assert by_key["bad"].error and not by_key["bad"].ok


def test_hubspot_update_applies_the_good_and_reports_the_rest(hub: HubSpotWorld) -> None:
    a = hub.add(email="a@x.com")
    b = hub.add(email="b@x.com")
    gone = hub.add(email="g@x.com")
    hub.archive(gone)
    results = hub.port.update_contacts(
        [
            ContactWrite("a", {"jobtitle": "CTO"}, id=a),
            ContactWrite("b", {"nosuchproperty": "x"}, id=b),
            ContactWrite("g", {"jobtitle": "x"}, id=gone),
        ]
    )
    by_key = {r.key: r for r in results}
    assert by_key["a"].ok and hub.value(a, "jobtitle") == "CTO"
    assert by_key["b"].error
    assert by_key["g"].missing


def test_hubspot_list_membership_add_only_on_manual_lists(hub: HubSpotWorld) -> None:
    manual = hub.make_list("MANUAL")
    dynamic = hub.make_list("DYNAMIC")
    a = hub.add(email="a@x.com")
    hub.port.add_list_members(manual, [a])
    assert [i for p in hub.port.list_member_pages(manual) for i in p] == [a]
    with pytest.raises(ApiError):
        hub.port.add_list_members(dynamic, [a])


def test_hubspot_properties_carry_types_options_and_labels(hub: HubSpotWorld) -> None:
    props = hub.port.properties()
    assert props["hubspotscore"].type == "number" and props["hubspotscore"].read_only
    stage = props["lifecyclestage"]
    assert stage.type == "enumeration" and stage.label_for("customer") == "Customer"
    source = props["hs_analytics_source"]
    assert source.label_for("ORGANIC_SEARCH") == "Organic Search"
    assert props["phone"].field_type == "phonenumber"


def test_hubspot_contact_url(hub: HubSpotWorld) -> None:
    url = hub.port.contact_url("123")
    assert url is not None and url.endswith("/record/0-1/123")


def test_l2_read_contacts_maps_a_merged_id_to_its_survivor(hub: HubSpotWorld) -> None:
    a = hub.add(email="a@x.com", firstname="Ann")
    b = hub.add(email="b@x.com", jobtitle="CTO")
    c = hub.add(email="c@x.com")
    hub.merge(a, b)
    found, missing = hub.port.read_contacts([b], PROPS)
    assert set(found) == {b} and missing == set()
    survivor = found[b]
    assert survivor.id == a and survivor.merged_ids == {b}
    assert survivor.properties["firstname"] == "Ann" and survivor.properties["jobtitle"] == "CTO"
    found, missing = hub.port.read_contacts([b, a, c, "999999999"], PROPS)
    assert set(found) == {a, b, c} and missing == {"999999999"}
    assert found[a].id == found[b].id == a and found[c].id == c
    hub.merge(c, a)  # c absorbs a, which had absorbed b
    found, _ = hub.port.read_contacts([b], PROPS)
    assert found[b].id == c and found[b].merged_ids == {a, b}


def test_l2_by_email_the_absorbed_address_finds_the_survivor(hub: HubSpotWorld) -> None:
    a = hub.add(email="a@x.com")
    b = hub.add(email="b@x.com")
    hub.merge(a, b)
    by_email = hub.port.read_contacts_by_email(["b@x.com"], PROPS)
    assert list(by_email) == ["b@x.com"] and by_email["b@x.com"].id == a


def test_l2_changed_pages_yield_the_survivor_with_its_merged_ids(hub: HubSpotWorld) -> None:
    a = hub.add(email="a@x.com")
    b = hub.add(email="b@x.com")
    found, _ = hub.port.read_contacts([a, b], PROPS)
    since = max(c.updated_at_ms for c in found.values()) + 1
    time.sleep(0.01)
    hub.merge(a, b)
    changed = [c for page in hub.port.changed_pages(since, PROPS) for c in page.contacts]
    assert [c.id for c in changed] == [a] and changed[0].merged_ids == {b}
    everything = [c.id for page in hub.port.changed_pages(0, PROPS) for c in page.contacts]
    assert b not in everything


def test_l2_the_absorbed_memberships_pass_to_the_survivor(hub: HubSpotWorld) -> None:
    list_id = hub.make_list("MANUAL")
    a = hub.add(email="a@x.com")
    b = hub.add(email="b@x.com")
    hub.join(list_id, [b])
    hub.merge(a, b)
    assert [i for page in hub.port.list_member_pages(list_id) for i in page] == [a]


def test_l2_writes_to_a_merged_id_reach_the_survivor_and_are_logged(hub: HubSpotWorld) -> None:
    a = hub.add(email="a@x.com")
    b = hub.add(email="b@x.com")
    hub.merge(a, b)
    assert hub.writes_to_merged_ids() == []
    [result] = hub.port.update_contacts([ContactWrite("k", {"jobtitle": "CEO"}, id=b)])
    assert hub.value(a, "jobtitle") == "CEO"  # HubSpot applies it to the survivor
    assert hub.writes_to_merged_ids() == [b]
    # the answer names the survivor, not the id written to: neither a success nor "gone"
    assert not result.ok and not result.missing and result.error
    hub.port.update_contacts([ContactWrite("k", {"jobtitle": "CFO"}, id=a)])
    assert hub.writes_to_merged_ids() == [b]


# --------------------------------------------------------------------------- SellPort


def test_sell_changed_pages_newest_first_and_since(sell: SellWorld) -> None:
    ids = [sell.add("lead", email=f"l{i}@x.com", last_name=f"L{i}") for i in range(3)]
    pages = list(sell.port.changed_pages("lead", None))
    records = [r for p in pages for r in p]
    assert {r.id for r in records} == set(ids)
    times = [r.updated_at for r in records]
    assert times == sorted(times, reverse=True)
    newest = records[0].updated_at
    later = list(sell.port.changed_pages("lead", newest + timedelta(days=1)))
    assert [r for p in later for r in p] == []
    assert all(r.kind == "lead" for r in records)


def test_sell_get_records_leaves_deleted_ids_out(sell: SellWorld) -> None:
    a = sell.add("contact", email="a@x.com", last_name="A", address__city="Rome")
    b = sell.add("contact", email="b@x.com", last_name="B")
    sell.delete("contact", b)
    got = sell.port.get_records("contact", [a, b])
    assert list(got) == [a]
    assert got[a].values["address.city"] == "Rome" and got[a].email == "a@x.com"


def test_sell_organization_contacts_are_marked(sell: SellWorld) -> None:
    org = sell.add("contact", is_organization=True, name="ACME", email="o@x.com")
    assert sell.port.get_records("contact", [org])[org].is_organization


def test_sell_create_and_partial_update(sell: SellWorld) -> None:
    created = sell.port.create_record(
        "lead",
        {
            "last_name": "New",
            "email": "n@x.com",
            "address.city": "Oslo",
            "lead_source": "Referrals",
        },
    )
    assert created.values["last_name"] == "New" and created.values["lead_source"] == "Referrals"
    updated = sell.port.update_record(
        "lead", created.id, {"title": "CTO", "custom_fields.Seats": "12"}
    )
    assert updated.values["title"] == "CTO" and updated.values["address.city"] == "Oslo"
    assert str(updated.values["custom_fields.Seats"]) in ("12", "12.0")
    again = sell.port.get_records("lead", [created.id])[created.id]
    assert again.values["lead_source"] == "Referrals" and again.updated_at >= created.updated_at


def test_sell_refusals_and_deletions(sell: SellWorld) -> None:
    with pytest.raises(RecordRejected):
        sell.port.create_record("lead", {"email": "nolastname@x.com"})
    with pytest.raises(RecordRejected):
        sell.port.create_record("lead", {"last_name": "X", "custom_fields.Nope": "1"})
    rid = sell.add("lead", last_name="Gone")
    sell.delete("lead", rid)
    with pytest.raises(RecordNotFound):
        sell.port.update_record("lead", rid, {"title": "x"})


def test_sell_custom_fields_and_credentials(sell: SellWorld) -> None:
    names = {f.name: f.type for f in sell.port.custom_fields("lead")}
    assert names["Seats"] == "number" and names["HubSpot score"] == "number"
    assert sell.port.check_credentials()


def test_sell_lead_conversions_map_leads_to_their_new_contacts(sell: SellWorld) -> None:
    first = sell.add("lead", last_name="First", email="first@x.com")
    second = sell.add("lead", last_name="Second", email="second@x.com")
    kept = sell.add("lead", last_name="Kept")
    assert sell.port.conversions_after(0) == []
    one = sell.convert(first)
    two = sell.convert(second)
    every = sell.port.conversions_after(0)
    assert [(c.id, c.lead_id) for c in every] == [(one, first), (two, second)]
    assert [c.id for c in sell.port.conversions_after(one)] == [two]
    assert sell.port.conversions_after(two) == []
    contact_id = every[0].individual_id
    assert contact_id is not None
    contact = sell.port.get_records("contact", [contact_id])[contact_id]
    assert contact.email == "first@x.com" and not contact.is_organization
    assert sell.port.get_records("lead", [first, kept]).keys() == {kept}
    with pytest.raises(RecordNotFound):
        sell.port.update_record("lead", first, {"title": "x"})
    mapped = sell.port.conversions_of([second, kept])
    assert list(mapped) == [second] and mapped[second].individual_id == every[1].individual_id

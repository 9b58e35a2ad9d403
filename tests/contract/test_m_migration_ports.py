"""One contract suite over the migration's two roles (leaving Sell), run over every
implementation: the in-memory fakes of ``tests/fakes_migration.py`` and the real clients
(:func:`sync.clients.hubspot_crm.crm_of`, :class:`sync.clients.sell_migration.SellMigrationSource`)
talking HTTP to the sandbox servers. Where they disagree the sandbox is the truth."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import pytest

from sandbox import Sandbox
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.hubspot_crm import crm_of
from sync.clients.sell import SellClient
from sync.clients.sell_migration import SellMigrationSource
from sync.domain import RecordKind, SellCustomField
from sync.migration.ports import MigrationHubSpot, MigrationSell, ObjectWrite
from sync.migration.rules import (
    NOTE_BODY,
    NOTE_TIME,
    SELL_ID_PROPERTY,
    ObjectType,
    PropertySpec,
    sell_id_properties,
)
from tests.contract.conftest import FAST_RETRY, closing
from tests.fakes_migration import FakeMigrationHubSpot, FakeMigrationSell


class HubWorld(Protocol):
    port: MigrationHubSpot

    def add(self, object_type: ObjectType, **props: str) -> str: ...
    def add_owner(self, email: str) -> str: ...
    def keyed(self, object_type: ObjectType, key: str) -> int: ...
    def write_batches(self) -> list[int]: ...


class SellWorld(Protocol):
    port: MigrationSell

    def add(self, kind: str, data: dict[str, Any]) -> int: ...
    def add_note(
        self, resource_type: str, rid: int, content: str, creator: int, at: datetime
    ) -> int: ...
    def add_user(self, email: str) -> int: ...
    def add_deal(self, contact_id: int) -> None: ...
    def add_field(self, kind: RecordKind, name: str, choices: tuple[str, ...]) -> None: ...


# --------------------------------------------------------------------------- implementations


class FakeHubWorld:
    def __init__(self) -> None:
        self.fake = FakeMigrationHubSpot()
        self.port: MigrationHubSpot = self.fake

    def add(self, object_type: ObjectType, **props: str) -> str:
        return self.fake.add(object_type, **props)

    def add_owner(self, email: str) -> str:
        return self.fake.add_owner(email)

    def keyed(self, object_type: ObjectType, key: str) -> int:
        values = self.fake.records[object_type].values()
        return sum(1 for v in values if v.get(SELL_ID_PROPERTY) == key)

    def write_batches(self) -> list[int]:
        return list(self.fake.write_batches)


class SandboxHubWorld:
    def __init__(self, sb: Sandbox) -> None:
        self.hs = sb.hubspot
        client = closing(
            HubSpotClient(
                HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
                HubSpotLimits(retry=FAST_RETRY),
            )
        )
        self.port: MigrationHubSpot = crm_of(client)

    def add(self, object_type: ObjectType, **props: str) -> str:
        if object_type == "contacts":
            return self.hs.add_contact(dict(props))
        return str(self._objects(object_type).create(dict(props)).id)

    def _objects(self, object_type: ObjectType) -> Any:
        return self.hs.companies if object_type == "companies" else self.hs.notes

    def add_owner(self, email: str) -> str:
        return self.hs.add_owner(email, "Owner", "Person")

    def keyed(self, object_type: ObjectType, key: str) -> int:
        if object_type == "contacts":
            values = [c.values for c in self.hs.contacts_by_id.values() if not c.archived]
        else:
            values = [r.values for r in self._objects(object_type).live()]
        return sum(1 for v in values if v.get(SELL_ID_PROPERTY) == key)

    def write_batches(self) -> list[int]:
        return [
            len(c.json["inputs"])
            for c in self.hs.calls
            if c.path.endswith(("/batch/upsert", "/batch/update")) and isinstance(c.json, dict)
        ]


class FakeSellWorld:
    def __init__(self) -> None:
        self.fake = FakeMigrationSell()
        self.port: MigrationSell = self.fake

    def add(self, kind: str, data: dict[str, Any]) -> int:
        return self.fake.add_record(kind, data)

    def add_note(
        self, resource_type: str, rid: int, content: str, creator: int, at: datetime
    ) -> int:
        return self.fake.add_note(resource_type, rid, content, creator_id=creator, created_at=at)

    def add_user(self, email: str) -> int:
        return self.fake.add_user(email)

    def add_deal(self, contact_id: int) -> None:
        self.fake.not_moved["deals"] += 1

    def add_field(self, kind: RecordKind, name: str, choices: tuple[str, ...]) -> None:
        self.fake.fields[kind].append(SellCustomField(name, "list", choices))


class SandboxSellWorld:
    def __init__(self, sb: Sandbox) -> None:
        self.sell = sb.sell
        client = closing(SellClient(sb.sell_url, sb.sell_token, per_s=None))
        self.port: MigrationSell = SellMigrationSource(client)

    def add(self, kind: str, data: dict[str, Any]) -> int:
        return self.sell.add_record(kind, data)

    def add_note(
        self, resource_type: str, rid: int, content: str, creator: int, at: datetime
    ) -> int:
        when = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.sell.add_note(resource_type, rid, content, creator_id=creator, created_at=when)

    def add_user(self, email: str) -> int:
        return self.sell.add_user(email.split("@")[0], email)

    def add_deal(self, contact_id: int) -> None:
        self.sell.add_deal("A deal", contact_id=contact_id)

    def add_field(self, kind: RecordKind, name: str, choices: tuple[str, ...]) -> None:
        self.sell.add_custom_field(kind, name, "list", choices)


@pytest.fixture(params=["fake", "sandbox"])
def hub(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[HubWorld]:
    world: HubWorld = FakeHubWorld() if request.param == "fake" else SandboxHubWorld(sandbox)
    for spec in sell_id_properties():  # what the migration makes before it writes
        world.port.create_property(spec)
    yield world


@pytest.fixture(params=["fake", "sandbox"])
def sell(request: pytest.FixtureRequest, sandbox: Sandbox) -> Iterator[SellWorld]:
    yield FakeSellWorld() if request.param == "fake" else SandboxSellWorld(sandbox)


def _up(key: str, **props: str) -> ObjectWrite:
    return ObjectWrite(key, props)


# --------------------------------------------------------------------------- HubSpot


def test_m1_properties_created_once_with_unique_sell_key_and_options(hub: HubWorld) -> None:
    props = hub.port.object_properties("contacts")
    assert SELL_ID_PROPERTY in props and "email" in props
    for object_type in ("companies", "notes"):
        assert SELL_ID_PROPERTY in hub.port.object_properties(object_type)
    spec = PropertySpec("contacts", "sell_region", "Region", "enumeration", "checkbox", ("EU",))
    hub.port.create_property(spec)
    hub.port.create_property(spec)  # made meanwhile: as good
    assert [o.value for o in hub.port.object_properties("contacts")["sell_region"].options] == [
        "EU"
    ]
    hub.port.set_options("contacts", "sell_region", ["EU", "US", "APAC"])
    region = hub.port.object_properties("contacts")["sell_region"]
    assert region.type == "enumeration"
    assert [(o.value, o.label) for o in region.options] == [
        ("EU", "EU"),
        ("US", "US"),
        ("APAC", "APAC"),
    ]


def test_m1_owners_by_email(hub: HubWorld) -> None:
    rep = hub.add_owner("rep@example.com")
    other = hub.add_owner("other@example.com")
    owners = dict(hub.port.owners())
    assert owners[rep] == "rep@example.com"
    assert owners[other] == "other@example.com"


def test_m2_upsert_by_sell_key_never_duplicates(hub: HubWorld) -> None:
    first = hub.port.upsert("contacts", [_up("lead:1", firstname="Ann", email="ann@example.com")])
    assert first[0].error is None and first[0].id
    again = hub.port.upsert("contacts", [_up("lead:1", firstname="Anne", lastname="Lee")])
    assert again[0].id == first[0].id
    assert hub.keyed("contacts", "lead:1") == 1
    found = hub.port.read_by_key("contacts", ["lead:1", "lead:2"], ["firstname", "email"])
    assert set(found) == {"lead:1"}
    assert found["lead:1"].id == first[0].id
    assert found["lead:1"].properties["firstname"] == "Anne"
    assert found["lead:1"].properties["email"] == "ann@example.com"  # kept


def test_m2_upsert_of_an_email_another_contact_holds_names_it(hub: HubWorld) -> None:
    held = hub.add("contacts", email="pat@example.com", firstname="Pat")
    results = hub.port.upsert(
        "contacts",
        [_up("lead:7", email="pat@example.com"), _up("lead:8", email="bo@example.com")],
    )
    assert results[0].key == "lead:7" and results[0].id is None
    assert results[0].error and results[0].duplicate_of == held
    assert results[1].error is None and results[1].id  # one refusal blocks no other
    assert hub.keyed("contacts", "lead:7") == 0


def test_m2_update_to_a_sell_key_another_record_holds_is_refused(hub: HubWorld) -> None:
    a, b = hub.port.upsert("companies", [_up("organization:1", name="A"), _up("organization:2")])
    assert a.id and b.id
    results = hub.port.update(
        "companies",
        [
            ObjectWrite("organization:2", {SELL_ID_PROPERTY: "organization:1"}, id=b.id),
            ObjectWrite("organization:1", {"name": "Acme"}, id=a.id),
        ],
    )
    assert results[0].error and results[0].id is None
    assert results[1].error is None and results[1].id == a.id
    assert hub.keyed("companies", "organization:1") == 1
    named = hub.port.read_by_id("companies", [a.id, b.id, "999999"], ["name", SELL_ID_PROPERTY])
    assert set(named) == {a.id, b.id}
    assert named[a.id].properties["name"] == "Acme"
    assert named[b.id].properties[SELL_ID_PROPERTY] == "organization:2"


def test_m2_writes_go_100_a_request(hub: HubWorld) -> None:
    writes = [_up(f"organization:{n}", name=f"Org {n}") for n in range(1, 251)]
    results = hub.port.upsert("companies", writes)
    assert [r.key for r in results] == [w.key for w in writes]
    assert all(r.id and r.error is None for r in results)
    assert len({r.id for r in results}) == 250
    assert sorted(hub.write_batches(), reverse=True) == [100, 100, 50]  # sent side by side
    pages = list(hub.port.object_pages("companies", ["name", SELL_ID_PROPERTY]))
    assert all(len(page) <= 100 for page in pages)
    seen = [str(f.properties[SELL_ID_PROPERTY]) for page in pages for f in page]
    assert sorted(seen) == sorted(w.key for w in writes)


def test_m1_read_by_email_is_case_blind_and_lower_cased(hub: HubWorld) -> None:
    cid = hub.add("contacts", email="Ann@Example.com", jobtitle="CEO")
    found = hub.port.read_by_email(["ANN@example.COM", "nobody@example.com"], ["jobtitle"])
    assert set(found) == {"ann@example.com"}
    assert found["ann@example.com"].id == cid
    assert found["ann@example.com"].properties["jobtitle"] == "CEO"


def test_m2_notes_keep_their_time_and_author(hub: HubWorld) -> None:
    owner = hub.add_owner("rep@example.com")
    when = "2026-05-01T09:30:00.000Z"
    [note] = hub.port.upsert(
        "notes",
        [_up("note:5", **{NOTE_BODY: "Called", NOTE_TIME: when, "hubspot_owner_id": owner})],
    )
    assert note.id
    found = hub.port.read_by_key("notes", ["note:5"], [NOTE_BODY, NOTE_TIME, "hubspot_owner_id"])
    props = found["note:5"].properties
    assert props[NOTE_BODY] == "Called"
    assert props["hubspot_owner_id"] == owner
    assert datetime.fromisoformat(str(props[NOTE_TIME])) == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def test_m3_associating_twice_leaves_one_association(hub: HubWorld) -> None:
    [person, company] = [
        hub.port.upsert("contacts", [_up("contact:2")])[0].id,
        hub.port.upsert("companies", [_up("organization:1")])[0].id,
    ]
    assert person and company
    assert hub.port.associate("contacts", "companies", [(person, company)]) == {
        (person, company): None
    }
    assert hub.port.associate("contacts", "companies", [(person, company)] * 2) == {
        (person, company): None
    }
    assert hub.port.associations("contacts", "companies", [person]) == {person: {company}}
    assert hub.port.associations("companies", "contacts", [company]) == {company: {person}}


def test_m3_associating_from_a_missing_record_is_refused_by_pair(hub: HubWorld) -> None:
    person = hub.port.upsert("contacts", [_up("contact:3")])[0].id
    company = hub.port.upsert("companies", [_up("organization:4")])[0].id
    assert person and company
    result = hub.port.associate(
        "contacts", "companies", [("987654321", company), (person, company)]
    )
    assert result[("987654321", company)] is not None
    assert result[(person, company)] is None
    assert hub.port.associations("contacts", "companies", [person]) == {person: {company}}


def test_m3_associating_to_a_missing_record_is_refused_by_pair(hub: HubWorld) -> None:
    # HubSpot names a missing target in the error's ``toObjectId`` context
    person = hub.port.upsert("contacts", [_up("contact:3")])[0].id
    company = hub.port.upsert("companies", [_up("organization:4")])[0].id
    assert person and company
    result = hub.port.associate("contacts", "companies", [(person, "987654321"), (person, company)])
    assert result[(person, "987654321")] is not None
    assert result[(person, company)] is None
    assert hub.port.associations("contacts", "companies", [person]) == {person: {company}}


# --------------------------------------------------------------------------- Sell


def test_m1_sell_pages_every_lead_contact_and_organization_once(sell: SellWorld) -> None:
    leads = [sell.add("lead", {"first_name": f"L{n}", "tags": ["vip"]}) for n in range(130)]
    org = sell.add("contact", {"is_organization": True, "name": "Acme Ltd"})
    person = sell.add(
        "contact",
        {"is_organization": False, "first_name": "Pat", "email": "pat@acme.io", "contact_id": org},
    )
    ids = [r["id"] for r in sell.port.leads()]
    assert sorted(ids) == sorted(leads)  # each once, in Sell's order
    read = {r["id"]: r for r in sell.port.leads()}
    assert read[leads[0]]["first_name"] == "L0" and read[leads[0]]["tags"] == ["vip"]
    contacts = list(sell.port.contacts())
    assert [(c["id"], c["email"], c["contact_id"]) for c in contacts] == [
        (person, "pat@acme.io", org)
    ]
    orgs = list(sell.port.organizations())
    assert [(o["id"], o["name"]) for o in orgs] == [(org, "Acme Ltd")]


def test_m1_sell_notes_keep_time_author_and_record(sell: SellWorld) -> None:
    rep = sell.add_user("rep@example.com")
    lead = sell.add("lead", {"first_name": "Ann"})
    at = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    note = sell.add_note("lead", lead, "Called, wants a demo", rep, at)
    [read] = [n for n in sell.port.notes() if n.id == note]
    assert (read.resource_type, read.resource_id, read.content) == (
        "lead",
        lead,
        "Called, wants a demo",
    )
    assert read.creator_id == rep
    assert read.created_at == at
    assert read.key == f"note:{note}"
    assert (rep, "rep@example.com") in sell.port.users()


def test_m1_sell_counts_what_is_not_moved(sell: SellWorld) -> None:
    org = sell.add("contact", {"is_organization": True, "name": "Acme"})
    before = sell.port.counts()
    sell.add_deal(org)
    sell.add_deal(org)
    after = sell.port.counts()
    assert after["deals"] == before.get("deals", 0) + 2
    assert {"tasks", "calls"} <= set(after)
    assert "documents" not in after  # Sell lists documents only per record


def test_m1_sell_custom_fields_by_kind(sell: SellWorld) -> None:
    sell.add_field("lead", "Region", ("EU", "US"))
    fields = {f.name: f for f in sell.port.custom_fields("lead")}
    assert fields["Region"].choices == ("EU", "US")
    assert "Region" not in {f.name for f in sell.port.custom_fields("contact")}


def test_m2_update_of_a_missing_record_is_refused_alone(hub: HubWorld) -> None:
    [made] = hub.port.upsert("contacts", [_up("lead:1", firstname="Ann")])
    assert made.id
    results = hub.port.update(
        "contacts",
        [
            ObjectWrite("lead:9", {"firstname": "Gone"}, id="987654321"),
            ObjectWrite("lead:1", {"firstname": "Anne"}, id=made.id),
        ],
    )
    assert results[0].key == "lead:9" and results[0].error and results[0].id is None
    assert results[1].error is None and results[1].id == made.id
    found = hub.port.read_by_id("contacts", [made.id], ["firstname"])
    assert found[made.id].properties["firstname"] == "Anne"


def test_m2_reads_of_nothing_find_nothing(hub: HubWorld) -> None:
    assert hub.port.read_by_key("notes", ["note:1"], [NOTE_BODY]) == {}
    assert hub.port.read_by_id("companies", ["987654321"], ["name"]) == {}
    assert hub.port.read_by_email(["nobody@example.com"], ["email"]) == {}
    assert list(hub.port.object_pages("companies", ["name"])) == []
    assert hub.port.associations("contacts", "companies", ["987654321"]) == {}


def test_m2_upsert_of_an_empty_value_clears_it(hub: HubWorld) -> None:
    [made] = hub.port.upsert("contacts", [_up("lead:1", jobtitle="CEO", firstname="Ann")])
    hub.port.upsert("contacts", [_up("lead:1", jobtitle="")])
    found = hub.port.read_by_key("contacts", ["lead:1"], ["jobtitle", "firstname"])
    assert found["lead:1"].id == made.id
    assert not found["lead:1"].properties["jobtitle"]
    assert found["lead:1"].properties["firstname"] == "Ann"

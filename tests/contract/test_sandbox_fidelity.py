"""The official clients drive the sandbox: if HubSpot's and Zendesk's own SDKs can talk to it,
the paths, envelopes and status codes are the ones the real services use.

* ``hubspot-api-client`` 12 (pointed at the sandbox with ``HubSpot(host=...)``);
* ``basecrm`` 1.2 (``basecrm.Client(base_url=...)``; it insists on a 64-character token).
"""

from __future__ import annotations

import json

import basecrm
import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.lists import ListCreateRequest
from hubspot.crm.lists.exceptions import ApiException as ListsApiException
from hubspot.crm.properties import OptionInput, PropertyCreate

from sandbox import DEFAULT_SELL_TOKEN, Sandbox


@pytest.fixture
def hs(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=sandbox.hubspot_token, host=sandbox.hubspot_url)


@pytest.fixture
def sell(sandbox: Sandbox) -> basecrm.Client:
    return basecrm.Client(access_token=sandbox.sell_token, base_url=sandbox.sell_url)


def _create(hs: HubSpot, **properties: str) -> str:
    created = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(properties=properties)
    )
    return str(created.id)


# ---------------------------------------------------------------------- HubSpot


def test_contact_create_get_update_archive(hs: HubSpot, sandbox: Sandbox) -> None:
    created = hs.crm.contacts.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"email": "ada@example.com", "firstname": "Ada", "lifecyclestage": "lead"}
        )
    )
    assert int(created.id) >= 51_000_000_001
    assert created.properties["firstname"] == "Ada"
    assert created.properties["hs_object_id"] == created.id

    by_email = hs.crm.contacts.basic_api.get_by_id(
        "ADA@example.com", id_property="email", properties=["firstname", "phone"]
    )
    assert by_email.id == created.id
    assert by_email.properties["phone"] is None  # requested but unset: null, not missing

    before = sandbox.hubspot.get_contact(created.id)
    updated = hs.crm.contacts.basic_api.update(
        created.id, SimplePublicObjectInput(properties={"phone": "+1 555 0101", "firstname": ""})
    )
    assert updated.properties["phone"] == "+1 555 0101"
    assert "firstname" not in updated.properties  # "" clears the value
    after = sandbox.hubspot.get_contact(created.id)
    assert before and after
    assert after["properties"]["lastmodifieddate"] > before["properties"]["lastmodifieddate"]

    hs.crm.contacts.basic_api.archive(created.id)
    with pytest.raises(ContactsApiException) as missing:
        hs.crm.contacts.basic_api.get_by_id(created.id)
    assert missing.value.status == 404
    archived = hs.crm.contacts.basic_api.get_by_id(created.id, archived=True)
    assert archived.archived is True


def test_duplicate_email_is_a_409_naming_the_existing_id(hs: HubSpot) -> None:
    first = _create(hs, email="dup@example.com")
    with pytest.raises(ContactsApiException) as conflict:
        _create(hs, email=" Dup@Example.com ")
    assert conflict.value.status == 409
    body = json.loads(conflict.value.body)
    assert body["category"] == "CONFLICT"
    assert body["message"] == f"Contact already exists. Existing ID: {first}"


def test_contact_pages_with_after(hs: HubSpot) -> None:
    ids = [_create(hs, email=f"p{i}@example.com") for i in range(5)]
    page = hs.crm.contacts.basic_api.get_page(limit=3)
    assert [c.id for c in page.results] == ids[:3]
    rest = hs.crm.contacts.basic_api.get_page(limit=3, after=page.paging.next.after)
    assert [c.id for c in rest.results] == ids[3:]
    assert rest.paging is None


def test_batch_create_read_update_upsert(hs: HubSpot) -> None:
    batch = hs.crm.contacts.batch_api
    created = batch.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                {
                    "properties": {"email": f"b{i}@example.com", "firstname": f"B{i}"},
                    "associations": [],
                }
                for i in range(3)
            ]
        )
    )
    assert isinstance(created, BatchResponseSimplePublicObject)
    assert created.status == "COMPLETE"
    ids = sorted(c.id for c in created.results)

    read = batch.read(
        BatchReadInputSimplePublicObjectId(
            properties=["firstname"],
            properties_with_history=[],
            inputs=[SimplePublicObjectId(id=i) for i in [*ids, "123"]],
        )
    )
    assert isinstance(read, BatchResponseSimplePublicObjectWithErrors)  # 207
    assert sorted(r.id for r in read.results) == ids
    assert read.num_errors == 1
    assert read.errors[0].category == "OBJECT_NOT_FOUND"
    assert read.errors[0].context == {"ids": ["123"]}

    updated = batch.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id=ids[0], properties={"jobtitle": "CTO"}),
                SimplePublicObjectBatchInput(id="999", properties={"jobtitle": "CEO"}),
            ]
        )
    )
    assert isinstance(updated, BatchResponseSimplePublicObjectWithErrors)
    assert [r.properties["jobtitle"] for r in updated.results] == ["CTO"]
    assert updated.errors[0].category == "OBJECT_NOT_FOUND"

    upserted = batch.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="B1@EXAMPLE.COM", id_property="email", properties={"lastname": "One"}
                ),
                SimplePublicObjectBatchInputUpsert(
                    id="new@example.com", id_property="email", properties={"lastname": "New"}
                ),
            ]
        )
    )
    by_name = {r.properties["lastname"]: r for r in upserted.results}
    assert by_name["One"].new is False and by_name["One"].id in ids
    assert by_name["New"].new is True and by_name["New"].properties["email"] == "new@example.com"


def test_search_filters_sorts_and_pages(hs: HubSpot, sandbox: Sandbox) -> None:
    for i in range(7):
        sandbox.hubspot.add_contact({"email": f"s{i}@example.com", "hubspotscore": str(i * 10)})
    sandbox.hubspot.add_contact({"email": "blank@example.com"})
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(filters=[Filter(property_name="hubspotscore", operator="GTE", value="20")])
        ],
        sorts=[{"propertyName": "hubspotscore", "direction": "DESCENDING"}],
        properties=["hubspotscore", "email"],
        limit=3,
    )
    first = hs.crm.contacts.search_api.do_search(request)
    assert first.total == 5
    assert [c.properties["hubspotscore"] for c in first.results] == ["60", "50", "40"]
    request.after = first.paging.next.after
    second = hs.crm.contacts.search_api.do_search(request)
    assert [c.properties["hubspotscore"] for c in second.results] == ["30", "20"]
    assert second.paging is None


def test_list_memberships(hs: HubSpot, sandbox: Sandbox) -> None:
    ids = [sandbox.hubspot.add_contact({"email": f"m{i}@example.com"}) for i in range(5)]
    created = hs.crm.lists.lists_api.create(
        ListCreateRequest(name="Sync", object_type_id="0-1", processing_type="MANUAL")
    )
    list_id = created.list.list_id
    added = hs.crm.lists.memberships_api.add(list_id, [*ids, "777"])
    assert added.records_ids_added == ids  # HubSpot's own spelling: recordsIdsAdded
    assert added.record_ids_missing == ["777"]

    page = hs.crm.lists.memberships_api.get_page(list_id, limit=2)
    assert [m.record_id for m in page.results] == ids[:2]
    seen = [m.record_id for m in page.results]
    while page.paging and page.paging.next:
        page = hs.crm.lists.memberships_api.get_page(list_id, limit=2, after=page.paging.next.after)
        seen += [m.record_id for m in page.results]
    assert seen == ids

    fetched = hs.crm.lists.lists_api.get_by_id(list_id).list
    assert (fetched.name, fetched.processing_type, fetched.size) == ("Sync", "MANUAL", 5)
    sandbox.hubspot.archive_contact(ids[0])  # archived contacts leave their lists
    assert hs.crm.lists.lists_api.get_by_id(list_id).list.size == 4

    dynamic = sandbox.hubspot.create_list("Dynamic", "DYNAMIC")
    with pytest.raises(ListsApiException) as refused:
        hs.crm.lists.memberships_api.add(dynamic, ids[1:2])
    assert refused.value.status == 400
    with pytest.raises(ListsApiException) as unknown:
        hs.crm.lists.lists_api.get_by_id("424242")
    assert unknown.value.status == 404


def test_properties_list_and_create(hs: HubSpot) -> None:
    everything = {p.name: p for p in hs.crm.properties.core_api.get_all("contacts").results}
    stage = everything["lifecyclestage"]
    assert (stage.type, stage.field_type) == ("enumeration", "radio")
    assert [o.label for o in stage.options][:3] == [
        "Subscriber",
        "Lead",
        "Marketing Qualified Lead",
    ]
    assert everything["hubspotscore"].modification_metadata.read_only_value is True
    labels = {o.value: o.label for o in everything["hs_analytics_source"].options}
    assert labels["ORGANIC_SEARCH"] == "Organic Search"
    assert labels["OFFLINE"] == "Offline Sources"

    created = hs.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="tier",
            label="Tier",
            type="enumeration",
            field_type="select",
            group_name="contactinformation",
            options=[
                OptionInput(label="Gold", value="gold", display_order=0, hidden=False),
                OptionInput(label="Silver", value="silver", display_order=1, hidden=False),
            ],
        ),
    )
    assert created.name == "tier"
    assert hs.crm.properties.core_api.get_by_name("contacts", "tier").options[0].value == "gold"
    with pytest.raises(Exception) as clash:
        hs.crm.properties.core_api.create(
            "contacts",
            PropertyCreate(
                name="tier", label="Tier", type="string", field_type="text", group_name="x"
            ),
        )
    assert getattr(clash.value, "status", None) == 409


# ---------------------------------------------------------------------- Sell (basecrm)


def test_default_sell_token_suits_basecrm() -> None:
    assert len(DEFAULT_SELL_TOKEN) == 64
    assert basecrm.Configuration(access_token=DEFAULT_SELL_TOKEN).validate()


def test_leads_create_list_retrieve_update_destroy(sell: basecrm.Client, sandbox: Sandbox) -> None:
    sandbox.sell.add_custom_field("lead", "HubSpot score", "number")
    lead = sell.leads.create(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        tags=["vip"],
        address={"city": "London"},
        custom_fields={"HubSpot score": 87},
    )
    assert lead.custom_fields == {"HubSpot score": "87"}  # numbers read back as strings
    assert lead.status == "New" and lead.owner_id == lead.creator_id
    assert lead.created_at.endswith("Z")

    assert sell.leads.retrieve(lead.id).email == "ada@example.com"
    updated = sell.leads.update(lead.id, tags=["hubspot"], address={"country": "UK"})
    assert updated.tags == ["hubspot"]  # tags replace
    assert updated.address.city == "London" and updated.address.country == "UK"
    assert updated.first_name == "Ada"  # PUT is partial
    assert updated.updated_at >= lead.updated_at

    sell.leads.create(organization_name="Acme Corp")
    found = sell.leads.list(email="ADA@example.com", per_page=100)
    assert [item.id for item in found] == [lead.id]
    ordered = sell.leads.list(sort_by="id:desc")
    assert [item.id for item in ordered] == sorted((item.id for item in ordered), reverse=True)

    assert sell.leads.destroy(lead.id) is True
    with pytest.raises(basecrm.errors.RequestError) as gone:
        sell.leads.retrieve(lead.id)
    assert gone.value.http_status == 404
    assert gone.value.errors[0].code == "not_found"


def test_lead_validation_errors(sell: basecrm.Client, sandbox: Sandbox) -> None:
    sandbox.sell.add_custom_field("lead", "Tier", "list", ["Gold", "Silver"])
    with pytest.raises(basecrm.errors.ResourceError) as blank:
        sell.leads.create(first_name="Only")
    assert blank.value.http_status == 422
    assert (blank.value.errors[0].code, blank.value.errors[0].field) == ("blank", "/data/last_name")
    assert blank.value.logref

    with pytest.raises(basecrm.errors.ResourceError) as bad:
        sell.leads.create(last_name="X", email="not-an-email", custom_fields={"Tier": "Bronze"})
    codes = {(e.code, e.field) for e in bad.value.errors}
    assert ("incorrect_value", "/data/email") in codes
    assert ("incorrect_value", "/data/custom_fields/Tier") in codes

    with pytest.raises(basecrm.errors.ResourceError) as unknown:
        sell.leads.create(last_name="X", custom_fields={"Nope": "1"})
    assert unknown.value.errors[0].code == "unknown"


def test_contacts_people_and_organizations(sell: basecrm.Client) -> None:
    person = sell.contacts.create(first_name="Grace", last_name="Hopper", email="g@example.com")
    org = sell.contacts.create(is_organization=True, name="Navy")
    assert person.is_organization is False and person.name == "Grace Hopper"
    assert org.is_organization is True
    assert person.customer_status == "none" and person.prospect_status == "none"

    with pytest.raises(basecrm.errors.ResourceError) as no_name:
        sell.contacts.create(is_organization=True)
    assert no_name.value.errors[0].field == "/data/name"
    with pytest.raises(basecrm.errors.ResourceError) as flip:
        sell.contacts.update(person.id, is_organization=True)
    assert flip.value.errors[0].field == "/data/is_organization"

    orgs = sell.contacts.list(is_organization="true")
    assert [c.id for c in orgs] == [org.id]
    assert sell.contacts.destroy(org.id) is True


def test_boolean_filters_take_python_bools_from_basecrm(sell: basecrm.Client) -> None:
    """basecrm puts ``is_organization=True`` in the query string as ``True``; Sell reads it as
    a boolean, so the sandbox must too (any casing of true/false), and refuse anything else."""
    person = sell.contacts.create(first_name="Ada", last_name="Lovelace")
    org = sell.contacts.create(is_organization=True, name="Analytical Engines")

    assert [c.id for c in sell.contacts.list(is_organization=True)] == [org.id]
    assert [c.id for c in sell.contacts.list(is_organization=False)] == [person.id]
    assert [c.id for c in sell.contacts.list(is_organization="FALSE")] == [person.id]
    with pytest.raises(basecrm.errors.RequestError) as bad:
        sell.contacts.list(is_organization="yes")
    assert bad.value.http_status == 400


def test_lead_sources_and_users(sell: basecrm.Client) -> None:
    source = sell.lead_sources.create(name="Organic Search")
    assert source.resource_type == "lead"
    assert [s.id for s in sell.lead_sources.list(name="Organic Search")] == [source.id]
    with pytest.raises(basecrm.errors.ResourceError) as taken:
        sell.lead_sources.create(name="organic search")
    assert taken.value.errors[0].code == "already_exists"
    lead = sell.leads.create(last_name="Sourced", source_id=source.id)
    assert lead.source_id == source.id
    assert sell.users.self().role == "admin"


def test_basecrm_sees_sell_throttling(sell: basecrm.Client, sandbox: Sandbox) -> None:
    sandbox.sell.inject("429")
    with pytest.raises(basecrm.errors.RateLimitError):
        sell.leads.list()
    sandbox.sell.inject("429-empty")
    with pytest.raises(basecrm.errors.RateLimitError):
        sell.leads.list()
    sandbox.sell.inject("404-429")
    with pytest.raises(basecrm.errors.RequestError) as disguised:
        sell.leads.list()
    assert disguised.value.http_status == 404
    assert "/429.json" in disguised.value.errors[0].details
    assert sell.leads.list() == []

"""The HubSpot stand-in serves what a move out of Sell writes: companies, notes, owners,
associations and unique properties, over plain HTTP and through ``hubspot-api-client`` 12."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import AssociationSpec as V4Spec
from hubspot.crm.associations.v4 import (
    BatchInputPublicAssociationMultiPost,
    BatchInputPublicDefaultAssociationMultiPost,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4 import PublicObjectId as V4Id
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputForCreate,
    SimplePublicObjectBatchInputUpsert,
)
from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.objects.notes import AssociationSpec as NoteSpec
from hubspot.crm.objects.notes import (
    BatchInputSimplePublicObjectBatchInputForCreate as NoteBatchCreate,
)
from hubspot.crm.objects.notes import (
    PublicAssociationsForObject,
    PublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.objects.notes import (
    SimplePublicObjectBatchInputForCreate as NoteCreate,
)
from hubspot.crm.properties import PropertyCreate

from sandbox import Sandbox

COMPANIES = "/crm/objects/2026-03/companies"
NOTES = "/crm/objects/2026-03/notes"
ASSOC = "/crm/associations/2026-03"
OWNERS = "/crm/owners/2026-03"
WHEN = "2025-03-04T10:00:00Z"


@pytest.fixture
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {sandbox.hubspot_token}"}
    with httpx.Client(base_url=sandbox.hubspot_url, headers=headers, timeout=5) as client:
        yield client


@pytest.fixture
def hs(sandbox: Sandbox) -> HubSpot:
    return HubSpot(access_token=sandbox.hubspot_token, host=sandbox.hubspot_url)


def unique_property(http: httpx.Client, object_type: str, name: str) -> None:
    created = http.post(
        f"/crm/properties/2026-03/{object_type}",
        json={
            "name": name,
            "label": name.replace("_", " ").title(),
            "type": "string",
            "fieldType": "text",
            "groupName": "sellsync",
            "hasUniqueValue": True,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["hasUniqueValue"] is True


def contact(sandbox: Sandbox, email: str = "ada@example.com") -> str:
    return sandbox.hubspot.add_contact({"email": email, "firstname": "Ada"})


# ---------------------------------------------------------------------- companies


def types(type_id: int, category: str = "HUBSPOT_DEFINED") -> list[dict[str, object]]:
    """An association's types as the v4 write endpoints take them: one of ``category``."""
    return [{"associationCategory": category, "associationTypeId": type_id}]


def associate(
    http: httpx.Client,
    contact_id: str,
    company_id: str,
    type_id: int,
    category: str = "HUBSPOT_DEFINED",
) -> httpx.Response:
    """One contact-to-company association of ``type_id`` created through the batch endpoint."""
    return http.post(
        f"{ASSOC}/contacts/companies/batch/create",
        json={
            "inputs": [
                {
                    "from": {"id": contact_id},
                    "to": {"id": company_id},
                    "types": types(type_id, category),
                }
            ]
        },
    )


def test_companies_create_read_update_list_and_both_paths(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    created = http.post(COMPANIES, json={"properties": {"name": "Acme", "domain": "acme.io"}})
    assert created.status_code == 201
    company = created.json()
    assert company["properties"]["name"] == "Acme"
    assert company["url"].endswith(f"/record/0-2/{company['id']}")
    cid = company["id"]
    read = http.get(f"/crm/v3/objects/companies/{cid}").json()  # the official client's path
    assert set(read["properties"]) == {
        *("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    }
    changed = http.patch(f"{COMPANIES}/{cid}", json={"properties": {"industry": "RETAIL"}})
    assert changed.status_code == 200 and changed.json()["properties"]["industry"] == "RETAIL"
    bad = http.patch(f"{COMPANIES}/{cid}", json={"properties": {"industry": "Retail"}})
    assert bad.status_code == 400 and bad.json()["category"] == "VALIDATION_ERROR"
    assert bad.json()["errors"][0]["code"] == "INVALID_OPTION"
    for n in range(3):
        http.post(COMPANIES, json={"properties": {"name": f"C{n}"}})
    first = http.get(COMPANIES, params={"limit": 2}).json()
    assert len(first["results"]) == 2 and "after" in first["paging"]["next"]
    rest = http.get(COMPANIES, params={"limit": 2, "after": first["paging"]["next"]["after"]})
    assert len(rest.json()["results"]) == 2 and "paging" not in rest.json()
    assert http.get(f"{COMPANIES}/999").status_code == 404
    assert sandbox.hubspot.count("POST", COMPANIES, endpoint="companies.create") == 4
    assert sandbox.hubspot.count("GET", COMPANIES, endpoint="companies.get") == 2  # v3 + dated


def test_companies_batch_read_and_search(http: httpx.Client, sandbox: Sandbox) -> None:
    unique_property(http, "companies", "sell_organization_id")
    ids = [
        http.post(
            COMPANIES,
            json={"properties": {"name": n, "domain": d, "sell_organization_id": s}},
        ).json()["id"]
        for n, d, s in (("Acme", "acme.io", "5001"), ("Beta", "beta.io", "5002"))
    ]
    read = http.post(
        f"{COMPANIES}/batch/read",
        json={
            "properties": ["name"],
            "propertiesWithHistory": [],
            "idProperty": "sell_organization_id",
            "inputs": [{"id": "5002"}, {"id": "9999"}],
        },
    )
    assert read.status_code == 207
    assert [r["id"] for r in read.json()["results"]] == [ids[1]]
    assert read.json()["errors"][0]["context"] == {"ids": ["9999"]}

    def search(filters: list[dict[str, Any]]) -> list[str]:
        response = http.post(
            f"{COMPANIES}/search", json={"filterGroups": [{"filters": filters}], "limit": 10}
        )
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["results"]]

    assert search([{"propertyName": "domain", "operator": "EQ", "value": "ACME.io"}]) == ids[:1]
    assert search([{"propertyName": "name", "operator": "EQ", "value": "beta"}]) == ids[1:]
    assert (
        search(
            [{"propertyName": "sell_organization_id", "operator": "IN", "values": ["5001", "5002"]}]
        )
        == ids
    )
    unknown = http.post(
        f"{COMPANIES}/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "nope", "operator": "EQ", "value": "x"}]}
            ]
        },
    )
    assert unknown.status_code == 400 and "companies" in unknown.json()["message"]


def test_batch_limit_is_100_everywhere(http: httpx.Client, sandbox: Sandbox) -> None:
    big = [{"properties": {"name": f"C{n}"}} for n in range(101)]
    for path, body in (
        (f"{COMPANIES}/batch/create", {"inputs": big}),
        (f"{NOTES}/batch/create", {"inputs": big}),
        (
            f"{ASSOC}/contacts/companies/batch/associate/default",
            {"inputs": [{"from": {"id": "1"}, "to": {"id": "2"}}] * 101},
        ),
    ):
        response = http.post(path, json=body)
        assert response.status_code == 400, path
        assert response.json()["category"] == "VALIDATION_ERROR"
        assert "exceeds the limit of 100" in response.json()["message"]
    assert sandbox.hubspot.companies.live() == []


# ---------------------------------------------------------------------- unique values


def test_duplicate_unique_value_is_a_409_naming_the_existing_id(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    unique_property(http, "companies", "sell_organization_id")
    first = http.post(COMPANIES, json={"properties": {"name": "A", "sell_organization_id": "7"}})
    existing = first.json()["id"]
    again = http.post(COMPANIES, json={"properties": {"name": "B", "sell_organization_id": "7"}})
    assert again.status_code == 409
    body = again.json()
    assert body["category"] == "CONFLICT" and body["status"] == "error"
    assert body["message"] == f"Company already exists. Existing ID: {existing}"
    other = http.post(COMPANIES, json={"properties": {"name": "C"}}).json()["id"]
    clash = http.patch(f"{COMPANIES}/{other}", json={"properties": {"sell_organization_id": "7"}})
    assert clash.status_code == 409 and clash.json()["message"].endswith(existing)
    whole = http.post(
        f"{COMPANIES}/batch/create",
        json={"inputs": [{"properties": {"name": "D", "sell_organization_id": "7"}}]},
    )
    assert whole.status_code == 409 and whole.json()["category"] == "CONFLICT"
    traced = http.post(
        f"{COMPANIES}/batch/create",
        json={
            "inputs": [
                {
                    "properties": {"name": "D", "sell_organization_id": "7"},
                    "objectWriteTraceId": "a",
                },
                {
                    "properties": {"name": "E", "sell_organization_id": "8"},
                    "objectWriteTraceId": "b",
                },
            ]
        },
    )
    assert traced.status_code == 207
    error = traced.json()["errors"][0]
    assert error["category"] == "CONFLICT"
    assert error["context"] == {"objectWriteTraceId": ["a"], "existingId": [existing]}
    assert [r["objectWriteTraceId"] for r in traced.json()["results"]] == ["b"]
    values = [c.values.get("sell_organization_id") for c in sandbox.hubspot.companies.live()]
    assert sorted(v for v in values if v) == ["7", "8"]


def test_upsert_by_unique_property_creates_then_updates_never_duplicates(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    unique_property(http, "companies", "sell_organization_id")

    def upsert(name: str) -> httpx.Response:
        return http.post(
            f"{COMPANIES}/batch/upsert",
            json={
                "inputs": [
                    {"id": "42", "idProperty": "sell_organization_id", "properties": {"name": name}}
                ]
            },
        )

    created, updated = upsert("First"), upsert("Second")
    assert created.status_code == updated.status_code == 200
    assert created.json()["results"][0]["new"] is True
    assert updated.json()["results"][0]["new"] is False
    assert created.json()["results"][0]["id"] == updated.json()["results"][0]["id"]
    live = sandbox.hubspot.companies.live()
    assert [(c.values["name"], c.values["sell_organization_id"]) for c in live] == [
        ("Second", "42")
    ]
    not_unique = http.post(
        f"{COMPANIES}/batch/upsert",
        json={"inputs": [{"id": "acme.io", "idProperty": "domain", "properties": {}}]},
    )
    assert not_unique.status_code == 400
    assert "non-unique" in not_unique.json()["message"]


def test_unique_properties_are_capped_at_ten_per_type(http: httpx.Client) -> None:
    for n in range(10):
        unique_property(http, "notes", f"u{n}")
    refused = http.post(
        "/crm/properties/2026-03/notes",
        json={
            "name": "u10",
            "label": "U10",
            "type": "string",
            "fieldType": "text",
            "groupName": "g",
            "hasUniqueValue": True,
        },
    )
    assert refused.status_code == 400


def sell_tags(http: httpx.Client, object_type: str, *tags: str) -> httpx.Response:
    """The ``sell_tags`` checkbox property of ``object_type`` created with ``tags`` as options."""
    return http.post(
        f"/crm/properties/2026-03/{object_type}",
        json={
            "name": "sell_tags",
            "label": "Sell tags",
            "type": "enumeration",
            "fieldType": "checkbox",
            "groupName": "sellsync",
            "options": [{"label": t, "value": t} for t in tags],
        },
    )


def test_sell_tags_checkbox_property_on_contacts_and_companies(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    for object_type in ("contacts", "companies"):
        created = sell_tags(http, object_type, "vip", "webinar", "q3-push")
        assert created.status_code == 201, created.text
    company = http.post(COMPANIES, json={"properties": {"name": "T", "sell_tags": "vip;webinar"}})
    assert company.json()["properties"]["sell_tags"] == "vip;webinar"
    wrong = http.post(COMPANIES, json={"properties": {"name": "T", "sell_tags": "vip;gold"}})
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["code"] == "INVALID_OPTION"
    person = http.post(
        "/crm/objects/2026-03/contacts",
        json={"properties": {"email": "t@example.com", "sell_tags": "q3-push"}},
    )
    assert person.status_code == 201


# ---------------------------------------------------------------------- notes and owners


def test_notes_need_a_timestamp_and_a_real_owner(http: httpx.Client, sandbox: Sandbox) -> None:
    owner = sandbox.hubspot.add_owner("o@example.com", "Olga", "Owner")
    no_time = http.post(NOTES, json={"properties": {"hs_note_body": "x"}})
    assert no_time.status_code == 400
    assert no_time.json()["errors"][0]["context"] == {"propertyName": ["hs_timestamp"]}
    bad_owner = http.post(
        NOTES,
        json={"properties": {"hs_timestamp": WHEN, "hs_note_body": "x", "hubspot_owner_id": "1"}},
    )
    assert bad_owner.status_code == 400
    assert bad_owner.json()["errors"][0]["code"] == "INVALID_OWNER_ID"
    ok = http.post(
        NOTES,
        json={
            "properties": {
                "hs_timestamp": WHEN,
                "hs_note_body": "<p>x</p>",
                "hubspot_owner_id": owner,
            }
        },
    )
    assert ok.status_code == 201
    props = ok.json()["properties"]
    assert props["hs_timestamp"] == "2025-03-04T10:00:00.000Z"
    assert props["hubspot_owner_id"] == owner and props["hs_note_body"] == "<p>x</p>"
    default = http.get(f"{NOTES}/{ok.json()['id']}").json()["properties"]
    assert set(default) == {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"}


def test_notes_batch_create_with_inline_associations_and_upsert(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    person = contact(sandbox)
    company = sandbox.hubspot.add_company({"name": "Acme"})
    unique_property(http, "notes", "sell_note_id")
    created = http.post(
        f"{NOTES}/batch/create",
        json={
            "inputs": [
                {
                    "properties": {
                        "hs_timestamp": WHEN,
                        "hs_note_body": "Met",
                        "sell_note_id": "1",
                    },
                    "associations": [
                        {
                            "to": {"id": person},
                            "types": types(202),
                        },
                        {
                            "to": {"id": company},
                            "types": types(190),
                        },
                    ],
                }
            ]
        },
    )
    assert created.status_code == 201, created.text
    note = created.json()["results"][0]["id"]
    assert sandbox.hubspot.associated_ids("contacts", person, "notes") == [note]
    assert sandbox.hubspot.associated_ids("companies", company, "notes") == [note]
    dangling = http.post(
        f"{NOTES}/batch/create",
        json={
            "inputs": [
                {
                    "properties": {"hs_timestamp": WHEN, "hs_note_body": "x"},
                    "associations": [
                        {
                            "to": {"id": "123"},
                            "types": types(202),
                        }
                    ],
                }
            ]
        },
    )
    assert dangling.status_code == 400 and len(sandbox.hubspot.notes.live()) == 1
    upserted = http.post(
        f"{NOTES}/batch/upsert",
        json={
            "inputs": [
                {
                    "id": "1",
                    "idProperty": "sell_note_id",
                    "properties": {"hs_note_body": "Met again"},
                },
                {"id": "2", "idProperty": "sell_note_id", "properties": {"hs_timestamp": WHEN}},
            ]
        },
    )
    assert upserted.status_code == 200
    assert [r["new"] for r in upserted.json()["results"]] == [False, True]
    assert len(sandbox.hubspot.notes.live()) == 2
    found = http.post(
        f"{NOTES}/search",
        json={
            "filterGroups": [
                {"filters": [{"propertyName": "sell_note_id", "operator": "EQ", "value": "1"}]}
            ],
            "properties": ["hs_note_body"],
        },
    )
    assert [r["properties"]["hs_note_body"] for r in found.json()["results"]] == ["Met again"]
    with_assoc = http.get(f"{NOTES}/{note}", params={"associations": "contacts,companies"})
    assert with_assoc.json()["associations"]["contacts"]["results"] == [
        {"id": person, "type": "note_to_contact"}
    ]


def test_owners_list_filters_by_email_and_pages(http: httpx.Client, sandbox: Sandbox) -> None:
    ids = [
        sandbox.hubspot.add_owner(f"user{n}@example.com", f"U{n}", "Owner", teams=["Sales"])
        for n in range(5)
    ]
    gone = sandbox.hubspot.add_owner("gone@example.com", "Gone", "Owner", archived=True)
    page = http.get(OWNERS, params={"limit": 2})
    assert page.status_code == 200
    body = page.json()
    assert [o["id"] for o in body["results"]] == ids[:2]
    owner = body["results"][0]
    assert set(owner) >= {
        *("id", "email", "type", "firstName", "lastName", "userId"),
        *("userIdIncludingInactive", "createdAt", "updatedAt", "archived", "teams"),
    }
    seen = [o["id"] for o in body["results"]]
    while "paging" in body:
        body = http.get(
            body["paging"]["next"]["link"].replace(http.base_url.__str__().rstrip("/"), "")
        ).json()
        seen += [o["id"] for o in body["results"]]
    assert seen == ids
    by_email = http.get("/crm/v3/owners/", params={"email": "USER3@example.com"}).json()
    assert [o["id"] for o in by_email["results"]] == [ids[3]]
    archived = http.get(OWNERS, params={"archived": "true"}).json()["results"]
    assert [o["id"] for o in archived] == [gone] and archived[0]["userId"] is None
    one = http.get(f"{OWNERS}/{ids[1]}").json()
    assert one["email"] == "user1@example.com"
    by_user = http.get(f"{OWNERS}/{one['userId']}", params={"idProperty": "userId"})
    assert by_user.json()["id"] == ids[1]
    assert http.get(f"{OWNERS}/1").status_code == 404
    assert http.get(OWNERS, params={"limit": 501}).status_code == 400


# ---------------------------------------------------------------------- associations


def test_associations_labelled_default_and_read(http: httpx.Client, sandbox: Sandbox) -> None:
    ada, bob = contact(sandbox), contact(sandbox, "bob@example.com")
    acme = sandbox.hubspot.add_company({"name": "Acme"})
    beta = sandbox.hubspot.add_company({"name": "Beta"})
    primary = types(1)
    created = http.post(
        f"{ASSOC}/contacts/companies/batch/create",
        json={
            "inputs": [
                {"from": {"id": ada}, "to": {"id": acme}, "types": primary},
                {"from": {"id": ada}, "to": {"id": beta}, "types": primary},
                {"from": {"id": ada}, "to": {"id": "404"}, "types": primary},
            ]
        },
    )
    assert created.status_code == 207
    assert created.json()["results"][0] == {
        "fromObjectTypeId": "0-1",
        "fromObjectId": ada,
        "toObjectTypeId": "0-2",
        "toObjectId": acme,
        "labels": ["Primary"],
    }
    assert created.json()["errors"][0]["context"] == {"toObjectId": ["404"]}
    default = http.post(
        f"{ASSOC}/contacts/companies/batch/associate/default",
        json={"inputs": [{"from": {"id": bob}, "to": {"id": acme}}]},
    )
    assert default.json()["results"][0]["associationSpec"] == {
        "associationCategory": "HUBSPOT_DEFINED",
        "associationTypeId": 279,
    }
    read = http.post(
        "/crm/v4/associations/contacts/companies/batch/read",
        json={"inputs": [{"id": ada}, {"id": bob}, {"id": "999"}]},
    )
    assert read.status_code == 207
    by_from = {r["from"]["id"]: r["to"] for r in read.json()["results"]}
    # the newer primary replaced the first; both companies keep the unlabelled association
    assert by_from[ada] == [
        {
            "toObjectId": acme,
            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None}],
        },
        {
            "toObjectId": beta,
            "associationTypes": [
                {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
                {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None},
            ],
        },
    ]
    assert by_from[bob][0]["toObjectId"] == acme
    assert read.json()["errors"][0]["subCategory"] == "crm-associations.NO_ASSOCIATIONS_FOUND"
    back = http.post(f"{ASSOC}/companies/contacts/batch/read", json={"inputs": [{"id": acme}]})
    assert sorted(t["toObjectId"] for t in back.json()["results"][0]["to"]) == sorted([ada, bob])
    assert (sandbox.hubspot.company(acme) or {})["properties"]["num_associated_contacts"] == "2"
    wrong = associate(http, ada, acme, 202)
    assert wrong.status_code == 400
    assert http.post(f"{ASSOC}/contacts/deals_x/batch/read", json={"inputs": []}).status_code == 400


def test_user_defined_labels(http: httpx.Client, sandbox: Sandbox) -> None:
    ada, acme = contact(sandbox), sandbox.hubspot.add_company({"name": "Acme"})
    made = http.post(
        f"{ASSOC}/contacts/companies/labels",
        json={"label": "Former employee", "name": "former_employee"},
    )
    assert made.status_code == 200
    label = made.json()["results"][0]
    assert label["category"] == "USER_DEFINED" and label["label"] == "Former employee"
    labels = http.get(f"{ASSOC}/contacts/companies/labels").json()["results"]
    assert {(x["typeId"], x["label"]) for x in labels} >= {
        (279, None),
        (1, "Primary"),
        (label["typeId"], "Former employee"),
    }
    created = associate(http, ada, acme, label["typeId"], "USER_DEFINED")
    assert created.status_code == 201 and created.json()["results"][0]["labels"] == [
        "Former employee"
    ]
    listed = http.get(f"/crm/objects/2026-03/companies/{acme}/associations/contacts").json()
    assert {t["typeId"] for t in listed["results"][0]["associationTypes"]} == {
        280,
        label["typeId"] + 1,
    }


# ---------------------------------------------------------------------- limits


def test_new_endpoints_share_hubspots_rate_limits(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.limits.update({"enabled": True, "hubspot_per_10s": 2, "hubspot_search_per_s": 1})
    statuses = [http.get(COMPANIES).status_code, http.get(OWNERS).status_code]
    refused = http.post(f"{ASSOC}/contacts/companies/batch/read", json={"inputs": []})
    assert statuses == [200, 200] and refused.status_code == 429
    assert refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    searches = [http.post(f"{NOTES}/search", json={}).status_code for _ in range(2)]
    assert searches == [200, 429]  # search: its own secondly bucket


def test_faults_match_either_path_spelling(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.hubspot.inject("429", path_prefix="/crm/objects/2026-03/companies/batch/create")
    refused = http.post(
        "/crm/v3/objects/companies/batch/create", json={"inputs": [{"properties": {"name": "A"}}]}
    )
    assert refused.status_code == 429 and sandbox.hubspot.companies.live() == []


# ---------------------------------------------------------------------- the official client


def test_official_client_companies_notes_owners_and_associations(
    hs: HubSpot, sandbox: Sandbox
) -> None:
    owner = sandbox.hubspot.add_owner("marco@example.com", "Marco", "Ruiz")
    person = contact(sandbox)
    hs.crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="sell_organization_id",
            label="Sell organization id",
            type="string",
            field_type="text",
            group_name="companyinformation",
            has_unique_value=True,
        ),
    )
    made = hs.crm.companies.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"name": "Acme", "sell_organization_id": "5001"}, associations=[]
                )
            ]
        )
    )
    company = made.results[0].id
    with pytest.raises(CompaniesApiException) as conflict:
        hs.crm.companies.batch_api.create(
            BatchInputSimplePublicObjectBatchInputForCreate(
                inputs=[
                    SimplePublicObjectBatchInputForCreate(
                        properties={"name": "Again", "sell_organization_id": "5001"},
                        associations=[],
                    )
                ]
            )
        )
    assert conflict.value.status == 409 and f"Existing ID: {company}" in str(conflict.value.body)
    upsert = hs.crm.companies.batch_api.upsert(
        BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id="5001", id_property="sell_organization_id", properties={"city": "Oslo"}
                )
            ]
        )
    )
    assert upsert.results[0].id == company
    note = hs.crm.objects.notes.basic_api.create(
        SimplePublicObjectInputForCreate(
            properties={"hs_timestamp": WHEN, "hs_note_body": "Hello", "hubspot_owner_id": owner},
            associations=[
                PublicAssociationsForObject(
                    to=PublicObjectId(id=person),
                    types=[
                        NoteSpec(association_category="HUBSPOT_DEFINED", association_type_id=202)
                    ],
                )
            ],
        )
    )
    batch = hs.crm.objects.notes.batch_api.create(
        NoteBatchCreate(inputs=[NoteCreate(properties={"hs_timestamp": WHEN}, associations=[])])
    )
    assert len(batch.results) == 1
    owners = hs.crm.owners.owners_api.get_page(email="MARCO@example.com", limit=10)
    assert [o.id for o in owners.results] == [owner]
    hs.crm.associations.v4.batch_api.create(
        from_object_type="contacts",
        to_object_type="companies",
        batch_input_public_association_multi_post=BatchInputPublicAssociationMultiPost(
            inputs=[
                PublicAssociationMultiPost(
                    _from=V4Id(id=person),
                    to=V4Id(id=company),
                    types=[V4Spec(association_category="HUBSPOT_DEFINED", association_type_id=1)],
                )
            ]
        ),
    )
    hs.crm.associations.v4.batch_api.create_default(
        from_object_type="notes",
        to_object_type="companies",
        batch_input_public_default_association_multi_post=BatchInputPublicDefaultAssociationMultiPost(
            inputs=[PublicDefaultAssociationMultiPost(_from=V4Id(id=note.id), to=V4Id(id=company))]
        ),
    )
    read = hs.crm.associations.v4.batch_api.get_page(
        from_object_type="companies",
        to_object_type="notes",
        batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=company)]
        ),
    )
    assert [t.to_object_id for t in read.results[0].to] == [note.id]
    assert sandbox.hubspot.associated_ids("contacts", person, "companies") == [company]
    assert sandbox.hubspot.internal_errors == []


# ---------------------------------------------------------------------- bad input

BAD_BODIES: list[Any] = [
    [],
    "x",
    {},
    {"inputs": 1},
    {"inputs": [1]},
    {"inputs": [{}]},
    {"inputs": [{"id": None, "properties": None, "from": 1, "to": [], "types": [1]}]},
    {"properties": "x", "associations": [1]},
    {"properties": {"name": {"a": 1}}},
    {"filterGroups": [{"filters": [1]}]},
    {"sorts": [1], "limit": "x"},
    {"label": None, "name": None},
    [1],
]


def test_bad_bodies_get_a_4xx_never_a_crash(http: httpx.Client, sandbox: Sandbox) -> None:
    person = contact(sandbox)
    company = sandbox.hubspot.add_company({"name": "Acme"})
    paths = [
        (method, f"/crm/objects/2026-03/{kind}{tail}")
        for kind in ("companies", "notes")
        for method, tail in (
            ("POST", ""),
            ("POST", "/search"),
            ("POST", "/batch/read"),
            ("POST", "/batch/create"),
            ("POST", "/batch/update"),
            ("POST", "/batch/upsert"),
            ("PATCH", f"/{company}"),
        )
    ] + [
        ("POST", f"{ASSOC}/contacts/companies/batch/create"),
        ("POST", f"{ASSOC}/contacts/companies/batch/associate/default"),
        ("POST", f"{ASSOC}/contacts/companies/batch/read"),
        ("POST", f"{ASSOC}/contacts/companies/labels"),
        ("PUT", f"/crm/objects/2026-03/contacts/{person}/associations/companies/{company}"),
    ]
    for method, path in paths:
        for body in [*BAD_BODIES, None]:
            sent = {"content": b"{not json"} if body is None else {"json": body}
            response = http.request(method, path, **sent)
            assert response.status_code < 500, (method, path, body, response.text)
            if body is None or not isinstance(body, dict):  # not a JSON object: always refused
                assert 400 <= response.status_code < 500, (method, path, body, response.text)
                assert response.json()["status"] == "error"
    assert sandbox.hubspot.internal_errors == []


def test_contacts_unique_property_conflict_is_phrased_like_every_object(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    unique_property(http, "contacts", "zendesk_sell_id")
    first = http.post(
        "/crm/objects/2026-03/contacts", json={"properties": {"zendesk_sell_id": "lead:1"}}
    )
    again = http.post(
        "/crm/objects/2026-03/contacts", json={"properties": {"zendesk_sell_id": "lead:1"}}
    )
    assert again.status_code == 409 and again.json()["category"] == "CONFLICT"
    assert again.json()["message"] == f"Contact already exists. Existing ID: {first.json()['id']}"


def test_property_options_are_replaced_by_an_update(http: httpx.Client, sandbox: Sandbox) -> None:
    for object_type in ("contacts", "companies"):
        base = f"/crm/properties/2026-03/{object_type}"
        sell_tags(http, object_type, "vip")
        updated = http.patch(
            f"{base}/sell_tags",
            json={"options": [{"label": t, "value": t} for t in ("vip", "new-tag")]},
        )
        assert updated.status_code == 200, updated.text
        assert [o["value"] for o in updated.json()["options"]] == ["vip", "new-tag"]
        empty = http.patch(f"{base}/sell_tags", json={"options": []})
        assert empty.status_code == 400
        assert http.patch(f"{base}/nope", json={"label": "x"}).status_code == 404
        builtin = http.patch(f"{base}/hubspot_owner_id", json={"label": "x"})
        assert builtin.status_code == 400
    tagged = http.post(COMPANIES, json={"properties": {"name": "T", "sell_tags": "new-tag"}})
    assert tagged.status_code == 201

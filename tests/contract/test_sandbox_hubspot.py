"""The HubSpot stand-in over plain HTTP: validation, batch semantics, search, lists, limits."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox, SandboxLimits

V3 = "/crm/v3/objects/contacts"
DATED = "/crm/objects/2026-03/contacts"
LISTS = "/crm/lists/2026-03"


@pytest.fixture(scope="module")
def http(running: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {running.hubspot_token}"}
    with httpx.Client(base_url=running.hubspot_url, headers=headers, timeout=5) as client:
        yield client


def create(http: httpx.Client, **properties: Any) -> httpx.Response:
    return http.post(DATED, json={"properties": properties})


def errors_of(response: httpx.Response) -> list[tuple[str, str]]:
    return [(e["code"], e["context"]["propertyName"][0]) for e in response.json()["errors"]]


def test_bearer_token_is_required(sandbox: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.get(sandbox.hubspot_url + DATED, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found")
        assert body["correlationId"]


def test_both_path_versions_serve_the_same_data_and_count_together(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    contact_id = create(http, email="a@example.com").json()["id"]
    assert http.get(f"{V3}/{contact_id}").json()["id"] == contact_id
    assert http.get(f"{DATED}/{contact_id}").json()["id"] == contact_id
    assert sandbox.hubspot.count("GET", V3) == 2
    assert sandbox.hubspot.count(path_prefix=DATED) == 3
    assert sandbox.hubspot.count(endpoint="contacts.get") == 2


def test_contact_shape(http: httpx.Client, sandbox: Sandbox) -> None:
    body = create(http, email="shape@example.com", firstname="Shape").json()
    assert set(body) >= {"id", "properties", "createdAt", "updatedAt", "archived", "url"}
    assert body["url"] == (
        f"https://app.hubspot.com/contacts/{sandbox.hubspot.portal_id}/record/0-1/{body['id']}"
    )
    assert all(isinstance(v, str) for v in body["properties"].values())
    assert body["properties"]["createdate"].endswith("Z")
    default = http.get(f"{DATED}/{body['id']}").json()["properties"]
    assert set(default) == {
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    }


def test_lastmodifieddate_moves_on_every_write(http: httpx.Client) -> None:
    contact_id = create(http, email="t@example.com").json()["id"]
    stamps = []
    for n in range(5):
        patched = http.patch(f"{DATED}/{contact_id}", json={"properties": {"jobtitle": f"T{n}"}})
        stamps.append(patched.json()["properties"]["lastmodifieddate"])
    assert stamps == sorted(stamps) and len(set(stamps)) == 5


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ({"nope": "x"}, ("PROPERTY_DOESNT_EXIST", "nope")),
        ({"hubspotscore": "50"}, ("READ_ONLY_VALUE", "hubspotscore")),
        ({"lastmodifieddate": "1700000000000"}, ("READ_ONLY_VALUE", "lastmodifieddate")),
        ({"lifecyclestage": "Lead"}, ("INVALID_OPTION", "lifecyclestage")),
        ({"email": "not-an-email"}, ("INVALID_EMAIL", "email")),
        ({"revenue": "12k"}, ("INVALID_DECIMAL", "revenue")),
        ({"opt_in": "yes"}, ("INVALID_BOOLEAN", "opt_in")),
        ({"started": "2024-13-01"}, ("INVALID_DATE", "started")),
        ({"started": "1700000000000"}, ("INVALID_DATE", "started")),  # not midnight UTC
        ({"interests": "a;zzz"}, ("INVALID_OPTION", "interests")),
    ],
)
def test_property_values_are_validated(
    http: httpx.Client, sandbox: Sandbox, properties: dict[str, str], expected: tuple[str, str]
) -> None:
    sandbox.hubspot.add_property("revenue", type="number", field_type="number")
    sandbox.hubspot.add_property("opt_in", type="bool", field_type="booleancheckbox")
    sandbox.hubspot.add_property("started", type="date", field_type="date")
    sandbox.hubspot.add_property(
        "interests", type="enumeration", field_type="checkbox", options=[("a", "A"), ("b", "B")]
    )
    response = create(http, **{"email": "v@example.com", **properties})
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert body["message"].startswith("Property values were not valid: ")
    assert errors_of(response) == [expected]
    if expected[0] == "PROPERTY_DOESNT_EXIST":
        assert 'Property \\"nope\\" does not exist' in body["message"]
    assert sandbox.hubspot.contact_ids() == []  # nothing was written


def test_valid_values_are_normalised(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.hubspot.add_property("opt_in", type="bool", field_type="booleancheckbox")
    sandbox.hubspot.add_property("started", type="date", field_type="date")
    sandbox.hubspot.add_property("seen", type="datetime", field_type="date")
    sandbox.hubspot.add_property(
        "interests", type="enumeration", field_type="checkbox", options=[("a", "A"), ("b", "B")]
    )
    body = create(
        http,
        email="n@example.com",
        opt_in=True,
        started="1704067200000",
        seen="2024-01-01T10:00:00+02:00",
        interests="a",
    ).json()
    assert body["properties"]["opt_in"] == "true"
    assert body["properties"]["started"] == "2024-01-01"
    assert body["properties"]["seen"] == "2024-01-01T08:00:00.000Z"
    appended = http.patch(f"{DATED}/{body['id']}", json={"properties": {"interests": ";b"}})
    assert appended.json()["properties"]["interests"] == "a;b"


def test_additional_emails_are_unique_too(http: httpx.Client, sandbox: Sandbox) -> None:
    owner = sandbox.hubspot.add_contact(
        {"email": "main@example.com", "hs_additional_emails": "old@example.com"}
    )
    response = create(http, email="OLD@example.com")
    assert response.status_code == 409
    assert response.json()["message"] == f"Contact already exists. Existing ID: {owner}"


def test_batch_create_duplicate_aborts_the_whole_batch(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    existing = sandbox.hubspot.add_contact({"email": "taken@example.com"})
    inputs = [
        {"properties": {"email": "fresh@example.com"}},
        {"properties": {"email": "taken@example.com"}},
    ]
    response = http.post(f"{DATED}/batch/create", json={"inputs": inputs})
    assert response.status_code == 409
    assert response.json()["message"] == f"Contact already exists. Existing ID: {existing}"
    assert sandbox.hubspot.find_contact("fresh@example.com") is None


def test_batch_create_with_trace_ids_reports_per_item(http: httpx.Client, sandbox: Sandbox) -> None:
    existing = sandbox.hubspot.add_contact({"email": "taken@example.com"})
    inputs = [
        {"properties": {"email": "fresh@example.com"}, "objectWriteTraceId": "t1"},
        {"properties": {"email": "taken@example.com"}, "objectWriteTraceId": "t2"},
        {"properties": {"email": "x@example.com", "nope": "1"}, "objectWriteTraceId": "t3"},
    ]
    response = http.post(f"{DATED}/batch/create", json={"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    assert body["numErrors"] == 2
    by_trace = {e["context"]["objectWriteTraceId"][0]: e for e in body["errors"]}
    assert by_trace["t2"]["category"] == "CONFLICT"
    assert by_trace["t2"]["message"].endswith(existing)
    assert by_trace["t3"]["category"] == "VALIDATION_ERROR"
    assert [r["objectWriteTraceId"] for r in body["results"]] == ["t1"]
    assert sandbox.hubspot.find_contact("fresh@example.com") == body["results"][0]["id"]


def test_batch_update_reports_each_failure(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.hubspot.add_property("revenue", type="number", field_type="number")
    good = sandbox.hubspot.add_contact({"email": "g@example.com"})
    bad = sandbox.hubspot.add_contact({"email": "b@example.com"})
    gone = sandbox.hubspot.add_contact({"email": "z@example.com"})
    sandbox.hubspot.archive_contact(gone)
    inputs = [
        {"id": good, "properties": {"revenue": "12.5"}},
        {"id": bad, "properties": {"revenue": "lots"}},
        {"id": gone, "properties": {"revenue": "1"}},
    ]
    response = http.post(f"{DATED}/batch/update", json={"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    categories = {e["category"]: e["context"]["ids"] for e in body["errors"]}
    assert categories == {"OBJECT_NOT_FOUND": [gone], "VALIDATION_ERROR": [bad]}
    assert [r["id"] for r in body["results"]] == [good]
    assert (sandbox.hubspot.get_contact(bad) or {})["properties"].get("revenue") is None

    by_email = http.post(
        f"{DATED}/batch/update",
        json={"inputs": [{"id": "g@example.com", "idProperty": "email", "properties": {}}]},
    )
    assert by_email.status_code == 400
    assert "non-unique" in by_email.json()["message"]


@pytest.mark.parametrize("endpoint", ["read", "create", "update", "upsert"])
def test_batches_take_at_most_100_inputs(http: httpx.Client, endpoint: str) -> None:
    inputs = [{"id": str(i), "properties": {}} for i in range(101)]
    response = http.post(f"{DATED}/batch/{endpoint}", json={"inputs": inputs, "properties": []})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_batch_read_by_email(http: httpx.Client, sandbox: Sandbox) -> None:
    found = sandbox.hubspot.add_contact({"email": "Mixed@Example.com", "firstname": "M"})
    response = http.post(
        f"{DATED}/batch/read",
        json={
            "idProperty": "email",
            "properties": ["firstname"],
            "propertiesWithHistory": [],
            "inputs": [{"id": "mixed@example.com"}, {"id": "none@example.com"}],
        },
    )
    assert response.status_code == 207
    body = response.json()
    assert [(r["id"], r["properties"]["email"]) for r in body["results"]] == [
        (found, "Mixed@Example.com")
    ]
    assert body["errors"][0]["context"] == {"ids": ["none@example.com"]}


# ---------------------------------------------------------------------- search


def search(http: httpx.Client, **body: Any) -> httpx.Response:
    return http.post(f"{DATED}/search", json=body)


def ids_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["id"] for r in response.json()["results"]]


@pytest.fixture
def people(sandbox: Sandbox) -> dict[str, str]:
    add = sandbox.hubspot.add_contact
    return {
        "ada": add(
            {
                "email": "ada@acme.com",
                "firstname": "Ada",
                "hubspotscore": "90",
                "lifecyclestage": "lead",
            }
        ),
        "bob": add({"email": "bob@acme.com", "firstname": "Bob", "hubspotscore": "40"}),
        "cy": add({"email": "cy@other.org", "firstname": "Cy", "lifecyclestage": "customer"}),
        "old": add({"email": "old@acme.com", "hubspotscore": "99"}, archived=True),
    }


def test_search_groups_or_and_filters_and(http: httpx.Client, people: dict[str, str]) -> None:
    response = search(
        http,
        filterGroups=[
            {"filters": [{"propertyName": "hubspotscore", "operator": "GTE", "value": "50"}]},
            {
                "filters": [
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"},
                    {"propertyName": "firstname", "operator": "EQ", "value": "cy"},
                ]
            },
        ],
    )
    assert sorted(ids_of(response)) == sorted([people["ada"], people["cy"]])  # archived never
    assert response.json()["total"] == 2


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"propertyName": "hubspotscore", "operator": "HAS_PROPERTY"}, ["ada", "bob"]),
        ({"propertyName": "hubspotscore", "operator": "NOT_HAS_PROPERTY"}, ["cy"]),
        ({"propertyName": "hubspotscore", "operator": "LT", "value": "50"}, ["bob"]),
        (
            {
                "propertyName": "hubspotscore",
                "operator": "BETWEEN",
                "value": "40",
                "highValue": "90",
            },
            ["ada", "bob"],
        ),
        (
            {"propertyName": "email", "operator": "IN", "values": ["ada@acme.com", "cy@other.org"]},
            ["ada", "cy"],
        ),
        ({"propertyName": "email", "operator": "IN", "values": ["ADA@ACME.COM"]}, []),
        (
            {"propertyName": "email", "operator": "NOT_IN", "values": ["ada@acme.com"]},
            ["bob", "cy"],
        ),
        (
            {"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "*@acme.com"},
            ["ada", "bob"],
        ),
        ({"propertyName": "lifecyclestage", "operator": "NEQ", "value": "lead"}, ["bob", "cy"]),
        ({"propertyName": "firstname", "operator": "EQ", "value": "ADA"}, ["ada"]),
    ],
)
def test_search_operators(
    http: httpx.Client, people: dict[str, str], flt: dict[str, Any], expected: list[str]
) -> None:
    response = search(http, filterGroups=[{"filters": [flt]}])
    assert ids_of(response) == sorted(people[name] for name in expected)


def test_search_by_lastmodifieddate_accepts_ms_and_iso(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    first = sandbox.hubspot.add_contact({"email": "1@example.com"})
    cursor = sandbox.hubspot.now_ms()
    second = sandbox.hubspot.add_contact({"email": "2@example.com"})
    sandbox.hubspot.update_contact(first, {"jobtitle": "touched"})
    sorts = [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    flt = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(cursor)}
    assert ids_of(search(http, filterGroups=[{"filters": [flt]}], sorts=sorts)) == [second, first]
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(cursor / 1000)) + f".{cursor % 1000:03d}Z"
    flt["value"] = iso
    assert ids_of(search(http, filterGroups=[{"filters": [flt]}], sorts=sorts)) == [second, first]


def test_search_limits(http: httpx.Client, sandbox: Sandbox) -> None:
    for i in range(12):
        sandbox.hubspot.add_contact({"email": f"{i}@example.com"})
    default = search(http)
    assert len(ids_of(default)) == 10  # default limit
    assert default.json()["paging"]["next"]["after"] == "10"
    assert search(http, limit=201).status_code == 400
    assert search(http, after="10000").status_code == 400
    two_sorts = [{"propertyName": "email"}, {"propertyName": "firstname"}]
    assert search(http, sorts=two_sorts).status_code == 400
    huge = [
        {
            "propertyName": "email",
            "operator": "IN",
            "values": [f"{i}@example.com" for i in range(200)],
        }
    ]
    assert len(json.dumps({"filterGroups": [{"filters": huge}]})) > 3000
    too_big = search(http, filterGroups=[{"filters": huge}])
    assert too_big.status_code == 400
    assert too_big.json()["category"] == "VALIDATION_ERROR"
    unknown = search(
        http, filterGroups=[{"filters": [{"propertyName": "nope", "operator": "EQ", "value": "1"}]}]
    )
    assert unknown.status_code == 400


# ---------------------------------------------------------------------- lists and properties


def test_list_endpoints(http: httpx.Client, sandbox: Sandbox) -> None:
    ids = [sandbox.hubspot.add_contact({"email": f"l{i}@example.com"}) for i in range(4)]
    list_id = sandbox.hubspot.create_list("Sell sync")
    sandbox.hubspot.add_to_list(list_id, reversed(ids))  # joined in reverse order
    body = http.get(f"{LISTS}/{list_id}").json()["list"]
    assert body["listId"] == list_id and body["objectTypeId"] == "0-1"
    assert body["processingStatus"] == "COMPLETE" and body["size"] == 4
    by_name = http.get(f"{LISTS}/object-type-id/0-1/name/sell%20SYNC").json()["list"]
    assert by_name["listId"] == list_id
    members = http.get(f"{LISTS}/{list_id}/memberships").json()
    assert [m["recordId"] for m in members["results"]] == ids  # ascending by record id
    joined = http.get(f"{LISTS}/{list_id}/memberships/join-order").json()
    assert [m["recordId"] for m in joined["results"]] == list(reversed(ids))
    assert http.get(f"{LISTS}/{list_id}/memberships", params={"limit": 251}).status_code == 400
    removed = http.put(f"{LISTS}/{list_id}/memberships/remove", json=[ids[0], "1"]).json()
    assert removed["recordIdsRemoved"] == [ids[0]] and removed["recordIdsMissing"] == ["1"]
    assert sandbox.hubspot.list_members(list_id) == ids[1:]
    mine = http.get(f"{LISTS}/records/0-1/{ids[1]}/memberships").json()["results"]
    assert [m["listId"] for m in mine] == [list_id]


def test_property_errors(http: httpx.Client) -> None:
    base = "/crm/properties/2026-03/contacts"
    assert http.get(f"{base}/nope").status_code == 404
    bad = http.post(
        base,
        json={"name": "x", "label": "X", "type": "number", "fieldType": "select", "groupName": "g"},
    )
    assert bad.status_code == 400
    created = http.post(
        base,
        json={"name": "x", "label": "X", "type": "number", "fieldType": "number", "groupName": "g"},
    )
    assert created.status_code == 201
    assert "hubspotDefined" not in created.json()
    assert created.headers["location"].endswith(f"{base}/x")


# ---------------------------------------------------------------------- rate limits


def test_ten_secondly_limit(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.limits.update({"enabled": True, "hubspot_per_10s": 3, "hubspot_window_s": 0.6})
    statuses = []
    for n in range(4):
        response = create(http, email=f"r{n}@example.com")
        statuses.append(response.status_code)
    assert statuses == [201, 201, 201, 429]
    assert response.json() | {"correlationId": "x", "groupName": "g"} == {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "x",
        "policyName": "TEN_SECONDLY_ROLLING",
        "groupName": "g",
    }
    assert response.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert response.headers["X-HubSpot-RateLimit-Max"] == "3"
    assert response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "600"
    assert int(response.headers["Retry-After"]) >= 1
    assert sandbox.hubspot.find_contact("r3@example.com") is None  # refused: not applied
    time.sleep(0.65)
    ok = create(http, email="r3@example.com")
    assert ok.status_code == 201
    assert ok.headers["X-HubSpot-RateLimit-Remaining"] == "2"
    assert ok.headers["X-HubSpot-RateLimit-Daily-Remaining"] == str(1_000_000 - 4)


def test_search_has_its_own_limit_and_no_headers(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.limits.update({"enabled": True, "hubspot_per_10s": 2, "hubspot_search_per_s": 2})
    responses = [search(http) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[2].json()["message"] == "You have reached your secondly limit."
    assert not any(
        h.lower().startswith("x-hubspot-ratelimit") for r in responses for h in r.headers
    )
    listed = http.get(DATED)  # the ten-secondly window was not touched by search
    assert listed.headers["X-HubSpot-RateLimit-Remaining"] == "1"


def test_daily_limit(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.limits.update({"enabled": True, "hubspot_daily": 2})
    assert [http.get(DATED).status_code for _ in range(2)] == [200, 200]
    refused = http.get(DATED)
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["message"] == "You have reached your daily limit."
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"


def test_scale_multiplies_allowances(sandbox: Sandbox) -> None:
    sandbox.limits.update({"hubspot_per_10s": 190, "scale": 10})
    assert sandbox.limits.hubspot_burst == 1900
    assert SandboxLimits(scale=0.5).sell_rate == 5.0

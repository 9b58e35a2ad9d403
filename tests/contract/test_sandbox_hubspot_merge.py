"""The HubSpot stand-in's contact merges over plain HTTP (SPEC L2, ``reference/hubspot-api.md``
§10): the ``merge`` route's refusals and answer, and how a merged-away id answers afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox

V3 = "/crm/v3/objects/contacts"
DATED = "/crm/objects/2026-03/contacts"
MERGE = f"{DATED}/merge"
LISTS = "/crm/lists/2026-03"


@pytest.fixture(scope="module")
def http(running: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {running.hubspot_token}"}
    with httpx.Client(base_url=running.hubspot_url, headers=headers, timeout=5) as client:
        yield client


def merge(http: httpx.Client, primary: Any, absorbed: Any, path: str = MERGE) -> httpx.Response:
    return http.post(path, json={"primaryObjectId": primary, "objectIdToMerge": absorbed})


def batch_read(http: httpx.Client, ids: list[str], **extra: Any) -> httpx.Response:
    return http.post(
        f"{DATED}/batch/read",
        json={
            "inputs": [{"id": i} for i in ids],
            "properties": ["email", "firstname", "hs_merged_object_ids"],
            "propertiesWithHistory": [],
            **extra,
        },
    )


def search_ids(http: httpx.Client, since_ms: int = 0) -> list[str]:
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(since_ms)}
                ]
            }
        ],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": ["email"],
        "limit": 100,
        "after": "0",
    }
    answer = http.post(f"{DATED}/search", json=body)
    assert answer.status_code == 200, answer.text
    return [r["id"] for r in answer.json()["results"]]


# --------------------------------------------------------------------------- the route


def test_l2_merge_answers_the_survivor_as_a_simple_public_object(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com", "firstname": "Ann"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com", "firstname": "Bea", "jobtitle": "CTO"})
    answer = merge(http, a, b)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert body["id"] == a and body["archived"] is False
    props = body["properties"]
    assert props["firstname"] == "Ann"  # the survivor keeps its filled values
    assert props["jobtitle"] == "CTO"  # and fills its blanks from the absorbed contact
    assert props["email"] == "a@x.com" and props["hs_additional_emails"] == "b@x.com"
    assert props["hs_merged_object_ids"] == b
    assert sandbox.hubspot.count(endpoint="contacts.merge") == 1


def test_l2_merge_is_served_under_the_v3_path_too(http: httpx.Client, sandbox: Sandbox) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    answer = merge(http, a, b, path=f"{V3}/merge")
    assert answer.status_code == 200, answer.text
    assert sandbox.hubspot.count(endpoint="contacts.merge") == 1


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"primaryObjectId": "1"}, "objectIdToMerge"),
        ({"objectIdToMerge": "2"}, "primaryObjectId"),
        ({}, "primaryObjectId"),
    ],
)
def test_l2_merge_without_a_required_field_is_a_validation_error(
    http: httpx.Client, sandbox: Sandbox, body: dict[str, str], names: str
) -> None:
    answer = http.post(MERGE, json=body)
    assert answer.status_code == 400
    error = answer.json()
    assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
    assert "PublicMergeInput" in error["message"] and names in error["message"]
    assert error["correlationId"]


@pytest.mark.parametrize("bad", ["", "   ", 7, None, ["1"]])
def test_l2_merge_with_a_blank_or_non_string_id_is_a_validation_error(
    http: httpx.Client, sandbox: Sandbox, bad: Any
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    for primary, absorbed in ((a, bad), (bad, a)):
        answer = merge(http, primary, absorbed)
        assert answer.status_code == 400, answer.text
        assert answer.json()["category"] == "VALIDATION_ERROR"
    assert sandbox.hubspot.get_contact(a) is not None


def test_l2_merge_of_an_unknown_or_archived_contact_is_404(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    gone = sandbox.hubspot.add_contact({"email": "gone@x.com"})
    sandbox.hubspot.archive_contact(gone)
    for primary, absorbed in ((a, "999999999"), ("999999999", a), (a, gone), (gone, a)):
        answer = merge(http, primary, absorbed)
        assert answer.status_code == 404, (primary, absorbed, answer.text)
        error = answer.json()
        assert error["category"] == "OBJECT_NOT_FOUND" and error["correlationId"]
    assert sandbox.hubspot.get_contact(a)["properties"].get("hs_merged_object_ids") is None  # type: ignore[index]


def test_l2_merging_a_contact_with_itself_is_400(http: httpx.Client, sandbox: Sandbox) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    assert merge(http, a, a).status_code == 400
    assert merge(http, a, b).status_code == 200
    again = merge(http, a, b)  # b now stands for a
    assert again.status_code == 400 and again.json()["category"] == "VALIDATION_ERROR"


def test_l2_merge_needs_the_token(sandbox: Sandbox) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    answer = httpx.post(
        sandbox.hubspot_url + MERGE, json={"primaryObjectId": a, "objectIdToMerge": b}
    )
    assert answer.status_code == 401
    assert sandbox.hubspot.get_contact(b) is not None


# --------------------------------------------------------------------------- semantics


def test_l2_merged_ids_accumulate_transitively_in_ascending_order(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    c = sandbox.hubspot.add_contact({"email": "c@x.com"})
    assert merge(http, c, b).status_code == 200
    props = merge(http, a, c).json()["properties"]
    assert props["hs_merged_object_ids"] == f"{b};{c}"
    assert props["hs_additional_emails"].split(";") == ["c@x.com", "b@x.com"]
    # both old ids now answer with a, the transitive survivor
    for old in (b, c):
        got = http.get(f"{DATED}/{old}")
        assert got.status_code == 200 and got.json()["id"] == a


def test_l2_a_survivor_without_an_email_takes_the_absorbed_one(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"firstname": "Ann"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    props = merge(http, a, b).json()["properties"]
    assert props["email"] == "b@x.com" and not props.get("hs_additional_emails")


def test_l2_the_survivor_is_modified_now_and_the_absorbed_leaves_search(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    before = sandbox.hubspot.get_contact(a)
    assert before is not None
    since = sandbox.hubspot.now_ms()
    body = merge(http, a, b).json()
    assert body["updatedAt"] > before["updatedAt"]
    assert body["properties"]["lastmodifieddate"] == body["updatedAt"]
    assert search_ids(http, since) == [a]
    assert b not in search_ids(http)
    assert [r["id"] for r in http.get(DATED).json()["results"]] == [a]


def test_l2_the_absorbed_memberships_pass_to_the_survivor(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    only_b = sandbox.hubspot.create_list("Only B")
    both = sandbox.hubspot.create_list("Both")
    sandbox.hubspot.add_to_list(only_b, [b])
    sandbox.hubspot.add_to_list(both, [a, b])
    merge(http, a, b)
    for list_id in (only_b, both):
        page = http.get(f"{LISTS}/{list_id}/memberships").json()
        assert [r["recordId"] for r in page["results"]] == [a]
    assert http.get(f"{LISTS}/records/0-1/{b}/memberships").json()["total"] == 0


def test_l2_reads_of_an_absorbed_id_answer_with_the_survivor_once(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com", "firstname": "Ann"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    merge(http, a, b)
    got = http.get(f"{DATED}/{b}", params={"properties": "firstname"})
    assert got.status_code == 200 and got.json()["id"] == a
    assert got.json()["properties"]["firstname"] == "Ann"
    answer = batch_read(http, [b, a])
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert [r["id"] for r in results] == [a]
    assert results[0]["properties"]["hs_merged_object_ids"] == b
    alone = batch_read(http, [b]).json()["results"]
    assert [r["id"] for r in alone] == [a]
    assert sandbox.hubspot.writes_to_merged_ids == []  # reads are not writes


def test_l2_by_email_the_absorbed_address_finds_the_survivor(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    merge(http, a, b)
    results = batch_read(http, ["b@x.com", "a@x.com"], idProperty="email").json()["results"]
    assert [r["id"] for r in results] == [a]
    assert sandbox.hubspot.find_contact("b@x.com") == a
    # the address is taken: a new contact cannot have it
    assert http.post(DATED, json={"properties": {"email": "b@x.com"}}).status_code == 409


def test_l2_writes_to_an_absorbed_id_reach_the_survivor_and_are_logged(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    c = sandbox.hubspot.add_contact({"email": "c@x.com"})
    merge(http, a, b)
    patched = http.patch(f"{DATED}/{b}", json={"properties": {"firstname": "Pat"}})
    assert patched.status_code == 200 and patched.json()["id"] == a
    batch = http.post(
        f"{DATED}/batch/update",
        json={"inputs": [{"id": b, "properties": {"jobtitle": "CEO"}}]},
    )
    assert batch.status_code == 200, batch.text
    assert [r["id"] for r in batch.json()["results"]] == [a]
    survivor = sandbox.hubspot.get_contact(a)
    assert survivor is not None
    assert survivor["properties"]["firstname"] == "Pat"
    assert survivor["properties"]["jobtitle"] == "CEO"
    assert sandbox.hubspot.writes_to_merged_ids == [b, b]
    # writes to live ids are not logged
    http.patch(f"{DATED}/{c}", json={"properties": {"firstname": "Cy"}})
    assert sandbox.hubspot.writes_to_merged_ids == [b, b]


def test_l2_deleting_or_listing_an_absorbed_id_is_logged_and_changes_nothing(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com"})
    list_id = sandbox.hubspot.create_list("L")
    merge(http, a, b)
    assert http.delete(f"{DATED}/{b}").status_code == 204
    added = http.put(f"{LISTS}/{list_id}/memberships/add", json=[b]).json()
    assert added["recordIdsMissing"] == [b] and added["recordsIdsAdded"] == []
    assert sandbox.hubspot.writes_to_merged_ids == [b, b]
    assert sandbox.hubspot.contact_ids() == [a]


def test_l2_the_python_helper_merges_like_the_route(sandbox: Sandbox) -> None:
    a = sandbox.hubspot.add_contact({"email": "a@x.com"})
    b = sandbox.hubspot.add_contact({"email": "b@x.com", "city": "Oslo"})
    survivor = sandbox.hubspot.merge_contacts(a, b)
    assert survivor["id"] == a and survivor["properties"]["city"] == "Oslo"
    assert sandbox.hubspot.survivor_of(b) == a and sandbox.hubspot.survivor_of(a) is None
    assert sandbox.hubspot.get_contact(b) is None
    with pytest.raises(KeyError):
        sandbox.hubspot.merge_contacts(a, "999999999")
    with pytest.raises(ValueError):
        sandbox.hubspot.merge_contacts(b, a)
    sandbox.reset("empty")
    assert sandbox.hubspot.survivor_of(b) is None and sandbox.hubspot.writes_to_merged_ids == []

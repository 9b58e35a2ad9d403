"""Every request HubSpotClient sends is valid for its operation in HubSpot's published specs,
and the sandbox refuses, like HubSpot, a request that leaves out what the spec requires.

The table of operations (paths, query parameters, body schemas, limits) is in
:mod:`tests.contract.hubspot_wire`; the client's requests are read back from the sandbox's call
log, so what is checked is what went over the wire.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.server import Sandbox
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.hubspot_search import SearchCursor
from sync.ports import ContactWrite
from tests.contract.conftest import FAST_RETRY, closing
from tests.contract.hubspot_wire import (
    LENIENT,
    OBJECTS,
    OPERATIONS,
    operation,
    required_fields,
    violations,
    without,
)

SENT_BY_THE_CLIENT = {op.name for op in OPERATIONS} - {"contacts.merge"}


def hubspot(sandbox: Sandbox, **limits: Any) -> HubSpotClient:
    return closing(
        HubSpotClient(
            HubSpotSession(
                sandbox.hubspot_url, sandbox.hubspot_token, portal_id=sandbox.hubspot.portal_id
            ),
            HubSpotLimits.unpaced(retry=FAST_RETRY, **limits),
        )
    )


def drive_every_call(sandbox: Sandbox) -> None:
    """Use every HubSpotClient method, on enough data to page and to batch."""
    ids = [
        sandbox.hubspot.add_contact({"email": f"w{i}@example.com", "firstname": f"W{i}"})
        for i in range(260)
    ]
    list_id = sandbox.hubspot.create_list("Wire", "MANUAL")
    sandbox.hubspot.add_to_list(list_id, ids[:255])
    hs = hubspot(sandbox, search_page_size=100, search_result_cap=200)

    hs.get_list(list_id)
    assert sum(len(page) for page in hs.list_member_pages(list_id)) == 255
    assert hs.lists_of(ids[0]) == {list_id}
    hs.add_list_members(list_id, ids[250:])
    found, missing = hs.read_contacts([*ids[:120], "999999999"], ["firstname"])
    assert (len(found), missing) == (120, {"999999999"})
    assert len(hs.read_contacts_by_email(["w1@example.com", "W2@example.com"], ["firstname"])) == 2
    assert sum(len(page.contacts) for page in hs.changed_pages(0, ["firstname"])) == 260
    created = hs.create_contacts(
        [
            ContactWrite("new", {"email": "new@example.com", "firstname": "New"}),
            ContactWrite("dup", {"email": "w3@example.com"}),
        ]
    )
    assert created[0].id and created[1].duplicate_of == ids[3]
    updated = hs.update_contacts([ContactWrite("upd", {"firstname": "Renamed"}, id=ids[0])])
    assert updated[0].error is None
    assert "firstname" in hs.properties()
    hs.token_scopes()


def test_every_request_the_client_sends_fits_hubspots_specs(sandbox: Sandbox) -> None:
    drive_every_call(sandbox)

    seen: set[str] = set()
    for call in sandbox.hubspot.calls:
        op = operation(call.method, call.path)
        assert violations(call.method, call.path, call.query, call.json) == [], call
        assert call.status < 400, call
        if op is not None:
            seen.add(op.name)
    assert seen == SENT_BY_THE_CLIENT


def test_every_search_the_cursor_builds_fits_the_spec() -> None:
    """The tie and after-tie queries past the 10,000-result window, which a small sandbox run
    may not reach, are valid searches too."""
    by_date = SearchCursor.since(5)
    tie = SearchCursor(lower=5, tie=(5, 51000000007), after=200)
    after_tie = SearchCursor(lower=5, operator="GT")
    for cursor in (by_date, tie, after_tie):
        body = cursor.request(["email", "lastmodifieddate"])
        assert violations("POST", f"{OBJECTS}/search", {}, body) == [], body


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "why"),
    [
        ("POST", f"{OBJECTS}/batch/read", {}, {"inputs": [], "properties": []},
         "body: missing required propertiesWithHistory"),
        ("POST", f"{OBJECTS}/batch/read", {"archived": "False"},
         {"inputs": [], "properties": [], "propertiesWithHistory": []},
         "query.archived: 'False' is not one of true, false"),
        ("POST", f"{OBJECTS}/batch/read", {}, {"inputs": [{"id": 7}], "properties": [],
                                               "propertiesWithHistory": []},
         "body.inputs[0].id: expected a string, got int"),
        ("POST", f"{OBJECTS}/search", {},
         {"filterGroups": [], "sorts": ['{"propertyName": "x"}'], "properties": [],
          "limit": 10, "after": "0"},
         "body.sorts[0]: expected an object, got str"),
        ("POST", f"{OBJECTS}/search", {},
         {"filterGroups": [], "sorts": [], "properties": [], "limit": 201, "after": 0},
         "body.limit: 201 is over the maximum 200"),
        ("POST", f"{OBJECTS}/batch/update", {},
         {"inputs": [{"id": "1", "properties": {"hubspotscore": 5}}]},
         "body.inputs[0].properties.hubspotscore: expected a string, got int"),
        ("POST", f"{OBJECTS}/batch/create", {},
         {"inputs": [{"properties": {}, "associations": []}] * 101},
         "body.inputs: 101 items, at most 100"),
        ("POST", f"{OBJECTS}/merge", {}, {"primaryObjectId": 1, "objectIdToMerge": "2"},
         "body.primaryObjectId: expected a string, got int"),
        ("GET", "/crm/lists/2026-03/7/memberships", {"limit": "251"}, None,
         "query.limit: 251 is over the maximum 250"),
        ("GET", "/crm/lists/2026-03/7", {"include": "true"}, None,
         "query: unknown parameter include"),
        ("GET", "/crm/objects/v3/contacts/7", {}, None,
         "GET /crm/objects/v3/contacts/7: no such operation in HubSpot's 2026-03 specs"),
    ],
)  # fmt: skip
def test_the_table_refuses_what_the_specs_refuse(
    method: str, path: str, query: dict[str, str], body: Any, why: str
) -> None:
    assert why in violations(method, path, query, body)


def test_the_table_takes_its_own_examples() -> None:
    for op in OPERATIONS:
        if op.example is not None:
            assert problems_of(op.name, op.example) == []


def problems_of(name: str, body: Any) -> list[str]:
    op = next(o for o in OPERATIONS if o.name == name)
    path = op.path.replace("[^/]+", "1")
    return violations(op.method, path, {}, body)


REFUSABLE = [
    (op, field)
    for op in OPERATIONS
    if op.example is not None
    for field in required_fields(op)
    if (op.name, field) not in LENIENT and without(op.example, field) != op.example
]


@pytest.mark.parametrize(
    ("op", "field"), REFUSABLE, ids=[f"{op.name}-{field}" for op, field in REFUSABLE]
)
def test_sandbox_refuses_a_body_without_a_required_field(
    sandbox: Sandbox, op: Any, field: str
) -> None:
    path = op.path.replace("[^/]+", "1")
    for contact_id in ("1", "2"):  # what the examples name (the merge example needs both)
        sandbox.hubspot.add_contact({}, id=contact_id)
    with httpx.Client(
        base_url=sandbox.hubspot_url,
        headers={"Authorization": f"Bearer {sandbox.hubspot_token}"},
    ) as http:
        accepted = http.request(op.method, path, json=op.example)
        assert accepted.status_code < 400, accepted.text
        refused = http.request(op.method, path, json=without(op.example, field))
    assert refused.status_code == 400, (field, refused.text)
    body = refused.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert field.rpartition(".")[2].removesuffix("[]") in body["message"]

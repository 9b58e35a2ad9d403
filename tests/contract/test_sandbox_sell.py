"""The Zendesk Sell stand-in over plain HTTP: envelopes, paging, filters, validation, limits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox


@pytest.fixture(scope="module")
def http(running: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {running.sell_token}", "User-Agent": "sellsync-tests/1"}
    with httpx.Client(base_url=running.sell_url, headers=headers, timeout=5) as client:
        yield client


def error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["meta"]["type"] == "errors"
    assert body["meta"]["logref"] == response.headers["X-Request-Id"]
    assert body["meta"]["http_status"].startswith(str(response.status_code))
    assert body["errors"][0]["meta"]["type"] == "error"
    first: dict[str, Any] = body["errors"][0]["error"]
    return first


def test_user_agent_and_token_are_required(sandbox: Sandbox) -> None:
    no_agent = httpx.get(
        sandbox.sell_url + "/v2/leads",
        headers={"Authorization": f"Bearer {sandbox.sell_token}", "User-Agent": ""},
    )
    assert no_agent.status_code == 400
    assert error(no_agent)["code"] == "invalid_user_agent"
    wrong = httpx.get(sandbox.sell_url + "/v2/leads", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert error(wrong)["code"] == "unauthorized"


def test_every_response_carries_a_request_id(http: httpx.Client) -> None:
    first, second = http.get("/v2/users/self"), http.get("/v2/users/self")
    assert first.json()["meta"] == {"type": "user"}
    assert len({first.headers["X-Request-Id"], second.headers["X-Request-Id"]}) == 2


def test_create_and_read_envelopes(http: httpx.Client) -> None:
    created = http.post(
        "/v2/leads", json={"data": {"last_name": "Lovelace"}, "meta": {"type": "lead"}}
    )
    assert created.status_code == 200
    body = created.json()
    assert body["meta"] == {"type": "lead"}
    lead = body["data"]
    assert lead["address"] == dict.fromkeys(("line1", "city", "postal_code", "state", "country"))
    assert {
        "id",
        "creator_id",
        "owner_id",
        "created_at",
        "updated_at",
        "tags",
        "custom_fields",
    } <= set(lead)
    assert http.get(f"/v2/leads/{lead['id']}").json()["data"] == lead
    assert http.delete(f"/v2/leads/{lead['id']}").status_code == 204
    missing = http.get(f"/v2/leads/{lead['id']}")
    assert missing.status_code == 404 and error(missing)["code"] == "not_found"
    assert http.get(f"/v2/contacts/{lead['id']}").status_code == 404  # ids do not cross kinds


def test_paging_envelope_and_links(http: httpx.Client, sandbox: Sandbox) -> None:
    ids = [sandbox.sell.add_record("contact", {"last_name": f"N{i}"}) for i in range(5)]
    pages, url = [], "/v2/contacts?per_page=2&sort_by=id"
    while url:
        body = http.get(url).json()
        assert body["meta"]["type"] == "collection"
        assert body["meta"]["count"] == len(body["items"])
        assert all(item["meta"] == {"type": "contact"} for item in body["items"])
        pages.append([item["data"]["id"] for item in body["items"]])
        url = body["meta"]["links"].get("next_page")
        if pages == [[ids[0], ids[1]]]:
            assert "prev_page" not in body["meta"]["links"]
            assert body["meta"]["links"]["first_page"].endswith("page=1")
    assert pages == [ids[0:2], ids[2:4], ids[4:]]
    assert http.get("/v2/contacts?page=9").json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        "per_page=101",
        "per_page=0",
        "page=0",
        "sort_by=nope",
        "sort_by=id:up",
        "tags=vip",
        "ids=1,x",
    ],
)
def test_bad_query_parameters(http: httpx.Client, query: str) -> None:
    response = http.get(f"/v2/leads?{query}")
    assert response.status_code == 400
    assert error(response)["code"] == "invalid_param"


def test_sort_by_updated_at_breaks_ties_by_id(http: httpx.Client, sandbox: Sandbox) -> None:
    same = "2025-01-01T00:00:00Z"
    a = sandbox.sell.add_record("lead", {"last_name": "A"}, updated_at=same)
    b = sandbox.sell.add_record("lead", {"last_name": "B"}, updated_at=same)
    c = sandbox.sell.add_record("lead", {"last_name": "C"}, updated_at="2025-02-01T00:00:00Z")
    asc = http.get("/v2/leads?sort_by=updated_at:asc").json()["items"]
    desc = http.get("/v2/leads?sort_by=updated_at:desc").json()["items"]
    assert [i["data"]["id"] for i in asc] == [a, b, c]
    assert [i["data"]["id"] for i in desc] == [c, b, a]
    http.put(f"/v2/leads/{a}", json={"data": {"title": "moved"}})
    latest = http.get("/v2/leads?sort_by=updated_at:desc&per_page=1").json()["items"][0]["data"]
    assert latest["id"] == a and latest["updated_at"] > "2025-02-01T00:00:00Z"


def test_filters(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.sell.add_custom_field("contact", "Tier", "list", ["Gold", "Silver"])
    ada = sandbox.sell.add_record(
        "contact",
        {"last_name": "A", "email": " Ada@Example.com", "custom_fields": {"Tier": "Gold"}},
    )
    org = sandbox.sell.add_record("contact", {"is_organization": True, "name": "Org"})
    other = sandbox.sell.add_record("contact", {"last_name": "B", "email": "b@example.com"})

    def ids(query: str) -> list[int]:
        return [i["data"]["id"] for i in http.get(f"/v2/contacts?{query}").json()["items"]]

    assert ids("email=ada@example.com") == [ada]
    assert ids(f"ids={org},{other}&sort_by=id") == [org, other]
    assert ids("is_organization=true") == [org]
    assert ids("custom_fields[Tier]=Gold") == [ada]


def test_put_is_partial_and_merges_custom_fields(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.sell.add_custom_field("lead", "Score", "number")
    sandbox.sell.add_custom_field("lead", "Note", "string")
    lead_id = sandbox.sell.add_record(
        "lead",
        {"last_name": "L", "tags": ["a", "b"], "custom_fields": {"Score": "1", "Note": "n"}},
    )
    body = http.put(
        f"/v2/leads/{lead_id}", json={"data": {"tags": ["c"], "custom_fields": {"Score": 2.5}}}
    ).json()["data"]
    assert body["tags"] == ["c"]
    assert body["custom_fields"] == {"Score": "2.5", "Note": "n"}
    cleared = http.put(f"/v2/leads/{lead_id}", json={"data": {"custom_fields": {"Note": None}}})
    assert cleared.json()["data"]["custom_fields"] == {"Score": "2.5"}
    assert cleared.json()["data"]["last_name"] == "L"


@pytest.mark.parametrize(
    ("field_type", "choices", "value", "code"),
    [
        ("number", (), "12 apples", "invalid_type"),
        ("number", (), True, "invalid_type"),
        ("list", ("Gold",), "Bronze", "incorrect_value"),
        ("multi_select_list", ("A", "B"), ["A", "C"], "incorrect_value"),
        ("multi_select_list", ("A", "B"), "A", "invalid_type"),
        ("bool", (), "true", "invalid_type"),
        ("date", (), "2024-02-30", "incorrect_value"),
        ("date", (), "2024-02-03T10:00:00", "incorrect_value"),
        ("datetime", (), "yesterday", "incorrect_value"),
        ("email", (), "nope", "incorrect_value"),
    ],
)
def test_custom_field_values_are_checked_by_type(
    http: httpx.Client,
    sandbox: Sandbox,
    field_type: str,
    choices: tuple[str, ...],
    value: Any,
    code: str,
) -> None:
    sandbox.sell.add_custom_field("contact", "F", field_type, choices)
    response = http.post(
        "/v2/contacts", json={"data": {"last_name": "X", "custom_fields": {"F": value}}}
    )
    assert response.status_code == 422
    first = error(response)
    assert (first["code"], first["field"], first["resource"]) == (
        code,
        "/data/custom_fields/F",
        "contact",
    )
    assert sandbox.sell.records("contact") == []


def test_valid_custom_values_round_trip(http: httpx.Client, sandbox: Sandbox) -> None:
    for name, kind, choices in (
        ("N", "number", ()),
        ("M", "multi_select_list", ("A", "B")),
        ("B", "bool", ()),
        ("D", "date", ()),
        ("T", "datetime", ()),
    ):
        sandbox.sell.add_custom_field("lead", name, kind, choices)
    values = {"N": 42, "M": ["B", "A"], "B": False, "D": "2024-02-29", "T": "2024-02-29T10:00:00Z"}
    body = http.post("/v2/leads", json={"data": {"last_name": "X", "custom_fields": values}}).json()
    assert body["data"]["custom_fields"] == {**values, "N": "42"}


@pytest.mark.parametrize(
    ("data", "code", "field"),
    [
        ({"first_name": "No last"}, "blank", "/data/last_name"),
        ({"last_name": "X", "favourite": "tea"}, "unknown", "/data/favourite"),
        ({"last_name": "X", "tags": "vip"}, "invalid_type", "/data/tags"),
        ({"last_name": "X", "owner_id": 1}, "incorrect_value", "/data/owner_id"),
        ({"last_name": "X", "source_id": 1}, "incorrect_value", "/data/source_id"),
        ({"last_name": 5}, "invalid_type", "/data/last_name"),
    ],
)
def test_lead_validation(http: httpx.Client, data: dict[str, Any], code: str, field: str) -> None:
    response = http.post("/v2/leads", json={"data": data})
    assert response.status_code == 422
    first = error(response)
    assert (first["code"], first["field"]) == (code, field)


def test_contact_rules(http: httpx.Client) -> None:
    status = http.post("/v2/contacts", json={"data": {"last_name": "X", "customer_status": "gold"}})
    assert status.status_code == 422
    person = http.post("/v2/contacts", json={"data": {"last_name": "X"}}).json()["data"]
    emptied = http.put(f"/v2/contacts/{person['id']}", json={"data": {"last_name": " "}})
    assert emptied.status_code == 422 and error(emptied)["code"] == "blank"


def test_payload_must_be_an_envelope(http: httpx.Client) -> None:
    for content in ('{"last_name": "X"}', "not json", ""):
        response = http.post(
            "/v2/leads", content=content, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400
        assert error(response)["code"] == "invalid_payload"


def test_custom_field_definitions(http: httpx.Client, sandbox: Sandbox) -> None:
    sandbox.sell.add_custom_field("contact", "Tier", "list", ["Gold", "Silver"])
    sandbox.sell.add_custom_field("lead", "Score", "number")
    body = http.get("/v2/contact/custom_fields").json()
    [tier] = [item["data"] for item in body["items"]]
    assert tier["type"] == "list"
    assert [c["name"] for c in tier["choices"]] == ["Gold", "Silver"]
    assert {"for_company", "for_contact"} <= set(tier)
    [score] = [item["data"] for item in http.get("/v2/lead/custom_fields").json()["items"]]
    assert "for_contact" not in score and "choices" not in score
    refused = http.post("/v2/lead/custom_fields", json={"data": {"name": "New", "type": "string"}})
    assert refused.status_code == 404 and error(refused)["code"] == "incorrect_path"
    assert http.get("/v2/leads/custom_fields").status_code == 404  # plural is wrong


def test_lead_sources(http: httpx.Client) -> None:
    created = http.post("/v2/lead_sources", json={"data": {"name": "Referral"}}).json()["data"]
    http.post("/v2/lead_sources", json={"data": {"name": "Trade Show"}})
    named = http.get("/v2/lead_sources", params={"name": "Referral"}).json()["items"]
    assert [i["data"]["id"] for i in named] == [created["id"]]
    taken = http.post("/v2/lead_sources", json={"data": {"name": "referral"}})
    assert taken.status_code == 422 and error(taken)["code"] == "already_exists"
    blank = http.post("/v2/lead_sources", json={"data": {"name": ""}})
    assert error(blank)["code"] == "blank"


def test_rate_limit_has_no_headers_and_refuses_without_effect(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.limits.update({"enabled": True, "sell_per_s": 2})
    statuses = [
        http.post("/v2/leads", json={"data": {"last_name": f"L{i}"}}).status_code for i in range(2)
    ]
    refused = http.post("/v2/leads", json={"data": {"last_name": "L2"}})
    assert statuses == [200, 200]
    assert refused.status_code == 429
    assert error(refused)["code"] == "rate_limit_exceeded"
    assert "retry-after" not in refused.headers
    assert not any("ratelimit" in name.lower() for name in refused.headers)
    assert [r["last_name"] for r in sandbox.sell.records("lead")] == ["L0", "L1"]


def test_unknown_path_is_incorrect_path(http: httpx.Client) -> None:
    response = http.get("/v2/widgets/1")
    assert response.status_code == 404
    assert error(response)["code"] == "incorrect_path"

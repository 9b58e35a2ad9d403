"""The Sell stand-in's lead conversions over plain HTTP (``reference/sell-api.md`` §9)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox import Sandbox
from sync.clients.sell import SellClient
from tests.contract.conftest import FAST_RETRY


@pytest.fixture(scope="module")
def http(running: Sandbox) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {running.sell_token}", "User-Agent": "sellsync-tests/1"}
    with httpx.Client(base_url=running.sell_url, headers=headers, timeout=5) as client:
        yield client


def test_converting_a_lead_makes_a_contact_and_the_lead_answers_404(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    sandbox.sell.add_custom_field("lead", "HubSpot score", "number")
    sandbox.sell.add_custom_field("contact", "HubSpot score", "number")
    lead = sandbox.sell.add_record(
        "lead",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "tags": ["vip"],
            "custom_fields": {"HubSpot score": 40},
        },
    )
    answer = http.post("/v2/lead_conversions", json={"data": {"lead_id": lead}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["meta"] == {"type": "lead_conversion"}
    conversion = body["data"]
    assert conversion["lead_id"] == lead and conversion["organization_id"] is None
    assert conversion["deal_id"] is None and conversion["created_at"].endswith("Z")
    contact = http.get(f"/v2/contacts/{conversion['individual_id']}").json()["data"]
    assert contact["name"] == "Ada Lovelace" and contact["email"] == "ada@example.com"
    assert contact["is_organization"] is False and contact["tags"] == ["vip"]
    assert contact["custom_fields"] == {"HubSpot score": "40"}
    assert http.get(f"/v2/leads/{lead}").status_code == 404
    assert http.get("/v2/leads", params={"ids": str(lead)}).json()["items"] == []


def test_a_lead_with_a_company_yields_an_organization_too(
    http: httpx.Client, sandbox: Sandbox
) -> None:
    lead = sandbox.sell.add_record("lead", {"last_name": "Byron", "organization_name": "Acme"})
    data = http.post(
        "/v2/lead_conversions", json={"data": {"lead_id": lead, "create_deal": True}}
    ).json()["data"]
    org = http.get(f"/v2/contacts/{data['organization_id']}").json()["data"]
    person = http.get(f"/v2/contacts/{data['individual_id']}").json()["data"]
    assert org["is_organization"] is True and org["name"] == "Acme"
    assert person["contact_id"] == org["id"] and isinstance(data["deal_id"], int)


def test_conversions_list_newest_first_with_filters(http: httpx.Client, sandbox: Sandbox) -> None:
    leads = [sandbox.sell.add_record("lead", {"last_name": f"L{i}"}) for i in range(3)]
    made = [sandbox.sell.convert_lead(lead) for lead in leads]
    page = http.get("/v2/lead_conversions", params={"per_page": 2}).json()
    assert page["meta"]["type"] == "collection" and page["meta"]["count"] == 2
    assert [i["meta"]["type"] for i in page["items"]] == ["lead_conversion"] * 2
    assert [i["data"]["id"] for i in page["items"]] == [made[2]["id"], made[1]["id"]]
    assert "next_page" in page["meta"]["links"]
    one = http.get("/v2/lead_conversions", params={"lead_id": leads[0]}).json()["items"]
    assert [i["data"] for i in one] == [made[0]]
    by_contact = http.get(
        "/v2/lead_conversions", params={"individual_id": made[1]["individual_id"]}
    ).json()["items"]
    assert [i["data"]["lead_id"] for i in by_contact] == [leads[1]]
    assert http.get("/v2/lead_conversions", params={"per_page": 200}).status_code == 200
    assert http.get("/v2/lead_conversions", params={"per_page": 201}).status_code == 400
    assert http.get("/v2/lead_conversions", params={"email": "x"}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"lead_id": "1"}},
        {"data": {"lead_id": 999}},
        {"data": {"lead_id": 1, "create_deal": "yes"}},
    ],
)
def test_bad_conversions_are_refused(http: httpx.Client, sandbox: Sandbox, body: object) -> None:
    answer = http.post("/v2/lead_conversions", json=body)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["error"]["field"].startswith("/data/")
    assert sandbox.sell.conversions() == []


def test_client_pages_conversions_and_stops_at_the_cursor(sandbox: Sandbox) -> None:
    leads = [sandbox.sell.add_record("lead", {"last_name": f"L{i}"}) for i in range(205)]
    made = [sandbox.sell.convert_lead(lead)["id"] for lead in leads]
    with SellClient(sandbox.sell_url, sandbox.sell_token, retry=FAST_RETRY) as sell:
        sandbox.sell.reset_calls()
        every = sell.conversions_after(0)
        assert [c.id for c in every] == made  # oldest first, across two pages of 200
        assert sandbox.sell.count("GET", "/v2/lead_conversions") == 2
        sandbox.sell.reset_calls()
        recent = sell.conversions_after(made[-3])
        assert [c.lead_id for c in recent] == leads[-2:]
        assert sandbox.sell.count("GET", "/v2/lead_conversions") == 1

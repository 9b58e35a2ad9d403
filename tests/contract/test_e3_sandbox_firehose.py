"""The Sell stand-in's Firehose over plain HTTP: envelope, positions, limits, retention, premium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox import Sandbox


@pytest.fixture
def firehose(sandbox: Sandbox) -> Iterator[httpx.Client]:
    sandbox.sell.firehose.enabled = True
    headers = {"Authorization": f"Bearer {sandbox.sell_token}", "User-Agent": "sellsync-tests/1"}
    with httpx.Client(base_url=sandbox.sell_url, headers=headers, timeout=5) as client:
        yield client


def _error_code(response: httpx.Response) -> str:
    body = response.json()
    assert body["meta"]["type"] == "errors"
    return str(body["errors"][0]["error"]["code"])


def _all(http: httpx.Client, path: str, position: str = "tail") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        body = http.get(path, params={"position": position, "limit": 2}).json()
        items.extend(body["items"])
        position = body["meta"]["position"]
        if body["meta"]["top"]:
            return items


def test_e3_sandbox_every_write_is_an_event_in_its_stream(
    sandbox: Sandbox, firehose: httpx.Client
) -> None:
    created = firehose.post("/v2/leads", json={"data": {"last_name": "Lovelace"}}).json()["data"]
    firehose.put(f"/v2/leads/{created['id']}", json={"data": {"first_name": "Ada"}})
    firehose.delete(f"/v2/leads/{created['id']}")
    sandbox.sell.add_record("contact", {"last_name": "Hopper"})
    leads = _all(firehose, "/v3/leads/stream")
    assert [i["meta"]["event_type"] for i in leads] == ["created", "updated", "deleted"]
    assert {i["meta"]["type"] for i in leads} == {"lead"}
    assert leads[1]["meta"]["previous"]["first_name"] is None
    assert leads[1]["data"]["first_name"] == "Ada"
    assert leads[2]["data"] == {"id": created["id"]}
    assert [i["meta"]["sequence"] for i in leads] == [1, 2, 3]
    for key in ("event_id", "event_cause", "event_time"):
        assert leads[0]["meta"][key]
    contacts = _all(firehose, "/v3/contacts/stream")
    assert [(i["meta"]["event_type"], i["data"]["last_name"]) for i in contacts] == [
        ("created", "Hopper")
    ]


def test_e3_sandbox_custom_fields_come_as_custom_field_values(
    sandbox: Sandbox, firehose: httpx.Client
) -> None:
    sandbox.sell.add_custom_field("lead", "HubSpot score", "number")
    firehose.post(
        "/v2/leads",
        json={
            "data": {"last_name": "Byron", "tags": ["vip"], "custom_fields": {"HubSpot score": 7}}
        },
    )
    (item,) = _all(firehose, "/v3/leads/stream")
    assert "custom_fields" not in item["data"]
    (value,) = item["data"]["custom_field_values"]
    assert value["custom_field"]["data"]["name"] == "HubSpot score"
    assert item["data"]["tags"] == [{"data": {"name": "vip"}, "meta": {"type": "tag"}}]


def test_e3_sandbox_paging_follows_position_until_top(
    sandbox: Sandbox, firehose: httpx.Client
) -> None:
    for n in range(5):
        sandbox.sell.add_record("lead", {"last_name": f"L{n}"})
    first = firehose.get("/v3/leads/stream", params={"position": "tail", "limit": 2}).json()
    assert len(first["items"]) == 2 and first["meta"]["top"] is False
    assert first["meta"]["links"]["next"].startswith(f"{sandbox.sell_url}/v3/leads/stream?")
    second = httpx.get(
        first["meta"]["links"]["next"], headers=dict(firehose.headers), timeout=5
    ).json()
    assert [i["data"]["last_name"] for i in second["items"]] == ["L2", "L3"]
    assert len(_all(firehose, "/v3/leads/stream")) == 5
    default = firehose.get("/v3/leads/stream", params={"position": "tail"}).json()
    assert len(default["items"]) == 5 and default["meta"]["top"] is True


def test_e3_sandbox_top_reads_nothing_and_sees_later_writes(
    sandbox: Sandbox, firehose: httpx.Client
) -> None:
    sandbox.sell.add_record("lead", {"last_name": "Old"})
    top = firehose.get("/v3/leads/stream", params={"position": "top"}).json()
    assert top["items"] == [] and top["meta"]["top"] is True
    sandbox.sell.add_record("lead", {"last_name": "New"})
    after = firehose.get("/v3/leads/stream", params={"position": top["meta"]["position"]}).json()
    assert [i["data"]["last_name"] for i in after["items"]] == ["New"]


def test_e3_sandbox_conversion_deletes_the_lead_and_creates_the_contact(
    sandbox: Sandbox, firehose: httpx.Client
) -> None:
    lead = sandbox.sell.add_record("lead", {"last_name": "Curie"})
    top = firehose.get("/v3/contacts/stream", params={"position": "top"}).json()["meta"]
    sandbox.sell.convert_lead(lead)
    leads = _all(firehose, "/v3/leads/stream")
    assert [i["meta"]["event_type"] for i in leads] == ["created", "deleted"]
    assert leads[1]["meta"]["event_cause"] == "system"
    contacts = _all(firehose, "/v3/contacts/stream", top["position"])
    assert [i["meta"]["event_type"] for i in contacts] == ["created"]


def test_e3_sandbox_bad_limit_and_position_are_400(firehose: httpx.Client) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"position": "garbage!"}):
        response = firehose.get("/v3/leads/stream", params=params)
        assert response.status_code == 400, params
        assert _error_code(response) == "invalid_param"


def test_e3_sandbox_position_older_than_retention_is_410(
    sandbox: Sandbox, firehose: httpx.Client
) -> None:
    sandbox.sell.add_record("lead", {"last_name": "Early"})
    sandbox.sell.add_record("lead", {"last_name": "Later"})
    first = firehose.get("/v3/leads/stream", params={"position": "tail", "limit": 1}).json()
    first_position = first["meta"]["position"]  # before "Later"
    assert firehose.get("/v3/leads/stream", params={"position": first_position}).status_code == 200
    control = firehose.put("/_sandbox/firehose", json={"retention_seconds": 0})
    assert control.json()["retention_seconds"] == 0
    gone = firehose.get("/v3/leads/stream", params={"position": first_position})
    assert gone.status_code == 410
    assert _error_code(gone) == "gone"
    assert gone.headers["X-Request-Id"]
    # tail and top are always readable
    again = firehose.get("/v3/leads/stream", params={"position": "tail"}).json()
    assert again["items"] == [] and again["meta"]["top"] is True


def test_e3_sandbox_without_premium_apis_is_403(sandbox: Sandbox, firehose: httpx.Client) -> None:
    firehose.put("/_sandbox/firehose", json={"enabled": False})
    for path in ("/v3/leads/stream", "/v3/contacts/stream"):
        response = firehose.get(path)
        assert response.status_code == 403
        assert _error_code(response) == "forbidden"


def test_e3_sandbox_demo_seed_has_the_premium_apis() -> None:
    with Sandbox(seed="demo") as demo:
        headers = {"Authorization": f"Bearer {demo.sell_token}", "User-Agent": "t/1"}
        response = httpx.get(
            demo.sell_url + "/v3/contacts/stream", params={"position": "top"}, headers=headers
        )
        assert response.status_code == 200
        assert response.json()["meta"]["top"] is True

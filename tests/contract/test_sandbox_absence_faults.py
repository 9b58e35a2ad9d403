"""The sandbox faults that answer a bulk read without the records asked for (no error saying they
were deleted), and only that read: Sell's lists of leads and contacts (by ``ids=`` or not) and
HubSpot's contacts ``batch/read``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sandbox import Sandbox

BATCH_READ = "/crm/objects/2026-03/contacts/batch/read"


@pytest.fixture
def sandbox(running: Sandbox) -> Iterator[Sandbox]:
    running.reset("empty")
    yield running
    assert all(not state.internal_errors for state in running.states)


def sell(sb: Sandbox, path: str, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {sb.sell_token}", "User-Agent": "tests"}
    return httpx.get(sb.sell_url + path, headers=headers, params=params, timeout=5)


@pytest.mark.parametrize(
    ("kind", "items"), [("empty-page", []), ("null-items", [None, {"data": None}])]
)
def test_sell_read_by_ids_answers_without_the_records(
    sandbox: Sandbox, kind: str, items: list[object]
) -> None:
    rid = sandbox.sell.add_record("lead", {"last_name": "Kept"})
    sandbox.sell.inject(kind, path_prefix="/v2/leads", times=None)
    # a single read and the other kind's list are answered as usual
    assert sell(sandbox, f"/v2/leads/{rid}").json()["data"]["id"] == rid
    assert sell(sandbox, "/v2/contacts").json()["items"] == []
    assert sell(sandbox, "/v2/leads").json()["items"] == items  # the change feed's list too
    for _ in range(2):  # until cleared
        answer = sell(sandbox, "/v2/leads", ids=str(rid))
        assert answer.status_code == 200 and answer.json()["items"] == items
    sandbox.sell.clear_faults()
    assert [i["data"]["id"] for i in sell(sandbox, "/v2/leads", ids=str(rid)).json()["items"]] == [
        rid
    ]


def test_hubspot_batch_read_answers_complete_and_empty(sandbox: Sandbox) -> None:
    cid = sandbox.hubspot.add_contact({"email": "a@x.test"})
    sandbox.hubspot.inject("empty-batch", path_prefix="/crm/v3/objects/contacts")
    headers = {"Authorization": f"Bearer {sandbox.hubspot_token}"}
    url = sandbox.hubspot_url + f"/crm/objects/2026-03/contacts/{cid}"
    assert httpx.get(url, headers=headers, timeout=5).json()["id"] == cid  # not a batch read
    read = {"properties": [], "propertiesWithHistory": [], "inputs": [{"id": cid}]}
    answer = httpx.post(sandbox.hubspot_url + BATCH_READ, json=read, headers=headers, timeout=5)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "COMPLETE" and body["results"] == [] and "errors" not in body
    again = httpx.post(sandbox.hubspot_url + BATCH_READ, json=read, headers=headers, timeout=5)
    assert [r["id"] for r in again.json()["results"]] == [cid]  # times=1 by default

"""HubSpotClient against httpx.MockTransport handlers that mimic HubSpot's answers."""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync.clients.hubspot import (
    API_VERSION,
    HubSpotClient,
    HubSpotLimits,
    HubSpotSession,
    parse_timestamp_ms,
)
from sync.clients.retry import RetryPolicy
from sync.errors import ApiError, AuthError, DailyLimitReached
from sync.ports import ContactWrite

TOKEN = "pat-na1-11111111-2222-3333-4444-555555555555"
BASE = "https://hubspot.test"
V = API_VERSION
SESSION_FIELDS = {f.name for f in dataclasses.fields(HubSpotSession)}

Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, **kwargs: Any) -> HubSpotClient:
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=0.0, rate_limit_wait=0.0))
    kwargs.setdefault("sleep", lambda s: None)
    session = {k: kwargs.pop(k) for k in list(kwargs) if k in SESSION_FIELDS}
    return HubSpotClient(
        HubSpotSession(
            BASE, TOKEN, http=httpx.Client(transport=httpx.MockTransport(handler)), **session
        ),
        HubSpotLimits.unpaced(**kwargs),
    )


def body(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def contact(cid: str, lmd: int, **props: str) -> dict[str, Any]:
    return {
        "id": cid,
        "properties": {"hs_object_id": cid, "lastmodifieddate": str(lmd), **props},
        "archived": False,
    }


# --------------------------------------------------------------------------- lists


def test_get_list_and_version_in_every_path() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        assert request.url.params["includeFilters"] == "false"
        return httpx.Response(
            200, json={"list": {"listId": "42", "name": "Hot", "processingType": "MANUAL"}}
        )

    client = make(handler)
    hs_list = client.get_list("42")
    assert (hs_list.id, hs_list.name, hs_list.processing_type) == ("42", "Hot", "MANUAL")
    assert hs_list.accepts_members
    assert paths == [f"/crm/lists/{V}/42"]
    assert client.stats["get_list"] == 1


def test_get_list_not_found_has_a_clear_message() -> None:
    client = make(
        lambda r: httpx.Response(404, json={"message": "nope", "category": "OBJECT_NOT_FOUND"})
    )
    with pytest.raises(ApiError, match="HubSpot list 7 not found"):
        client.get_list("7")


def test_member_pages_follow_after() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        assert request.url.path == f"/crm/lists/{V}/9/memberships"
        if "after" not in params:
            return httpx.Response(
                200,
                json={
                    "results": [{"recordId": "1"}, {"recordId": "2"}],
                    "paging": {"next": {"after": "AB"}},
                },
            )
        return httpx.Response(200, json={"results": [{"recordId": "3"}]})

    assert list(make(handler).list_member_pages("9")) == [["1", "2"], ["3"]]
    assert seen == [{"limit": "250"}, {"limit": "250", "after": "AB"}]


def test_add_list_members_chunks() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "PUT"
        assert request.url.path == f"/crm/lists/{V}/5/memberships/add"
        bodies.append(body(request))
        return httpx.Response(200, json={"recordIdsAdded": body(request)})

    make(handler).add_list_members("5", [str(i) for i in range(150)] + ["3"])
    assert [len(b) for b in bodies] == [100, 50]


# --------------------------------------------------------------------------- reads


def batch_read_handler(store: dict[str, dict[str, Any]], calls: list[Any]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/crm/objects/{V}/contacts/batch/read"
        payload = body(request)
        calls.append(payload)
        id_prop = payload.get("idProperty")
        results: list[Any] = []
        errors: list[Any] = []
        for item in payload["inputs"]:
            if id_prop == "email":
                match = [c for c in store.values() if c["properties"].get("email") == item["id"]]
            else:
                match = [store[item["id"]]] if item["id"] in store else []
            if match:
                results.append(match[0])
            else:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "not found",
                        "context": {"ids": [item["id"]]},
                    }
                )
        status = 207 if errors else 200
        return httpx.Response(
            status,
            json={
                "status": "COMPLETE",
                "results": results,
                "errors": errors,
                "numErrors": len(errors),
            },
        )

    return handler


def test_read_contacts_batches_of_100_missing_and_parallel() -> None:
    store = {
        str(i): contact(str(i), 1_700_000_000_000 + i, email=f"c{i}@x.test") for i in range(1, 251)
    }
    calls: list[Any] = []
    client = make(batch_read_handler(store, calls), portal_id=123, max_workers=3)
    found, missing = client.read_contacts([str(i) for i in range(1, 261)] + ["5"], ["firstname"])
    assert len(found) == 250
    assert missing == {str(i) for i in range(251, 261)}
    assert sorted(len(c["inputs"]) for c in calls) == [60, 100, 100]
    assert set(calls[0]["properties"]) == {
        "firstname",
        "email",
        "lastmodifieddate",
        "hubspotscore",
        "hs_merged_object_ids",
    }
    five = found["5"]
    assert five.updated_at_ms == 1_700_000_000_005
    assert five.url == "https://app.hubspot.com/contacts/123/record/0-1/5"
    assert client.stats["batch_read"] == 3


def test_read_by_email_normalises() -> None:
    store = {"1": contact("1", 1, email="ann@x.test"), "2": contact("2", 2, email="bob@x.test")}
    calls: list[Any] = []
    client = make(batch_read_handler(store, calls))
    found = client.read_contacts_by_email(
        [" Ann@X.test ", "zed@x.test", "", "ann@x.test"], ["firstname"]
    )
    assert list(found) == ["ann@x.test"]
    assert calls[0]["idProperty"] == "email"
    assert calls[0]["inputs"] == [{"id": "ann@x.test"}, {"id": "zed@x.test"}]


def test_updated_at_parsing() -> None:
    assert parse_timestamp_ms("1700000000000") == 1_700_000_000_000
    assert parse_timestamp_ms("2023-11-14T22:13:20.000Z") == 1_700_000_000_000
    assert parse_timestamp_ms("garbage") is None
    assert parse_timestamp_ms(None) is None


def test_contact_url_without_portal_and_record_url_wins() -> None:
    record = contact("8", 1)
    record["url"] = "https://app-eu1.hubspot.com/contacts/9/record/0-1/8"
    client = make(lambda r: httpx.Response(200, json={"results": [record, contact("9", 2)]}))
    found, _ = client.read_contacts(["8", "9"], [])
    assert found["8"].url == record["url"]
    assert found["9"].url is None
    assert client.contact_url("9") is None


# --------------------------------------------------------------------------- search


class FakeSearch:
    """HubSpot's search semantics, with a small result cap."""

    def __init__(
        self, contacts: list[dict[str, Any]], cap: int, *, next_at_cap: bool = True
    ) -> None:
        self.contacts = contacts
        self.cap = cap
        self.next_at_cap = next_at_cap  # False: no paging.next at the cap, only ``total``
        self.bodies: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/crm/objects/{V}/contacts/search"
        payload = body(request)
        self.bodies.append(payload)
        assert len(payload["sorts"]) == 1
        after = int(payload.get("after") or 0)
        limit = payload["limit"]
        if after + limit > self.cap:
            return httpx.Response(
                400,
                json={
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": "paging beyond the result cap",
                },
            )

        def ok(c: dict[str, Any]) -> bool:
            for f in payload["filterGroups"][0]["filters"]:
                value = int(c["properties"][f["propertyName"]])
                target = int(f["value"])
                op = f["operator"]
                if (
                    (op == "GTE" and value < target)
                    or (op == "GT" and value <= target)
                    or (op == "EQ" and value != target)
                ):
                    return False
            return True

        key = payload["sorts"][0]["propertyName"]
        rows = sorted(
            (c for c in self.contacts if ok(c)),
            key=lambda c: (int(c["properties"][key]), int(c["id"])),
        )
        page = rows[after : after + limit]
        out: dict[str, Any] = {"total": len(rows), "results": page}
        reachable = len(rows) if self.next_at_cap else min(len(rows), self.cap)
        if after + limit < reachable:
            out["paging"] = {"next": {"after": str(after + limit)}}
        return httpx.Response(200, json=out)


def test_search_pages_and_restarts_before_the_cap() -> None:
    # 13 contacts; timestamps repeat so restarts re-read the boundary
    contacts = [contact(str(i), 1000 + (i // 2)) for i in range(1, 14)]
    fake = FakeSearch(contacts, cap=6)
    client = make(fake, search_page_size=2, search_result_cap=6)
    pages = list(client.changed_pages(1000, ["email"]))
    ids = [c.id for page in pages for c in page.contacts]
    assert sorted(ids, key=int) == [str(i) for i in range(1, 14)]
    assert len(ids) == len(set(ids))  # de-duplicated across restarts
    # never asked past the cap, and restarted from the newest timestamp seen with GTE
    assert all(int(b["after"]) + b["limit"] <= 6 for b in fake.bodies)
    filters = [b["filterGroups"][0]["filters"][0] for b in fake.bodies if b["after"] == "0"]
    assert filters[0] == {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1000"}
    assert filters[1]["operator"] == "GTE" and int(filters[1]["value"]) > 1000
    assert all(p.high_water_ms == max(c.updated_at_ms for c in p.contacts) for p in pages)
    assert [p.high_water_ms for p in pages] == sorted(p.high_water_ms for p in pages)
    assert "lastmodifieddate" in fake.bodies[0]["properties"]
    assert client.stats["search"] == len(fake.bodies)


def test_search_restarts_when_the_cap_ends_paging_early() -> None:
    contacts = [contact(str(i), 2000 + i) for i in range(1, 16)]
    fake = FakeSearch(contacts, cap=6, next_at_cap=False)
    client = make(fake, search_page_size=3, search_result_cap=6)
    ids = [c.id for page in client.changed_pages(0, []) for c in page.contacts]
    assert ids == [str(i) for i in range(1, 16)]


def test_search_with_a_whole_query_on_one_timestamp_pages_by_id() -> None:
    contacts = [contact(str(i), 5000) for i in range(1, 12)] + [contact("50", 6000)]
    fake = FakeSearch(contacts, cap=4)
    client = make(fake, search_page_size=2, search_result_cap=4)
    ids = [c.id for page in client.changed_pages(5000, []) for c in page.contacts]
    assert sorted(ids, key=int) == [*(str(i) for i in range(1, 12)), "50"]
    assert len(ids) == len(set(ids))
    assert any(b["sorts"][0]["propertyName"] == "hs_object_id" for b in fake.bodies)


def test_search_uses_its_own_pacer() -> None:
    fake = FakeSearch([contact("1", 10)], cap=10_000)
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # a clock that moves only when someone waits
        waits.append(seconds)
        now[0] += seconds

    client = HubSpotClient(
        HubSpotSession(
            BASE,
            TOKEN,
            http=httpx.Client(transport=httpx.MockTransport(fake)),
            sleep=sleep,
            clock=lambda: now[0],
        ),
        HubSpotLimits(per_10s=1, search_per_s=5),
    )
    client.general_pacer.acquire()  # the general bucket is now full for 10 s
    assert waits == []
    assert len(list(client.changed_pages(0, []))) == 1
    assert waits == []  # search did not wait for the general bucket
    assert client.stats.get("paced_ms", 0) == 0


# --------------------------------------------------------------------------- create


def test_create_per_item_results_by_trace_id() -> None:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        payload = body(request)
        sent.append(payload)
        results: list[Any] = []
        errors: list[Any] = []
        for n, item in enumerate(payload["inputs"]):
            email = item["properties"]["email"]
            trace = item["objectWriteTraceId"]
            if email == "dup@x.test":
                errors.append(
                    {
                        "status": "error",
                        "category": "CONFLICT",
                        "message": "Contact already exists. Existing ID: 777",
                        "context": {"objectWriteTraceId": [trace]},
                    }
                )
            elif email == "bad":
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Property values were not valid",
                        "errors": [{"message": "Email address bad is invalid"}],
                        "context": {"objectWriteTraceId": [trace]},
                    }
                )
            else:
                results.append({"id": str(900 + n), "properties": {"email": email}})
        results.reverse()  # HubSpot does not keep the input order
        return httpx.Response(207 if errors else 201, json={"results": results, "errors": errors})

    writes = [
        ContactWrite("lead:1", {"email": "a@x.test"}),
        ContactWrite("lead:2", {"email": "dup@x.test"}),
        ContactWrite("lead:3", {"email": "bad"}),
        ContactWrite("lead:4", {"email": "b@x.test"}),
    ]
    results = make(handler).create_contacts(writes)
    assert [r.key for r in results] == ["lead:1", "lead:2", "lead:3", "lead:4"]
    assert results[0].id == "900" and results[0].ok
    assert results[1].duplicate_of == "777" and not results[1].ok
    assert results[2].error == "Property values were not valid" and results[2].id is None
    assert results[3].id == "903"
    assert [i["objectWriteTraceId"] for i in sent[0]["inputs"]] == [w.key for w in writes]


def test_create_whole_batch_409_retries_the_rest() -> None:
    existing = {"dup@x.test": "555"}
    calls: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        payload = body(request)
        calls.append((request.url.path, payload))
        if request.url.path.endswith("/batch/read"):
            return httpx.Response(200, json={"results": [contact("555", 1, email="dup@x.test")]})
        for item in payload["inputs"]:
            if item["properties"]["email"] in existing:
                return httpx.Response(
                    409,
                    json={
                        "status": "error",
                        "category": "CONFLICT",
                        "message": "Contact already exists. Existing ID: 555",
                    },
                )
        return httpx.Response(
            201,
            json={
                "results": [
                    {"id": str(i + 1), "properties": item["properties"]}
                    for i, item in enumerate(payload["inputs"])
                ]
            },
        )

    writes = [
        ContactWrite(f"k{i}", {"email": e})
        for i, e in enumerate(["a@x.test", "dup@x.test", "c@x.test"])
    ]
    results = make(handler).create_contacts(writes)
    assert results[1].duplicate_of == "555"
    assert results[0].ok and results[2].ok
    creates = [p for path, p in calls if path.endswith("/batch/create")]
    assert [len(p["inputs"]) for p in creates] == [3, 2]


def test_create_unattributable_400_is_bisected() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        inputs = body(request)["inputs"]
        if any(i["properties"].get("phone") == "x" for i in inputs):
            return httpx.Response(
                400,
                json={
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": "Property values were not valid",
                },
            )
        return httpx.Response(
            201,
            json={
                "results": [
                    {
                        "id": i["objectWriteTraceId"].upper(),
                        "properties": i["properties"],
                        "objectWriteTraceId": i["objectWriteTraceId"],
                    }
                    for i in inputs
                ]
            },
        )

    writes = [
        ContactWrite(f"k{i}", {"email": f"{i}@x.test", "phone": "x" if i == 5 else "1"})
        for i in range(8)
    ]
    client = make(handler)
    results = client.create_contacts(writes)
    assert [r.ok for r in results] == [i != 5 for i in range(8)]
    assert results[5].error == "Property values were not valid"
    assert results[0].id == "K0"
    assert client.stats["batch_create"] <= 8


# --------------------------------------------------------------------------- update


def test_update_missing_and_per_item_validation() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        inputs = body(request)["inputs"]
        results: list[Any] = []
        errors: list[Any] = []
        for item in inputs:
            if item["id"] == "404":
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "message": "Could not get some CONTACT objects",
                        "context": {"ids": ["404"]},
                    }
                )
            elif item["properties"].get("email") == "bad":
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": "Email address bad is invalid",
                        "context": {"id": [item["id"]]},
                    }
                )
            else:
                results.append({"id": item["id"], "properties": item["properties"]})
        return httpx.Response(207 if errors else 200, json={"results": results, "errors": errors})

    writes = [
        ContactWrite("a", {"firstname": "A"}, id="1"),
        ContactWrite("b", {"firstname": "B"}, id="404"),
        ContactWrite("c", {"email": "bad"}, id="3"),
    ]
    results = make(handler).update_contacts(writes)
    assert results[0].ok and results[0].id == "1"
    assert results[1].missing and not results[1].ok
    assert results[2].error == "Email address bad is invalid"


def test_update_whole_batch_400_naming_one_input_retries_the_others() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = [i["id"] for i in body(request)["inputs"]]
        sent.append(ids)
        if "2002" in ids:
            return httpx.Response(
                400,
                json={
                    "status": "error",
                    "category": "VALIDATION_ERROR",
                    "message": 'Property values were not valid: [{"isValid":false,"message":'
                    '"2002 has an invalid email"}]',
                },
            )
        return httpx.Response(200, json={"results": [{"id": i} for i in ids]})

    writes = [ContactWrite(f"k{i}", {"email": "x"}, id=str(2000 + i)) for i in range(5)]
    results = make(handler).update_contacts(writes)
    assert [r.ok for r in results] == [True, True, False, True, True]
    assert "invalid email" in (results[2].error or "")
    assert sent == [["2000", "2001", "2002", "2003", "2004"], ["2000", "2001", "2003", "2004"]]


def test_update_never_sends_one_id_twice_in_a_batch() -> None:
    sent: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = [i["id"] for i in body(request)["inputs"]]
        sent.append(ids)
        assert len(ids) == len(set(ids))
        return httpx.Response(200, json={"results": [{"id": i} for i in ids]})

    writes = [
        ContactWrite("a", {}, id="1"),
        ContactWrite("b", {}, id="1"),
        ContactWrite("c", {}, id="2"),
    ]
    assert all(r.ok for r in make(handler, max_workers=1).update_contacts(writes))
    assert sent == [["1", "2"], ["1"]]


# --------------------------------------------------------------------------- properties


def test_properties_are_cached_and_mapped() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(
            200,
            json={
                "results": [
                    {
                        "name": "hs_analytics_source",
                        "label": "Original Source",
                        "type": "enumeration",
                        "fieldType": "select",
                        "options": [{"label": "Organic Search", "value": "ORGANIC_SEARCH"}],
                        "modificationMetadata": {"readOnlyValue": True},
                    },
                    {
                        "name": "hubspotscore",
                        "label": "HubSpot Score",
                        "type": "number",
                        "fieldType": "calculation_score",
                        "calculated": True,
                    },
                    {
                        "name": "firstname",
                        "label": "First Name",
                        "type": "string",
                        "fieldType": "text",
                        "modificationMetadata": {"readOnlyValue": False},
                    },
                ]
            },
        )

    client = make(handler)
    props = client.properties()
    assert client.properties() == props
    assert calls == [f"/crm/properties/{V}/contacts"]
    source = props["hs_analytics_source"]
    assert source.read_only and source.label_for("ORGANIC_SEARCH") == "Organic Search"
    assert props["hubspotscore"].read_only
    assert not props["firstname"].read_only


# --------------------------------------------------------------------------- failures


def test_daily_limit_stops_a_parallel_read() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            json={
                "status": "error",
                "policyName": "DAILY",
                "message": "You have reached your daily limit.",
            },
        )

    client = make(handler, max_workers=4)
    with pytest.raises(DailyLimitReached):
        client.read_contacts([str(i) for i in range(500)], [])
    assert client.stats["batch_read"] <= 5  # no retries of DAILY


def test_rate_limited_then_success() -> None:
    replies = [
        httpx.Response(
            429, json={"policyName": "TEN_SECONDLY_ROLLING"}, headers={"Retry-After": "1"}
        ),
        httpx.Response(
            200, json={"list": {"listId": "1", "name": "L", "processingType": "DYNAMIC"}}
        ),
    ]
    slept: list[float] = []
    client = make(lambda r: replies.pop(0), sleep=slept.append)
    assert not client.get_list("1").accepts_members
    assert slept and slept[0] >= 1.0
    assert client.stats["rate_limited"] == 1


def test_auth_error_without_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = HubSpotClient(
        HubSpotSession(BASE, TOKEN), HubSpotLimits.unpaced(retry=RetryPolicy(max_attempts=1))
    )
    client._session.http = httpx.Client(  # keep the logging hooks, swap the transport
        transport=httpx.MockTransport(
            lambda r: httpx.Response(
                401,
                json={
                    "status": "error",
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
            )
        ),
        event_hooks=client._session.http.event_hooks,
    )
    with pytest.raises(AuthError) as caught:
        client.properties()
    assert TOKEN not in str(caught.value)
    assert TOKEN not in caplog.text
    assert f"/crm/properties/{V}/contacts" in caplog.text


def test_a_200_that_is_not_json_is_an_api_error() -> None:
    client = make(lambda r: httpx.Response(200, text="<html>captive portal</html>"))
    with pytest.raises(ApiError, match="not JSON"):
        client.properties()

"""Fault injection, the call log and the ``/_sandbox`` control API of all three servers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sandbox import Sandbox, SandboxLimits

CONTACTS = "/crm/v3/objects/contacts"


@pytest.fixture(scope="module")
def web() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@pytest.fixture
def sandbox(running: Sandbox) -> Iterator[Sandbox]:
    running.reset("empty")
    yield running
    assert all(not state.internal_errors for state in running.states)


@dataclass
class Api:
    """Requests to the three servers over one shared client, with their credentials."""

    sandbox: Sandbox
    web: httpx.Client

    def hubspot(self, method: str = "GET", path: str = CONTACTS, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.sandbox.hubspot_token}"}
        return self.web.request(method, self.sandbox.hubspot_url + path, headers=headers, **kw)

    def sell(self, method: str = "GET", path: str = "/v2/leads", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.sandbox.sell_token}", "User-Agent": "tests"}
        return self.web.request(method, self.sandbox.sell_url + path, headers=headers, **kw)

    def slack(self) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.sandbox.slack_token}"}
        return self.web.post(self.sandbox.slack_url + "auth.test", headers=headers)


@pytest.fixture
def api(sandbox: Sandbox, web: httpx.Client) -> Api:
    return Api(sandbox, web)


# ---------------------------------------------------------------------- HubSpot faults


def test_hubspot_429_faults(api: Api, sandbox: Sandbox) -> None:
    sandbox.hubspot.inject("429", delay=7)
    limited = api.hubspot()
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert limited.headers["X-HubSpot-RateLimit-Remaining"] == "0"

    sandbox.hubspot.inject("429-no-retry-after")
    bare = api.hubspot()
    assert bare.status_code == 429 and "retry-after" not in bare.headers
    assert bare.json()["errorType"] == "RATE_LIMIT"

    sandbox.hubspot.inject("429", path_prefix="/crm/objects/2026-03/contacts/search")
    searched = api.hubspot("POST", CONTACTS + "/search", json={})
    assert searched.json()["message"] == "You have reached your secondly limit."
    assert not any(h.lower().startswith("x-hubspot") for h in searched.headers)

    sandbox.hubspot.inject("daily")
    daily = api.hubspot()
    assert daily.status_code == 429 and daily.json()["policyName"] == "DAILY"
    assert api.hubspot().status_code == 200


@pytest.mark.parametrize(
    ("kind", "status", "content_type"),
    [
        ("500", 500, "application/json"),
        ("502", 502, "text/html"),
        ("503", 503, "text/html"),
        ("401", 401, "application/json"),
        ("429-empty", 429, None),
    ],
)
def test_hubspot_status_faults(
    api: Api, sandbox: Sandbox, kind: str, status: int, content_type: str | None
) -> None:
    sandbox.hubspot.inject(kind)
    response = api.hubspot()
    assert response.status_code == status
    if content_type is None:
        assert response.content == b""
    else:
        assert response.headers["content-type"].startswith(content_type)
    if kind == "401":
        assert response.json()["category"] == "INVALID_AUTHENTICATION"


# ---------------------------------------------------------------------- Sell faults


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("429", 429, "rate_limit_exceeded"),
        ("429-no-retry-after", 429, "rate_limit_exceeded"),
        ("404-429", 404, "incorrect_path"),
        ("401", 401, "unauthorized"),
        ("500", 500, "server_error"),
        ("503", 503, "temporarily_unavailable"),
        ("429-empty", 429, None),
        ("502", 502, None),
    ],
)
def test_sell_faults(api: Api, sandbox: Sandbox, kind: str, status: int, code: str | None) -> None:
    sandbox.sell.inject(kind)
    response = api.sell()
    assert response.status_code == status
    assert response.headers["X-Request-Id"]
    assert "retry-after" not in response.headers
    if code is None:
        assert "json" not in response.headers.get("content-type", "")
    else:
        body = response.json()
        assert body["errors"][0]["error"]["code"] == code
        assert body["meta"]["logref"] == response.headers["X-Request-Id"]
    if kind == "404-429":
        assert "/429.json" in response.json()["errors"][0]["error"]["details"]
    if kind == "429-empty":
        assert response.content == b""


def test_slack_faults(api: Api, sandbox: Sandbox) -> None:
    sandbox.slack.inject("429", delay=3)
    limited = api.slack()
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert limited.json() == {"ok": False, "error": "ratelimited"}
    sandbox.slack.inject("401")
    assert api.slack().json() == {"ok": False, "error": "invalid_auth"}
    sandbox.slack.inject("503")
    assert api.slack().status_code == 503
    assert api.slack().json()["ok"] is True


# ---------------------------------------------------------------------- transport faults


@pytest.mark.parametrize("service", ["hubspot", "sell", "slack"])
def test_drop_closes_the_connection_without_a_response(
    api: Api, sandbox: Sandbox, service: str
) -> None:
    getattr(sandbox, service).inject("drop")
    send = {"hubspot": api.hubspot, "sell": api.sell, "slack": api.slack}[service]
    with pytest.raises(httpx.RemoteProtocolError):
        send()
    assert send().status_code == 200
    first = getattr(sandbox, service).calls[0]
    assert (first.status, first.fault) == (0, "drop")


def test_timeout_outlasts_the_client(sandbox: Sandbox) -> None:
    sandbox.sell.inject("timeout", delay=1.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(
            sandbox.sell_url + "/v2/leads",
            headers={"Authorization": f"Bearer {sandbox.sell_token}"},
            timeout=0.2,
        )
    assert time.monotonic() - started < 0.9
    assert sandbox.sell.calls[0].fault == "timeout"  # logged on arrival


def test_apply_lets_the_write_happen_before_the_failure(api: Api, sandbox: Sandbox) -> None:
    sandbox.hubspot.inject("500", method="POST", apply=True)
    failed = api.hubspot("POST", CONTACTS, json={"properties": {"email": "a@example.com"}})
    assert failed.status_code == 500
    assert sandbox.hubspot.find_contact("a@example.com") is not None
    sandbox.hubspot.inject("timeout", method="POST", apply=True, delay=0.3)
    slow = api.hubspot("POST", CONTACTS, json={"properties": {"email": "b@example.com"}})
    assert slow.status_code == 201  # the real answer, late


def test_faults_match_method_path_and_count(api: Api, sandbox: Sandbox) -> None:
    sandbox.hubspot.inject("503", method="POST", path_prefix="/crm/objects/2026-03/contacts/batch")
    assert api.hubspot().status_code == 200  # GET does not match
    assert api.hubspot("POST", CONTACTS + "/search", json={}).status_code == 200
    read = {"inputs": [], "properties": [], "propertiesWithHistory": []}
    batch = api.hubspot("POST", CONTACTS + "/batch/read", json=read)
    assert batch.status_code == 503  # the v3 spelling matches the dated prefix
    assert api.hubspot("POST", CONTACTS + "/batch/read", json=read).status_code == 200

    sandbox.sell.inject("500", times=2)
    assert [api.sell().status_code for _ in range(3)] == [500, 500, 200]
    sandbox.sell.inject("500", times=None)
    assert [api.sell().status_code for _ in range(3)] == [500, 500, 500]
    sandbox.sell.clear_faults()
    assert api.sell().status_code == 200
    with pytest.raises(ValueError, match="404-429"):
        sandbox.hubspot.inject("404-429")


def test_call_log(api: Api, sandbox: Sandbox) -> None:
    api.hubspot("POST", CONTACTS, json={"properties": {"email": "a@example.com"}})
    api.hubspot(params={"limit": "5", "properties": ["email", "phone"]})
    api.hubspot("GET", "/nowhere")
    created, listed, unrouted = sandbox.hubspot.calls
    assert (created.method, created.status, created.endpoint) == ("POST", 201, "contacts.create")
    assert created.json == {"properties": {"email": "a@example.com"}}
    assert listed.query == {"limit": "5", "properties": ["email", "phone"]}
    assert (unrouted.status, unrouted.endpoint) == (404, None)
    assert sandbox.hubspot.count("POST") == 1
    assert sandbox.hubspot.count(path_prefix=CONTACTS) == 2
    assert sandbox.hubspot.count(status=404) == 1
    sandbox.hubspot.reset_calls()
    assert sandbox.hubspot.count() == 0


def test_control_api_over_http(api: Api, sandbox: Sandbox) -> None:
    control = sandbox.sell_url + "/_sandbox"
    created = api.web.post(control + "/faults", json={"kind": "503", "path_prefix": "/v2/leads"})
    assert created.status_code == 201
    assert api.web.get(control + "/faults").json()["faults"][0]["kind"] == "503"
    assert api.sell().status_code == 503
    assert api.sell(path="/v2/users/self").status_code == 200
    calls = api.web.get(control + "/calls", params={"path_prefix": "/v2/leads"}).json()
    assert calls["count"] == 1 and calls["calls"][0]["status"] == 503
    assert api.web.delete(control + "/calls").json() == {"ok": True}
    assert sandbox.sell.count() == 0
    assert api.web.post(control + "/faults", json={"kind": "nope"}).status_code == 400

    info = api.web.get(sandbox.hubspot_url + "/_sandbox/info").json()
    assert info["portal_id"] == sandbox.hubspot.portal_id and info["service"] == "hubspot"
    limits = api.web.post(sandbox.hubspot_url + "/_sandbox/limits", json={"hubspot_per_10s": 7})
    assert limits.json()["hubspot_per_10s"] == 7 == sandbox.limits.hubspot_per_10s
    sandbox.limits.update(SandboxLimits(enabled=False).to_dict())
    added = api.web.post(
        sandbox.hubspot_url + "/_sandbox/contacts",
        json={"properties": {"email": "c@example.com", "hubspotscore": "77"}},
    ).json()
    assert (sandbox.hubspot.get_contact(added["id"]) or {})["properties"]["hubspotscore"] == "77"
    api.web.post(
        sandbox.slack_url + "chat.postMessage",
        data={"token": "xoxb-1", "channel": "C", "text": "hi"},
    )
    messages = api.web.get(sandbox.slack.base_url + "/_sandbox/messages").json()["messages"]
    assert [m["text"] for m in messages] == ["hi"]
    assert sandbox.hubspot.count() == 0  # control calls are not logged

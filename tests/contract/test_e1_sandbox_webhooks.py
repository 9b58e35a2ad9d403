"""The sandbox HubSpot delivers webhooks as HubSpot does: every contact change (API writes,
sellsync's echoes included) becomes signed v3 POSTs of JSON arrays of at most 100 events; sellsync's
own receiver accepts them and stores each event once; a failed or slow answer is retried with a
rising attemptNumber; never more than 10 requests are in flight; the subscriptions come from the
developer project's webhooks file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.hubspot_webhooks import WEBHOOK_PATH
from bot.serve import BackgroundServer
from bot.web import build_web
from sandbox import Sandbox, SandboxLimits
from sandbox.hubspot_webhooks import DEFAULT_CLIENT_SECRET, HSMETA, Subscriptions
from storage.db import open_store
from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.service import SyncService
from tests.fakes import FakeHubSpot, FakeSell, TickClock

CONTACTS = "/crm/v3/objects/contacts"
FAST = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5)


@dataclass
class Received:
    """What a stand-in receiver got: each request's events and headers, and its concurrency."""

    requests: list[tuple[list[dict[str, Any]], dict[str, str], bytes]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for batch, _, _ in self.requests for e in batch]


@contextmanager
def receiver(answer: Callable[[int], tuple[int, float]]) -> Iterator[tuple[str, Received]]:
    """A plain HTTP receiver on loopback; ``answer(n)`` gives the n-th request's status and
    how long to take."""
    got = Received()

    async def hook(request: Request) -> Response:
        import asyncio

        body = await request.body()
        with got.lock:
            n = len(got.requests)
            got.requests.append((json.loads(body), dict(request.headers), body))
            got.in_flight += 1
            got.max_in_flight = max(got.max_in_flight, got.in_flight)
        status, delay = answer(n)
        try:
            await asyncio.sleep(delay)
        finally:
            with got.lock:
                got.in_flight -= 1
        return Response(status_code=status)

    app = Starlette(routes=[Route(WEBHOOK_PATH, hook, methods=["POST"])])
    with BackgroundServer(app) as server:
        yield server.url + WEBHOOK_PATH, got


def signed_v3(headers: dict[str, str], url: str, body: bytes, secret: str) -> bool:
    """HubSpot's documented v3 check, done here on its own."""
    ts = headers["x-hubspot-request-timestamp"]
    digest = hmac.new(secret.encode(), b"POST" + url.encode() + body + ts.encode(), hashlib.sha256)
    return hmac.compare_digest(
        base64.b64encode(digest.digest()).decode(), headers["x-hubspot-signature-v3"]
    )


@contextmanager
def hubspot_sending_to(url: str, **configure: Any) -> Iterator[tuple[Sandbox, httpx.Client]]:
    with Sandbox(seed="empty", limits=SandboxLimits(enabled=False), webhook_url=url) as sandbox:
        sandbox.hubspot.webhooks.configure(url, retry_delays=FAST, **configure)
        with httpx.Client(
            base_url=sandbox.hubspot_url,
            headers={"Authorization": f"Bearer {sandbox.hubspot_token}"},
            timeout=10,
        ) as api:
            yield sandbox, api


@contextmanager
def sellsync_receiving(store: SqlStore) -> Iterator[str]:
    """sellsync's web process (no Slack route) over in-memory CRMs and ``store``, serving in
    the background: the URL of its HubSpot webhook receiver."""
    clock = TickClock()
    engine = Engine(FakeHubSpot(clock=clock), FakeSell(clock=clock), store, clock, EngineConfig())
    web = build_web(
        None,  # type: ignore[arg-type]  # no Slack route
        SyncService(engine),
        slack_events=False,
        hubspot_client_secret=DEFAULT_CLIENT_SECRET,
    )
    with BackgroundServer(web) as server:
        yield server.url + WEBHOOK_PATH


def create(api: httpx.Client, email: str, **props: str) -> str:
    response = api.post(CONTACTS, json={"properties": {"email": email, **props}})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_e1_the_sandbox_s_batches_are_signed_and_accepted_by_sellsync_s_receiver(
    tmp_path: Path,
) -> None:
    """Creation, property changes (an API write: an echo of what sellsync would write), deletion,
    restore, merge and GDPR delete reach POST /hubspot/webhooks, verified, stored once each."""
    with open_store(f"sqlite:///{tmp_path / 'sellsync.db'}") as store:
        with (
            sellsync_receiving(store) as url,
            hubspot_sending_to(url) as (sandbox, api),
        ):
            a = create(api, "a@example.com", firstname="Ann")
            b = create(api, "b@example.com", firstname="Bob")
            c = create(api, "c@example.com")
            patched = api.patch(f"{CONTACTS}/{a}", json={"properties": {"phone": "+1 555"}})
            assert patched.status_code == 200
            api.patch(f"{CONTACTS}/{a}", json={"properties": {"hs_lead_status": "NEW"}})
            assert api.delete(f"{CONTACTS}/{c}").status_code == 204
            restored = httpx.post(f"{sandbox.hubspot_url}/_sandbox/contacts/{c}/restore")
            assert restored.status_code == 200
            merged = api.post(
                f"{CONTACTS}/merge", json={"primaryObjectId": a, "objectIdToMerge": b}
            )
            assert merged.status_code == 200
            gone = api.post(f"{CONTACTS}/gdpr-delete", json={"objectId": c})
            assert gone.status_code == 204
            assert api.get(f"{CONTACTS}/{c}", params={"archived": "true"}).status_code == 404
            assert sandbox.hubspot.webhooks.wait_idle(20)
            deliveries = sandbox.hubspot.webhooks.deliveries
        stored = store.claim_due(10_000, owner="probe", until=datetime.now(UTC))
    assert deliveries and all(d.ok for d in deliveries)
    assert all(len(d.event_ids) <= 100 for d in deliveries)
    sent = sorted(i for d in deliveries for i in d.event_ids)
    assert sorted(s.event.event_id for s in stored) == sent  # each stored, once
    kinds = [(s.event.subscription_type, s.event.object_id, s.event.property_name) for s in stored]
    assert ("contact.creation", a, None) in kinds
    assert ("contact.propertyChange", a, "email") in kinds
    assert ("contact.propertyChange", a, "phone") in kinds  # the API write comes back
    assert ("contact.propertyChange", a, "hs_lead_status") not in kinds  # not subscribed
    assert ("contact.deletion", c, None) in kinds
    assert ("contact.restore", c, None) in kinds
    assert ("contact.privacyDeletion", c, None) in kinds
    (merge,) = [s.event for s in stored if s.event.subscription_type == "contact.merge"]
    assert merge.merged_ids == (a, b) and merge.new_object_id == a
    assert merge.contact_ids == (a, b)


def test_e1_a_500_is_retried_with_a_rising_attempt_number_and_a_fresh_signature() -> None:
    with (
        receiver(lambda n: (500, 0) if n < 2 else (200, 0)) as (url, got),
        hubspot_sending_to(url) as (sandbox, api),
    ):
        cid = create(api, "retry@example.com")
        assert sandbox.hubspot.webhooks.wait_idle(20)
    assert len(got.requests) == 3
    ids = [tuple(e["eventId"] for e in batch) for batch, _, _ in got.requests]
    assert ids[0] == ids[1] == ids[2]  # the same events, again
    attempts = [{e["attemptNumber"] for e in batch} for batch, _, _ in got.requests]
    assert attempts == [{0}, {1}, {2}]
    assert all(signed_v3(h, url, body, DEFAULT_CLIENT_SECRET) for _, h, body in got.requests)
    first = got.requests[0][0][0]
    assert first["objectId"] == int(cid) and first["portalId"] == sandbox.hubspot.portal_id
    assert {"eventId", "subscriptionId", "appId", "occurredAt", "changeSource"} <= set(first)


def test_e1_a_slow_answer_counts_as_failed_and_is_sent_again() -> None:
    """HubSpot waits 5 s (here 0.5 s); a slower answer is a failure, retried."""
    with (
        receiver(lambda n: (200, 1.0) if n == 0 else (200, 0)) as (url, got),
        hubspot_sending_to(url, timeout=0.5) as (sandbox, api),
    ):
        create(api, "slow@example.com")
        assert sandbox.hubspot.webhooks.wait_idle(20)
        deliveries = sandbox.hubspot.webhooks.deliveries
    assert [d.ok for d in deliveries] == [False, True]
    assert deliveries[0].error == "ReadTimeout"
    assert [{e["attemptNumber"] for e in batch} for batch, _, _ in got.requests] == [{0}, {1}]


def test_e1_at_most_ten_requests_are_in_flight_and_batches_hold_at_most_100() -> None:
    with (
        receiver(lambda n: (200, 0.3)) as (url, got),
        hubspot_sending_to(url) as (sandbox, api),
    ):
        for start in range(0, 2000, 100):
            inputs = [
                {"properties": {"email": f"p{i}@example.com"}} for i in range(start, start + 100)
            ]
            response = api.post(f"{CONTACTS}/batch/create", json={"inputs": inputs})
            assert response.status_code == 201, response.text
        assert sandbox.hubspot.webhooks.wait_idle(60)
        in_flight = sandbox.hubspot.webhooks.max_in_flight
    sizes = [len(batch) for batch, _, _ in got.requests]
    assert max(sizes) <= 100 and sum(sizes) == 4000  # a creation and an email change each
    assert 1 < got.max_in_flight <= 10 and in_flight <= 10


def test_e1_nothing_is_sent_without_a_target_or_for_a_seed() -> None:
    with (
        receiver(lambda n: (200, 0)) as (url, got),
        Sandbox(seed="empty", limits=SandboxLimits(enabled=False)) as sandbox,
    ):
        sandbox.hubspot.add_contact({"email": "quiet@example.com"})  # no target yet
        sandbox.hubspot.webhooks.configure(url, retry_delays=FAST)
        sandbox.reset("demo")  # laying down a seed is not a change HubSpot reports
        assert sandbox.hubspot.webhooks.wait_idle(10)
        assert sandbox.hubspot.webhooks.info()["sent"] == 0
        sandbox.hubspot.add_contact({"email": "loud@example.com"})
        assert sandbox.hubspot.webhooks.wait_idle(10)
    assert [e["subscriptionType"] for e in got.events()] == [
        "contact.creation",
        "contact.propertyChange",
    ]


def test_e1_the_subscriptions_are_the_developer_project_s() -> None:
    project = json.loads(HSMETA.read_text(encoding="utf-8"))["config"]
    subscribed = {
        e["propertyName"]
        for e in project["subscriptions"]["legacyCrmObjects"]
        if e.get("propertyName")
    }
    loaded = Subscriptions.from_project()
    assert loaded.properties == subscribed
    assert {"contact.creation", "contact.merge", "contact.privacyDeletion"} <= loaded.types
    assert loaded.max_concurrent == project["settings"]["maxConcurrentRequests"]


def test_e1_the_sandbox_environment_names_the_client_secret_and_the_target() -> None:
    url = "http://127.0.0.1:3000/hubspot/webhooks"
    with Sandbox(seed="empty", webhook_url=url) as sandbox:
        env = sandbox.settings_env()
    assert env["HUBSPOT_CLIENT_SECRET"] == DEFAULT_CLIENT_SECRET
    assert env["PUBLIC_URL"] == "http://127.0.0.1:3000"
    with Sandbox(seed="empty") as sandbox:
        assert "HUBSPOT_CLIENT_SECRET" not in sandbox.settings_env()


def test_e1_a_burst_while_no_worker_runs_is_kept_in_the_inbox(tmp_path: Path) -> None:
    """500 contacts created at once through the API: every event they cause is stored and
    waits, none applied, while no worker runs."""
    with open_store(f"sqlite:///{tmp_path / 'sellsync.db'}") as store:
        with (
            sellsync_receiving(store) as url,
            hubspot_sending_to(url) as (sandbox, api),
        ):
            for start in range(0, 500, 100):
                inputs = [
                    {"properties": {"email": f"b{i}@example.com", "firstname": f"B{i}"}}
                    for i in range(start, start + 100)
                ]
                assert api.post(f"{CONTACTS}/batch/create", json={"inputs": inputs}).is_success
            assert sandbox.hubspot.webhooks.wait_idle(30)
            assert all(d.ok for d in sandbox.hubspot.webhooks.deliveries)
        assert store.received_count() == 1500
        assert store.depth() == 1500
        assert store.failing(0) != [] and all(e.applied_at is None for e in store.failing(0))


@pytest.fixture(autouse=True)
def _no_thread_left_behind() -> Iterator[None]:
    yield
    deadline = time.monotonic() + 5
    while any(t.name == "sandbox-hubspot-webhooks" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the webhook sender kept running after stop()"
        time.sleep(0.05)

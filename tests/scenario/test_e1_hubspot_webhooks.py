"""POST /hubspot/webhooks over HTTP: a signed batch is stored, then answered 200; unsigned,
wrongly signed, stale, replayed, malformed or oversized requests get 401/400/413, store nothing
and log no body; PUBLIC_URL is what the signature covers behind a proxy; a database that is down
or busy gets 503 in time (never a 2xx for an event not stored); a burst waits in the inbox while
no worker runs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.hubspot_webhooks import MAX_BODY_BYTES, WEBHOOK_PATH
from bot.serve import BackgroundServer
from bot.web import build_web
from storage.db import open_store
from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.service import SyncService
from tests.fakes import FakeHubSpot, FakeSell, TickClock

SECRET = "0f8c1b7e-5d7a-4c7e-9d1e-3c2b1a0f9e8d"
PRIVATE = "private.person@example.com"  # record data: must never reach a log line


def sign(
    body: bytes,
    *,
    uri: str,
    secret: str = SECRET,
    method: str = "POST",
    timestamp_ms: int | None = None,
) -> dict[str, str]:
    """HubSpot's v3 headers, computed here from the documented recipe (not the bot's code)."""
    ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    message = (method + uri).encode() + body + ts.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "X-HubSpot-Signature-v3": base64.b64encode(digest).decode(),
        "X-HubSpot-Request-Timestamp": ts,
        "Content-Type": "application/json",
    }


def events(*ids: int, object_id: int = 501) -> list[dict[str, Any]]:
    return [
        {
            "eventId": i,
            "subscriptionId": 7,
            "portalId": 62515,
            "appId": 54321,
            "occurredAt": 1_780_000_000_000 + i,
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": object_id,
            "changeSource": "CRM_UI",
            "propertyName": "email",
            "propertyValue": PRIVATE,
        }
        for i in ids
    ]


def raw(value: Any) -> bytes:
    return json.dumps(value).encode()


@dataclass
class Web:
    store: SqlStore
    service: SyncService
    client: httpx.Client
    base: str

    def post(
        self, body: bytes, headers: dict[str, str], path: str = WEBHOOK_PATH
    ) -> httpx.Response:
        return self.client.post(path, content=body, headers=headers)

    def sign(self, body: bytes, **kwargs: Any) -> dict[str, str]:
        kwargs.setdefault("uri", self.base + WEBHOOK_PATH)
        return sign(body, **kwargs)

    def crm_calls(self) -> int:
        """Calls the web process made to either CRM (it only stores: always none)."""
        engine = self.service.engine
        return int(engine.hubspot.total_calls() + engine.sell.total_calls())  # type: ignore[attr-defined]


@contextmanager
def web_on(
    store: SqlStore, *, secret: str | None = SECRET, public_url: str | None = None
) -> Iterator[Web]:
    """The web process's app on a loopback port (uvicorn in a thread), on ``store``."""
    clock = TickClock()
    engine = Engine(FakeHubSpot(clock=clock), FakeSell(clock=clock), store, clock, EngineConfig())
    service = SyncService(engine)
    app = build_web(
        None,  # type: ignore[arg-type]  # no Slack route: the app is not used
        service,
        slack_events=False,
        hubspot_client_secret=secret,
        public_url=public_url,
    )
    with BackgroundServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
        yield Web(store, service, http, server.url)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "sellsync.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqlStore]:
    with open_store(f"sqlite:///{db_path}") as opened:
        yield opened


@pytest.fixture
def web(store: SqlStore) -> Iterator[Web]:
    with web_on(store) as running:
        yield running


def stored_ids(store: SqlStore) -> list[int]:
    claimed = store.claim_due(10_000, owner="probe", until=datetime.now(UTC))
    return sorted(c.event.event_id for c in claimed)


def test_e1_a_signed_batch_is_stored_then_answered_200(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    body = raw(events(1, 2, 3))
    with caplog.at_level(logging.INFO):
        response = web.post(body, web.sign(body))
    assert response.status_code == 200
    assert response.json() == {"received": 3, "stored": 3}
    assert web.store.depth() == 3
    assert stored_ids(web.store) == [1, 2, 3]
    assert web.crm_calls() == 0  # the worker applies events, never the web process
    assert PRIVATE not in caplog.text


def _bad_requests(web: Web) -> dict[str, tuple[int, bytes, dict[str, str]]]:
    good = raw(events(1))
    now_ms = int(time.time() * 1000)
    too_many = raw(events(*range(1, 102)))
    huge = raw(events(1)).replace(PRIVATE.encode(), PRIVATE.encode() * 12_000)
    assert len(huge) > MAX_BODY_BYTES
    no_name = raw([{k: v for k, v in events(1)[0].items() if k != "propertyName"}])
    return {
        "unsigned": (401, good, {"Content-Type": "application/json"}),
        "wrong secret": (401, good, web.sign(good, secret="another-apps-secret")),
        "tampered body": (401, good.replace(b"501", b"502"), web.sign(good)),
        "signed for another URI": (401, good, web.sign(good, uri=web.base + "/elsewhere")),
        "signed for GET": (401, good, web.sign(good, method="GET")),
        "stale (301 s old)": (401, good, web.sign(good, timestamp_ms=now_ms - 301_000)),
        "future (301 s ahead)": (401, good, web.sign(good, timestamp_ms=now_ms + 301_000)),
        "timestamp in seconds": (401, good, web.sign(good, timestamp_ms=now_ms // 1000)),
        "malformed signature": (
            401,
            good,
            {**web.sign(good), "X-HubSpot-Signature-v3": "not base64 at all"},
        ),
        "not JSON": (400, b"[{not json", web.sign(b"[{not json")),
        "not an array": (400, raw(events(1)[0]), web.sign(raw(events(1)[0]))),
        "an event without a property name": (400, no_name, web.sign(no_name)),
        "101 events": (400, too_many, web.sign(too_many)),
        "oversized": (413, huge, web.sign(huge)),
    }


CASES = [
    "unsigned",
    "wrong secret",
    "tampered body",
    "signed for another URI",
    "signed for GET",
    "stale (301 s old)",
    "future (301 s ahead)",
    "timestamp in seconds",
    "malformed signature",
    "not JSON",
    "not an array",
    "an event without a property name",
    "101 events",
    "oversized",
]


@pytest.mark.parametrize("case", CASES)
def test_e1_a_bad_request_gets_its_status_stores_nothing_and_logs_no_body(
    web: Web, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _bad_requests(web)
    assert list(bad) == CASES
    status, body, headers = bad[case]
    with caplog.at_level(logging.INFO):
        response = web.post(body, headers)
    assert response.status_code == status, response.text
    assert web.store.received_count() == 0
    assert web.crm_calls() == 0 and web.store.recent_runs(1) == []
    refusals = [r for r in caplog.records if "refused a HubSpot webhook request" in r.getMessage()]
    assert len(refusals) == 1
    line = refusals[0].getMessage()
    assert "\n" not in line and f"HTTP {status}" in line
    assert PRIVATE not in caplog.text and "501" not in line
    assert SECRET not in caplog.text


def test_e1_an_oversized_chunked_body_is_cut_off_at_the_cap(web: Web) -> None:
    body = b"[" + b" " * (MAX_BODY_BYTES + 10) + b"]"

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = web.client.post(WEBHOOK_PATH, content=chunks(), headers=web.sign(body))
    assert response.status_code == 413
    assert web.store.received_count() == 0


def test_e1_a_replay_is_refused_by_every_web_process(store: SqlStore, db_path: Path) -> None:
    """The same signed request, again, to this process and to another on the same database."""
    body = raw(events(1, 2))
    with web_on(store) as first:
        headers = first.sign(body)
        assert first.post(body, headers).status_code == 200
        assert first.post(body, headers).status_code == 401
        # another web process on the same database, behind the same public address
        with (
            open_store(f"sqlite:///{db_path}") as other_store,
            web_on(other_store, public_url=first.base) as other,
        ):
            assert other.post(body, headers).status_code == 401
            fresh = raw(events(3))
            assert other.post(fresh, first.sign(fresh)).status_code == 200  # it verifies
    assert store.received_count() == 3


def test_e1_a_redelivery_is_answered_200_and_stored_once(web: Web) -> None:
    """HubSpot's retry signs again (a new timestamp) and raises attemptNumber."""
    body = raw(events(1, 2))
    assert web.post(body, web.sign(body)).status_code == 200
    again = raw([{**e, "attemptNumber": 1} for e in events(1, 2, 3)])
    response = web.post(again, web.sign(again, timestamp_ms=int(time.time() * 1000) + 1))
    assert response.status_code == 200
    assert response.json() == {"received": 3, "stored": 1}
    assert web.store.received_count() == 3


def test_e1_public_url_is_what_the_signature_covers_behind_a_proxy(store: SqlStore) -> None:
    public = "https://crm.example.com/sellsync"
    body = raw(events(1))
    with web_on(store, public_url=public) as web:
        # the proxy reaches this server on its loopback address: a signature over that fails
        assert web.post(body, web.sign(body)).status_code == 401
        assert web.post(body, web.sign(body, uri=public + WEBHOOK_PATH)).status_code == 200
    assert store.received_count() == 1


def test_e1_without_public_url_the_request_s_own_host_and_query_are_signed(
    store: SqlStore,
) -> None:
    """The URI is the request's scheme, host, path and query, with the escapes HubSpot decodes
    (``%3A`` → ``:``, ``%40`` → ``@`` ...) decoded before signing."""
    with web_on(store) as web:
        _own_uri_is_signed(web)
    assert store.received_count() == 1


def _own_uri_is_signed(web: Web) -> None:
    body = raw(events(1))
    path = WEBHOOK_PATH + "?portal=62515&since=2026-12-07T05%3A00%3A00&by=a%40b"
    signed_over = web.base + WEBHOOK_PATH + "?portal=62515&since=2026-12-07T05:00:00&by=a@b"
    assert web.post(body, web.sign(body, uri=signed_over), path=path).status_code == 200
    other_host = {**web.sign(raw(events(2)), uri=web.base + WEBHOOK_PATH), "Host": "evil.example"}
    assert web.post(raw(events(2)), other_host).status_code == 401


def test_e1_without_a_client_secret_the_path_is_not_there(store: SqlStore) -> None:
    body = raw(events(1))
    with web_on(store, secret=None) as web:
        assert web.post(body, web.sign(body)).status_code == 404
    assert store.received_count() == 0


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def test_e1_a_database_outage_answers_503_and_never_2xx(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"postgresql://sellsync:hunter2@127.0.0.1:{_closed_port()}/x"
    with open_store(url, migrate=False) as unreachable:
        body = raw(events(1))
        with web_on(unreachable) as web, caplog.at_level(logging.INFO):
            response = web.post(body, web.sign(body))
    assert response.status_code == 503
    assert "hunter2" not in response.text and "hunter2" not in caplog.text
    assert PRIVATE not in caplog.text


def test_e1_a_busy_database_gets_503_within_5_seconds(web: Web, db_path: Path) -> None:
    """The worker holds SQLite's write lock longer than HubSpot waits: the batch is answered
    503 in time (HubSpot sends it again), and the events are stored at most once."""
    import sqlite3

    blocker = sqlite3.connect(db_path, timeout=1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        body = raw(events(1))
        started = time.monotonic()
        response = web.post(body, web.sign(body))
        took = time.monotonic() - started
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert response.status_code == 503 and took < 5.0
    retry = raw([{**events(1)[0], "attemptNumber": 1}])
    deadline = time.monotonic() + 10
    while (status := web.post(retry, web.sign(retry)).status_code) != 200:
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    assert web.store.received_count() == 1


def test_e1_a_burst_while_no_worker_runs_is_kept(web: Web) -> None:
    """Twenty full batches from ten senders at once: every event is stored, none applied."""
    batches = [raw(events(*range(b * 100 + 1, b * 100 + 101))) for b in range(20)]
    statuses: list[int] = []
    lock = threading.Lock()

    def send(part: list[bytes]) -> None:
        for body in part:
            status = web.post(body, web.sign(body)).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=send, args=(batches[n::10],)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 20
    assert web.store.received_count() == 2000
    assert web.store.depth() == 2000
    assert web.store.oldest_unapplied() is not None

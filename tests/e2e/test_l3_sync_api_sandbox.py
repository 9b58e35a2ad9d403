"""L3 with Sell's Sync API end to end over the sandbox: the real client speaks the protocol
(start, fetch, ack, with a stable device UUID); with the account flag on, a deleted linked lead
arrives as a ``deleted`` event and becomes a tombstone with no link check; with it off, the 403
is remembered and the run falls back to the link check without an error or a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from sandbox import Sandbox
from sync.clients.sell import SellClient
from sync.domain import LinkState, SellRef
from tests.e2e.conftest import engine_over


def test_l3_the_sell_client_speaks_the_sync_api_protocol(sb: Sandbox) -> None:
    sb.reset("empty")
    sb.sell.sync_api = True
    rids = [sb.sell.add_record("lead", {"last_name": f"L{i}"}) for i in range(150)]
    with SellClient(sb.sell_url, sb.sell_token, per_s=None) as sell:
        start = sell.sync_start()
        assert start.available and start.session
        pages = list(sell.sync_pages(start.session))
        assert [len(p.events) for p in pages] == [100, 50]
        assert {e.event for p in pages for e in p.events} == {"created"}
        for page in pages[:1]:
            sell.sync_ack(page.ack_keys)  # the second page is left unacked
        sb.sell.delete_record("lead", rids[0])
        again = sell.sync_start()
        assert again.session is not None
        events = [e for p in sell.sync_pages(again.session) for e in p.events]
        assert ("lead", rids[0], "deleted") in {(e.type, e.id, e.event) for e in events}
        assert len(events) == 51  # the unacked page comes back, plus the deletion
    # the device header names the queue: a request without it is refused
    bare = httpx.post(
        f"{sb.sell_url}/v2/sync/start",
        headers={"Authorization": f"Bearer {sb.sell_token}", "User-Agent": "test"},
    )
    assert bare.status_code == 400


def test_l3_an_account_without_the_sync_api_is_remembered_not_raised(sb: Sandbox) -> None:
    sb.reset("empty")
    assert sb.sell.sync_api is False  # off by default
    with SellClient(sb.sell_url, sb.sell_token, per_s=None) as sell:
        assert sell.sync_start().available is False
        assert sell.sync_start().available is False
    assert len(sb.sell.calls_matching("POST", "/v2/sync/start")) == 1
    turned = httpx.put(f"{sb.sell_url}/_sandbox/sync_api", json={"enabled": True})
    assert turned.json() == {"enabled": True}
    with SellClient(sb.sell_url, sb.sell_token, per_s=None) as sell:
        assert sell.sync_start().available is True  # a new client asks again


def _world(sb: Sandbox, n: int) -> tuple[str, list[int]]:
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    leads = []
    for i in range(n):
        email = f"pair{i}@example.com"
        cid = sb.hubspot.add_contact({"email": email, "lastname": f"P{i}", "hubspotscore": "80"})
        sb.hubspot.add_to_list(list_id, [cid])
        leads.append(sb.sell.add_record("lead", {"email": email, "last_name": f"P{i}"}))
    return list_id, leads


@pytest.mark.parametrize("sync_api", [True, False])
def test_l3_a_deleted_lead_is_a_tombstone_with_the_sync_api_or_through_the_fallback(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture, sync_api: bool
) -> None:
    list_id, leads = _world(sb, 5)
    sb.sell.sync_api = sync_api
    with engine_over(sb, f"sqlite:///{tmp_path}/l3.db", list_id) as engine:
        store = engine.store
        caplog.set_level(logging.INFO)
        assert engine.run(trigger="test").failure is None
        assert engine.run(trigger="test").failure is None  # reads back its own writes
        refs = [SellRef("lead", rid) for rid in leads]
        assert {link.state for link in store.links_by_sell(refs).values()} == {LinkState.ACTIVE}
        sb.sell.delete_record("lead", leads[2])
        sb.sell.reset_calls()
        report = engine.run(trigger="test")  # an ordinary run, not --full
        assert report.failure is None and report.counts()["tombstoned"] == 1
        links = store.links_by_sell(refs)
        assert links[refs[2]].state is LinkState.TOMBSTONED
        assert all(links[r].state is LinkState.ACTIVE for r in refs if r != refs[2])
        reads = [c.query for c in sb.sell.calls_matching("GET", "/v2/leads") if "ids" in c.query]
        started = sb.sell.calls_matching("POST", "/v2/sync/start")
        if sync_api:
            assert len(started) == 1 and len(sb.sell.calls_matching("POST", "/v2/sync/ack")) == 1
            assert [q["ids"] for q in reads] == [str(leads[2])]  # the event's id read back only
        else:
            assert started == []  # the first run's 403 is remembered
            assert any(str(leads[2]) in str(q["ids"]).split(",") for q in reads)  # link check
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

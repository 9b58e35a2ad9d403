"""L3 with Sell's Sync API: where the account has it, a run takes deletions from the queue's
``deleted`` events (tombstones through the planner, as the link check makes them) and acks each
page only once applied; where it answers 403/404, the run falls back to the rotating link check
with no error and no warning."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient
from sync.clients.sell_lifecycle import SYNC_API_RECHECK_SECONDS
from sync.domain import LinkState, SellRef
from sync.errors import AuthError
from tests.conftest import World


def _linked(world: World, n: int) -> list[int]:
    rids = []
    for i in range(n):
        email = f"p{i}@x.com"
        rids.append(world.sell.add("lead", email=email, last_name=f"P{i}"))
        world.member(email=email, lastname=f"P{i}")
    world.sync()
    assert world.store.count_links().get("active") == n
    return rids


def _states(world: World, rids: Sequence[int]) -> dict[int, LinkState]:
    links = world.store.links_by_sell(SellRef("lead", rid) for rid in rids)
    return {ref.id: link.state for ref, link in links.items()}


def test_l3_a_deletion_reported_by_the_sync_api_is_a_tombstone_without_the_link_check(
    world: World,
) -> None:
    rids = _linked(world, 250)  # the link check's share would be 100: three runs
    world.sell.sync_api = True
    world.sell.sync_queue.clear()  # the queue as a device starting now sees it
    doomed = [rids[0], rids[120], rids[249]]
    for rid in doomed:
        world.sell.delete("lead", rid)
    world.sell.calls.clear()
    report = world.sync()  # one ordinary run
    assert report.counts()["tombstoned"] == 3
    states = _states(world, rids)
    assert {rid for rid, s in states.items() if s is LinkState.TOMBSTONED} == set(doomed)
    assert world.sell.calls["leads_by_ids"] == 1  # one read back of the reported ids, no share
    assert world.sell.sync_queue == {}  # acked
    world.sell.calls.clear()
    world.sync()
    assert world.sell.calls["leads_by_ids"] == 0  # 204: nothing new, no link check either


def test_l3_the_page_is_acked_only_after_its_tombstones_are_stored(world: World) -> None:
    rids = _linked(world, 3)
    world.sell.sync_api = True
    world.sell.sync_queue.clear()
    world.sell.delete("lead", rids[1])
    seen: list[dict[int, LinkState]] = []
    world.sell.before_ack = lambda keys: seen.append(_states(world, rids))
    world.sync()
    assert seen == [{rids[0]: LinkState.ACTIVE, rids[1]: LinkState.TOMBSTONED,
                     rids[2]: LinkState.ACTIVE}]  # fmt: skip


def test_l3_a_dry_run_leaves_the_queue_alone_and_the_next_run_gets_the_deletion(
    world: World,
) -> None:
    rids = _linked(world, 2)
    world.sell.sync_api = True
    world.sell.sync_queue.clear()
    world.sell.delete("lead", rids[0])
    world.sync(dry_run=True)
    assert world.sell.calls["sync_start"] == 0 and world.sell.calls["sync_ack"] == 0
    assert _states(world, rids)[rids[0]] is LinkState.ACTIVE
    assert world.sync().counts()["tombstoned"] == 1


def test_l3_other_types_unknown_ids_and_stale_hints_are_acked_and_change_nothing(
    world: World,
) -> None:
    rids = _linked(world, 2)
    world.sell.sync_api = True
    world.sell.sync_queue.clear()
    world.sell.sync_event("deal", rids[0], "deleted")  # a deal with a linked lead's number
    world.sell.sync_event("lead", 999_999, "deleted")  # never known here
    world.sell.sync_event("lead", rids[1], "deleted")  # a hint the record contradicts
    world.sell.edit("lead", rids[0], title="CEO")  # an update: the change feed's business
    world.sell.sync_page_size = 2
    report = world.sync()
    assert report.counts()["tombstoned"] == 0
    assert set(_states(world, rids).values()) == {LinkState.ACTIVE}
    assert world.sell.sync_queue == {}
    assert world.sell.calls["sync_ack"] == 2  # one ack per page


def test_l3_without_the_sync_api_the_run_falls_back_to_the_link_check_quietly(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    rids = _linked(world, 5)
    world.sell.delete("lead", rids[3])
    caplog.set_level(logging.INFO)
    for _ in range(3):
        assert world.sync().failure is None
    assert _states(world, rids)[rids[3]] is LinkState.TOMBSTONED  # by the link check
    assert world.sell.calls["sync_start"] == 0 and world.sell.calls["sync_ack"] == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------- the client


def _client(handler: Any, now: list[float]) -> SellClient:
    return SellClient(
        "https://sell.test",
        "tok",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        per_s=None,
        retry=RetryPolicy(max_attempts=1),
        clock=lambda: now[0],
        sleep=lambda _s: None,
    )


@pytest.mark.parametrize("status", [403, 404])
def test_l3_the_client_reads_403_and_404_as_no_sync_api_and_asks_again_a_day_later(
    status: int,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"errors": [], "meta": {"type": "errors"}})

    now = [0.0]
    with _client(handler, now) as sell:
        assert sell.sync_start().available is False
        now[0] = SYNC_API_RECHECK_SECONDS - 1
        assert sell.sync_start().available is False
        assert len(seen) == 1  # remembered
        now[0] = SYNC_API_RECHECK_SECONDS + 1
        assert sell.sync_start().available is False
        assert len(seen) == 2
    assert {r.headers["X-Basecrm-Device-UUID"] for r in seen} == {sell.device_uuid}


def test_l3_a_refused_token_is_still_an_error_not_a_missing_sync_api() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"errors": [], "meta": {"type": "errors"}})

    with _client(handler, [0.0]) as sell, pytest.raises(AuthError):
        sell.sync_start()


def test_l3_the_device_uuid_is_stable_per_account_and_token() -> None:
    a = SellClient("https://sell.test", "tok", per_s=None)
    b = SellClient("https://sell.test/", "tok", per_s=None)
    c = SellClient("https://sell.test", "other", per_s=None)
    try:
        assert a.device_uuid == b.device_uuid != c.device_uuid
        assert "tok" not in a.device_uuid
    finally:
        for client in (a, b, c):
            client.close()

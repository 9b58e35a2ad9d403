"""Each feed's typed cursor: what it observes, and the mark it gives to store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.domain import FeedMark, SellRecord
from sync.feeds.marks import HubSpotChangeMark, MembersEvaluatedKey, SellChangeMark
from tests.conftest import World

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def rec(rid: int, at: datetime) -> SellRecord:
    return SellRecord("lead", rid, {}, at)


def test_the_sell_mark_is_the_newest_updated_at_and_its_id() -> None:
    cursor = SellChangeMark.from_mark(None)
    cursor.observe([rec(5, T0 + timedelta(minutes=2)), rec(9, T0 + timedelta(minutes=2))])
    cursor.observe([rec(12, T0)])  # older page: newest first
    assert cursor.close_slice() == FeedMark(updated_at=T0 + timedelta(minutes=2), last_id="9")


def test_the_sell_mark_stays_when_nothing_newer_was_read() -> None:
    cursor = SellChangeMark.from_mark(FeedMark(updated_at=T0, last_id="3"))
    assert cursor.since == T0 and cursor.since_id == "3"
    cursor.observe([rec(3, T0), rec(2, T0 - timedelta(minutes=1))])  # the feed's overlap
    assert cursor.close_slice() is None


def test_the_hubspot_position_only_moves_forward() -> None:
    cursor = HubSpotChangeMark.from_mark(FeedMark(position_ms=10_000))
    assert cursor.since_ms(overlap_ms=3_000) == 7_000
    assert cursor.since_ms(overlap_ms=60_000) == 0
    cursor.observe(12_000)
    cursor.observe(11_000)
    assert cursor.close_slice() == FeedMark(position_ms=12_000)


def test_a_first_run_starts_watching_hubspot_from_now() -> None:
    cursor = HubSpotChangeMark.from_mark(None)
    assert cursor.position_ms is None
    assert cursor.start(5_000) == FeedMark(position_ms=5_000)


def test_evaluated_members_belong_to_one_list_and_settings_version() -> None:
    key = MembersEvaluatedKey("7", 3)
    assert key.matches(key.close_slice())
    assert not key.matches(MembersEvaluatedKey("7", 4).close_slice())
    assert not key.matches(MembersEvaluatedKey("8", 3).close_slice())
    assert not key.matches(None)


def test_a_run_stores_the_documented_updated_at_and_id_mark_for_sell(world: World) -> None:
    world.sell.add("lead", email="a@x.com", last_name="A")
    world.clock.tick(5)
    newest = world.sell.add("lead", email="b@x.com", last_name="B")
    world.sync()
    mark = world.store.get_mark("sell:lead")
    assert mark is not None
    assert mark.last_id == str(newest)
    assert mark.updated_at == world.sell.records[("lead", newest)].updated_at

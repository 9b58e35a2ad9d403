"""E2: list joins come from HubSpot's join order, one call a poll when no one joined; the whole
membership is read (swept) at most daily, or when the join order cannot be followed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sync.domain import FeedMark
from sync.feeds.base import read_through
from sync.feeds.join_order import JoinOrderFeed, ReadAhead, sweep_due
from sync.feeds.marks import JOIN_ORDER, JoinOrderMark
from tests.fakes import FakeHubSpot

LIST_ID = "7"
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _hubspot(members: int) -> tuple[FakeHubSpot, list[str]]:
    hs = FakeHubSpot()
    hs.make_list(LIST_ID)
    ids = [hs.add_contact(email=f"m{i}@example.com") for i in range(members)]
    hs.join(LIST_ID, *ids)
    return hs, ids


def _feed(
    hs: FakeHubSpot, stored: FeedMark | None, *, sweep: bool = False, **kwargs: Any
) -> tuple[JoinOrderFeed, dict[str, FeedMark]]:
    """A feed of the list's joins from the ``stored`` mark, and the marks it saves."""
    saved: dict[str, FeedMark] = {}
    feed = JoinOrderFeed(
        hs,
        JoinOrderMark.from_mark(LIST_ID, stored),
        sweep=sweep,
        now=lambda: NOW,
        save=saved.__setitem__,
        **kwargs,
    )
    return feed, saved


def _read(
    hs: FakeHubSpot, stored: FeedMark | None, *, sweep: bool = False
) -> tuple[list[str], FeedMark | None, JoinOrderFeed]:
    feed, saved = _feed(hs, stored, sweep=sweep)
    seen: list[str] = []
    read_through(feed, seen.extend, lambda stage: None)
    return seen, saved.get(JOIN_ORDER, stored), feed


def _read_once_then_join(members: int, email: str) -> tuple[FakeHubSpot, FeedMark | None, str]:
    """A list of ``members`` read through once, then one more contact joined: the HubSpot, the
    mark of that read, and the new member."""
    hs, _ = _hubspot(members)
    _, mark, _ = _read(hs, None)
    new = hs.add_contact(email=email)
    hs.join(LIST_ID, new)
    return hs, mark, new


def test_e2_join_order_one_call_when_idle() -> None:
    hs, ids = _hubspot(600)
    seen, mark, feed = _read(hs, None)
    assert feed.swept and sorted(seen) == sorted(ids)
    assert hs.calls["join_order"] == 3  # 600 members: 3 pages of 250
    hs.calls.clear()
    seen, after, feed = _read(hs, mark)
    assert seen == [] and not feed.swept
    assert hs.calls["join_order"] == 1
    assert after == mark


def test_e2_join_order_yields_only_the_members_who_joined_since_the_mark() -> None:
    hs, _ = _hubspot(260)
    _, mark, _ = _read(hs, None)
    new = [hs.add_contact(email=f"new{i}@example.com") for i in range(3)]
    hs.join(LIST_ID, *new)
    hs.calls.clear()
    seen, mark, feed = _read(hs, mark)
    assert seen == new and not feed.swept
    assert hs.calls["join_order"] == 1
    hs.calls.clear()
    assert _read(hs, mark)[0] == []  # the mark moved past them
    assert hs.calls["join_order"] == 1


def test_e2_join_order_mark_moves_only_once_the_page_is_applied() -> None:
    hs, mark, late = _read_once_then_join(10, "late@example.com")
    feed, saved = _feed(hs, mark)
    page = feed.read()
    assert page is not None and list(page.items) == [late]
    assert saved == {}  # read, not applied: a run killed here reads the join again
    assert _read(hs, mark)[0] == [late]
    feed.close(page)
    assert _read(hs, saved[JOIN_ORDER])[0] == []


def test_e2_join_order_reads_the_list_whole_when_the_last_member_read_left() -> None:
    hs, ids = _hubspot(5)
    _, mark, _ = _read(hs, None)
    hs.leave(LIST_ID, ids[-1])
    joined = hs.add_contact(email="j@example.com")
    hs.join(LIST_ID, joined)
    seen, mark, feed = _read(hs, mark)
    assert feed.swept  # the mark's member is gone: no join may be skipped
    assert sorted(seen) == sorted([*ids[:-1], joined])
    assert _read(hs, mark)[0] == []


def test_e2_join_order_reads_the_list_whole_when_earlier_members_left_a_page() -> None:
    hs, ids = _hubspot(520)
    _, mark, _ = _read(hs, None)
    hs.leave(LIST_ID, *ids[:30])  # the last member read moves to the page before
    joined = hs.add_contact(email="j@example.com")
    hs.join(LIST_ID, joined)
    seen, _, feed = _read(hs, mark)
    assert feed.swept and joined in seen and len(seen) == 491


def test_e2_join_order_another_list_starts_with_a_sweep() -> None:
    hs, _ = _hubspot(3)
    _, mark, _ = _read(hs, None)
    assert mark is not None
    assert JoinOrderMark.from_mark("other", mark).swept_at is None
    assert JoinOrderMark.from_mark(LIST_ID, mark).swept_at == NOW


def test_e2_sweep_runs_once_a_day() -> None:
    mark = JoinOrderMark(LIST_ID)
    assert sweep_due(mark, NOW)
    mark.restart(NOW)
    assert not sweep_due(mark, NOW + timedelta(hours=23, minutes=59))
    assert sweep_due(mark, NOW + timedelta(days=1))


def test_e2_read_ahead_closes_each_page_only_when_applied() -> None:
    hs, ids = _hubspot(300)
    feed, saved = _feed(hs, None, sweep=True)
    ahead = ReadAhead(feed)
    assert sorted(ahead.items) == sorted(ids) and saved == {}
    read_through(ahead, lambda items: None, lambda stage: None)
    assert _read(hs, saved[JOIN_ORDER])[0] == []


def test_e2_a_poll_never_reads_the_list_whole() -> None:
    hs, ids = _hubspot(600)
    feed = JoinOrderFeed(hs, JoinOrderMark(LIST_ID), sweep=False, now=lambda: NOW, follow_only=True)
    assert feed.read() is None and hs.calls["join_order"] == 0  # never swept: left to a reconcile
    _, mark, _ = _read(hs, None)
    hs.leave(LIST_ID, ids[-1])  # the mark's member left: only a sweep can follow
    hs.calls.clear()
    feed = JoinOrderFeed(
        hs, JoinOrderMark.from_mark(LIST_ID, mark), sweep=False, now=lambda: NOW, follow_only=True
    )
    assert feed.read() is None and not feed.swept
    assert hs.calls["join_order"] == 1


def test_e2_joined_is_told_each_page_before_the_mark_moves() -> None:
    hs, mark, new = _read_once_then_join(3, "n@example.com")
    told: list[list[str]] = []

    def joined(ids: object) -> None:
        assert saved == {}
        told.append(list(ids))  # type: ignore[call-overload]

    feed, saved = _feed(hs, mark, joined=joined)
    read_through(feed, lambda items: None, lambda stage: None)
    assert told == [[new]] and JOIN_ORDER in saved

"""An idle run after a burst of HubSpot changes re-reads the overlap only until a walk read and
applied whole has read it an overlap after the newest change; a walk stopped half way settles
nothing."""

from __future__ import annotations

from sync.domain import FeedMark
from sync.feeds.base import read_through
from sync.feeds.hubspot import HubSpotChangeFeed
from sync.feeds.marks import HUBSPOT_CHANGES, HubSpotChangeMark
from tests.fakes import FakeHubSpot

OVERLAP = 300_000  # five minutes, the default


def _burst(n: int) -> tuple[FakeHubSpot, int]:
    hs = FakeHubSpot()
    for i in range(n):
        hs.add_contact(email=f"c{i}@example.com")  # one a second: all within the overlap
    return hs, max(c.updated_ms for c in hs.contacts.values())


def _walk(hs: FakeHubSpot, stored: FeedMark, now_ms: int) -> tuple[int, int, FeedMark]:
    """One walk read and applied whole; → (search calls, contacts read, the stored mark)."""
    saved = {HUBSPOT_CHANGES: stored}
    feed = HubSpotChangeFeed(
        hs,
        HubSpotChangeMark.from_mark(stored),
        overlap_ms=OVERLAP,
        now_ms=lambda: now_ms,
        save=saved.__setitem__,
    )
    before = hs.calls["search"]
    seen: list[object] = []
    read_through(feed, seen.extend, lambda stage: None)
    return hs.calls["search"] - before, len(seen), saved[HUBSPOT_CHANGES]


def test_idle_search_rereads_the_overlap_only_until_a_walk_settled_it() -> None:
    hs, newest = _burst(250)
    mark = FeedMark(position_ms=newest)
    calls, read, mark = _walk(hs, mark, newest + 10_000)  # too soon: not settled
    assert (calls, read) == (2, 250)
    calls, read, mark = _walk(hs, mark, newest + OVERLAP)
    assert (calls, read) == (2, 250)  # read an overlap after the newest change: settles it
    calls, read, after = _walk(hs, mark, newest + OVERLAP + 60_000)
    assert (calls, read) == (1, 0)
    assert after == mark  # nothing to store
    changed = hs.add_contact(email="late@example.com")
    calls, read, mark = _walk(hs, mark, newest + OVERLAP + 120_000)
    assert (calls, read) == (1, 1) and mark.position_ms == hs.contacts[changed].updated_ms


def test_a_walk_stopped_half_way_settles_nothing() -> None:
    hs, newest = _burst(250)
    saved: dict[str, FeedMark] = {}
    feed = HubSpotChangeFeed(
        hs,
        HubSpotChangeMark.from_mark(FeedMark(position_ms=newest)),
        overlap_ms=OVERLAP,
        now_ms=lambda: newest + OVERLAP,
        save=saved.__setitem__,
    )
    page = feed.read()
    assert page is not None
    feed.close(page)  # killed after the first page
    stopped = HubSpotChangeMark.from_mark(saved[HUBSPOT_CHANGES])
    assert stopped.read_at_ms is None and not stopped.settled(OVERLAP)

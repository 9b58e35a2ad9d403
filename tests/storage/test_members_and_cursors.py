"""List members already evaluated, and the sync cursors."""

from __future__ import annotations

from datetime import timedelta

from storage.repositories import SqlStore
from sync.domain import FeedMark

from .conftest import T0


def test_members_are_kept_per_list(store: SqlStore) -> None:
    assert store.known_members("L1") == set()
    store.add_members("L1", ["1", "2", "2", "3"])
    store.add_members("L1", ["3", "4"])  # already known: no error
    store.add_members("L2", ["1"])
    store.add_members("L1", [])
    assert store.known_members("L1") == {"1", "2", "3", "4"}
    assert store.known_members("L2") == {"1"}
    store.remove_members("L1", ["2", "4", "404"])
    store.remove_members("L1", [])
    assert store.known_members("L1") == {"1", "3"}
    assert store.known_members("L2") == {"1"}


def test_many_members_are_added_and_removed_in_chunks(store: SqlStore) -> None:
    ids = [str(i) for i in range(5000)]
    store.add_members("L", ids)
    assert len(store.known_members("L")) == 5000
    store.remove_members("L", ids[:4000])
    assert store.known_members("L") == set(ids[4000:])


def test_cursor_is_absent_then_stored_then_replaced(store: SqlStore) -> None:
    assert store.get_mark("sell:lead") is None
    store.set_mark("sell:lead", FeedMark(updated_at=T0, last_id="42"))
    assert store.get_mark("sell:lead") == FeedMark(updated_at=T0, last_id="42", position_ms=None)
    later = FeedMark(updated_at=T0 + timedelta(hours=1), last_id="43", position_ms=None)
    store.set_mark("sell:lead", later)
    assert store.get_mark("sell:lead") == later
    store.set_mark("hubspot", FeedMark(position_ms=1_740_992_400_123, last_id="9007199254740993"))
    assert store.get_mark("hubspot") == FeedMark(
        updated_at=None, last_id="9007199254740993", position_ms=1_740_992_400_123
    )
    store.set_mark("sell:lead", FeedMark())
    assert store.get_mark("sell:lead") == FeedMark()

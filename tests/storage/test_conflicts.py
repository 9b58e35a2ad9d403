"""Merge conflicts (S8, S9): one open conflict per record and field; idempotent resolution."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

import pytest

from storage.repositories import SqlStore
from sync.domain import Conflict, ConflictStatus, SellRef
from sync.errors import RecordNotFound

from .conftest import T0

R = TypeVar("R")

LEAD = SellRef("lead", 1)


def conflict(
    field: str = "phone", sell: str | None = "111", hubspot: str | None = "222", ref: SellRef = LEAD
) -> Conflict:
    return Conflict(sell=ref, hubspot_id="900", field=field, sell_value=sell, hubspot_value=hubspot)


def run_together(count: int, work: Callable[[int], R]) -> list[R]:
    """``work(i)`` for i in range(count), in threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list[R | None] = [None] * count
    errors: list[BaseException] = []

    def target(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def test_open_conflict_creates_one_and_refreshes_it_after(store: SqlStore) -> None:
    first, new = store.open_conflict(
        Conflict(
            sell=LEAD,
            hubspot_id="900",
            field="phone",
            sell_value="111",
            hubspot_value="222",
            opened_at=T0,
        )
    )
    assert new is True
    assert first.id is not None
    assert (first.status, first.opened_at, first.sell_value, first.hubspot_value) == (
        ConflictStatus.OPEN,
        T0,
        "111",
        "222",
    )
    refreshed, new = store.open_conflict(conflict(hubspot="333"))
    assert new is False
    assert refreshed.id == first.id
    assert refreshed.hubspot_value == "333"
    assert refreshed.opened_at == T0  # still the time it was first opened
    assert store.count_conflicts() == 1
    assert store.get_conflict(first.id) == refreshed


def test_other_fields_and_records_get_their_own_conflicts(store: SqlStore) -> None:
    store.open_conflict(conflict("phone"))
    store.open_conflict(conflict("title"))
    store.open_conflict(conflict("phone", ref=SellRef("contact", 1)))
    assert store.count_conflicts() == 3
    assert [c.field for c in store.conflicts_for(LEAD)] == ["phone", "title"]


def test_a_resolved_conflict_does_not_block_a_new_one(store: SqlStore) -> None:
    old, _ = store.open_conflict(conflict())
    assert old.id is not None
    store.resolve_conflict(old.id, status=ConflictStatus.KEPT_SELL, by="U1", at=T0)
    new, created = store.open_conflict(conflict(hubspot="444"))
    assert created is True
    assert new.id != old.id
    assert [c.status for c in store.conflicts_for(LEAD)] == [
        ConflictStatus.KEPT_SELL,
        ConflictStatus.OPEN,
    ]


def test_racing_writers_open_exactly_one_conflict(store: SqlStore) -> None:
    results = run_together(6, lambda i: store.open_conflict(conflict(hubspot=f"v{i}")))
    assert sorted(new for _, new in results) == [False] * 5 + [True]
    assert len({c.id for c, _ in results}) == 1
    assert store.count_conflicts() == 1
    assert len(store.conflicts_for(LEAD)) == 1


def test_resolve_conflict_is_idempotent(store: SqlStore) -> None:
    opened, _ = store.open_conflict(conflict())
    assert opened.id is not None
    resolved, changed = store.resolve_conflict(
        opened.id, status=ConflictStatus.USED_HUBSPOT, by="U1", at=T0
    )
    assert changed is True
    assert (resolved.status, resolved.resolved_by, resolved.resolved_at) == (
        ConflictStatus.USED_HUBSPOT,
        "U1",
        T0,
    )
    again, changed = store.resolve_conflict(
        opened.id, status=ConflictStatus.DISMISSED, by="U2", at=T0 + timedelta(minutes=1)
    )
    assert changed is False
    assert again == resolved
    assert store.count_conflicts() == 0
    assert store.count_conflicts(ConflictStatus.USED_HUBSPOT) == 1


def test_double_click_from_two_threads_resolves_once(store: SqlStore) -> None:
    opened, _ = store.open_conflict(conflict())
    assert opened.id is not None
    conflict_id = opened.id
    statuses = [ConflictStatus.KEPT_SELL, ConflictStatus.DISMISSED] * 2
    results = run_together(
        4,
        lambda i: store.resolve_conflict(conflict_id, status=statuses[i], by=f"U{i}", at=T0),
    )
    assert sorted(changed for _, changed in results) == [False, False, False, True]
    winner = next(c for c, changed in results if changed)
    assert all(c == winner for c, _ in results)
    assert store.get_conflict(conflict_id) == winner


def test_resolve_conflict_refuses_unknown_ids_and_the_open_status(store: SqlStore) -> None:
    with pytest.raises(RecordNotFound):
        store.resolve_conflict(404, status=ConflictStatus.DISMISSED, by="U1", at=T0)
    opened, _ = store.open_conflict(conflict())
    assert opened.id is not None
    with pytest.raises(ValueError):
        store.resolve_conflict(opened.id, status=ConflictStatus.OPEN, by="U1", at=T0)
    assert store.get_conflict(404) is None


def test_list_conflicts_filters_by_status_and_pages_oldest_first(store: SqlStore) -> None:
    ids = []
    for i in range(5):
        opened, _ = store.open_conflict(
            Conflict(
                sell=SellRef("lead", i),
                hubspot_id=str(i),
                field="phone",
                sell_value="a",
                hubspot_value="b",
                opened_at=T0 + timedelta(minutes=10 - i),  # the newest record opened first
            )
        )
        assert opened.id is not None
        ids.append(opened.id)
    store.resolve_conflict(ids[0], status=ConflictStatus.DISMISSED, by="U1", at=T0)
    open_ones = store.list_conflicts()
    assert [c.sell.id for c in open_ones] == [4, 3, 2, 1]
    assert [c.sell.id for c in store.list_conflicts(offset=1, limit=2)] == [3, 2]
    assert [c.sell.id for c in store.list_conflicts(status=ConflictStatus.DISMISSED)] == [0]
    assert len(store.list_conflicts(status=None)) == 5
    assert store.count_conflicts(ConflictStatus.KEPT_SELL) == 0
    assert store.conflicts_for(SellRef("contact", 1)) == []


def test_empty_values_are_kept_as_none(store: SqlStore) -> None:
    opened, _ = store.open_conflict(conflict(sell=None, hubspot=""))
    assert (opened.sell_value, opened.hubspot_value) == (None, "")


def test_reopen_conflict_undoes_only_that_decision(store: SqlStore) -> None:
    opened, _ = store.open_conflict(conflict())
    assert opened.id is not None
    store.resolve_conflict(opened.id, status=ConflictStatus.KEPT_SELL, by="U1", at=T0)
    # not that decision: another user's, or another status
    assert store.reopen_conflict(opened.id, status=ConflictStatus.KEPT_SELL, by="U2") is False
    assert store.reopen_conflict(opened.id, status=ConflictStatus.DISMISSED, by="U1") is False
    assert store.count_conflicts() == 0
    assert store.reopen_conflict(opened.id, status=ConflictStatus.KEPT_SELL, by="U1") is True
    again = store.get_conflict(opened.id)
    assert again is not None
    assert (again.status, again.resolved_by, again.resolved_at) == (ConflictStatus.OPEN, None, None)
    assert (again.sell_value, again.hubspot_value) == ("111", "222")
    assert store.reopen_conflict(opened.id, status=ConflictStatus.KEPT_SELL, by="U1") is False


def test_a_conflict_replaced_meanwhile_is_not_reopened_but_dismissed(store: SqlStore) -> None:
    old, _ = store.open_conflict(conflict())
    assert old.id is not None
    store.resolve_conflict(old.id, status=ConflictStatus.USED_HUBSPOT, by="U1", at=T0)
    newer, created = store.open_conflict(conflict(sell="333", hubspot="444"))  # a sync saw it
    assert created and newer.id != old.id
    assert store.reopen_conflict(old.id, status=ConflictStatus.USED_HUBSPOT, by="U1") is False
    replaced = store.get_conflict(old.id)
    assert replaced is not None and replaced.status is ConflictStatus.DISMISSED
    assert [c.id for c in store.list_conflicts()] == [newer.id]


def test_a_resolution_naming_the_values_it_saw_fails_once_a_sync_refreshed_them(
    store: SqlStore,
) -> None:
    opened, _ = store.open_conflict(conflict(sell="111", hubspot=None))
    assert opened.id is not None
    store.open_conflict(conflict(sell="111", hubspot="333"))  # a sync refreshes it
    stale, changed = store.resolve_conflict(
        opened.id, status=ConflictStatus.USED_HUBSPOT, by="U1", at=T0, values=("111", None)
    )
    assert not changed and stale.status is ConflictStatus.OPEN
    done, changed = store.resolve_conflict(
        opened.id, status=ConflictStatus.USED_HUBSPOT, by="U1", at=T0, values=("111", "333")
    )
    assert changed and done.status is ConflictStatus.USED_HUBSPOT


def test_refresh_conflict_sets_the_values_of_an_open_conflict_only(store: SqlStore) -> None:
    opened, _ = store.open_conflict(conflict())
    assert opened.id is not None
    fresh = store.refresh_conflict(opened.id, sell_value="111", hubspot_value="444")
    assert (
        fresh is not None and fresh.hubspot_value == "444" and fresh.status is ConflictStatus.OPEN
    )
    store.resolve_conflict(opened.id, status=ConflictStatus.DISMISSED, by="U1", at=T0)
    assert store.refresh_conflict(opened.id, sell_value="1", hubspot_value="2") is None
    closed = store.get_conflict(opened.id)
    assert closed is not None and closed.hubspot_value == "444"

"""The bulk guard's holds on both databases: one pending at a time (a newer one supersedes
it), decisions are compare-and-set, items and sample round-trip."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.repositories import SqlStore
from sync.errors import RecordNotFound

from .conftest import T0


def _hold(store: SqlStore, n: int = 3, *, minutes: int = 0):  # type: ignore[no-untyped-def]
    return store.create_hold(
        scope="list 7, threshold 50, limit 100",
        items={"create_in_sell": [str(i) for i in range(n)], "tombstone": ["lead:9"]},
        sample=["new Sell lead from HubSpot 0 (a@x.com)"],
        bulk_limit=100,
        links_total=200,
        run_id=None,
        at=T0 + timedelta(minutes=minutes),
    )


def test_a_hold_round_trips_and_a_newer_one_supersedes_it(store: SqlStore) -> None:
    first, superseded = _hold(store)
    assert superseded == [] and first.status == "pending"
    again = store.get_hold(first.id)
    assert again == first
    assert list(again.items["create_in_sell"]) == ["0", "1", "2"]
    assert list(again.sample) == ["new Sell lead from HubSpot 0 (a@x.com)"]
    second, superseded = _hold(store, 5, minutes=1)
    assert [h.id for h in superseded] == [first.id]
    assert store.get_hold(first.id).status == "superseded"
    assert [h.id for h in store.holds(["pending"])] == [second.id]


def test_deciding_is_compare_and_set(store: SqlStore) -> None:
    hold, _ = _hold(store)
    decided, changed = store.decide_hold(hold.id, status="approved", by="U1", at=T0)
    assert changed and decided.status == "approved" and decided.decided_by == "U1"
    again, changed = store.decide_hold(hold.id, status="rejected", by="U2", at=T0)
    assert not changed and again.status == "approved" and again.decided_by == "U1"
    done, changed = store.decide_hold(hold.id, status="applied", by=None, at=T0, was="approved")
    assert changed and done.status == "applied" and done.decided_by == "U1"  # who approved it
    with pytest.raises(RecordNotFound):
        store.decide_hold(999, status="approved", by="U1", at=T0)


def test_the_message_of_a_hold_is_remembered(store: SqlStore) -> None:
    hold, _ = _hold(store)
    store.set_hold_message(hold.id, channel="C1", ts="1.2")
    stored = store.get_hold(hold.id)
    assert (stored.channel, stored.message_ts) == ("C1", "1.2")
    with pytest.raises(RecordNotFound):
        store.set_hold_message(999, channel="C1", ts="1.2")

"""Settings change requests (SPEC §3 Approvals): supersede, idempotent decisions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage.repositories import SqlStore
from sync.errors import RecordNotFound
from sync.ports import ChangeRequest

from .conftest import T0
from .test_conflicts import run_together


def request(store: SqlStore, new_value: str = "50", setting: str = "threshold", minutes: int = 0):  # type: ignore[no-untyped-def]
    return store.create_request(
        setting=setting,
        new_value=new_value,
        old_value="40",
        requested_by="U1",
        reason="fewer junk leads",
        at=T0 + timedelta(minutes=minutes),
    )


def test_create_request_stores_a_pending_request(store: SqlStore) -> None:
    created, superseded = request(store)
    assert superseded == []
    assert created == ChangeRequest(
        id=created.id,
        setting="threshold",
        new_value="50",
        old_value="40",
        requested_by="U1",
        reason="fewer junk leads",
        status="pending",
        created_at=T0,
    )
    assert store.get_request(created.id) == created
    assert store.pending_requests() == [created]
    assert store.get_request(404) is None


def test_a_newer_request_supersedes_older_pending_ones_of_that_setting(store: SqlStore) -> None:
    first, _ = request(store, "50")
    other_setting, _ = request(store, "L2", setting="list_id")
    second, superseded = request(store, "60", minutes=1)
    assert [r.id for r in superseded] == [first.id]
    assert superseded[0].status == "superseded"
    assert superseded[0].decided_at == T0 + timedelta(minutes=1)
    assert store.get_request(first.id) == superseded[0]
    assert [r.id for r in store.pending_requests()] == [other_setting.id, second.id]
    _, superseded = request(store, "70", minutes=2)
    assert [r.id for r in superseded] == [second.id]


def test_decided_requests_are_not_superseded(store: SqlStore) -> None:
    first, _ = request(store)
    store.decide_request(first.id, status="rejected", by="M1", at=T0)
    _, superseded = request(store, "60")
    assert superseded == []
    assert store.get_request(first.id).status == "rejected"  # type: ignore[union-attr]


def test_concurrent_requests_leave_one_pending(store: SqlStore) -> None:
    results = run_together(4, lambda i: request(store, str(i)))
    assert len(store.pending_requests()) == 1
    superseded_ids = sorted(r.id for _, older in results for r in older)
    assert len(superseded_ids) == 3
    assert len(set(superseded_ids)) == 3


def test_decide_request_is_idempotent(store: SqlStore) -> None:
    created, _ = request(store)
    approved, changed = store.decide_request(created.id, status="approved", by="M1", at=T0)
    assert changed is True
    assert (approved.status, approved.decided_by, approved.decided_at) == ("approved", "M1", T0)
    again, changed = store.decide_request(
        created.id, status="rejected", by="M2", at=T0 + timedelta(seconds=1)
    )
    assert changed is False
    assert again == approved
    assert store.pending_requests() == []


def test_double_click_from_two_threads_decides_once(store: SqlStore) -> None:
    created, _ = request(store)
    choices = ["approved", "rejected", "approved", "rejected"]
    results = run_together(
        4, lambda i: store.decide_request(created.id, status=choices[i], by=f"M{i}", at=T0)
    )
    assert sorted(changed for _, changed in results) == [False, False, False, True]
    winner = next(r for r, changed in results if changed)
    assert all(r == winner for r, _ in results)


def test_expiring_a_pending_request(store: SqlStore) -> None:
    created, _ = request(store)
    expired, changed = store.decide_request(
        created.id, status="expired", by="sellsync", at=T0 + timedelta(days=7)
    )
    assert (expired.status, changed) == ("expired", True)


def test_decide_request_refuses_unknown_ids_and_statuses(store: SqlStore) -> None:
    with pytest.raises(RecordNotFound):
        store.decide_request(404, status="approved", by="M1", at=T0)
    created, _ = request(store)
    with pytest.raises(ValueError):
        store.decide_request(created.id, status="pending", by="M1", at=T0)


def test_set_request_message_remembers_the_slack_message(store: SqlStore) -> None:
    created, _ = request(store)
    store.set_request_message(created.id, channel="C123", ts="1712345678.000100")
    stored = store.get_request(created.id)
    assert stored is not None
    assert (stored.channel, stored.message_ts) == ("C123", "1712345678.000100")
    with pytest.raises(RecordNotFound):
        store.set_request_message(404, channel="C123", ts="1")

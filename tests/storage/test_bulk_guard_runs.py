"""The bulk guard's runs on SQLite and PostgreSQL: a run holding 150 creations stores one
request and nothing else; an approval lets the next run create each exactly once; two managers
deciding at once make one decision."""

from __future__ import annotations

import pytest

from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.service import Actor, DecisionOutcome, SyncService
from tests.fakes import FakeHubSpot, FakeSell, TickClock

from .test_decisions import Parties

LIST_ID = "7"
ANN = Actor("UANN", is_manager=True)
BOB = Actor("UBOB", is_manager=True)


@pytest.fixture
def service(store: SqlStore) -> SyncService:
    clock = TickClock()
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list(LIST_ID)
    for i in range(150):
        cid = hubspot.add_contact(email=f"m{i}@example.com", lastname=f"M{i}", hubspotscore=80)
        hubspot.join(LIST_ID, cid)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID, bulk_limit=100)
    return SyncService(Engine(hubspot, FakeSell(clock=clock), store, clock, config))


def test_a_held_run_stores_one_request_and_an_approval_creates_each_once(
    service: SyncService,
) -> None:
    store = service.engine.store
    held = service.run(actor=ANN)
    assert held.failure is None and held.bulk is not None and held.bulk.total == 150
    assert store.count_links()["active"] == 0
    hold = service.bulk_hold()
    assert hold is not None and len(hold.items["create_in_sell"]) == 150
    assert store.known_members(LIST_ID) and all(
        score == "80" for score in store.member_scores(LIST_ID).values()
    )
    assert service.run(actor=ANN).bulk.hold_id == hold.id  # the same request, not a second
    assert service.decide_bulk(hold.id, approve=True, actor=BOB).changed
    done = service.run(actor=ANN)
    assert done.counts()["created_in_sell"] == 150 and store.count_links()["active"] == 150
    assert store.get_hold(hold.id).status == "applied"
    assert service.run(actor=ANN).counts().get("created_in_sell", 0) == 0
    assert store.count_links()["active"] == 150


def test_two_managers_deciding_one_hold_at_once_make_one_decision(
    service: SyncService, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = service.engine.store
    service.run(actor=ANN)
    hold = service.bulk_hold()
    assert hold is not None
    parties = Parties()
    monkeypatch.setattr(store, "decide_hold", parties.wrap(store.decide_hold))
    results = parties.race(
        lambda: service.decide_bulk(hold.id, approve=True, actor=ANN),
        lambda: service.decide_bulk(hold.id, approve=False, actor=BOB),
    )
    outcomes = sorted(r.outcome for r in results)
    assert outcomes == sorted([DecisionOutcome.DECIDED, DecisionOutcome.DECIDED_MEANWHILE])
    final = store.get_hold(hold.id)
    winner = next(r for r in results if r.changed)
    assert final.status == winner.hold.status
    kinds = [
        e.kind for e in store.audit_since(None) if e.kind in ("bulk_approved", "bulk_rejected")
    ]
    assert kinds == [f"bulk_{final.status}"]

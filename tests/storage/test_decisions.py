"""One decision per click (SPEC §7): two managers deciding the same conflict or change request
at the same moment apply exactly one decision, on SQLite and PostgreSQL. Both clicks go through
the service, in two threads that meet at a barrier at the worst moment: after they read the
conflict or request as still open, before either decides."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from bot.blocks.threshold import decision_text
from storage.repositories import SqlStore
from sync.domain import ConflictStatus
from sync.engine import Engine, EngineConfig
from sync.service import Actor, DecisionOutcome, SyncService
from tests.fakes import FakeHubSpot, FakeSell, TickClock

from .test_conflicts import run_together

LIST_ID = "7"
REP = Actor("UREP", is_manager=False)
ANN = Actor("UANN", is_manager=True)
BOB = Actor("UBOB", is_manager=True)


class Parties:
    """Lets the two racing threads through a barrier once each, at the chosen call."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        self.racing: set[int] = set()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def waiting(*args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() in self.racing:
                self.racing.discard(threading.get_ident())
                self.barrier.wait()
            return fn(*args, **kwargs)

        return waiting

    def race(self, *work: Callable[[], Any]) -> list[Any]:
        def run(i: int) -> Any:
            self.racing.add(threading.get_ident())
            return work[i]()

        return run_together(len(work), run)


@pytest.fixture
def service(store: SqlStore) -> SyncService:
    clock = TickClock()
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list(LIST_ID)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID)
    return SyncService(Engine(hubspot, FakeSell(clock=clock), store, clock, config))


def test_two_managers_resolving_one_conflict_at_once_write_one_value(
    service: SyncService, monkeypatch: pytest.MonkeyPatch
) -> None:
    hubspot, sell = service.engine.hubspot, service.engine.sell
    assert isinstance(hubspot, FakeHubSpot) and isinstance(sell, FakeSell)
    lead = sell.add("lead", email="pat@example.com", last_name="Pat", phone="+1 555 0100")
    cid = hubspot.add_contact(
        email="pat@example.com", lastname="Pat", phone="+1 555 0199", hubspotscore=80
    )
    hubspot.join(LIST_ID, cid)
    assert service.run(actor=ANN).failure is None
    (opened,) = service.engine.store.list_conflicts()
    assert opened.id is not None
    conflict_id = opened.id

    parties = Parties()
    monkeypatch.setattr(hubspot, "read_contacts", parties.wrap(hubspot.read_contacts))
    writes_before = hubspot.calls["batch_update"] + sell.calls["lead_update"]
    results = parties.race(
        lambda: service.resolve_conflict(conflict_id, "keep_sell", actor=ANN),
        lambda: service.resolve_conflict(conflict_id, "use_hubspot", actor=BOB),
    )
    assert sorted(changed for _, changed in results) == [False, True]
    assert hubspot.calls["batch_update"] + sell.calls["lead_update"] - writes_before == 1
    decided = service.engine.store.get_conflict(conflict_id)
    assert decided is not None and all(c == decided for c, _ in results)
    value = "+1 555 0100" if decided.status is ConflictStatus.KEPT_SELL else "+1 555 0199"
    assert (sell.value("lead", lead, "phone"), hubspot.value(cid, "phone")) == (value, value)
    kinds = [e.kind for e in service.engine.store.audit_since(None)]
    assert kinds.count("conflict_resolved") == 1


def test_two_managers_deciding_one_request_at_once_apply_one_decision(
    service: SyncService, monkeypatch: pytest.MonkeyPatch
) -> None:
    filed = service.request_change("threshold", "70", actor=REP, reason="more leads")
    request_id = filed.request.id
    parties = Parties()
    store = service.engine.store
    monkeypatch.setattr(store, "decide_request", parties.wrap(store.decide_request))
    results = parties.race(
        lambda: service.decide(request_id, approve=True, actor=ANN),
        lambda: service.decide(request_id, approve=False, actor=BOB),
    )
    assert sorted(d.changed for d in results) == [False, True]
    winner = next(d for d in results if d.changed)
    loser = next(d for d in results if not d.changed)
    assert loser.outcome is DecisionOutcome.DECIDED_MEANWHILE
    assert f"was already {winner.request.status}" in decision_text(loser)
    decided = store.get_request(request_id)
    assert decided is not None and decided.status == winner.request.status
    assert service.settings().threshold == (70 if decided.status == "approved" else 50)
    kinds: Sequence[str] = [e.kind for e in store.audit_since(None)]
    assert kinds.count("change_approved") + kinds.count("change_rejected") == 1

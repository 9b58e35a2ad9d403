"""Shared fixtures: a small world of in-memory CRMs, a real SQLite store and the engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.db import open_store
from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.report import SyncReport
from sync.service import CLI_ACTOR, SyncService
from tests.fakes import FakeHubSpot, FakeSell, TickClock

LIST_ID = "7"


@dataclass
class World:
    hubspot: FakeHubSpot
    sell: FakeSell
    store: SqlStore
    clock: TickClock
    engine: Engine
    service: SyncService

    def sync(self, **kwargs: object) -> SyncReport:
        self.clock.tick(60)
        report = self.engine.run(trigger="test", **kwargs)  # type: ignore[arg-type]
        assert report.failure is None, report.failure
        return report

    def member(self, score: object = 80, **properties: object) -> str:
        """A HubSpot contact in the synced list."""
        cid = self.hubspot.add_contact(hubspotscore=score, **properties)
        self.hubspot.join(LIST_ID, cid)
        return cid

    def link_of_hubspot(self, cid: str):  # type: ignore[no-untyped-def]
        return self.store.links_by_hubspot([cid]).get(cid)

    def with_config(self, **changes: object) -> World:
        from dataclasses import replace

        config = replace(self.engine.config, **changes)  # type: ignore[arg-type]
        engine = Engine(self.hubspot, self.sell, self.store, self.clock, config)
        return World(self.hubspot, self.sell, self.store, self.clock, engine, SyncService(engine))


def writes(world: World) -> int:
    """The creates and updates the world's engine sent to either CRM so far."""
    hub = world.hubspot.calls["batch_update"] + world.hubspot.calls["batch_create"]
    sell = sum(v for k, v in world.sell.calls.items() if k.endswith(("_update", "_create")))
    return hub + sell


def make_world(tmp_path: Path, *, threshold: int = 50, processing_type: str = "MANUAL") -> World:
    clock = TickClock()
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list(LIST_ID, processing_type)
    sell = FakeSell(clock=clock)
    store = open_store(f"sqlite:///{tmp_path}/sellsync.db")
    engine = Engine(
        hubspot,
        sell,
        store,
        clock,
        EngineConfig(default_threshold=threshold, default_list_id=LIST_ID),
    )
    return World(hubspot, sell, store, clock, engine, SyncService(engine))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = make_world(tmp_path)
    yield w
    w.store.close()


@pytest.fixture
def manager():  # type: ignore[no-untyped-def]
    return CLI_ACTOR

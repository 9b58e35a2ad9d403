"""What an idle run costs, counted in the sandbox's own request log: the real clients, a SQLite
store, each run either in a fresh process (new clients on the same database, as ``sellsync
sync`` from cron) or in a long-running one (the same clients, as the worker).

An idle reconcile costs the minimum plus at most one call per API: HubSpot one join-order call
(who joined the synced list) and one search (who changed); Sell one page of each change feed,
one page of lead conversions and the link check's share. Definitions (HubSpot's properties,
Sell's custom fields) and the Sync API's refusal are remembered in the database, so a new
process does not ask for them again; the list is read whole at most daily."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.wiring import SystemClock
from sandbox import Sandbox
from storage.db import open_store
from storage.repositories import SqlStore
from sync.clients.hubspot import API_VERSION, HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.domain import CUSTOM_PREFIX
from sync.engine import Engine, EngineConfig
from sync.errors import RecordRejected
from sync.feeds.links import share_size
from sync.ports import ContactWrite
from sync.report import SyncReport

MEMBERS = 600  # three pages of the list


class Later(SystemClock):
    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


class Process:
    """The clients of one sellsync process, remembering in the store as the wiring does."""

    def __init__(self, sb: Sandbox, store: SqlStore) -> None:
        self.hub = HubSpotClient(
            HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
            HubSpotLimits.unpaced(),
        )
        self.sell = SellClient(sb.sell_url, sb.sell_token, per_s=None, overlap_seconds=0)
        self.hub.remember_in(store)
        self.sell.remember_in(store)

    def close(self) -> None:
        self.hub.close()
        self.sell.close()


class World:
    def __init__(self, sb: Sandbox, url: str) -> None:
        self.sb = sb
        self.store = open_store(url)
        sb.reset("empty")
        for kind in ("lead", "contact"):
            sb.sell.add_custom_field(kind, "HubSpot score", "number")
        self.list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
        ids = [
            sb.hubspot.add_contact(
                {"email": f"m{i}@example.com", "lastname": f"M{i}", "hubspotscore": str(i % 40)}
            )
            for i in range(MEMBERS)
        ]
        # 10 qualify (score 80), the others stay below the threshold
        for cid in ids[:10]:
            sb.hubspot.update_contact(cid, {"hubspotscore": "80"})
        sb.hubspot.add_to_list(self.list_id, ids)

    def run(self, process: Process, clock: SystemClock | None = None) -> dict[str, int]:
        """One run; → the requests each sandbox answered during it."""
        before = (self.sb.hubspot.count(), self.sb.sell.count())
        config = EngineConfig(
            default_threshold=50, default_list_id=self.list_id, hubspot_overlap_ms=0
        )
        engine = Engine(process.hub, process.sell, self.store, clock or SystemClock(), config)
        report: SyncReport = engine.run(trigger="test", yes_bulk=True)
        assert report.failure is None, report.failure
        return {
            "hubspot": self.sb.hubspot.count() - before[0],
            "sell": self.sb.sell.count() - before[1],
        }

    def fresh(self, clock: SystemClock | None = None) -> dict[str, int]:
        process = Process(self.sb, self.store)
        try:
            return self.run(process, clock)
        finally:
            process.close()

    def idle_minimum(self) -> dict[str, int]:
        links = sum(self.store.count_links().values())
        return {"hubspot": 2, "sell": 2 + 1 + math.ceil(share_size(links) / 100)}


@pytest.fixture
def world(sb: Sandbox, tmp_path: Path) -> Iterator[World]:
    w = World(sb, f"sqlite:///{tmp_path}/idle.db")
    try:
        yield w
    finally:
        w.store.close()


def test_idle_run_costs_minimum_plus_one_fresh_process(world: World) -> None:
    first = world.fresh()
    assert first["hubspot"] >= math.ceil(MEMBERS / 250)  # the list read whole, once
    world.fresh()  # reads back the first run's own writes
    best = world.idle_minimum()
    for _ in range(2):
        calls = world.fresh()
        assert calls["hubspot"] <= best["hubspot"] + 1, calls
        assert calls["sell"] <= best["sell"] + 1, calls


def test_idle_run_costs_minimum_plus_one_long_running(world: World) -> None:
    process = Process(world.sb, world.store)
    try:
        world.run(process)
        world.run(process)
        best = world.idle_minimum()
        for _ in range(2):
            calls = world.run(process)
            assert calls["hubspot"] <= best["hubspot"] + 1, calls
            assert calls["sell"] <= best["sell"] + 1, calls
    finally:
        process.close()


def test_remembered_reads_survive_a_new_process(world: World, tmp_path: Path) -> None:
    world.fresh()
    sb = world.sb
    properties = f"/crm/properties/{API_VERSION}/contacts"
    assert sb.hubspot.count("GET", properties) == 1
    assert sb.sell.count("GET", "/v2/lead/custom_fields") == 1
    assert sb.sell.count("POST", "/v2/sync/start") == 1  # the sandbox account has no Sync API
    world.store.close()
    world.store = open_store(f"sqlite:///{tmp_path}/idle.db")  # a new process, same database
    world.fresh()
    world.fresh()
    assert sb.hubspot.count("GET", properties) == 1
    assert sb.sell.count("GET", "/v2/lead/custom_fields") == 1
    assert sb.sell.count("POST", "/v2/sync/start") == 1


def test_e2_list_read_whole_once_a_day_and_joins_found_between(world: World) -> None:
    sb = world.sb
    join_order = f"/crm/lists/{API_VERSION}/{world.list_id}/memberships/join-order"
    world.fresh()
    assert sb.hubspot.count("GET", join_order) == math.ceil(MEMBERS / 250)
    joined = sb.hubspot.add_contact(
        {"email": "joined@example.com", "lastname": "Joined", "hubspotscore": "90"}
    )
    sb.hubspot.add_to_list(world.list_id, [joined])
    before = sb.hubspot.count("GET", join_order)
    world.fresh()
    assert sb.hubspot.count("GET", join_order) - before == 1
    assert [r for r in sb.sell.records("lead") if r.get("email") == "joined@example.com"]
    before = sb.hubspot.count("GET", join_order)
    world.fresh(Later(timedelta(hours=23)))
    assert sb.hubspot.count("GET", join_order) - before == 1
    world.fresh(Later(timedelta(days=1, minutes=1)))  # the daily sweep
    assert sb.hubspot.count("GET", join_order) - before == 1 + math.ceil((MEMBERS + 1) / 250)


@pytest.mark.parametrize("applied", [True, False])
def test_idle_sell_walk_rereads_no_settled_overlap(
    sb: Sandbox, tmp_path: Path, applied: bool
) -> None:
    """After a burst (more records within the overlap than a page holds), an idle walk re-reads
    the overlap only until a walk the run applied has read it an overlap after it; a walk that
    was not applied (a dry run's) settles nothing."""
    import time

    sb.reset("empty")
    for i in range(250):
        sb.sell.add_record("lead", {"last_name": f"B{i}", "email": f"b{i}@example.com"})
    with open_store(f"sqlite:///{tmp_path}/walk.db") as store:
        sell = SellClient(sb.sell_url, sb.sell_token, per_s=None, overlap_seconds=1)
        sell.remember_in(store)
        try:

            def walk(since: datetime | None) -> tuple[int, list[datetime]]:
                before = sell.stats["list"]
                seen = [r.updated_at for page in sell.changed_pages("lead", since) for r in page]
                return sell.stats["list"] - before, seen

            _, seen = walk(None)
            since = max(seen)
            sell.walk_applied("lead")
            time.sleep(2.5)  # past the overlap, by Sell's clock too
            calls, seen = walk(since)
            assert calls >= 3 and len(seen) == 250  # nothing settled the overlap yet
            if applied:
                sell.walk_applied("lead")
            calls, seen = walk(since)
            assert (calls, len(seen)) == ((1, 0) if applied else (3, 250))
        finally:
            sell.close()


def test_definitions_are_read_again_after_a_write_refused_over_a_field(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.reset("empty")
    sb.sell.add_custom_field("lead", "HubSpot score", "number")
    cid = sb.hubspot.add_contact({"email": "d@example.com", "lastname": "D"})
    lead = sb.sell.add_record("lead", {"last_name": "D"})
    properties = f"/crm/properties/{API_VERSION}/contacts"
    with open_store(f"sqlite:///{tmp_path}/defs.db") as store:
        process = Process(sb, store)
        try:
            process.hub.properties()
            process.sell.custom_fields("lead")
            process.hub.properties()
            process.sell.custom_fields("lead")
            assert sb.hubspot.count("GET", properties) == 1
            assert sb.sell.count("GET", "/v2/lead/custom_fields") == 1
            (result,) = process.hub.update_contacts(
                [ContactWrite("k", {"no_such_property": "x"}, id=cid)]
            )
            assert result.error is not None
            process.hub.properties()
            assert sb.hubspot.count("GET", properties) == 2  # read again after the refusal
            with pytest.raises(RecordRejected):
                process.sell.update_record("lead", lead, {f"{CUSTOM_PREFIX}No such field": "x"})
            process.sell.custom_fields("lead")
            assert sb.sell.count("GET", "/v2/lead/custom_fields") == 2
        finally:
            process.close()


def test_lead_sources_are_remembered_and_read_again_for_a_new_one(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.reset("empty")
    web = sb.sell.add_lead_source("Web")
    first = sb.sell.add_record("lead", {"last_name": "A", "source_id": web})
    url = f"sqlite:///{tmp_path}/sources.db"
    with open_store(url) as store:
        process = Process(sb, store)
        try:
            assert process.sell.get_records("lead", [first])[first].values["lead_source"] == "Web"
        finally:
            process.close()
    assert sb.sell.count("GET", "/v2/lead_sources") == 1
    fair = sb.sell.add_lead_source("Fair")
    second = sb.sell.add_record("lead", {"last_name": "B", "source_id": fair})
    with open_store(url) as store:  # a new process
        process = Process(sb, store)
        try:
            assert process.sell.get_records("lead", [first])[first].values["lead_source"] == "Web"
            assert sb.sell.count("GET", "/v2/lead_sources") == 1  # remembered
            assert (
                process.sell.get_records("lead", [second])[second].values["lead_source"] == "Fair"
            )
            assert sb.sell.count("GET", "/v2/lead_sources") == 2  # a source not known yet
        finally:
            process.close()

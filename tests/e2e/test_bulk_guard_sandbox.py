"""The bulk guard end to end over the sandbox servers: a run that would create more than
SYNC_BULK_LIMIT records in Sell, or tombstone a share of the links, holds them for a manager
(through the real clients, the SQLite store, the engine and the service's decisions)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sandbox import Sandbox
from sync.domain import LinkState, SellRef
from sync.engine import Engine
from sync.service import SyncService
from sync.usecases.common import Actor
from tests.e2e.conftest import engine_over

MANAGER = Actor("U_MANAGER", is_manager=True)


def _world(sb: Sandbox) -> str:
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    return sb.hubspot.create_list("Sell sync", "MANUAL")


def _members(sb: Sandbox, list_id: str, n: int, *, start: int = 0, in_sell: bool = False) -> list:
    """``n`` qualifying members; with ``in_sell`` each has a Sell lead of the same email (the
    first sync links them: no creation). Returns the Sell lead ids (or HubSpot ids)."""
    out = []
    ids = []
    for i in range(start, start + n):
        email = f"m{i}@example.com"
        cid = sb.hubspot.add_contact({"email": email, "lastname": f"M{i}", "hubspotscore": "80"})
        ids.append(cid)
        out.append(
            sb.sell.add_record("lead", {"email": email, "last_name": f"M{i}"}) if in_sell else cid
        )
    sb.hubspot.add_to_list(list_id, ids)
    return out


@contextmanager
def _engine(sb: Sandbox, tmp_path: Path, list_id: str, limit: int = 100) -> Iterator[Engine]:
    with engine_over(sb, f"sqlite:///{tmp_path}/bulk.db", list_id) as engine:
        engine.config = replace(engine.config, bulk_limit=limit)
        yield engine


def test_a_first_sync_of_300_members_holds_them_and_an_approval_creates_each_once(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id = _world(sb)
    members = _members(sb, list_id, 300)
    with _engine(sb, tmp_path, list_id) as engine:
        service = SyncService(engine)
        dry = engine.run(trigger="test", dry_run=True)
        assert dry.bulk is not None and dry.bulk.held == {"create_in_sell": 300}
        assert "would hold 300 creations in Sell" in (dry.bulk.line(dry_run=True) or "")
        assert dry.plan.counts()["created_in_sell"] == 0

        report = engine.run(trigger="test")
        assert report.failure is None
        assert sb.sell.records("lead") == []  # stopped before its first create
        assert report.counts()["held_for_approval"] == 300
        hold = service.bulk_hold()
        assert hold is not None and hold.status == "pending"
        assert len(hold.items["create_in_sell"]) == 300
        assert len(hold.sample) == 10 and hold.sample[0].startswith("new Sell lead from HubSpot ")
        assert report.bulk is not None and report.bulk.hold_id == hold.id
        assert "--yes-bulk" in (report.bulk.line(dry_run=False) or "")
        # their scores are kept (the threshold's impact counts them) while they wait
        assert engine.store.member_scores(list_id) == {m: "80" for m in members}

        again = engine.run(trigger="test")  # the same hold: not asked twice, nothing created
        assert again.bulk is not None and again.bulk.hold_id == hold.id
        assert sb.sell.records("lead") == []
        assert [h.id for h in engine.store.holds(["pending", "superseded"])] == [hold.id]

        decision = service.decide_bulk(hold.id, approve=True, actor=MANAGER)
        assert decision.changed
        assert not service.decide_bulk(hold.id, approve=True, actor=MANAGER).changed  # idempotent

        done = engine.run(trigger="test")
        assert done.failure is None and done.counts()["created_in_sell"] == 300
        leads = sb.sell.records("lead")
        assert sorted(r["email"] for r in leads) == sorted(f"m{i}@example.com" for i in range(300))
        assert set(engine.store.links_by_hubspot(members)) == set(members)
        assert engine.store.get_hold(hold.id).status == "applied"
        assert engine.store.known_members(list_id) == set(members)  # evaluated once created

        after = engine.run(trigger="test")
        assert after.counts().get("created_in_sell", 0) == 0 and after.bulk is None
        assert len(sb.sell.records("lead")) == 300
        kinds = [e.kind for e in engine.store.audit_since(None)]
        assert "bulk_held" in kinds and "bulk_approved" in kinds and "bulk_applied" in kinds


def test_a_rejected_hold_is_left_alone_until_the_limit_changes(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    _members(sb, list_id, 150)
    with _engine(sb, tmp_path, list_id) as engine:
        service = SyncService(engine)
        engine.run(trigger="test")
        hold = service.bulk_hold()
        assert hold is not None
        assert service.decide_bulk(hold.id, approve=False, actor=MANAGER).changed
        for _ in range(2):
            report = engine.run(trigger="test")
            assert report.bulk is not None and report.bulk.rejected == 150
            assert report.bulk.hold_id is None
            assert sb.sell.records("lead") == [] and service.bulk_hold() is None
        engine.config = replace(engine.config, bulk_limit=120)  # another limit: asked again
        report = engine.run(trigger="test")
        assert report.bulk is not None and report.bulk.held == {"create_in_sell": 150}
        assert service.bulk_hold() is not None and service.bulk_hold().id != hold.id
        engine.config = replace(engine.config, bulk_limit=200)  # now under it: created
        report = engine.run(trigger="test")
        assert report.counts()["created_in_sell"] == 150
        assert service.bulk_hold() is None  # the pending one is no longer needed


def test_updates_of_linked_records_flow_while_creations_are_held(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id = _world(sb)
    leads = _members(sb, list_id, 5, in_sell=True)
    with _engine(sb, tmp_path, list_id) as engine:
        assert engine.run(trigger="test").counts()["merged"] == 5
        linked = engine.store.links_by_sell([SellRef("lead", rid) for rid in leads])
        _members(sb, list_id, 150, start=100)
        report = engine.run(trigger="test")
        assert report.bulk is not None and report.bulk.held == {"create_in_sell": 150}
        first = linked[SellRef("lead", leads[0])]
        sb.hubspot.update_contact(first.hubspot_id, {"jobtitle": "Countess"})
        report = engine.run(trigger="test")
        assert report.counts()["updated_sell"] == 1  # an update is never held back
        assert report.bulk is not None and report.bulk.held == {"create_in_sell": 150}
        assert (sb.sell.get_record("lead", leads[0]) or {})["title"] == "Countess"
        assert len(sb.sell.records("lead")) == 5
        # two newcomers while the request waits: created; the request stays the one asked
        hold_id = report.bulk.hold_id
        _members(sb, list_id, 2, start=500)
        report = engine.run(trigger="test")
        assert report.counts()["created_in_sell"] == 2
        assert report.bulk is not None and report.bulk.hold_id == hold_id
        assert report.bulk.held == {"create_in_sell": 150}
        assert [h.id for h in engine.store.holds(["pending", "superseded"])] == [hold_id]


def test_yes_bulk_creates_what_a_run_would_hold(sb: Sandbox, tmp_path: Path) -> None:
    list_id = _world(sb)
    _members(sb, list_id, 150)
    with _engine(sb, tmp_path, list_id) as engine:
        service = SyncService(engine)
        engine.run(trigger="test")
        hold = service.bulk_hold()
        assert hold is not None
        approved = service.approve_bulk_from_terminal()
        assert approved is not None and approved.id == hold.id
        report = engine.run(trigger="test", yes_bulk=True)
        assert report.counts()["created_in_sell"] == 150 and report.bulk is not None
        assert report.bulk.total == 0 and report.bulk.applied_hold == hold.id
        assert len(sb.sell.records("lead")) == 150
        assert engine.store.get_hold(hold.id).decided_by == "cli"


def test_a_run_tombstoning_30_of_200_links_holds_them_while_3_are_applied(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id = _world(sb)
    leads = _members(sb, list_id, 200, in_sell=True)
    refs = [SellRef("lead", rid) for rid in leads]
    with _engine(sb, tmp_path, list_id) as engine:
        service = SyncService(engine)
        assert engine.run(trigger="test").counts()["merged"] == 200  # links, not creations
        for rid in leads[:3]:
            sb.sell.delete_record("lead", rid)
        report = engine.run(trigger="test", full=True)
        assert report.counts()["tombstoned"] == 3 and report.bulk is None
        for rid in leads[3:33]:
            sb.sell.delete_record("lead", rid)
        report = engine.run(trigger="test", full=True)
        assert report.counts().get("tombstoned", 0) == 0
        assert report.bulk is not None and report.bulk.held == {"tombstone": 30}
        links = engine.store.links_by_sell(refs)
        assert all(links[r].state is LinkState.ACTIVE for r in refs[3:])
        hold = service.bulk_hold()
        assert hold is not None and sorted(hold.items["tombstone"]) == sorted(
            str(r) for r in refs[3:33]
        )
        # an ordinary run checks a share of the links, and still reads the held ones again:
        # the request stays asked, nothing is tombstoned
        report = engine.run(trigger="test")
        assert report.bulk is not None and report.bulk.hold_id == hold.id
        assert service.bulk_hold() is not None and service.bulk_hold().id == hold.id
        assert report.counts().get("tombstoned", 0) == 0
        assert service.decide_bulk(hold.id, approve=True, actor=MANAGER).changed
        report = engine.run(trigger="test")  # not --full: the approval still finds them
        assert report.counts()["tombstoned"] == 30
        links = engine.store.links_by_sell(refs)
        assert {links[r].state for r in refs[:33]} == {LinkState.TOMBSTONED}
        assert {links[r].state for r in refs[33:]} == {LinkState.ACTIVE}

"""The Sell mode over the sandbox servers, through the real clients, the SQLite store, the
engine and the service: ``read_only`` writes nothing to Sell while Sell's changes still reach
HubSpot; ``retired`` sends Sell no request at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox import Sandbox
from sync.domain import SellMode, SellRef
from sync.engine import Engine
from sync.errors import RetireUnverified, RunsHeld, SellNotCalled
from sync.firehose import firehose_follower
from sync.service import CLI_ACTOR, SyncService, Verdict
from tests.e2e.conftest import engine_over

WRITES = ("POST", "PUT", "PATCH", "DELETE")


@contextmanager
def linked_pair(sb: Sandbox, tmp_path: Path) -> Iterator[tuple[Engine, str, int, str]]:
    """One lead linked to one HubSpot contact by two runs; (engine, list id, lead, contact)."""
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    email = "ann@example.com"
    cid = sb.hubspot.add_contact({"email": email, "lastname": "Ann", "hubspotscore": "80"})
    sb.hubspot.add_to_list(list_id, [cid])
    lead = sb.sell.add_record("lead", {"email": email, "last_name": "Ann", "title": "CTO"})
    with engine_over(sb, f"sqlite:///{tmp_path}/m5.db", list_id) as engine:
        assert engine.run(trigger="test").failure is None
        assert engine.run(trigger="test").failure is None
        assert engine.store.links_by_sell([SellRef("lead", lead)])
        yield engine, list_id, lead, cid


def sell_writes(sb: Sandbox) -> list[str]:
    return [f"{c.method} {c.path}" for m in WRITES for c in sb.sell.calls_matching(m)]


def test_m5_read_only_writes_nothing_to_sell_while_sells_changes_reach_hubspot(
    sb: Sandbox, tmp_path: Path
) -> None:
    with linked_pair(sb, tmp_path) as (engine, list_id, lead, cid):
        service = SyncService(engine)
        service.change_setting("sell_mode", "read_only", actor=CLI_ACTOR, reason="moving")
        assert service.sell_mode() is SellMode.READ_ONLY
        # Sell changes; HubSpot changes a value Sell mirrors; a new member would enter Sell
        sb.sell.update_record("lead", lead, {"title": "CEO"})
        sb.hubspot.update_contact(cid, {"hubspotscore": "95"})
        new = sb.hubspot.add_contact(
            {"email": "bo@example.com", "lastname": "Bo", "hubspotscore": "90"}
        )
        sb.hubspot.add_to_list(list_id, [new])
        sb.sell.reset_calls()
        report = service.run(actor=CLI_ACTOR, trigger="test")
        assert report.failure is None, report.failure
        assert sell_writes(sb) == []  # not one write reached Sell
        assert sb.sell.calls_matching("GET")  # Sell is still read
        contact = sb.hubspot.get_contact(cid)
        assert contact is not None and contact["properties"]["jobtitle"] == "CEO"
        reasons = {s.item: s.reason for s in report.plan.skipped}
        assert reasons[f"HubSpot {new}"].startswith("Sell is read-only")
        assert "HubSpot score" in reasons[f"lead:{lead}"]
        assert not [r for r in sb.sell.records("lead") if r.get("email") == "bo@example.com"]
        # status ITEM explains the skip with the same words
        why = service.explain("bo@example.com")
        assert why.kind is Verdict.SKIPPED and (why.skip or "").startswith("Sell is read-only")
        linked = service.explain(f"lead:{lead}")
        assert linked.kind is Verdict.SYNCED
        assert linked.sell_held == reasons[f"lead:{lead}"]  # what the run skipped, same words
        assert sell_writes(sb) == []
        # a conflict's resolution towards Sell is refused before anything is sent
        with pytest.raises(SellNotCalled):
            service.engine.guarded_sell().update_record("lead", lead, {"title": "x"})
        assert sell_writes(sb) == []
        # back to active, the held values are written at the next run that reads the pair
        service.change_setting("sell_mode", "active", actor=CLI_ACTOR, reason="not yet")
        sb.sell.update_record("lead", lead, {"title": "CEO again"})
        assert service.run(actor=CLI_ACTOR, trigger="test").failure is None
        record = sb.sell.get_record("lead", lead)
        assert record is not None and record["custom_fields"]["HubSpot score"] in (95, "95")
        # and the member skipped while Sell was read-only enters it now
        assert [r for r in sb.sell.records("lead") if r.get("email") == "bo@example.com"]


def test_m5_retired_sends_sell_no_request(sb: Sandbox, tmp_path: Path) -> None:
    with linked_pair(sb, tmp_path) as (engine, _list_id, lead, _cid):
        service = SyncService(engine)
        with pytest.raises(RetireUnverified) as refused:
            service.change_setting("sell_mode", "retired", actor=CLI_ACTOR, reason="gone")
        assert refused.value.unverified is None  # nothing was ever moved and verified
        assert service.sell_mode() is SellMode.ACTIVE  # nothing changed
        service.change_setting(
            "sell_mode", "retired", actor=CLI_ACTOR, reason="gone", confirm_unverified=True
        )
        sb.sell.reset_calls()
        with pytest.raises(RunsHeld) as held:
            service.run(actor=CLI_ACTOR, trigger="test")
        assert "Sell is retired" in str(held.value)
        with pytest.raises(SellNotCalled):
            service.push([f"lead:{lead}"], actor=CLI_ACTOR)
        with pytest.raises(SellNotCalled):
            service.explain(f"lead:{lead}")
        with pytest.raises(SellNotCalled):
            service.export_tables(lambda: pytest.fail("Sell's readers are not opened"))
        assert engine.run(trigger="test").failure is not None  # even the engine alone
        follower = firehose_follower(service)  # Sell's Firehose, between scheduled runs
        assert follower is not None
        with pytest.raises(RunsHeld):
            follower.follow()
        view = service.status()
        assert view.sell_mode is SellMode.RETIRED and view.to_dict()["sell_mode"] == "retired"
        assert [n.label for n in view.notes] == ["Sell retired"]
        assert service.summary_since(None).sell_mode is SellMode.RETIRED
        assert sb.sell.calls == []  # not one request reached Sell

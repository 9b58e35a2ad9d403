"""Undoing a mistaken mass deletion in one step, end to end over the sandbox servers.

A run tombstones the leads Sell stopped showing (even read alone: as to a token whose user lost
sight of them) and marks deleted in HubSpot a contact HubSpot answered as archived. Once they
are back, ``status`` says the tombstone exists while the record does, and how to lift it; and
``sellsync restore --run N`` re-activates every link that run marked, audited with the
command line as actor and the reason. A record really deleted is tombstoned again, with proof,
by a later run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.blocks.status import verdict_text
from sandbox import Sandbox
from sync.domain import LinkState, SellRef
from sync.service import CLI_ACTOR, Actor, Refused, SyncService
from tests.e2e.conftest import engine_over

PAIRS = 12


def cli(sb: Sandbox, tmp: Path, list_id: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **sb.env(),
        "HUBSPOT_LIST_ID": list_id,
        "DATABASE_URL": f"sqlite:///{tmp}/restore.db",
        "SYNC_THRESHOLD": "50",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_restore_run_lifts_every_mark_that_run_made(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    contacts = []
    for i in range(PAIRS):
        cid = sb.hubspot.add_contact(
            {"email": f"r{i}@example.com", "lastname": f"R{i}", "hubspotscore": "80"}
        )
        sb.hubspot.add_to_list(list_id, [cid])
        contacts.append(cid)
    with engine_over(sb, f"sqlite:///{tmp_path}/restore.db", list_id) as engine:
        store, service = engine.store, SyncService(engine)
        assert engine.run(trigger="test").counts() == {"created_in_sell": PAIRS}
        links = {link.hubspot_id: link for batch in store.iter_links() for link in batch}
        hidden = [links[cid].sell for cid in contacts[:3]]
        # Sell stops showing three leads, even read alone; HubSpot answers one contact archived
        with sb.sell.lock:
            kept = {ref: sb.sell.records_by_id["lead"].pop(ref.id) for ref in hidden}
        with sb.hubspot.lock:
            sb.hubspot.contacts_by_id[contacts[5]].archived = True
        marking = engine.run(trigger="test", full=True)
        assert marking.status == "ok"
        assert marking.counts() == {"tombstoned": 3, "hubspot_deleted": 1}
        run_id = marking.run_id
        assert run_id is not None
        # ... and they come back
        with sb.sell.lock:
            for ref, record in kept.items():
                sb.sell.records_by_id["lead"][ref.id] = record
        with sb.hubspot.lock:
            sb.hubspot.contacts_by_id[contacts[5]].archived = False

        # status: the tombstone exists while the record does, and says how to lift it
        said = service.explain(str(hidden[0]))
        assert said.record is not None and said.marked_by_run == run_id
        verdict = verdict_text(said, push="sellsync push")
        assert "was deleted" not in verdict
        assert verdict.startswith(f"not synced: the link was tombstoned by run {run_id}, yet")
        assert f"sellsync restore {hidden[0]}" in verdict
        said = service.explain(f"hubspot:{contacts[5]}")
        verdict = verdict_text(said)
        assert (
            "yet HubSpot contact" in verdict
            and f"/sellsync restore hubspot:{contacts[5]}" in verdict
        )

        with pytest.raises(Refused):  # managers only
            service.restore_run(run_id, actor=Actor("U_REP"))

    # the command line, against the same database: one step, audited
    done = cli(sb, tmp_path, list_id, "restore", "--run", str(run_id), "--reason", "lying Sell")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"restored run {run_id}: 4 links active again (3 tombstones and 1 deleted-in-HubSpot "
        "mark lifted)."
    )
    again = cli(sb, tmp_path, list_id, "restore", "--run", str(run_id), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {
        "run_id": run_id,
        "tombstones": 0,
        "hubspot_marks": 0,
        "changed_since": 4,
        "lifted": 0,
    }
    for args in (["restore"], ["restore", "lead:1", "--run", "2"], ["restore", "--run", "x"]):
        usage = cli(sb, tmp_path, list_id, *args)
        assert usage.returncode == 2 and "Traceback" not in usage.stderr

    with engine_over(sb, f"sqlite:///{tmp_path}/restore.db", list_id) as engine:
        store, service = engine.store, SyncService(engine)
        states = [link.state for batch in store.iter_links() for link in batch]
        assert states == [LinkState.ACTIVE] * PAIRS
        restored: list[Any] = [e for e in store.audit_events(run_id=None) if e.kind == "restored"]
        assert len(restored) == 4
        assert {e.actor for e in restored} == {CLI_ACTOR.id}
        assert {(e.detail["run"], e.detail["reason"]) for e in restored} == {(run_id, "lying Sell")}
        assert service.explain(str(hidden[0])).kind.value == "synced"
        # a healthy run finds nothing to mark; one really deleted is tombstoned again, with proof
        assert engine.run(trigger="test", full=True).counts().get("tombstoned") is None
        sb.sell.delete_record("lead", hidden[1].id)
        again_run = engine.run(trigger="test", full=True)
        assert again_run.counts() == {"tombstoned": 1}
        gone = store.links_by_sell([hidden[1]])[hidden[1]]
        assert gone.state is LinkState.TOMBSTONED
        assert store.links_by_sell([SellRef("lead", hidden[0].id)])[hidden[0]].state is (
            LinkState.ACTIVE
        )

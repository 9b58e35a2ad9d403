"""``sellsync sync`` and the bulk guard as subprocesses over the sandbox: a first sync of 8
members holds them (SYNC_BULK_LIMIT=5), the terminal says so and how to let them through,
``--dry-run`` says it would hold them, and ``--yes-bulk`` creates them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox

pytestmark = pytest.mark.slow


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "Traceback" not in proc.stderr
    return proc


def _json(env: dict[str, str], *args: str) -> dict[str, Any]:
    proc = _cli(env, *args, "--json")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def test_sync_holds_a_bulk_first_sync_and_yes_bulk_creates_it(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    ids = [
        sb.hubspot.add_contact(
            {"email": f"b{i}@example.com", "lastname": f"B{i}", "hubspotscore": "80"}
        )
        for i in range(8)
    ]
    sb.hubspot.add_to_list(list_id, ids)
    env = {
        **os.environ,
        **sb.env(),
        "HUBSPOT_LIST_ID": list_id,
        "DATABASE_URL": f"sqlite:///{tmp_path}/bulk.db",
        "SYNC_THRESHOLD": "50",
        "SYNC_BULK_LIMIT": "5",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)

    dry = _json(env, "sync", "--dry-run")
    assert dry["bulk_held"]["held"] == {"create_in_sell": 8}
    assert "would hold 8 creations in Sell" in dry["bulk_held"]["note"]

    text = _cli(env, "sync")
    assert text.returncode == 0, text.stderr
    assert "held for a manager's approval (bulk guard) 8" in text.stdout.replace("*", "")
    assert "Held 8 creations in Sell" in text.stdout and "--yes-bulk" in text.stdout
    assert sb.sell.records("lead") == []

    done = _json(env, "sync", "--yes-bulk")
    assert done["counts"]["created_in_sell"] == 8 and done["bulk_held"]["held"] == {}
    assert len(sb.sell.records("lead")) == 8
    audit = _json(env, "audit", "--limit", "1000")
    rows = audit if isinstance(audit, list) else audit.get("events", audit.get("rows", []))
    approved = [r for r in rows if r.get("kind") == "bulk_approved"]
    assert approved and approved[0].get("actor") == "cli"

    again = _json(env, "sync")
    assert again["counts"].get("created_in_sell", 0) == 0 and again["bulk_held"] is None

"""``sellsync migrate`` as a subprocess over the sandbox servers (M1–M3): exit codes, the plan as
JSON, a run killed with SIGKILL and run again, verification's CSV."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox import Sandbox
from tests.e2e.conftest import NO_SLACK, sandbox_env, sellsync

pytestmark = pytest.mark.slow

UPSERT = "/crm/objects/2026-03/contacts/batch/upsert"


@pytest.fixture
def env(sb: Sandbox, tmp_path: Path) -> dict[str, str]:
    sb.reset("empty")
    return sandbox_env(
        sb, f"sqlite:///{tmp_path / 'cli.db'}", without=("HUBSPOT_LIST_ID", *NO_SLACK)
    )


def migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return sellsync(env, "migrate", *args)


def leads(sb: Sandbox, n: int) -> None:
    for i in range(n):
        sb.sell.add_record(
            "lead", {"first_name": f"L{i}", "last_name": "Cli", "email": f"c{i}@x.io"}
        )


def keyed(sb: Sandbox) -> Counter[str]:
    return Counter(
        c.values["zendesk_sell_id"]
        for c in sb.hubspot.contacts_by_id.values()
        if not c.archived and c.values.get("zendesk_sell_id")
    )


def test_m2_migrate_without_yes_and_no_terminal_exits_2_naming_yes(
    sb: Sandbox, env: dict[str, str]
) -> None:
    leads(sb, 3)
    proc = migrate(env)
    assert proc.returncode == 2
    assert "--yes" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert sb.hubspot.count("POST", UPSERT) == 0
    assert migrate(env, "--csv", "x.csv").returncode == 2  # --csv goes with --verify


def test_m1_dry_run_json_counts_and_writes_nothing(sb: Sandbox, env: dict[str, str]) -> None:
    leads(sb, 3)
    proc = migrate(env, "--dry-run", "--json")
    assert proc.returncode == 0, proc.stderr
    plan: dict[str, Any] = json.loads(proc.stdout)
    assert plan["dry_run"] is True
    assert plan["counts"]["contacts.create"] == 3
    assert plan["standing"]["unverified"] is None
    assert keyed(sb) == Counter()
    assert not [c for c in sb.hubspot.calls if "/crm/properties/" in c.path and c.method != "GET"]


def test_m2_killed_with_sigkill_and_run_again_leaves_no_duplicate(
    sb: Sandbox, env: dict[str, str]
) -> None:
    leads(sb, 350)
    # each upsert is written, then answered slowly: the kill lands during or between them
    sb.hubspot.inject(
        "timeout", method="POST", path_prefix=UPSERT, times=None, delay=0.4, apply=True
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "migrate", "--yes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while sb.hubspot.count("POST", UPSERT) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    sb.hubspot.clear_faults()
    moved_before = sum(keyed(sb).values())
    assert 0 < moved_before < 350

    proc = migrate(env, "--yes", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "finished"
    counts = keyed(sb)
    assert len(counts) == 350 and set(counts.values()) == {1}
    assert len(sb.hubspot.contacts_by_id) == 350

    upserts = sb.hubspot.count("POST", UPSERT)
    again = migrate(env, "--yes", "--json")
    assert again.returncode == 0
    assert sb.hubspot.count("POST", UPSERT) == upserts  # a complete run again writes nothing


def test_m3_verify_exits_0_when_equal_and_1_naming_a_difference_in_csv(
    sb: Sandbox, env: dict[str, str], tmp_path: Path
) -> None:
    leads(sb, 2)
    assert migrate(env, "--yes").returncode == 0
    assert migrate(env, "--verify").returncode == 0
    contact = next(iter(sb.hubspot.contacts_by_id.values()))
    key = contact.values["zendesk_sell_id"]
    contact.values["lastname"] = '=HYPERLINK("x")'
    out = tmp_path / "differences.csv"
    proc = migrate(env, "--verify", "--csv", str(out))
    assert proc.returncode == 1
    assert "1 differences" in proc.stdout and key in proc.stdout
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"key": key, "field": "lastname", "sell": "Cli", "hubspot": '\'=HYPERLINK("x")'}
    ]
    status = migrate(env, "--status", "--json")
    assert status.returncode == 0
    assert json.loads(status.stdout)["differences"] == 1

"""``sellsync migrate --yes`` as a subprocess over the sandbox servers: the move takes the run
lock the syncs and the worker's move take, and refuses while another run holds it; its progress
has the total an approved order, the last plan or the last complete run counted, or says it
counts as it goes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.wiring import SystemClock
from sandbox import Sandbox
from storage.db import open_store
from sync.config import EngineConfig
from sync.domain import SettingName
from sync.engine import take_run_lease
from tests.e2e.conftest import NO_SLACK, sandbox_env, sellsync

pytestmark = pytest.mark.slow


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def env(sb: Sandbox, url: str) -> dict[str, str]:
    sb.reset("empty")
    for i in range(3):
        sb.sell.add_record(
            "lead", {"first_name": f"L{i}", "last_name": "Lock", "email": f"l{i}@x.io"}
        )
    return sandbox_env(sb, url, without=("HUBSPOT_LIST_ID", *NO_SLACK))


def migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return sellsync(env, "migrate", *args)


def hubspot_writes(sb: Sandbox) -> int:
    return sb.hubspot.count("POST") + sb.hubspot.count("PATCH") + sb.hubspot.count("PUT")


def test_m2_migrate_yes_refuses_while_another_run_holds_the_run_lock(
    sb: Sandbox, env: dict[str, str], url: str
) -> None:
    store = open_store(url)
    lease = take_run_lease(store, SystemClock(), EngineConfig())
    try:
        proc = migrate(env, "--yes")
    finally:
        lease.release()
        store.close()
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sellsync: a sync is already running")
    assert "try again when it has finished" in lines[0]
    assert hubspot_writes(sb) == 0  # nothing written, not even a property
    again = migrate(env, "--yes")  # the lock released: the move goes ahead
    assert again.returncode == 0, again.stderr
    assert sb.hubspot.count("POST", "/crm/objects/2026-03/contacts/batch/upsert") >= 1


def progress_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stderr.splitlines() if line.startswith("Moving: ")]


def test_m2_migrate_yes_without_a_count_counts_as_it_goes_and_names_dry_run(
    env: dict[str, str],
) -> None:
    proc = migrate(env, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "counting as it goes (sellsync migrate --dry-run first gives a known total)" in (
        proc.stderr
    )
    assert progress_lines(proc) == ["Moving: contacts: 3 items"]  # no total handed over


def test_m2_migrate_yes_after_a_dry_run_has_the_plans_total(env: dict[str, str]) -> None:
    assert migrate(env, "--dry-run").returncode == 0
    proc = migrate(env, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "About 3 Sell items to move (counted by the last plan of " in proc.stderr
    assert progress_lines(proc) == ["Moving: contacts: 3 of about 3 items"]
    again = migrate(env, "--yes")  # the complete run counted them too
    assert "About 3 Sell items to move (counted by the last complete run of " in again.stderr
    assert progress_lines(again) == ["Moving: contacts: 3 of about 3 items"]


def test_m2_migrate_yes_takes_the_total_of_the_approved_order(
    env: dict[str, str], url: str
) -> None:
    assert migrate(env, "--dry-run").returncode == 0  # an older count the order outranks
    store = open_store(url)
    try:
        order = {"order": "run: 7 Sell items (7 contacts, 0 companies, 0 notes)", "by": "U1"}
        store.store_setting(SettingName.MIGRATION, json.dumps(order), replans=False)
    finally:
        store.close()
    proc = migrate(env, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert "About 7 Sell items to move (counted by the approved migration's plan;" in proc.stderr
    assert progress_lines(proc) == ["Moving: contacts: 3 of about 7 items"]

"""``sellsync migrate --yes`` as a subprocess over the sandbox servers: the move takes the run
lock the syncs and the worker's move take, and refuses while another run holds it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.wiring import SystemClock
from sandbox import Sandbox, SandboxLimits
from storage.db import open_store
from sync.config import EngineConfig
from sync.engine import take_run_lease

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed="empty", limits=SandboxLimits(enabled=False)) as sandbox:
        yield sandbox


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
    out = {**os.environ, **sb.env(), "DATABASE_URL": url}
    for name in ("HUBSPOT_LIST_ID", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        out.pop(name, None)
    return out


def migrate(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


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

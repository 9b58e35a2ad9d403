"""What the end-to-end tests over the sandbox servers share: the servers, and the real engine
pointed at them (real clients, unpaced, a SQLite store)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import bot.cli_services as cli_services
from bot.wiring import SystemClock
from sandbox import Sandbox, SandboxLimits
from storage.db import open_store
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.engine import Engine, EngineConfig

#: The Slack settings a command-line run over the sandbox goes without.
NO_SLACK = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")

#: A sync over the demo seed: the threshold at 50, and a bulk limit above the hundred and more
#: leads its first sync creates, so that they are created unasked.
DEMO_SYNC = {"SYNC_THRESHOLD": "50", "SYNC_BULK_LIMIT": "1000"}

#: A worker that applies events only: no scheduled sync, no poll, no Firehose, and logs at INFO.
EVENTS_ONLY = {
    "SYNC_INTERVAL_MINUTES": "1440",
    "SYNC_POLL_SECONDS": "0",
    "SELL_FIREHOSE_SECONDS": "0",
    "LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """The stand-in servers, empty and without rate limits; each test resets what it uses."""
    with Sandbox(seed="empty", limits=SandboxLimits(enabled=False)) as sandbox:
        yield sandbox


def ada_in_a_list(sb: Sandbox) -> tuple[str, str, int]:
    """Sell's custom fields for the HubSpot score and the contact's URL, and a synced list whose
    one member, Ada (score 80), has a Sell lead of the same email: (list id, contact id, lead)."""
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    cid = sb.hubspot.add_contact(
        {"email": "ada@example.com", "lastname": "Lovelace", "hubspotscore": "80"}
    )
    sb.hubspot.add_to_list(list_id, [cid])
    lead = sb.sell.add_record("lead", {"email": "ada@example.com", "last_name": "Lovelace"})
    return list_id, cid, lead


@contextmanager
def engine_over(
    sb: Sandbox, database_url: str, list_id: str, *, hubspot_limits: HubSpotLimits | None = None
) -> Iterator[Engine]:
    """The engine over ``sb`` with the threshold at 50 and ``list_id`` synced; its clients and
    store are closed afterwards (the store is ``engine.store``)."""
    store = open_store(database_url)
    hub = HubSpotClient(
        HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
        hubspot_limits or HubSpotLimits.unpaced(),
    )
    sell = SellClient(sb.sell_url, sb.sell_token, per_s=None)
    config = EngineConfig(default_threshold=50, default_list_id=list_id)
    try:
        yield Engine(hub, sell, store, SystemClock(), config)
    finally:
        hub.close()
        sell.close()
        store.close()


def cli_database(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    file: str,
    unset: tuple[str, ...] = ("HUBSPOT_ACCESS_TOKEN", "SELL_ACCESS_TOKEN", "HUBSPOT_LIST_ID"),
) -> str:
    """Readies ``cli.main`` to run in this process over a SQLite ``file`` in ``tmp_path``: the
    variables in ``unset`` gone, no .env of the repository's, the settings read afresh. Returns
    the database's URL, which DATABASE_URL names."""
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    url = f"sqlite:///{tmp_path}/{file}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def sandbox_env(
    sb: Sandbox, database_url: str, *, without: tuple[str, ...] = NO_SLACK, **settings: str
) -> dict[str, str]:
    """This process's environment with what ``sellsync sandbox`` prints over it, the database at
    ``database_url`` and ``settings`` added, and the variables in ``without`` unset."""
    env = {**os.environ, **sb.env(), "DATABASE_URL": database_url, **settings}
    for name in without:
        env.pop(name, None)
    return env


def settings_env(sb: Sandbox, database_url: str, **changes: str) -> dict[str, str]:
    """This process's environment without any SLACK_, HUBSPOT_ or SELL_ variable, with the
    sandbox's settings over ``database_url``, then ``changes``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "SELL_"))}
    return env | sb.settings_env(database_url) | changes


def sellsync(
    env: dict[str, str], *args: str, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``sellsync ARGS`` as a subprocess with no terminal; it must not end in a traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    return proc


def sync_json(env: dict[str, str], *, cwd: Path | None = None) -> dict[str, Any]:
    """``sellsync sync --json`` as a subprocess: its report."""
    proc = sellsync(env, "sync", "--json", timeout=300, cwd=cwd)
    return dict(json.loads(proc.stdout))


def inbox_depth(database_url: str) -> int:
    """How many webhook events the store at ``database_url`` holds unapplied."""
    store = open_store(database_url, migrate=False)
    try:
        return store.depth()
    finally:
        store.close()

"""SPEC §7: a sync killed at any point and run again ends with the same state as an uninterrupted
run: no duplicate record on either side, no lost update. `sellsync sync` runs as a subprocess
against the rate-limited sandbox and is killed (SIGKILL) in the middle of the import.

The killed run's process lock died with it: the rerun starts at once, long before the killed
run's lease (the default two minutes) would expire, and closes the killed run as interrupted."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from sandbox.server import Sandbox
from storage.db import open_store
from storage.tables import locks
from tests.e2e.conftest import DEMO_SYNC, sandbox_env, sync_json

pytestmark = pytest.mark.slow

LEASE_TTL_SECONDS = 120


def env_for(sb: Sandbox, db: str) -> dict[str, str]:
    return sandbox_env(sb, db, **DEMO_SYNC, SYNC_LOCK_TTL_SECONDS=str(LEASE_TTL_SECONDS))


def state(sb: Sandbox, db: str) -> dict[str, Any]:
    records = sb.sell.records("lead") + sb.sell.records("contact")
    store = open_store(db)
    try:
        links = store.count_links()
        conflicts = sorted(
            (str(c.sell.kind), c.field, c.sell_value, c.hubspot_value)
            for c in store.list_conflicts(limit=10_000)
        )
    finally:
        store.close()
    hubspot = [sb.hubspot.get_contact(i) for i in sb.hubspot.contact_ids()]
    return {
        "sell_emails": Counter((r.get("email") or "").strip().lower() for r in records),
        "sell_records": len(records),
        "hubspot_contacts": len(hubspot),
        "links": links,
        "conflicts": conflicts,
        "sell_titles": Counter(r.get("title") for r in records),
        "hubspot_phones": Counter(c["properties"].get("phone") for c in hubspot if c),
    }


def test_a_sync_killed_mid_import_then_rerun_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    with Sandbox(seed="demo") as sb:
        baseline_db = f"sqlite:///{tmp_path}/baseline.db"
        first = sync_json(env_for(sb, baseline_db))
        assert first["status"] == "ok" and first["counts"]["created_in_sell"] > 50
        expected = state(sb, baseline_db)

        sb.reset("demo")
        db = f"sqlite:///{tmp_path}/killed.db"
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sync"],
            env=env_for(sb, db), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while sb.sell.count(method="POST", path_prefix="/v2/leads") < 30:
            assert proc.poll() is None, "the sync finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        created_before_kill = sb.sell.count(method="POST", path_prefix="/v2/leads")
        assert 30 <= created_before_kill < first["counts"]["created_in_sell"]

        # The killed run's lease row is still unexpired ...
        store = open_store(db, migrate=False)
        try:
            with store.engine.connect() as connection:
                expires_at = connection.execute(
                    sa.select(locks.c.expires_at).where(locks.c.name == "sync")
                ).scalar_one()
            assert not store.try_lock(
                "sync", owner="rerun", at=datetime.now(UTC), ttl_seconds=LEASE_TTL_SECONDS
            )
            (killed,) = store.running_runs()
        finally:
            store.close()
        # ... but its process lock died with it: the rerun starts at once and resumes.
        resumed = sync_json(env_for(sb, db))
        assert resumed["status"] == "ok", resumed
        assert datetime.fromisoformat(resumed["started_at"]) < expires_at
        store = open_store(db, migrate=False)
        try:
            runs = {r.id: r for r in store.recent_runs()}
            assert runs[killed.id].status == "interrupted"  # closed by the rerun
            assert store.running_runs() == []
        finally:
            store.close()
        sync_json(env_for(sb, db))  # settles the echoes; writes nothing
        assert state(sb, db) == expected

"""An approved migration survives its worker: ``sellsync worker`` (a subprocess against the
sandbox) picks up the approved order at start and moves Sell; killed with SIGKILL mid-move, the
order is still there, and the next worker resumes it to the end: every Sell record once in
HubSpot, nothing missed, and the order closed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.wiring import build_services
from demo.walkthrough import sandbox_settings
from sandbox.server import Sandbox
from storage.db import open_store
from sync.api import Actor, ApprovedMigrations, SettingName, migration_of, order_text
from sync.migration.rules import SELL_ID_PROPERTY

pytestmark = pytest.mark.slow

PEOPLE = 600


def env_for(sb: Sandbox, db: str) -> dict[str, str]:
    env = {
        **os.environ,
        **sb.env(),
        "DATABASE_URL": db,
        "SYNC_INTERVAL_MINUTES": "1440",  # no scheduled sync during the test
        "SYNC_POLL_SECONDS": "0",
        "SELL_FIREHOSE_SECONDS": "0",
        "HUBSPOT_REQUESTS_PER_10S": "40",  # slow enough to be killed mid-move
        "LOG_LEVEL": "INFO",
    }
    for name in ("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    return env


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"], env=env, stdout=out, stderr=out
        )


def keyed(sb: Sandbox) -> Counter[str]:
    return Counter(
        str(c.values[SELL_ID_PROPERTY])
        for c in sb.hubspot.contacts_by_id.values()
        if not c.archived and c.values.get(SELL_ID_PROPERTY)
    )


def test_m2_worker_killed_mid_migration_resumes_the_approved_move_without_duplicates(
    tmp_path: Path,
) -> None:
    with Sandbox(seed="demo") as sb:
        for i in range(PEOPLE):
            sb.sell.add_record(
                "contact", {"is_organization": False, "last_name": f"K{i}", "email": f"k{i}@x.io"}
            )
        sell_people = len(sb.sell.records("lead")) + sum(
            1 for r in sb.sell.records("contact") if not r.get("is_organization")
        )
        db = f"sqlite:///{tmp_path}/m2.db"
        services = build_services(sandbox_settings(sb.env(), db))
        try:  # a manager's request, approved by another (as the Slack buttons do)
            service = services.service
            plan = migration_of(service).plan()
            filed = service.request_change(
                SettingName.MIGRATION, order_text(plan), actor=Actor("UMGR1", is_manager=True)
            )
            service.decide(filed.request.id, approve=True, actor=Actor("UMGR2", is_manager=True))
            assert ApprovedMigrations(service).pending() is not None
        finally:
            services.close()

        env = env_for(sb, db)
        log = tmp_path / "worker.log"
        first = worker(env, log)
        deadline = time.monotonic() + 120
        while len(keyed(sb)) < 100:  # the move is under way
            assert first.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        moved = len(keyed(sb))
        assert 100 <= moved < sell_people, moved

        second = worker(env, log)
        try:
            deadline = time.monotonic() + 240
            while True:
                services = build_services(sandbox_settings(sb.env(), db))
                try:
                    waiting = ApprovedMigrations(services.service).pending()
                finally:
                    services.close()
                if waiting is None:
                    break
                assert second.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        assert "Traceback" not in log.read_text()
        counts = keyed(sb)
        assert set(counts.values()) == {1}  # nothing twice
        store = open_store(db, migrate=False)
        try:  # nothing missed: every Sell person moved (e-mail twins share one contact)
            keys = [f"lead:{r['id']}" for r in sb.sell.records("lead")] + [
                f"contact:{r['id']}"
                for r in sb.sell.records("contact")
                if not r.get("is_organization")
            ]
            placed = store.moved_ids(keys)
        finally:
            store.close()
        assert len(keys) == sell_people and set(placed) == set(keys)
        assert set(placed.values()) <= set(sb.hubspot.contact_ids())

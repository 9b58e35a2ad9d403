"""Nothing lost: HubSpot events stored in the inbox (as the webhook receiver stores a verified
batch before it answers 2xx) are all applied even when the worker is killed with SIGKILL in the
middle of applying them. `sellsync worker` runs as a subprocess against the sandbox; a second
worker takes the dead one's events once their claim runs out, and since a small run reads each
record as it is now, what the dead one applied already is not written twice, and nothing is
duplicated on either side."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.server import Sandbox
from storage.db import open_store
from sync.event_payload import parse_events
from sync.usecases.live import CLAIM_SECONDS
from tests.e2e.conftest import DEMO_SYNC, EVENTS_ONLY, inbox_depth, sandbox_env, sync_json

pytestmark = pytest.mark.slow

EDITS = 60


def env_for(sb: Sandbox, db: str) -> dict[str, str]:
    return sandbox_env(
        sb,
        db,
        without=("SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"),
        **DEMO_SYNC,
        **EVENTS_ONLY,  # no scheduled sync during the test: events only
    )


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the worker keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"], env=env, stdout=out, stderr=out
        )


def test_e7_a_worker_killed_mid_burst_loses_no_event_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    with Sandbox(seed="demo") as sb:
        db = f"sqlite:///{tmp_path}/e7.db"
        env = env_for(sb, db)
        first = sync_json(env)
        assert first["status"] == "ok"
        sync_json(env)  # the first run's echoes settle
        sell_before = len(sb.sell.records("lead")) + len(sb.sell.records("contact"))
        hubspot_before = len(sb.hubspot.contact_ids())
        store = open_store(db, migrate=False)
        try:
            # linked pairs whose Sell record has no fax: a fax set in HubSpot is written to Sell
            links = [
                link
                for batch in store.iter_links(batch_size=100)
                for link in batch
                if link.state == "active"
                and not (sb.sell.get_record(link.sell.kind, link.sell.id) or {}).get("fax")
            ][:EDITS]
            assert len(links) == EDITS
            faxes = {}
            for i, link in enumerate(links):
                faxes[link.sell] = f"+1 555 7{i:03d}"
                sb.hubspot.update_contact(link.hubspot_id, {"fax": faxes[link.sell]})
            ids = itertools.count(9_000_000)
            now_ms = int(time.time() * 1000)
            items = []
            for link in links:  # each change delivered twice (HubSpot retries), out of order
                for attempt in (1, 0):
                    items.append(
                        {
                            "eventId": next(ids),
                            "subscriptionType": "contact.propertyChange",
                            "objectId": int(link.hubspot_id),
                            "occurredAt": now_ms,
                            "attemptNumber": attempt,
                            "propertyName": "fax",
                            "propertyValue": faxes[link.sell],
                        }
                    )
            for start in range(0, len(items), 100):  # batches as HubSpot sends them
                store.store_batch(parse_events(items[start : start + 100]))
        finally:
            store.close()
        assert inbox_depth(db) == 2 * EDITS

        puts_before = sb.sell.count(method="PUT", path_prefix="/v2/", status=200)
        log = tmp_path / "worker.log"
        first_worker = worker(env, log)
        deadline = time.monotonic() + 120
        while sb.sell.count(method="PUT", path_prefix="/v2/", status=200) - puts_before < 5:
            assert first_worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.02)
        first_worker.send_signal(signal.SIGKILL)  # mid-burst: some written, none marked applied
        first_worker.wait(timeout=30)
        written = sb.sell.count(method="PUT", path_prefix="/v2/", status=200) - puts_before
        assert 5 <= written < EDITS, written
        assert inbox_depth(db) == 2 * EDITS  # stored, not applied: nothing is lost

        killed_at = time.monotonic()
        second_worker = worker(env, log)
        try:
            deadline = time.monotonic() + CLAIM_SECONDS + 120
            while inbox_depth(db) > 0:
                assert second_worker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            # the dead worker's claim had to run out first
            assert time.monotonic() - killed_at >= CLAIM_SECONDS - 5
        finally:
            second_worker.send_signal(signal.SIGTERM)
            second_worker.wait(timeout=30)
        assert "Traceback" not in log.read_text()

        for ref, fax in faxes.items():
            record = sb.sell.get_record(ref.kind, ref.id)
            assert record is not None and record.get("fax") == fax, (ref, record)
        assert len(sb.sell.records("lead")) + len(sb.sell.records("contact")) == sell_before
        assert len(sb.hubspot.contact_ids()) == hubspot_before
        # each record written at most twice (once by each worker, when the dead one wrote it
        # but died before it recorded the write), and the reconcile finds nothing left to do
        assert (
            sb.sell.count(method="PUT", path_prefix="/v2/", status=200) - puts_before
            <= EDITS + written
        )
        after = sync_json(env)
        assert after["status"] == "ok"
        assert sum(after["counts"].values()) == 0, after["counts"]

"""Changes in seconds, end to end over the sandbox as deployed: the sandbox HubSpot sends its
signed webhooks to a web process (``sellsync serve --no-scheduler``) and a separate
``sellsync worker`` applies them.

* A burst sent while no worker runs is stored and waits; the worker started later applies every
  change, each record written once.
* A burst larger than Sell's rate limit (here lower than the client's pace, as when another
  integration shares the token) meets Sell's 429s and is paced by them: every change arrives and
  no event fails. At Sell's real limit the client paces the burst and Sell refuses (almost) none.
* A worker killed (SIGKILL) in the middle of a burst, with more webhooks arriving while none
  runs: the restarted worker applies every change, and writes again at most what the dead one
  wrote without marking applied."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from sandbox.limits import SandboxLimits
from sandbox.server import Sandbox
from storage.db import open_store
from sync.usecases.live import CLAIM_SECONDS
from tests.e2e.conftest import DEMO_SYNC, EVENTS_ONLY, inbox_depth, sellsync, settings_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(sb: Sandbox, db: str, port: int) -> dict[str, str]:
    return settings_env(
        sb,
        db,
        PORT=str(port),
        BIND_ADDRESS="127.0.0.1",
        **DEMO_SYNC,
        **EVENTS_ONLY,  # no reconcile during the test: the events alone
    )


def sync(env: dict[str, str]) -> None:
    proc = sellsync(env, "sync", "--json", timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


@contextmanager
def running(env: dict[str, str], log: Path, *command: str) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *command], env=env, stdout=out, stderr=out, cwd=ROOT
        )
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def linked_without_fax(sb: Sandbox, db: str, count: int) -> list[tuple[str, int, str]]:
    store = open_store(db, migrate=False)
    try:
        pairs = [
            (link.sell.kind, link.sell.id, link.hubspot_id)
            for batch in store.iter_links(batch_size=200)
            for link in batch
            if link.state == "active"
            and not (sb.sell.get_record(link.sell.kind, link.sell.id) or {}).get("fax")
        ]
    finally:
        store.close()
    assert len(pairs) >= count
    return [(str(kind), sell_id, hubspot_id) for kind, sell_id, hubspot_id in pairs[:count]]


def sell_puts(sb: Sandbox, kind: str, record_id: int) -> int:
    path = f"/v2/{kind}s/{record_id}"
    return sum(1 for c in sb.sell.calls_matching("PUT", path, status=200) if c.path == path)


def failed_attempts(db_path: Path, at_least: int = 1) -> int:
    """How many stored events failed ``at_least`` times (three: listed in Health)."""
    with sqlite3.connect(db_path) as db:
        return int(
            db.execute(
                "SELECT count(*) FROM webhook_events WHERE attempts >= ?", (at_least,)
            ).fetchone()[0]
        )


class Burst(NamedTuple):
    sb: Sandbox
    db: str
    env: dict[str, str]
    port: int
    log: Path
    pairs: list[tuple[str, int, str]]


@contextmanager
def burst(tmp_path: Path, edits: int, **sandbox: Any) -> Iterator[Burst]:
    """The demo sandbox imported by ``sellsync sync`` (run twice: the import's echoes settle),
    its HubSpot then sending signed webhooks to a web process yet to start on a free port;
    ``edits`` linked records without a fax to edit, and the log the processes share."""
    port = free_port()
    target = f"http://127.0.0.1:{port}/hubspot/webhooks"
    with Sandbox(seed="demo", webhook_url=target, **sandbox) as sb:
        sb.hubspot.webhooks.configure(None)  # the import is not what these tests send
        db = f"sqlite:///{tmp_path}/e7.db"
        env = environment(sb, db, port)
        sync(env)
        sync(env)  # the import's echoes settle
        pairs = linked_without_fax(sb, db, edits)
        sb.hubspot.webhooks.configure(target, retry_delays=(0.2, 0.5, 1.0, 1.0, 2.0, 2.0))
        yield Burst(sb, db, env, port, tmp_path / "e7.log", pairs)


def test_e7_a_webhook_burst_while_the_worker_is_down_is_applied_once_after_it_starts(
    tmp_path: Path,
) -> None:
    edits = 40
    with burst(tmp_path, edits) as (sb, db, env, port, log, pairs):
        puts_before = {p: sell_puts(sb, p[0], p[1]) for p in pairs}
        with running(env, log, "serve", "--no-scheduler") as web:
            wait_healthy(port, web, log)
            faxes = {}
            for i, pair in enumerate(pairs):
                faxes[pair] = f"+1 555 6{i:03d}"
                sb.hubspot.update_contact(pair[2], {"fax": faxes[pair]})
            assert sb.hubspot.webhooks.wait_idle(60)
            assert all(d.ok for d in sb.hubspot.webhooks.deliveries)
            assert inbox_depth(db) >= edits  # stored, waiting for a worker
            time.sleep(1.5)
            assert not any(
                (sb.sell.get_record(p[0], p[1]) or {}).get("fax") for p in pairs
            )  # nothing applies them while no worker runs

            with running(env, log, "worker") as worker:
                deadline = time.monotonic() + 120
                while inbox_depth(db) > 0:
                    assert worker.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
                assert sb.hubspot.webhooks.wait_idle(30)
                time.sleep(3)  # any echo the writes cause has its tick
                assert inbox_depth(db) == 0

    assert "Traceback" not in log.read_text()
    for pair, fax in faxes.items():
        assert (sb.sell.get_record(pair[0], pair[1]) or {}).get("fax") == fax, pair
        assert sell_puts(sb, pair[0], pair[1]) - puts_before[pair] == 1, pair  # once each
    assert failed_attempts(tmp_path / "e7.db") == 0


def test_e7_a_burst_beyond_sells_rate_limit_is_paced_and_applied_whole(tmp_path: Path) -> None:
    edits = 36
    sell_per_s = 3.0
    with burst(tmp_path, edits, limits=SandboxLimits()) as (sb, db, env, port, log, pairs):
        sb.limits.sell_per_s = sell_per_s  # below the client's 10 a second: Sell answers 429s
        with running(env, log, "serve", "--no-scheduler") as web, running(env, log, "worker"):
            wait_healthy(port, web, log)
            faxes = {}
            started = time.monotonic()
            for i, pair in enumerate(pairs):  # all at once: far beyond 3 writes a second
                faxes[pair] = f"+1 555 5{i:03d}"
                sb.hubspot.update_contact(pair[2], {"fax": faxes[pair]})
            deadline = time.monotonic() + 180
            while not all(
                (sb.sell.get_record(p[0], p[1]) or {}).get("fax") == faxes[p] for p in pairs
            ):
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            took = time.monotonic() - started
            while inbox_depth(db) > 0:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)

    assert "Traceback" not in log.read_text()
    # the burst did outrun the limit: Sell refused writes, and the writes took as long as it allows
    assert sb.sell.count(method="PUT", status=429) > 0
    assert took >= (edits - sell_per_s) / sell_per_s
    # At a third of the pace the client keeps, a write can meet more refusals in a row than the
    # client waits out; its run then stops and the events are tried again after a backoff. They
    # all arrived above; none failed often enough to be listed in Health. (At Sell's real limit
    # the client's pace alone keeps every refusal away: the next test.)
    assert failed_attempts(tmp_path / "e7.db", at_least=3) == 0


def test_e7_a_burst_beyond_sells_real_limit_is_paced_by_the_client_before_sell_refuses(
    tmp_path: Path,
) -> None:
    edits = 80  # at once: eight seconds of Sell's 10 requests a second in writes alone
    with (
        burst(tmp_path, edits) as (sb, db, env, port, log, pairs),
        running(env, log, "serve", "--no-scheduler") as web,
        running(env, log, "worker"),
    ):
        wait_healthy(port, web, log)
        faxes = {}
        sell_before = sb.sell.count()
        for i, pair in enumerate(pairs):
            faxes[pair] = f"+1 555 4{i:03d}"
            sb.hubspot.update_contact(pair[2], {"fax": faxes[pair]})
        deadline = time.monotonic() + 180
        while inbox_depth(db) > 0 or not all(
            (sb.sell.get_record(p[0], p[1]) or {}).get("fax") == faxes[p] for p in pairs
        ):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        calls = sb.sell.calls_matching()[sell_before:]

    assert "Traceback" not in log.read_text()
    assert failed_attempts(tmp_path / "e7.db") == 0
    refused = [c for c in calls if c.status == 429]
    assert len(calls) > edits  # the burst's writes (and reads) are more than a second's allowance
    assert len(refused) <= len(calls) // 20, refused  # paced: Sell seldom has to refuse


def test_e7_a_worker_killed_mid_burst_of_webhooks_applies_every_change_after_restart(
    tmp_path: Path,
) -> None:
    edits, late = 50, 10  # the last ten edits are made while no worker runs
    with burst(tmp_path, edits) as (sb, db, env, port, log, pairs):
        puts_before = {p: sell_puts(sb, p[0], p[1]) for p in pairs}
        faxes = {pair: f"+1 555 3{i:03d}" for i, pair in enumerate(pairs)}
        with running(env, log, "serve", "--no-scheduler") as web:
            wait_healthy(port, web, log)
            with running(env, log, "worker") as first:
                for pair in pairs[: edits - late]:
                    sb.hubspot.update_contact(pair[2], {"fax": faxes[pair]})
                deadline = time.monotonic() + 120
                while sum(sell_puts(sb, p[0], p[1]) - puts_before[p] for p in pairs) < 5:
                    assert first.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.02)
                first.send_signal(signal.SIGKILL)  # mid-burst
                first.wait(timeout=30)
            written = {p: sell_puts(sb, p[0], p[1]) - puts_before[p] for p in pairs}
            assert 5 <= sum(written.values()) < edits - late, written
            for pair in pairs[edits - late :]:  # more changes arrive while no worker runs
                sb.hubspot.update_contact(pair[2], {"fax": faxes[pair]})
            assert sb.hubspot.webhooks.wait_idle(60)
            assert all(d.ok for d in sb.hubspot.webhooks.deliveries)

            with running(env, log, "worker") as second:
                deadline = time.monotonic() + CLAIM_SECONDS + 120  # the dead one's claim runs out
                while inbox_depth(db) > 0:
                    assert second.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)

    assert "Traceback" not in log.read_text()
    for pair, fax in faxes.items():
        assert (sb.sell.get_record(pair[0], pair[1]) or {}).get("fax") == fax, pair
        again = sell_puts(sb, pair[0], pair[1]) - puts_before[pair] - written[pair]
        if written[pair]:  # the dead worker wrote it, maybe without marking its event applied
            assert written[pair] == 1 and again <= 1, pair
        else:  # the restarted worker wrote it, once
            assert again == 1, pair
    assert failed_attempts(tmp_path / "e7.db") == 0

"""Change latency (SPEC §6): seconds from an edit in one CRM to the change in the other, p50 and
p95 over ``--edits`` edits each way, against the sandbox, with `sellsync serve` (web process and
scheduler in one) running as a subprocess; and the API calls an idle hour costs in each mode.

Modes:

* ``push`` — the sandbox HubSpot delivers signed webhooks to ``/hubspot/webhooks`` and the
  sandbox Sell serves its Firehose (read every ``SELL_FIREHOSE_SECONDS``, default 5); the short
  poll reads only the list's joins (``SYNC_POLL_SECONDS``, default 60);
* ``poll`` — no webhooks, no Firehose: the short poll reads both CRMs every ``--poll-seconds``;
* ``scheduled`` — idle cost only: neither, the reconcile every ``SYNC_INTERVAL_MINUTES`` (15).

HubSpot → Sell edits set ``fax`` on linked contacts whose Sell record has none (it is written to
Sell); Sell → HubSpot edits set ``title`` on linked Sell records (written to HubSpot). Edits are
made ``--spacing`` seconds apart while a watcher reads the other side every 50 ms, so the
figures include the sandbox's rate limits and each source's period. Idle calls are counted over
``--idle-seconds`` with nothing changing, scaled to an hour, plus the reconcile's own idle cost
(one idle ``sellsync sync`` × 4 an hour) in every mode.

    python bench/change_latency.py --edits 50
    python bench/change_latency.py --edits 50 --modes poll --poll-seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.server import Sandbox  # noqa: E402
from storage.db import open_store  # noqa: E402

RECONCILES_PER_HOUR = 4  # SYNC_INTERVAL_MINUTES=15


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def calls(sb: Sandbox) -> int:
    return sb.hubspot.count() + sb.sell.count()


@dataclass
class Result:
    mode: str
    hubspot_to_sell: list[float] = field(default_factory=list)
    sell_to_hubspot: list[float] = field(default_factory=list)
    missed: int = 0
    idle_calls_per_hour: float = 0.0


def percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def env_for(sb: Sandbox, db: str, mode: str, port: int, poll_seconds: int) -> dict[str, str]:
    env = {**os.environ, **sb.settings_env(db)}
    env.update(
        PORT=str(port),
        BIND_ADDRESS="127.0.0.1",
        SYNC_THRESHOLD="50",
        SYNC_BULK_LIMIT="100000",
        SYNC_INTERVAL_MINUTES="1440" if mode != "scheduled" else "15",
        LOG_LEVEL="WARNING",
    )
    if mode == "poll":
        env.update(SYNC_POLL_SECONDS=str(poll_seconds), SELL_FIREHOSE_SECONDS="0")
    elif mode == "scheduled":
        env.update(SYNC_POLL_SECONDS="0", SELL_FIREHOSE_SECONDS="0")
    for name in ("SLACK_APP_TOKEN",):
        env.pop(name, None)
    return env


def run_sync(env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sync", "--json"],
        env=env, capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sync failed: {proc.stderr[-2000:]}")
    return dict(json.loads(proc.stdout))


def linked_pairs(db: str) -> list[tuple[str, int, str]]:
    """(kind, Sell id, HubSpot id) of every active link."""
    store = open_store(db, migrate=False)
    try:
        return [
            (link.sell.kind, link.sell.id, link.hubspot_id)
            for batch in store.iter_links(batch_size=500)
            for link in batch
            if link.state == "active"
        ]
    finally:
        store.close()


def inbox_depth(db: str) -> int:
    store = open_store(db, migrate=False)
    try:
        return store.depth()
    finally:
        store.close()


def wait_quiet(sb: Sandbox, db: str, seconds: float = 3.0, timeout: float = 180.0) -> None:
    """Until no call reaches either CRM for ``seconds`` (echoes settled) and the inbox is empty;
    the join poll may still tick, so a few calls in the window are allowed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = calls(sb)
        time.sleep(seconds)
        if calls(sb) - before <= 2 and inbox_depth(db) == 0:
            return
    print("  (did not settle within the timeout)", file=sys.stderr)


def measure(
    edits: list[tuple[str, int, str]],
    make: Any,
    seen: Any,
    spacing: float,
    timeout: float,
) -> tuple[list[float], int]:
    """Make each edit ``spacing`` s apart; a watcher records when the other side shows it."""
    started: dict[int, float] = {}
    latencies: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for i, t0 in list(started.items()):
                if i not in latencies and seen(i, edits[i]):
                    latencies[i] = time.monotonic() - t0
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for i, edit in enumerate(edits):
        started[i] = time.monotonic()
        make(i, edit)
        time.sleep(spacing)
    deadline = time.monotonic() + timeout
    while len(latencies) < len(edits) and time.monotonic() < deadline:
        time.sleep(0.1)
    done.set()
    watcher.join()
    return list(latencies.values()), len(edits) - len(latencies)


def idle_sync_calls(sb: Sandbox, env: dict[str, str]) -> int:
    before = calls(sb)
    run_sync(env)
    return calls(sb) - before


def run_mode(mode: str, args: argparse.Namespace) -> Result:
    result = Result(mode)
    port = free_port()
    push = mode == "push"
    webhook_url = f"http://127.0.0.1:{port}/hubspot/webhooks" if push else None
    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed="demo", webhook_url=webhook_url) as sb:
        db = f"sqlite:///{tmp}/latency.db"
        env = env_for(sb, db, mode, port, args.poll_seconds)
        run_sync(env)
        run_sync(env)  # the first run's echoes settle
        reconcile_idle = idle_sync_calls(sb, env)
        with open(f"{tmp}/serve.log", "w") as log:  # the server keeps its own descriptor
            server = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "serve"],
                env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
        try:
            time.sleep(3)
            if server.poll() is not None:
                raise SystemExit(Path(f"{tmp}/serve.log").read_text()[-3000:])
            wait_quiet(sb, db)
            if mode != "scheduled":
                pairs = linked_pairs(db)
                no_fax = [
                    p for p in pairs if not (sb.sell.get_record(p[0], p[1]) or {}).get("fax")
                ][: args.edits]
                others = [p for p in pairs if p not in no_fax][: args.edits] or pairs[: args.edits]

                def hubspot_edit(i: int, pair: tuple[str, int, str]) -> None:
                    sb.hubspot.update_contact(pair[2], {"fax": f"+1 555 9{i:04d}"})

                def in_sell(i: int, pair: tuple[str, int, str]) -> bool:
                    record = sb.sell.get_record(pair[0], pair[1]) or {}
                    return record.get("fax") == f"+1 555 9{i:04d}"

                stamp = int(time.time())

                def sell_edit(i: int, pair: tuple[str, int, str]) -> None:
                    sb.sell.update_record(pair[0], pair[1], {"title": f"T{stamp}-{i}"})

                def in_hubspot(i: int, pair: tuple[str, int, str]) -> bool:
                    contact = sb.hubspot.get_contact(pair[2]) or {}
                    return contact.get("properties", {}).get("jobtitle") == f"T{stamp}-{i}"

                timeout = max(60.0, 4.0 * args.poll_seconds)
                result.hubspot_to_sell, missed_h = measure(
                    no_fax, hubspot_edit, in_sell, args.spacing, timeout
                )
                wait_quiet(sb, db)
                result.sell_to_hubspot, missed_s = measure(
                    others, sell_edit, in_hubspot, args.spacing, timeout
                )
                result.missed = missed_h + missed_s
                wait_quiet(sb, db)
                before = calls(sb)
                time.sleep(args.idle_seconds)
                live = (calls(sb) - before) * 3600 / args.idle_seconds
            else:
                live = 0.0
            result.idle_calls_per_hour = live + reconcile_idle * RECONCILES_PER_HOUR
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--modes", default="push,poll,scheduled")
    ap.add_argument("--poll-seconds", type=int, default=10)
    ap.add_argument("--spacing", type=float, default=0.5)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    args = ap.parse_args()
    results = [run_mode(mode.strip(), args) for mode in args.modes.split(",") if mode.strip()]
    print(f"{'mode':<10} {'HubSpot→Sell p50/p95 (s)':>26} {'Sell→HubSpot p50/p95 (s)':>26} "
          f"{'missed':>7} {'idle calls/h':>13}")  # fmt: skip
    for r in results:
        hp50, hp95 = percentiles(r.hubspot_to_sell)
        sp50, sp95 = percentiles(r.sell_to_hubspot)
        lat_h = (
            f"{hp50:.2f} / {hp95:.2f} (n={len(r.hubspot_to_sell)})" if r.hubspot_to_sell else "—"
        )
        lat_s = (
            f"{sp50:.2f} / {sp95:.2f} (n={len(r.sell_to_hubspot)})" if r.sell_to_hubspot else "—"
        )
        print(f"{r.mode:<10} {lat_h:>26} {lat_s:>26} {r.missed:>7} {r.idle_calls_per_hour:>13,.0f}")


if __name__ == "__main__":
    main()

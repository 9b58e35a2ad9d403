"""HubSpot webhook intake: how fast ``POST /hubspot/webhooks`` answers a full batch (100 events)
with HubSpot's concurrency (10 requests in flight) while the worker keeps the database busy,
beside a bare Starlette app under uvicorn that reads the body and answers 200 at once, measured
in the same run under the same load. HubSpot counts an answer slower than 5 s as failed.

Every part runs in its own process: the sellsync web app (``bot.web.build_web`` with
``HUBSPOT_CLIENT_SECRET``, as ``sellsync serve`` builds it, uvicorn), the bare app, and a busy
worker on the same database: it claims what the web app stored and marks it applied, and with
``--hold-ms`` also holds a write transaction that long in every 100 ms (a sync's writes; on
SQLite that is the one write lock). This process only sends: ``--clients`` threads post signed
batches of fresh events and time each answer; the two apps take turns in ``--rounds`` rounds.

    python bench/webhook_intake.py --batches 400 --clients 10 --hold-ms 50
    python bench/webhook_intake.py --batches 400 --clients 10 --hold-ms 50 \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-hubspot-client-secret"
PATH = "/hubspot/webhooks"
SELLSYNC, BASELINE = "sellsync", "bare Starlette"


def _wait_for_eof() -> None:
    sys.stdin.read()


def serve_sellsync(port: int) -> None:
    from bot.serve import BackgroundServer
    from bot.web import build_web, settle_heap
    from storage.db import open_store
    from sync.engine import Engine, EngineConfig
    from sync.service import SyncService
    from tests.fakes import FakeHubSpot, FakeSell, TickClock

    store = open_store(os.environ["DATABASE_URL"])
    clock = TickClock()
    engine = Engine(FakeHubSpot(clock=clock), FakeSell(clock=clock), store, clock, EngineConfig())
    web = build_web(
        None,  # type: ignore[arg-type]  # webhooks only: no Slack route
        SyncService(engine),
        slack_events=False,
        hubspot_client_secret=SECRET,
    )
    settle_heap()
    with BackgroundServer(web, port=port):
        print("ready", flush=True)
        _wait_for_eof()
    store.close()


def serve_baseline(port: int) -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bot.serve import BackgroundServer

    async def hook(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    with BackgroundServer(Starlette(routes=[Route(PATH, hook, methods=["POST"])]), port=port):
        print("ready", flush=True)
        _wait_for_eof()


def busy_worker(hold_ms: int) -> None:
    """Claims stored events and marks them applied; holds a write transaction ``hold_ms`` in
    every 100 ms. Prints how many it applied when our stdin closes."""
    import sqlalchemy as sa

    from storage.db import open_store

    stop = threading.Event()
    threading.Thread(target=lambda: (_wait_for_eof(), stop.set()), daemon=True).start()
    store = open_store(os.environ["DATABASE_URL"])
    applied = 0
    print("ready", flush=True)
    next_hold = time.monotonic()
    while not stop.is_set():
        until = datetime.now(UTC) + timedelta(seconds=60)
        claimed = store.claim_due(100, owner="bench-worker", until=until)
        if claimed:
            applied += store.mark_applied([c.id for c in claimed], owner="bench-worker")
        if hold_ms and time.monotonic() >= next_hold:
            with store.engine.begin() as connection:  # BEGIN IMMEDIATE on SQLite
                connection.execute(
                    sa.text("UPDATE webhook_events SET attempts = attempts WHERE id = 0")
                )
                time.sleep(hold_ms / 1000)
            next_hold = time.monotonic() + 0.1
        elif not claimed:
            time.sleep(0.005)
    print(json.dumps({"applied": applied}), flush=True)
    store.close()


# --------------------------------------------------------------------------- the sender


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


def start(role: str, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--role", role, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"{role} did not start")
    return proc


def stop(proc: subprocess.Popen[str]) -> str:
    out, _ = proc.communicate("", timeout=60)
    return out


_event_ids = itertools.count(1)
_lock = threading.Lock()


def batch() -> bytes:
    now = int(time.time() * 1000)
    with _lock:
        ids = [next(_event_ids) for _ in range(100)]
    events = [
        {
            "eventId": i,
            "subscriptionId": 7,
            "portalId": 62515,
            "appId": 888,
            "occurredAt": now,
            "subscriptionType": "contact.propertyChange",
            "attemptNumber": 0,
            "objectId": 51_000_000_000 + i,
            "changeSource": "CRM",
            "propertyName": "email",
            "propertyValue": f"person{i}@example.com",
        }
        for i in ids
    ]
    return json.dumps(events).encode()


def post(client: httpx.Client, url: str) -> tuple[int, float]:
    body = batch()
    ts = str(int(time.time() * 1000))
    digest = hmac.new(SECRET.encode(), b"POST" + url.encode() + body + ts.encode(), hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-HubSpot-Signature-v3": base64.b64encode(digest.digest()).decode(),
        "X-HubSpot-Request-Timestamp": ts,
    }
    started = time.perf_counter()
    try:
        status = client.post(url, content=body, headers=headers).status_code
    except httpx.HTTPError:
        status = 0
    return status, time.perf_counter() - started


def percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    q = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else ordered
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1) if len(ordered) > 1 else 0.0,
        "p99_ms": round(q[98] * 1000, 1) if len(ordered) > 1 else 0.0,
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=["sellsync", "baseline", "worker"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--batches", type=int, default=400, help="per app")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--hold-ms", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.role == "sellsync":
        return serve_sellsync(args.port)
    if args.role == "baseline":
        return serve_baseline(args.port)
    if args.role == "worker":
        return busy_worker(args.hold_ms)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        if args.database_url:
            from storage.db import open_store

            with open_store(url) as store, store.engine.begin() as connection:
                connection.exec_driver_sql("DELETE FROM webhook_events")  # a fresh inbox
        env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
        ports = {SELLSYNC: free_port(), BASELINE: free_port()}
        web = start("sellsync", "--port", str(ports[SELLSYNC]), env=env)
        bare = start("baseline", "--port", str(ports[BASELINE]), env=env)
        worker = start("worker", "--hold-ms", str(args.hold_ms), env=env)
        times: dict[str, list[float]] = {SELLSYNC: [], BASELINE: []}
        statuses: dict[str, Counter[int]] = {SELLSYNC: Counter(), BASELINE: Counter()}
        per_round = max(1, args.batches // args.rounds)
        started = time.monotonic()
        try:
            with (
                httpx.Client(timeout=30, limits=httpx.Limits(max_connections=64)) as client,
                ThreadPoolExecutor(args.clients) as pool,
            ):
                for _ in range(args.rounds):
                    for name in (SELLSYNC, BASELINE):
                        target = f"http://127.0.0.1:{ports[name]}{PATH}"
                        sends = [pool.submit(post, client, target) for _ in range(per_round)]
                        for status, seconds in (f.result() for f in sends):
                            times[name].append(seconds)
                            statuses[name][status] += 1
        finally:
            stop(web)
            stop(bare)
            worker_out = stop(worker).strip().splitlines()
        wall = time.monotonic() - started
    applied = json.loads(worker_out[-1])["applied"] if worker_out else None
    report: dict[str, Any] = {
        "database": "postgresql" if args.database_url else "sqlite",
        "batches_per_app": per_round * args.rounds,
        "events_per_batch": 100,
        "clients": args.clients,
        "hold_ms": args.hold_ms,
        "applied_by_worker_meanwhile": applied,
        "wall_s": round(wall, 1),
    }
    for name in (SELLSYNC, BASELINE):
        report[name] = {**percentiles(times[name]), "statuses": dict(statuses[name])}
        report[name]["over_5s"] = sum(1 for t in times[name] if t > 5.0)
    base = report[BASELINE]
    report["ratio_p50"] = round(report[SELLSYNC]["p50_ms"] / max(base["p50_ms"], 0.1), 2)
    report["ratio_p99"] = round(report[SELLSYNC]["p99_ms"] / max(base["p99_ms"], 0.1), 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

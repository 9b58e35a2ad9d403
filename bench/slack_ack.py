"""Slack responsiveness (SPEC §6): ack latency of signed requests under concurrency, while a
sync runs.

The real app is served over HTTP (uvicorn, the same Starlette app as ``sellsync serve``) against
the sandbox HubSpot, Sell and Slack servers seeded with demo data. A sync of the demo list runs
in the background (rate-limited like the real APIs); meanwhile ``--clients`` threads send signed
``/sellsync`` commands (status, help, threshold, push, conflicts) and time each HTTP response —
the ack Slack waits for (it gives up after 3 s). Prints the percentiles and the share under 3 s.

    python bench/slack_ack.py --requests 400 --clients 8
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import authorize_with, create_app
from bot.demo import sandbox_settings
from bot.settings import AppSettings
from bot.web import BackgroundServer, build_web
from bot.wiring import build_services

COMMANDS = ["status", "help", "threshold", "push lead:3000001", "conflicts", "status lead:3000002"]


def start_sandbox() -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The sandbox in its own process, as in a deployment (the app does not share its GIL)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--seed", "demo"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    env: dict[str, str] = {}
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("#"):
            if "response_url receiver" in line:
                env["WEBHOOK_ROOT"] = line.split(": ", 1)[1].split("/webhook/")[0]
                break
            continue
        key, sep, value = line.strip().partition("=")
        if sep:
            env[key] = value
    return proc, env


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument(
        "--sync-in", choices=["worker", "process"], default="worker",
        help="worker: the sync runs in a separate process (Procfile web + worker); "
        "process: in the web process (sellsync serve with its scheduler)",
    )  # fmt: skip
    args = ap.parse_args()
    secret = secrets.token_hex(16)
    sandbox, env = start_sandbox()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = f"sqlite:///{tmp}/ack.db"
            settings = sandbox_settings(
                env,
                db,
                slack_bot_token=SecretStr(env["SLACK_BOT_TOKEN"]),
                slack_signing_secret=SecretStr(secret),
                slack_manager_ids="UMGR00001",
                slack_summary_channel="C0SALESOPS",
            )
            results = measure(args, settings, env, secret, db)
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=30)
    report(args, results)


def measure(
    args: argparse.Namespace, settings: AppSettings, env: dict[str, str], secret: str, db: str
) -> list[tuple[float, int, bool, str]]:
    services = build_services(settings)
    token = env["SLACK_BOT_TOKEN"]

    app = create_app(settings, services.service, authorize=authorize_with(token))
    verifier = SignatureVerifier(secret)
    sync_done = threading.Event()
    worker: subprocess.Popen[str] | None = None
    sync_thread: threading.Thread | None = None
    if args.sync_in == "worker":
        worker_env = {**os.environ, **env, "DATABASE_URL": db, "SYNC_THRESHOLD": "50"}
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sync", "--json"], env=worker_env,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
    else:

        def background_sync() -> None:
            try:
                services.service.engine.run(trigger="bench")
            finally:
                sync_done.set()

        sync_thread = threading.Thread(target=background_sync)
        sync_thread.start()

    def running() -> bool:
        return worker.poll() is None if worker is not None else not sync_done.is_set()

    with BackgroundServer(build_web(app, services.service)) as server:
        client = httpx.Client(timeout=10)
        time.sleep(1.0)  # the sync is under way

        def one(i: int) -> tuple[float, int, bool, str]:
            text = COMMANDS[i % len(COMMANDS)]
            body = urlencode(
                {
                    "command": "/sellsync", "text": text, "user_id": "UREP00001",
                    "channel_id": "C0SALESOPS", "team_id": "T1", "trigger_id": f"t{i}",
                    "response_url": f"{env['WEBHOOK_ROOT']}/webhook/bench-{i}",
                }
            )  # fmt: skip
            ts = str(int(time.time()))
            headers = {
                "content-type": "application/x-www-form-urlencoded",
                "x-slack-request-timestamp": ts,
                "x-slack-signature": verifier.generate_signature(timestamp=ts, body=body),
            }
            t0 = time.perf_counter()
            response = client.post(server.url + "/slack/events", content=body, headers=headers)
            return time.perf_counter() - t0, response.status_code, running(), text

        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            results = list(pool.map(one, range(args.requests)))
        if worker is not None:
            out, _ = worker.communicate(timeout=600)
            print(json.dumps({"background_sync": json.loads(out)["counts"]}))
        if sync_thread is not None:
            sync_thread.join()
        time.sleep(2.0)  # let the lazy listeners finish before the server stops
        client.close()
    services.close()
    return results


def report(args: argparse.Namespace, results: list[tuple[float, int, bool, str]]) -> None:
    latencies = sorted(r[0] * 1000 for r in results)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))], 1)

    print(
        json.dumps(
            {
                "requests": len(results),
                "clients": args.clients,
                "sync_in": args.sync_in,
                "sent_while_sync_ran": sum(1 for r in results if r[2]),
                "status_codes": dict(Counter(r[1] for r in results)),
                "non_200": sorted({r[3] for r in results if r[1] != 200}),
                "ack_ms": {
                    "p50": pct(50),
                    "p90": pct(90),
                    "p99": pct(99),
                    "max": round(latencies[-1], 1),
                    "mean": round(statistics.fmean(latencies), 1),
                },
                "under_3s": sum(1 for x in latencies if x < 3000) / len(latencies),
            }
        )
    )


if __name__ == "__main__":
    main()

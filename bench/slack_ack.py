"""Slack responsiveness (SPEC §6): ack latency of signed requests under concurrency while a sync
runs, beside a bare Bolt app measured in the same run under the same load.

Every part runs in its own process, as in a deployment: the sandbox HubSpot, Sell and Slack
servers (seeded with the demo data: a 300-member list), the sellsync web app (uvicorn, the same
Starlette app as ``sellsync serve``), with ``--baseline`` a bare Bolt app (Bolt's own Starlette
adapter, ``slack_bolt.adapter.starlette.SlackRequestHandler``, under uvicorn, a ``/sellsync``
listener that acks at once), and the import of the list (``sellsync sync`` in a worker process
sharing the web app's database, or with ``--sync-in process`` a thread of the web process).

Two loads: ``--load paced`` (the default) paces the import by the real rate limits, so it mostly
waits; ``--load unpaced`` runs it against sandbox CRMs that enforce no limit, with the clients'
pacing lifted too, so the CRMs answer at once and the import keeps the CPU busy (on a 2-core
machine, the ack competes with the import and the sandbox for it). An unpaced import of the 300
members takes a few seconds, less than a measurement: the worker process then empties the
database and imports again, until the measurement ends (each import after the first finds the
Sell records the one before created, so it merges where the first created; on PostgreSQL the
emptied tables are vacuumed, as autovacuum would keep them in a real database).
This process only sends: ``--clients`` threads post signed ``/sellsync`` commands and time each
HTTP response — the ack Slack waits for (it gives up after 3 s). The two apps take turns in
``--rounds`` rounds, so that both are measured across the same phases of the import.

    python bench/slack_ack.py --requests 1200 --clients 10 --baseline --commands status
    python bench/slack_ack.py --requests 1200 --clients 10 --baseline --commands status \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/slack_ack.py --requests 400 --clients 10 --baseline --commands status \\
        --load unpaced
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
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COMMANDS = ["status", "help", "threshold", "push lead:3000001", "conflicts", "status lead:3000002"]
SELLSYNC, BASELINE = "sellsync", "bare Bolt"

#: ``--load unpaced``: client-side rate limits far above anything the import reaches.
UNPACED_ENV = {
    "HUBSPOT_REQUESTS_PER_10S": "1000000",
    "HUBSPOT_SEARCH_PER_S": "100000",
    "SELL_REQUESTS_PER_S": "100000",
}

# --------------------------------------------------------------------------- the servers


def serve_sellsync(port: int) -> None:
    """The sellsync web process: the app as ``sellsync serve --no-scheduler`` builds it."""
    from pydantic import SecretStr

    from bot.app import authorize_with, create_app
    from bot.serve import BackgroundServer
    from bot.web import build_web, settle_heap
    from bot.wiring import build_services
    from demo.walkthrough import sandbox_settings

    env = os.environ
    settings = sandbox_settings(
        env,
        env["DATABASE_URL"],
        slack_bot_token=SecretStr(env["SLACK_BOT_TOKEN"]),
        slack_signing_secret=SecretStr(env["SLACK_SIGNING_SECRET"]),
        slack_manager_ids="UMGR00001",
        slack_summary_channel="C0SALESOPS",
    )
    services = build_services(settings)
    app = create_app(settings, services.service, authorize=authorize_with(env["SLACK_BOT_TOKEN"]))
    phases = _time_phases(app, services.service) if env.get("BENCH_PHASES") else None
    web: Any = build_web(app, services.service)
    if phases is not None:
        web = _timed_http(web, phases["http"])
    settle_heap()  # as sellsync serve does just before it answers
    with BackgroundServer(web, port=port) as server:
        if env.get("BENCH_SYNC_DONE"):  # --sync-in process: the import runs in this process

            def background_sync() -> None:
                try:
                    services.service.engine.run(trigger="bench")
                finally:
                    Path(env["BENCH_SYNC_DONE"]).touch()

            threading.Thread(target=background_sync, daemon=True).start()
        _serve_until_stdin_closes(server.url)
    services.close()
    if phases is not None:
        report = {name: percentiles(times) for name, times in phases.items() if times}
        Path(env["BENCH_PHASES"]).write_text(json.dumps(report))


def _time_phases(app: Any, service: Any) -> dict[str, list[float]]:
    """``--phases``: the seconds each request spends in the web process, in its ASGI app (http),
    in ``App.dispatch``, taking its replay marker (admit) and reading the status board."""
    phases: dict[str, list[float]] = {"http": [], "dispatch": [], "admit": [], "status": []}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[name].append(time.perf_counter() - t0)

        return run

    app.replays.admit = timed("admit", app.replays.admit)
    service.status = timed("status", service.status)
    app.dispatch = timed("dispatch", app.dispatch)  # before build_web takes it
    return phases


def _timed_http(inner: Any, times: list[float]) -> Any:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        t0 = time.perf_counter()
        await inner(scope, receive, send)
        if scope.get("type") == "http":
            times.append(time.perf_counter() - t0)

    return asgi


def serve_baseline(port: int) -> None:
    """A bare Bolt app: Bolt's Starlette adapter under uvicorn, acking at once."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.starlette import SlackRequestHandler
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from bot.app import authorize_with
    from bot.serve import BackgroundServer

    env = os.environ
    app = App(
        signing_secret=env["SLACK_SIGNING_SECRET"],
        authorize=authorize_with(env["SLACK_BOT_TOKEN"]),
        token_verification_enabled=False,
    )

    @app.command("/sellsync")
    def sellsync(ack: Ack) -> None:
        ack()

    handler = SlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    starlette_app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    with BackgroundServer(starlette_app, port=port) as server:
        _serve_until_stdin_closes(server.url)


def import_loop() -> None:
    """``--load unpaced``'s worker process: the 300-member import, again and again on an emptied
    database, until the bench closes our stdin; prints each import's counts and seconds."""
    from sqlalchemy import delete

    from bot.settings import load_settings
    from bot.wiring import build_services
    from storage.connection import make_engine
    from storage.tables import metadata
    from sync.service import CLI_ACTOR

    stop = threading.Event()

    def wait_for_eof() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=wait_for_eof, daemon=True).start()
    settings = load_settings()
    services = build_services(settings)  # once, as a worker does: its runs share them
    engine = make_engine(settings.database_url)
    imports: list[dict[str, object]] = []
    try:
        while not stop.is_set():
            t0 = time.perf_counter()
            with engine.begin() as connection:  # the database as before the first import
                for table in reversed(metadata.sorted_tables):
                    connection.execute(delete(table))
            if engine.dialect.name == "postgresql":
                # Deleted rows stay in PostgreSQL's tables until vacuumed: a table emptied and
                # filled every second would otherwise grow, and every count on it slow down,
                # which no real database sees.
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.exec_driver_sql("VACUUM " + ", ".join(x.name for x in metadata.sorted_tables))
            t1 = time.perf_counter()
            report = services.service.run(actor=CLI_ACTOR, trigger="bench")
            imports.append(
                {
                    "status": report.status,
                    "counts": report.to_dict()["counts"],
                    "seconds": round(time.perf_counter() - t1, 2),
                    "emptying_ms": round((t1 - t0) * 1000, 1),
                }
            )
    finally:
        services.close()
        engine.dispose()
    print(json.dumps(imports), flush=True)


def _serve_until_stdin_closes(url: str) -> None:
    print(f"URL {url}", flush=True)
    sys.stdin.read()  # the bench closes our stdin to stop us


@contextmanager
def server_process(kind: str, env: dict[str, str]) -> Iterator[str]:
    """One of the two apps in a process of its own; yields its base URL."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind], env=env, cwd=ROOT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        if not line.startswith("URL "):
            raise RuntimeError(f"the {kind} server did not start")
        yield line.split()[1]
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_sandbox(*, limits: bool = True) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """The sandbox in its own process, as in a deployment (the app does not share its GIL);
    ``limits=False``: no rate limit enforced, every call answered at once."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--seed", "demo", *([] if limits else ["--no-limits"])],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
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


@contextmanager
def database(url: str | None, tmp: str) -> Iterator[str]:
    """A fresh database: a SQLite file, or a schema of its own in the PostgreSQL ``url``."""
    if url is None:
        yield f"sqlite:///{tmp}/ack.db"
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from storage.db import normalize_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(normalize_url(url)).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# --------------------------------------------------------------------------- the load


Result = tuple[str, float, int, bool, str]  # app, seconds, HTTP status, sync running, command


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1200, help="per app")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=6, help="the apps take turns this many times")
    ap.add_argument(
        "--baseline", action="store_true", help="measure a bare Bolt app too, in the same run"
    )
    ap.add_argument(
        "--commands", choices=["mix", "status"], default="mix",
        help="mix: status, help, threshold, push, conflicts; status: /sellsync status only",
    )  # fmt: skip
    ap.add_argument(
        "--sync-in", choices=["worker", "process"], default="worker",
        help="worker: the sync runs in a separate process (Procfile web + worker); "
        "process: in the web process (sellsync serve with its scheduler)",
    )  # fmt: skip
    ap.add_argument(
        "--load", choices=["paced", "unpaced"], default="paced",
        help="paced: the import paced by the real rate limits; unpaced: CRMs that answer at "
        "once and no client pacing, so the import loads the CPU",
    )  # fmt: skip
    ap.add_argument("--database-url", help="PostgreSQL to use (default: a SQLite file)")
    ap.add_argument(
        "--phases", action="store_true",
        help="also time the phases of each request inside the sellsync web process",
    )  # fmt: skip
    ap.add_argument(
        "--serve", choices=["sellsync", "baseline", "import-loop"], help=argparse.SUPPRESS
    )
    args = ap.parse_args()
    if args.serve:
        if args.serve == "import-loop":
            import_loop()
        else:
            {"sellsync": serve_sellsync, "baseline": serve_baseline}[args.serve](0)
        return
    secret = secrets.token_hex(16)
    sandbox, sandbox_env = start_sandbox(limits=args.load == "paced")
    try:
        with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as db:
            from storage.db import upgrade

            upgrade(db)
            env = {
                **os.environ,
                **sandbox_env,
                "PYTHONPATH": str(ROOT),
                "DATABASE_URL": db,
                "SLACK_SIGNING_SECRET": secret,
                "SYNC_THRESHOLD": "50",
                "SYNC_BULK_LIMIT": "1000",  # the whole import, with no approval to wait for
                **(UNPACED_ENV if args.load == "unpaced" else {}),
            }
            phases_file = Path(tmp) / "phases.json"
            if args.phases:
                env["BENCH_PHASES"] = str(phases_file)
            results, sync_counts = measure(args, env, secret, tmp)
            phases = json.loads(phases_file.read_text()) if phases_file.exists() else None
    finally:
        sandbox.send_signal(signal.SIGINT)
        sandbox.wait(timeout=30)
    report(args, results, sync_counts, phases)


def measure(
    args: argparse.Namespace, env: dict[str, str], secret: str, tmp: str
) -> tuple[list[Result], dict[str, object] | None]:
    verifier = SignatureVerifier(secret)
    commands = COMMANDS if args.commands == "mix" else ["status"]
    done_flag = Path(tmp) / "sync-done"
    web_env = dict(env, BENCH_SYNC_DONE=str(done_flag)) if args.sync_in == "process" else env
    with server_process("sellsync", web_env) as sellsync_url, (
        server_process("baseline", env) if args.baseline else _none()
    ) as baseline_url:  # fmt: skip
        targets = {SELLSYNC: sellsync_url} | ({BASELINE: baseline_url} if baseline_url else {})
        client = httpx.Client(timeout=10, limits=httpx.Limits(max_connections=args.clients * 2))

        def one(app: str, i: int) -> Result:
            text = commands[i % len(commands)]
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
                "x-slack-signature": verifier.generate_signature(timestamp=ts, body=body) or "",
            }
            t0 = time.perf_counter()
            response = client.post(targets[app] + "/slack/events", content=body, headers=headers)
            return app, time.perf_counter() - t0, response.status_code, running(), text

        worker: subprocess.Popen[str] | None = None
        looping = args.load == "unpaced" and args.sync_in == "worker"
        if looping:
            worker = subprocess.Popen(
                [sys.executable, __file__, "--serve", "import-loop"], env=env, cwd=ROOT,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
        elif args.sync_in == "worker":
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "sync", "--json"], env=env, cwd=ROOT,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip

        def running() -> bool:
            return worker.poll() is None if worker is not None else not done_flag.exists()

        with ThreadPoolExecutor(max_workers=args.clients) as pool:
            for app in targets:  # warm up (connections, first-request imports), not measured
                list(pool.map(lambda i, app=app: one(app, i), range(args.clients * 2)))
            time.sleep(1.0)  # the import is under way
            results: list[Result] = []
            per_round = max(1, args.requests // args.rounds)
            n = 0
            for _ in range(args.rounds):
                for app in targets:
                    batch = range(n, n + per_round)
                    results += pool.map(lambda i, app=app: one(app, i), batch)
                n += per_round
        sync_counts: dict[str, object] | None = None
        if looping and worker is not None:
            out, _ = worker.communicate(input="", timeout=600)  # stops after the current import
            imports = json.loads(out)
            sync_counts = {
                "imports": len(imports),
                "seconds": [i["seconds"] for i in imports],
                "statuses": dict(Counter(str(i["status"]) for i in imports)),
                "emptying_ms": [i["emptying_ms"] for i in imports],
                "first": imports[0]["counts"] if imports else None,
                "last": imports[-1]["counts"] if imports else None,
            }
        elif worker is not None:
            out, _ = worker.communicate(timeout=600)
            sync_counts = json.loads(out)["counts"]
        else:
            while not done_flag.exists():
                time.sleep(0.2)
        time.sleep(2.0)  # let the lazy listeners finish before the server stops
        client.close()
    return results, sync_counts


@contextmanager
def _none() -> Iterator[None]:
    yield None


def percentiles(latencies_s: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in latencies_s)

    def pct(p: float) -> float:
        return round(ms[min(len(ms) - 1, int(p / 100 * len(ms)))], 1)

    return {
        "p50": pct(50),
        "p95": pct(95),
        "p99": pct(99),
        "max": round(ms[-1], 1),
        "mean": round(statistics.fmean(ms), 1),
    }


def report(
    args: argparse.Namespace,
    results: list[Result],
    sync_counts: dict[str, object] | None,
    phases: dict[str, object] | None = None,
) -> None:
    figures: dict[str, object] = {
        "requests_per_app": len(results) // (2 if args.baseline else 1),
        "clients": args.clients,
        "commands": args.commands,
        "sync_in": args.sync_in,
        "load": args.load,
        "database": "postgresql" if args.database_url else "sqlite",
        "background_sync": sync_counts,
    }
    if phases is not None:
        figures["sellsync_phases_ms"] = phases
    by_app: dict[str, dict[str, float]] = {}
    for app in (SELLSYNC, BASELINE):
        mine = [r for r in results if r[0] == app]
        if not mine:
            continue
        by_app[app] = percentiles([r[1] for r in mine])
        figures[app] = {
            "ack_ms": by_app[app],
            "sent_while_sync_ran": sum(1 for r in mine if r[3]),
            "status_codes": dict(Counter(r[2] for r in mine)),
            "non_200": sorted({r[4] for r in mine if r[2] != 200}),
            "under_3s": sum(1 for r in mine if r[1] < 3) / len(mine),
        }
        if args.commands == "mix" and app == SELLSYNC:
            figures[app]["p99_ms_by_command"] = {  # type: ignore[index]
                text: percentiles([r[1] for r in mine if r[4] == text])["p99"] for text in COMMANDS
            }
    if BASELINE in by_app:
        figures["sellsync_over_bare_bolt"] = {
            key: round(by_app[SELLSYNC][key] / by_app[BASELINE][key], 2)
            for key in ("p50", "p95", "p99", "max")
        }
    print(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()

"""Changes in seconds, as deployed: a web process (``sellsync serve --no-scheduler``) takes the
sandbox HubSpot's signed webhooks and a separate ``sellsync worker`` applies them, follows Sell's
Firehose and runs the short poll. Seconds from an edit in one CRM to the change in the other
(p50, p95) over ``--edits`` edits each way, and the API calls an idle hour costs, per CRM and per
endpoint, checked against the targets:

* push (webhooks + Firehose): p50 ≤ 5 s and p95 ≤ 15 s each way; idle HubSpot calls an hour =
  the join-order poll (3600 / ``SYNC_POLL_SECONDS``) + the reconcile's, nothing more;
* poll only (no client secret, no Firehose): p50 ≤ ``SYNC_POLL_SECONDS`` each way;
* scheduled only (``SYNC_POLL_SECONDS=0``, no Firehose): the reconcile's calls alone.

Edits are made as a user makes them (in the sandbox's store, not through the API, so they cost no
call): HubSpot → Sell sets ``fax`` on linked contacts (mapped, written to Sell), Sell → HubSpot
sets ``title`` on linked Sell records (written to HubSpot as ``jobtitle``), ``--spacing`` seconds
apart, while a watcher reads the other side's store every 50 ms. Idle calls are counted over
``--idle-seconds`` once the edits' echoes are settled, scaled to an hour; the reconcile (every
``--interval-minutes``) is kept out of that window and its cost added from one idle
``sellsync sync`` measured beside it.

    python bench/latency.py --edits 50 --poll-seconds 10
    python bench/latency.py --edits 50 --modes push --poll-seconds 10 --json
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
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sandbox.server import Sandbox  # noqa: E402
from storage.db import open_store  # noqa: E402

Pair = tuple[str, int, str]  # (Sell kind, Sell id, HubSpot id) of an active link

PUSH_P50, PUSH_P95 = 5.0, 15.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def counts(sb: Sandbox) -> dict[str, int]:
    return {"hubspot": sb.hubspot.count(), "sell": sb.sell.count()}


def by_endpoint(sb: Sandbox, since: dict[str, int]) -> dict[str, dict[str, int]]:
    """Calls each CRM answered after ``since`` (as :func:`counts` gave it), by endpoint."""
    out: dict[str, dict[str, int]] = {}
    for name, state in (("hubspot", sb.hubspot), ("sell", sb.sell)):
        with state.lock:
            calls = list(state.calls)[since[name] :]
        out[name] = dict(Counter(f"{c.method} {c.endpoint or c.path}" for c in calls))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Way:
    latencies: list[float] = field(default_factory=list)
    missed: int = 0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p95(self) -> float:
        return percentile(self.latencies, 0.95)

    def text(self) -> str:
        if not self.latencies and not self.missed:
            return "—"
        missed = f", {self.missed} missed" if self.missed else ""
        return f"{self.p50:.2f} / {self.p95:.2f} s (n={len(self.latencies)}{missed})"


@dataclass
class ModeResult:
    mode: str
    poll_seconds: int
    hubspot_to_sell: Way = field(default_factory=Way)
    sell_to_hubspot: Way = field(default_factory=Way)
    idle_window: dict[str, dict[str, int]] = field(default_factory=dict)
    idle_seconds: float = 0.0
    reconcile_calls: dict[str, int] = field(default_factory=dict)
    reconciles_per_hour: float = 0.0
    verdicts: list[str] = field(default_factory=list)

    def live_per_hour(self, crm: str) -> float:
        total = sum(self.idle_window.get(crm, {}).values())
        return total * 3600 / self.idle_seconds if self.idle_seconds else 0.0

    def per_hour(self, crm: str) -> float:
        return self.live_per_hour(crm) + self.reconcile_calls.get(crm, 0) * self.reconciles_per_hour


def base_env(sb: Sandbox, db: str, port: int) -> dict[str, str]:
    env = {**os.environ, **sb.settings_env(db)}
    env.pop("SLACK_APP_TOKEN", None)  # HTTP mode: the web process serves /slack/events
    env.update(
        PORT=str(port),
        BIND_ADDRESS="127.0.0.1",
        SYNC_THRESHOLD="50",
        SYNC_BULK_LIMIT="100000",
        LOG_LEVEL="WARNING",
        # the reconcile is kept out of the measured windows; its cost is added from one idle run
        SYNC_INTERVAL_MINUTES="1440",
    )
    return env


def mode_env(env: dict[str, str], mode: str, poll_seconds: int) -> dict[str, str]:
    env = dict(env)
    if mode == "push":
        env.update(SYNC_POLL_SECONDS=str(poll_seconds), SELL_FIREHOSE_SECONDS="5")
    elif mode == "poll":
        env.update(SYNC_POLL_SECONDS=str(poll_seconds), SELL_FIREHOSE_SECONDS="0")
        env.pop("HUBSPOT_CLIENT_SECRET", None)
        env.pop("PUBLIC_URL", None)
    else:
        env.update(SYNC_POLL_SECONDS="0", SELL_FIREHOSE_SECONDS="0")
        env.pop("HUBSPOT_CLIENT_SECRET", None)
        env.pop("PUBLIC_URL", None)
    return env


def run_sync(env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "sync", "--json"],
        env=env, capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    if proc.returncode not in (0, 1):
        raise SystemExit(f"sellsync sync failed ({proc.returncode}): {proc.stderr[-2000:]}")


@contextmanager
def processes(env: dict[str, str], tmp: str, port: int, web: bool) -> Iterator[None]:
    """``sellsync serve --no-scheduler`` (when ``web``) and ``sellsync worker``, stopped after."""
    commands = [["worker"]] + ([["serve", "--no-scheduler"]] if web else [])
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for command in commands:
            log_path = Path(tmp) / f"{command[0]}.log"
            with log_path.open("w") as log:  # the child keeps its own descriptor
                proc = subprocess.Popen(
                    [sys.executable, "-m", "bot.cli", *command],
                    env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log,
                )  # fmt: skip
                procs.append((proc, log_path))
        if web:
            wait_listening(port, procs)
        time.sleep(2)  # the worker's scheduler starts its jobs
        for proc, log_path in procs:
            if proc.poll() is not None:
                raise SystemExit(f"{proc.args!r} exited: {log_path.read_text()[-3000:]}")
        yield
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_listening(port: int, procs: list[tuple[subprocess.Popen[bytes], Path]]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if any(proc.poll() is not None for proc, _ in procs):
            break
        time.sleep(0.2)
    logs = "\n".join(path.read_text()[-2000:] for _, path in procs)
    raise SystemExit(f"the web process did not listen on {port}:\n{logs}")


def linked_pairs(db: str) -> list[Pair]:
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
        return int(store.depth())
    finally:
        store.close()


def settle(sb: Sandbox, db: str, quiet: float = 3.0, timeout: float = 180.0) -> None:
    """Until the inbox is empty and at most two calls (a poll tick) reach the CRMs in ``quiet`` s:
    the echoes of the edits are past."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(counts(sb).values())
        time.sleep(quiet)
        if sum(counts(sb).values()) - before <= 2 and inbox_depth(db) == 0:
            return
    print("  (the CRMs did not settle within the timeout)", file=sys.stderr)


def measure(
    pairs: list[Pair],
    make: Callable[[int, Pair], None],
    seen: Callable[[int, Pair], bool],
    spacing: float,
    timeout: float,
) -> Way:
    """Make each edit ``spacing`` s apart; a watcher notes when the other side shows it."""
    started: dict[int, float] = {}
    latencies: dict[int, float] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for i, t0 in list(started.items()):
                if i not in latencies and seen(i, pairs[i]):
                    latencies[i] = time.monotonic() - t0
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for i, pair in enumerate(pairs):
        started[i] = time.monotonic()
        make(i, pair)
        time.sleep(spacing)
    deadline = time.monotonic() + timeout
    while len(latencies) < len(pairs) and time.monotonic() < deadline:
        time.sleep(0.1)
    done.set()
    watcher.join()
    return Way(list(latencies.values()), len(pairs) - len(latencies))


def edits(sb: Sandbox, db: str, args: argparse.Namespace, result: ModeResult) -> None:
    pairs = linked_pairs(db)
    if len(pairs) < args.edits:
        raise SystemExit(f"only {len(pairs)} links to edit; ask for --edits {len(pairs)} or fewer")
    stamp = int(time.time()) % 100000
    fax = {i: f"+1 555 {stamp:05d} {i:03d}" for i in range(args.edits)}
    title = {i: f"Bench {stamp}-{i}" for i in range(args.edits)}
    timeout = max(60.0, 4.0 * args.poll_seconds)

    def hubspot_edit(i: int, pair: Pair) -> None:
        sb.hubspot.update_contact(pair[2], {"fax": fax[i]})

    def in_sell(i: int, pair: Pair) -> bool:
        return bool((sb.sell.get_record(pair[0], pair[1]) or {}).get("fax") == fax[i])

    def sell_edit(i: int, pair: Pair) -> None:
        sb.sell.update_record(pair[0], pair[1], {"title": title[i]})

    def in_hubspot(i: int, pair: Pair) -> bool:
        contact = sb.hubspot.get_contact(pair[2]) or {}
        return bool(contact.get("properties", {}).get("jobtitle") == title[i])

    chosen = pairs[: args.edits]
    result.hubspot_to_sell = measure(chosen, hubspot_edit, in_sell, args.spacing, timeout)
    settle(sb, db)
    result.sell_to_hubspot = measure(chosen, sell_edit, in_hubspot, args.spacing, timeout)
    settle(sb, db)


def judge(result: ModeResult) -> None:
    ways = (("HubSpot → Sell", result.hubspot_to_sell), ("Sell → HubSpot", result.sell_to_hubspot))
    if result.mode == "push":
        for name, way in ways:
            ok = way.p50 <= PUSH_P50 and way.p95 <= PUSH_P95 and not way.missed
            result.verdicts.append(
                f"{'met ' if ok else 'MISS'} push {name}: p50 {way.p50:.2f} ≤ {PUSH_P50:.0f} s, "
                f"p95 {way.p95:.2f} ≤ {PUSH_P95:.0f} s, none missed"
            )
        expected = (
            3600 / result.poll_seconds
            + result.reconcile_calls["hubspot"] * result.reconciles_per_hour
        )
        got = result.per_hour("hubspot")
        ok = got <= expected * 1.05 + 1
        result.verdicts.append(
            f"{'met ' if ok else 'MISS'} push idle HubSpot calls/h {got:,.0f} ≤ join-order "
            f"{3600 / result.poll_seconds:,.0f} + reconcile "
            f"{result.reconcile_calls['hubspot'] * result.reconciles_per_hour:,.0f}"
        )
    elif result.mode == "poll":
        for name, way in ways:
            ok = way.p50 <= result.poll_seconds and not way.missed
            result.verdicts.append(
                f"{'met ' if ok else 'MISS'} poll {name}: p50 {way.p50:.2f} ≤ "
                f"SYNC_POLL_SECONDS={result.poll_seconds}, none missed"
            )


def run_mode(mode: str, args: argparse.Namespace) -> ModeResult:
    result = ModeResult(mode, args.poll_seconds, reconciles_per_hour=60 / args.interval_minutes)
    port = free_port()
    push = mode == "push"
    webhook_url = f"http://127.0.0.1:{port}/hubspot/webhooks" if push else None
    print(f"[{mode}] starting the sandbox…", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(seed="demo", webhook_url=webhook_url) as sb:
        db = f"sqlite:///{tmp}/latency.db"
        env = mode_env(base_env(sb, db, port), mode, args.poll_seconds)
        if push:  # the import and its echoes happen before the web process is up: not sent
            sb.hubspot.webhooks.configure(None)
        run_sync(env)  # the import
        run_sync(env)  # its echoes
        before = counts(sb)
        run_sync(env)  # idle: what each reconcile costs
        after = counts(sb)
        result.reconcile_calls = {k: after[k] - before[k] for k in after}
        if push:
            sb.hubspot.webhooks.configure(webhook_url or "", secret=sb.webhook_secret)
        with processes(env, tmp, port, web=push):
            settle(sb, db)
            if mode != "scheduled":
                print(f"[{mode}] {args.edits} edits each way…", file=sys.stderr)
                edits(sb, db, args, result)
            print(f"[{mode}] idle for {args.idle_seconds:.0f} s…", file=sys.stderr)
            since = counts(sb)
            time.sleep(args.idle_seconds)
            result.idle_window = by_endpoint(sb, since)
            result.idle_seconds = args.idle_seconds
    judge(result)
    return result


def report(results: list[ModeResult], args: argparse.Namespace) -> None:
    print(
        f"{args.edits} edits each way, {args.spacing} s apart; SYNC_POLL_SECONDS={args.poll_seconds}"
        f"; idle window {args.idle_seconds:.0f} s; reconcile every {args.interval_minutes} min"
    )
    print(
        f"{'mode':<10} {'HubSpot → Sell p50/p95':>30} {'Sell → HubSpot p50/p95':>30} "
        f"{'idle HubSpot/h':>15} {'idle Sell/h':>12}"
    )
    for r in results:
        print(
            f"{r.mode:<10} {r.hubspot_to_sell.text():>30} {r.sell_to_hubspot.text():>30} "
            f"{r.per_hour('hubspot'):>15,.0f} {r.per_hour('sell'):>12,.0f}"
        )
    for r in results:
        print(
            f"\n{r.mode}: reconcile {r.reconcile_calls} calls × {r.reconciles_per_hour:g}/h; "
            f"idle window ({r.idle_seconds:.0f} s):"
        )
        for crm, endpoints in r.idle_window.items():
            for endpoint, n in sorted(endpoints.items(), key=lambda kv: -kv[1]):
                print(f"  {crm:<8} {n:>5}  {endpoint}")
        for verdict in r.verdicts:
            print(f"  {verdict}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edits", type=int, default=50, help="edits each way (default 50)")
    ap.add_argument("--modes", default="push,poll,scheduled")
    ap.add_argument("--poll-seconds", type=int, default=10, help="SYNC_POLL_SECONDS (default 10)")
    ap.add_argument("--spacing", type=float, default=0.5, help="seconds between edits")
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--interval-minutes", type=float, default=15.0, help="SYNC_INTERVAL_MINUTES")
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(modes) - {"push", "poll", "scheduled"}
    if unknown or args.edits < 1 or args.poll_seconds < 1:
        ap.error("modes are push, poll, scheduled; --edits and --poll-seconds at least 1")
    results = [run_mode(mode, args) for mode in modes]
    report(results, args)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    return 1 if any(v.startswith("MISS") for r in results for v in r.verdicts) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""API economy and rate-limit efficiency (SPEC §6), over real HTTP against the sandbox.

Scenario: a synced HubSpot list of N members, all qualifying, M of which already exist in Sell
as leads with the same email (they are merged; the others are created). Then a run that reads
back the import's own writes (echo), then idle runs: each in a *fresh process* (new clients on
the same database, as ``sellsync sync`` from cron is) and in a *long-running* one (the same
clients run after run, as the worker's).

For each run it prints the calls made per API beside the minimum for the same work, and the
wall time beside the time the rate limits allow for those calls. The sandbox enforces the real
limits multiplied by ``--scale`` and the clients pace to the same scaled limits, so the ratio
of wall time to the bound is the figure that matters (1.0 = as fast as the limits allow).

    python bench/api_economy.py --members 1000 --in-sell 300 --scale 10

``--idle-only`` seeds N members scoring below the threshold (nothing to create), so a list of
100,000 members is measured in minutes: a first run (the list read whole), then idle runs, then
a run a day later (the daily sweep reads the list whole again). Idle calls do not depend on N:

    python bench/api_economy.py --idle-only --members 100000 --scale 10
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.wiring import SystemClock
from sandbox.limits import SandboxLimits
from sandbox.server import Sandbox
from storage.db import open_store
from storage.repositories import SqlStore
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.engine import Engine, EngineConfig
from sync.feeds.links import share_size

THRESHOLD = 50


def seed(sb: Sandbox, members: int, in_sell: int, *, score: int | None = None) -> str:
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot lifecycle stage", "string")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    sb.sell.add_custom_field("contact", "HubSpot source", "string")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    ids = []
    for i in range(members):
        ids.append(
            sb.hubspot.add_contact(
                {
                    "email": f"member{i}@example.com",
                    "firstname": f"First{i}",
                    "lastname": f"Last{i}",
                    "hubspotscore": str(50 + i % 50 if score is None else score),
                    "lifecyclestage": "lead",
                    "jobtitle": "Engineer",
                }
            )
        )
        if i < in_sell:
            # Sell holds a phone HubSpot lacks: each merge writes one field back to HubSpot
            sb.sell.add_record(
                "lead",
                {"email": f"member{i}@example.com", "last_name": f"Last{i}", "phone": f"555-{i}"},
            )
    sb.hubspot.add_to_list(list_id, ids)
    return list_id


def minimum(members: int, in_sell: int, links: int, *, run: str) -> dict[str, int]:
    """The fewest calls the APIs allow for the same work.

    A run that reads the list whole (the first, and the daily sweep) pays N/250 pages of the
    list's join order; any other finds the members who joined since in one join-order call.
    Definitions (HubSpot's properties, Sell's custom fields) are remembered in the database for
    a day, so only a first run reads them. Every reconcile reads one page of each Sell change
    feed (leads, contacts), one of lead conversions (L1) and its share of the link check (L3);
    HubSpot, one search for changes."""
    check = math.ceil(share_size(links) / 100)  # the rotating link check, all leads
    if run == "import":
        # the list, properties, the join order (250 a page), batch/read (100), batch/update
        hub = 2 + math.ceil(members / 250) + math.ceil(members / 100) + math.ceil(in_sell / 100)
        sell_pages = max(1, math.ceil(in_sell / 100)) + 1  # leads, contacts (empty)
        # custom fields x2, lead sources, one write per created record, one per merge that fills
        # a Sell field (the mirrors: score, stage, URL), the lead conversions (L1)
        sell = sell_pages + 2 + 1 + (members - in_sell) + in_sell + 1
        return {"hubspot": hub, "sell": sell}
    if run == "first":  # --idle-only: nothing qualifies, so nothing is written
        hub = 1 + math.ceil(members / 250) + math.ceil(members / 100)  # the list, join order, reads
        return {"hubspot": hub, "sell": 2 + 2 + 1}  # custom fields x2, one page a kind, L1
    hub = 2  # one join-order call, one search
    if run == "sweep":
        hub = 1 + math.ceil(members / 250)
    return {"hubspot": hub, "sell": 2 + 1 + check}


def bound_seconds(calls: dict[str, int], limits: SandboxLimits) -> float:
    """Time the limits require for these calls (the slower API decides)."""
    hub = calls["hubspot"] / (limits.hubspot_per_10s * limits.scale / 10.0)
    sell = calls["sell"] / (limits.sell_per_s * limits.scale)
    return max(hub, sell)


class Later(SystemClock):
    """The system clock moved on by ``offset`` (a run a day later sweeps the list)."""

    def __init__(self, offset: timedelta) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return super().now() + self.offset


class Process:
    """The clients one sellsync process holds: a fresh process builds its own."""

    def __init__(self, sb: Sandbox, store: SqlStore, scale: float) -> None:
        self.hub = HubSpotClient(
            HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
            HubSpotLimits(per_10s=int(190 * scale), search_per_s=int(5 * scale)),
        )
        self.sell = SellClient(sb.sell_url, sb.sell_token, per_s=10 * scale, overlap_seconds=2)
        self.hub.remember_in(store)  # as bot.wiring.build_services does
        self.sell.remember_in(store)
        self.seen = {"hubspot": 0, "sell": 0}

    def calls(self) -> dict[str, int]:
        """Calls since the last time asked."""
        now = {"hubspot": self.hub.stats["requests"], "sell": self.sell.stats["requests"]}
        out = {k: now[k] - self.seen[k] for k in now}
        self.seen = now
        return out

    def close(self) -> None:
        self.hub.close()
        self.sell.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--in-sell", type=int, default=300)
    ap.add_argument("--scale", type=float, default=10.0, help="multiply every rate limit")
    ap.add_argument(
        "--idle-only",
        action="store_true",
        help="members score below the threshold: measure idle runs of a big list",
    )
    args = ap.parse_args()
    in_sell = 0 if args.idle_only else args.in_sell
    limits = SandboxLimits(scale=args.scale)
    with Sandbox(seed="empty", limits=limits) as sb, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        list_id = seed(sb, args.members, in_sell, score=0 if args.idle_only else None)
        print(
            json.dumps({"seeded": args.members, "seconds": round(time.perf_counter() - t0, 1)}),
            flush=True,
        )
        store = open_store(f"sqlite:///{tmp}/bench.db")
        # The sandbox gives every write a later millisecond than the one before, so seeding
        # thousands a second dates contacts ahead of the wall clock: wait until the seeding's
        # own changes lie an overlap before the first run.
        ahead = getattr(sb.hubspot, "_last_ms", 0) / 1000 - time.time()
        time.sleep(max(0.0, ahead) + 3.0)
        # Overlap windows are shortened to 2 s (and waited out) so idle runs are not inflated
        # by the seconds-old run before them.
        if args.idle_only:
            runs = ["first", "idle", "idle", "idle-long", "idle-long", "sweep", "idle"]
        else:
            runs = ["import", "echo", "idle", "idle", "idle-long", "idle-long"]
        long_running: Process | None = None
        for label in runs:
            if label.endswith("-long"):  # one process, run after run
                long_running = long_running or Process(sb, store, args.scale)
                process = long_running
            else:
                process = Process(sb, store, args.scale)
            config = EngineConfig(
                default_threshold=THRESHOLD, default_list_id=list_id, hubspot_overlap_ms=2000
            )
            clock = Later(timedelta(days=1, minutes=1)) if label == "sweep" else SystemClock()
            engine = Engine(process.hub, process.sell, store, clock, config)
            t0 = time.perf_counter()
            report = engine.run(trigger="bench", yes_bulk=True)
            wall = time.perf_counter() - t0
            calls = process.calls()
            links = sum(store.count_links().values())
            run = label.removesuffix("-long")
            best = minimum(args.members, in_sell, links, run=run)
            bound = bound_seconds(calls, limits)
            print(
                json.dumps(
                    {
                        "run": label,
                        "process": "long-running" if label.endswith("-long") else "fresh",
                        "members": args.members,
                        "in_sell": in_sell,
                        "links": links,
                        "counts": dict(report.counts()),
                        "failure": report.failure,
                        "calls": calls,
                        "minimum": best,
                        "over_minimum": {k: calls[k] - best[k] for k in calls},
                        "calls_to_minimum": {k: round(calls[k] / best[k], 2) for k in calls},
                        "detail": {
                            "hubspot": dict(process.hub.stats),
                            "sell": dict(process.sell.stats),
                        },
                        "wall_s": round(wall, 2),
                        "rate_limit_bound_s": round(bound, 2),
                        "wall_to_bound": round(wall / bound, 2) if bound else None,
                        "scale": args.scale,
                        "status_429": {
                            "hubspot": sb.hubspot.count(status=429),
                            "sell": sb.sell.count(status=429),
                        },
                    }
                ),
                flush=True,
            )
            if process is not long_running:
                process.close()
            time.sleep(3.0)  # past the overlap windows; lets the rate windows drain too
        if long_running is not None:
            long_running.close()
        store.close()


if __name__ == "__main__":
    main()

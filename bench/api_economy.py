"""API economy and rate-limit efficiency (SPEC §6), over real HTTP against the sandbox.

Scenario: a synced HubSpot list of N members, all qualifying, M of which already exist in Sell
as leads with the same email (they are merged; the others are created). Then an idle run.

For each run it prints the calls made per API beside the minimum for the same work, and the
wall time beside the time the rate limits allow for those calls. The sandbox enforces the real
limits multiplied by ``--scale`` and the clients pace to the same scaled limits, so the ratio
of wall time to the bound is the figure that matters (1.0 = as fast as the limits allow).

    python bench/api_economy.py --members 1000 --in-sell 300 --scale 10
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.wiring import SystemClock
from sandbox.limits import SandboxLimits
from sandbox.server import Sandbox
from storage.db import open_store
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.engine import Engine, EngineConfig
from sync.feeds.links import share_size


def seed(sb: Sandbox, members: int, in_sell: int) -> str:
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
                    "hubspotscore": str(50 + i % 50),
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


def minimum(members: int, in_sell: int, *, first: bool) -> dict[str, int]:
    """The fewest calls the APIs allow for the same work."""
    if first:
        hub = 1 + 1 + math.ceil(members / 250) + math.ceil(members / 100) + math.ceil(in_sell / 100)
        sell_pages = max(1, math.ceil(in_sell / 100)) + 1  # leads, contacts (empty)
        # custom fields x2, lead sources, one write per created record, one per merge that fills
        # a Sell field (the mirrors: score, stage, URL)
        sell = sell_pages + 2 + 1 + (members - in_sell) + in_sell
        sell += 1  # the lead conversions since the last run (L1), one page
    else:
        hub = 1 + 1 + math.ceil(members / 250) + 1  # list, properties, memberships, search
        sell = 2 + 2 + 1  # one page per kind, custom fields x2, lead sources
        sell += math.ceil(share_size(members) / 100)  # the rotating link check (L3), all leads
        sell += 1  # the lead conversions since the last run (L1), one page
    return {"hubspot": hub, "sell": sell}


def bound_seconds(calls: dict[str, int], limits: SandboxLimits) -> float:
    """Time the limits require for these calls (the slower API decides)."""
    hub = calls["hubspot"] / (limits.hubspot_per_10s * limits.scale / 10.0)
    sell = calls["sell"] / (limits.sell_per_s * limits.scale)
    return max(hub, sell)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--in-sell", type=int, default=300)
    ap.add_argument("--scale", type=float, default=10.0, help="multiply every rate limit")
    args = ap.parse_args()
    limits = SandboxLimits(scale=args.scale)
    with Sandbox(seed="empty", limits=limits) as sb, tempfile.TemporaryDirectory() as tmp:
        list_id = seed(sb, args.members, args.in_sell)
        store = open_store(f"sqlite:///{tmp}/bench.db")
        # import; then a run that reads back the import's own writes (echoes: no writes); then a
        # true idle run. Overlap windows are shortened to 2 s (and waited out) so the idle run
        # is not inflated by the seconds-old import.
        for label, first in (("import", True), ("echo", False), ("idle", False)):
            hub = HubSpotClient(
                HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
                HubSpotLimits(per_10s=int(190 * args.scale), search_per_s=int(5 * args.scale)),
            )
            sell = SellClient(sb.sell_url, sb.sell_token, per_s=10 * args.scale, overlap_seconds=2)
            config = EngineConfig(
                default_threshold=50, default_list_id=list_id, hubspot_overlap_ms=2000
            )
            engine = Engine(hub, sell, store, SystemClock(), config)
            t0 = time.perf_counter()
            report = engine.run(trigger="bench")
            wall = time.perf_counter() - t0
            calls = {"hubspot": hub.stats["requests"], "sell": sell.stats["requests"]}
            best = minimum(args.members, args.in_sell, first=first)
            bound = bound_seconds(calls, limits)
            print(
                json.dumps(
                    {
                        "run": label,
                        "members": args.members,
                        "in_sell": args.in_sell,
                        "counts": dict(report.counts()),
                        "failure": report.failure,
                        "calls": calls,
                        "minimum": best,
                        "calls_to_minimum": {k: round(calls[k] / best[k], 2) for k in calls},
                        "detail": {"hubspot": dict(hub.stats), "sell": dict(sell.stats)},
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
            hub.close()
            sell.close()
            time.sleep(3.0)  # past the overlap windows; lets the rate windows drain too
        store.close()


if __name__ == "__main__":
    main()

"""What leaving Sell costs (``sellsync migrate --yes``): time against the rate limits, calls
against the minimum, and memory as the account grows.

A sandbox Sell holds N records: N/2 leads and N/2 person contacts, every person in one of N/10
organizations, N/2 notes (on leads and contacts) and a few users, each one a HubSpot owner. The
migration runs in process through the real clients into an empty HubSpot portal, the sandboxes
enforcing their real limits multiplied by ``--scale`` and the clients pacing to the same scaled
limits. For each N it reports:

* ``calls``: the requests each API received, and by kind (``hubspot_by``, ``sell_by``);
* ``minimum``: the fewest requests the same work allows: every Sell list read once at 100 a page
  (leads, contacts, organizations, notes, users), the custom fields and one read each to count
  deals, tasks, calls and documents (not moved);
  HubSpot's setup (property definitions of contacts, companies and notes, the owners, the
  properties to create), then per 100 items one read by ``zendesk_sell_id`` (what makes a rerun
  idempotent), one batch write, and per 100 contacts one read by e-mail (the S8 match); one page
  of companies (100) for matching organizations by domain and name; associations at 100 a batch
  (people with their company, notes with their record); the token's scopes, checked once;
* ``calls_ratio``: calls over the minimum (target ≤ 1.05);
* ``bound_s``: the time the limits allow for the calls made (the slower API decides), and
  ``wall_ratio``: the wall time over it (target ≤ 1.10);
* ``peak_mb``: the peak of Python's traced memory during the run (pages are streamed, so it
  should stay flat as N grows).

    python bench/migrate.py --sizes 1000 10000          # the real limits
    python bench/migrate.py --sizes 1000 --scale 10     # ten times faster limits
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.wiring import SystemClock
from sandbox import Sandbox, SandboxLimits
from storage.db import open_store
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.usecases.migrate import MigrationService

USERS = 5


def seed(sb: Sandbox, n: int) -> dict[str, int]:
    """N records (half leads, half people in N/10 organizations), N/2 notes, five users who
    are HubSpot owners. Answers how many of each."""
    sb.reset("empty")
    sell, hs = sb.sell, sb.hubspot
    users = [sell.add_user(f"Rep {u}", f"rep{u}@example.com") for u in range(USERS)]
    for u in range(USERS):
        hs.add_owner(f"rep{u}@example.com", "Rep", str(u))
    hs.add_owner(sell.user["email"], "Account", "Admin")
    orgs = [
        sell.add_record(
            "contact",
            {"is_organization": True, "name": f"Org {i}", "website": f"https://org{i}.example"},
        )
        for i in range(max(1, n // 10))
    ]
    leads = [
        sell.add_record(
            "lead",
            {
                "first_name": "Lead",
                "last_name": str(i),
                "email": f"lead{i}@example.com",
                "owner_id": users[i % USERS],
                "tags": ["webinar"] if i % 3 == 0 else [],
            },
        )
        for i in range(n // 2)
    ]
    people = [
        sell.add_record(
            "contact",
            {
                "is_organization": False,
                "first_name": "Person",
                "last_name": str(i),
                "email": f"person{i}@example.com",
                "contact_id": orgs[i % len(orgs)],
                "owner_id": users[i % USERS],
            },
        )
        for i in range(n - n // 2)
    ]
    notes = n // 2
    for i in range(notes):
        kind, ids = ("lead", leads) if i % 2 == 0 else ("contact", people)
        sell.add_note(kind, ids[(i // 2) % len(ids)], f"note {i}", creator_id=users[i % USERS])
    return {
        "leads": len(leads),
        "people": len(people),
        "organizations": len(orgs),
        "notes": notes,
        "users": USERS + 1,
    }


def pages(count: int, size: int = 100) -> int:
    return max(1, math.ceil(count / size))


def minimum(c: dict[str, int], new_properties: int) -> dict[str, int]:
    """The fewest requests for this account's move into an empty portal (see the module)."""
    sell = (
        pages(c["leads"])
        + pages(c["people"])
        + pages(c["organizations"])
        + pages(c["notes"])
        + pages(c["users"])
        + 2  # custom fields of leads and contacts
        + 4  # deals, tasks, calls and documents, counted (not moved)
    )
    hubspot = (
        1  # the token's scopes, checked before any write
        + 3  # property definitions of contacts, companies, notes
        + 1  # owners
        + new_properties
        + 1  # the portal's companies, matched by domain and name (one page: empty)
        + 2 * pages(c["organizations"])  # read by key, upsert
        + 3 * pages(c["leads"])  # read by key, by e-mail, upsert
        + 3 * pages(c["people"])
        + pages(c["people"])  # person → company associations
        + 3 * pages(c["notes"])  # read by key, upsert, associate with its record
    )
    return {"hubspot": hubspot, "sell": sell}


def kind_of(path: str) -> str:
    """A request's path without ids and versions: ``/crm/objects/contacts/batch/upsert``."""
    parts = [p for p in path.split("?")[0].split("/") if p and not p[0].isdigit()]
    return "/" + "/".join(parts)


def serve(n: int, scale: float, conn: Connection) -> None:
    """The child process: the sandbox servers seeded with ``n`` records; answers where they are,
    then, once told the run is over, what they were asked (by kind, and the 429s)."""
    with Sandbox(seed="empty", limits=SandboxLimits(scale=scale)) as sb:
        counts = seed(sb, n)
        sb.hubspot.reset_calls()
        sb.sell.reset_calls()
        conn.send(
            {
                "hubspot_url": sb.hubspot_url,
                "hubspot_token": sb.hubspot_token,
                "portal_id": sb.hubspot.portal_id,
                "sell_url": sb.sell_url,
                "sell_token": sb.sell_token,
                "records": counts,
            }
        )
        conn.recv()  # the run is over
        conn.send(
            {
                api: {
                    "by": dict(Counter(f"{c.method} {kind_of(c.path)}" for c in state.calls)),
                    "429": sum(1 for c in state.calls if c.status == 429),
                }
                for api, state in (("hubspot", sb.hubspot), ("sell", sb.sell))
            }
        )


def measure(n: int, scale: float) -> dict[str, Any]:
    """One migration of ``n`` records against a sandbox in its own process (its servers and
    their data use neither this process's memory nor its interpreter lock: as remote APIs)."""
    ours, theirs = mp.get_context("spawn").Pipe()
    child = mp.get_context("spawn").Process(target=serve, args=(n, scale, theirs), daemon=True)
    child.start()
    where = ours.recv()
    counts = where["records"]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        hub = HubSpotClient(
            HubSpotSession(
                where["hubspot_url"], where["hubspot_token"], portal_id=where["portal_id"]
            ),
            HubSpotLimits(per_10s=int(190 * scale), search_per_s=int(5 * scale)),
        )
        sell = SellClient(where["sell_url"], where["sell_token"], per_s=10 * scale)
        try:
            service = MigrationService(hub, sell, store, SystemClock())
            tracemalloc.start()
            started = time.perf_counter()
            report = service.run()
            wall = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            hub.close()
            sell.close()
            store.close()
    ours.send("done")
    asked = ours.recv()
    child.join(timeout=30)
    hub_by, sell_by = asked["hubspot"]["by"], asked["sell"]["by"]
    calls = {"hubspot": sum(hub_by.values()), "sell": sum(sell_by.values())}
    least = minimum(counts, len(report.new_properties))
    bound = max(calls["hubspot"] / (19.0 * scale), calls["sell"] / (10.0 * scale))
    total = sum(calls.values()) / sum(least.values())
    return {
        "n": n,
        "scale": scale,
        "records": counts,
        "status": report.status,
        "moved": report.moved,
        "refused": report.counts.get("refused", 0),
        "calls": calls,
        "minimum": least,
        "calls_ratio": {
            **{k: round(calls[k] / least[k], 3) for k in calls},
            "both": round(total, 3),
        },
        "rate_limited_429": {"hubspot": asked["hubspot"]["429"], "sell": asked["sell"]["429"]},
        "wall_s": round(wall, 1),
        "bound_s": round(bound, 1),
        "wall_ratio": round(wall / bound, 3) if bound else None,
        "peak_mb": round(peak / 1e6, 1),
        "hubspot_by": dict(sorted(hub_by.items())),
        "sell_by": dict(sorted(sell_by.items())),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every rate limit")
    args = ap.parse_args()
    for n in args.sizes:
        print(json.dumps(measure(n, args.scale)), flush=True)


if __name__ == "__main__":
    main()

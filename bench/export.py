"""What ``sellsync export`` costs (M4): Sell requests against the API minimum, and memory.

A sandbox Sell holds N leads, N/2 person contacts, N/10 organizations and N/2 notes; the export
runs in process through the real Sell client (unpaced) into a temporary folder. For each Sell
table it reports:

* ``records`` and ``requests`` (the list reads the archive made for it);
* ``minimum``: ⌈records/100⌉, the fewest list reads that can hand on every record at Sell's
  100 a page; ``ratio`` = requests / minimum (the overlapping windows that keep a deletion
  mid-scan from hiding a record cost the rest);
* ``at_rate_limit_s``: the requests at Sell's 10 a second (36,000 an hour per token): the time
  the export takes against the real Sell, which the rate limit bounds.

And for the whole export, ``peak_mb``: the peak of Python's traced memory while it ran (records
are streamed, so it should not grow with N).

    python bench/export.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.export_writer import write_export
from sandbox import Sandbox, SandboxLimits
from storage.db import open_store
from sync.clients.sell import SellClient
from sync.domain import SellMode
from sync.usecases.export import Export

SELL_RATE = 10.0  # requests a second per token
TABLE_PATHS = {
    "sell_leads": "/v2/leads",
    "sell_contacts": "/v2/contacts",
    "sell_organizations": "/v2/contacts",
    "sell_notes": "/v2/notes",
    "sell_users": "/v2/users",
}


def seed(sb: Sandbox, n: int) -> None:
    sb.reset("empty")
    for i in range(n):
        sb.sell.add_record("lead", {"last_name": f"L{i}", "email": f"l{i}@example.com"})
    for i in range(n // 2):
        sb.sell.add_record("contact", {"name": f"P{i}", "email": f"p{i}@example.com"})
    for i in range(n // 10):
        sb.sell.add_record("contact", {"name": f"Org {i}", "is_organization": True})
    for i in range(n // 2):
        sb.sell.add_note("lead", 1 + i, f"note {i}")


def measure(sb: Sandbox, n: int) -> dict[str, object]:
    seed(sb, n)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        sell = SellClient(sb.sell_url, sb.sell_token, per_s=None)
        requests: Counter[str] = Counter()
        records: dict[str, int] = {}
        try:
            tables = Export(store, lambda: SellMode.ACTIVE).tables(sell.archive)
            tracemalloc.start()
            for table in tables:
                if table.source != "sell":
                    continue
                sb.sell.reset_calls()
                result = write_export([table], Path(tmp) / table.name)
                records[table.name] = result.tables[0].records
                requests[table.name] = len(sb.sell.calls_matching("GET", TABLE_PATHS[table.name]))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            sell.close()
            store.close()
    rows = {}
    for name, count in records.items():
        minimum = max(1, math.ceil(count / 100))
        rows[name] = {
            "records": count,
            "requests": requests[name],
            "minimum": minimum,
            "ratio": round(requests[name] / minimum, 2),
            "at_rate_limit_s": round(requests[name] / SELL_RATE, 1),
        }
    return {"n": n, "tables": rows, "peak_mb": round(peak / 1e6, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    args = ap.parse_args()
    with Sandbox(seed="empty", limits=SandboxLimits(enabled=False)) as sb:
        for n in args.sizes:
            print(json.dumps(measure(sb, n)))


if __name__ == "__main__":
    main()

"""What noticing Sell deletions without the Sync API costs (L3), as links grow.

For each size N, N HubSpot contacts are linked to N Sell leads (as in ``bench/scale.py``) and
runs go in process against the in-memory CRMs and a SQLite store. It reports:

* ``check_reads_per_run``: the Sell ``ids=`` reads (100 ids each) one idle run makes for the
  rotating link check, beside ``share`` (links checked per run);
* ``runs_to_detect``: a worst case, measured: the lead deleted is the one the last run checked,
  so the rotation must go all the way round before it reads it again; then the days that takes
  at the default 15-minute interval (96 runs a day);
* ``idle_run_s``: the wall time of one idle run (machine-dependent; for scale only).

    python bench/link_check.py --sizes 10000 100000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import build

from sync.domain import LinkState, SellRef
from sync.feeds.links import runs_per_day, share_size
from sync.feeds.marks import LINK_CHECK, LinkCheckMark


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--members", type=int, default=1000, help="list members (the rest pushed)")
    ap.add_argument(
        "--interval", type=int, default=15, help="SYNC_INTERVAL_MINUTES (the share follows it)"
    )
    args = ap.parse_args()
    per_day = runs_per_day(args.interval)
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            engine, _hub, sell, _pairs = build(n, f"sqlite:///{tmp}/check.db", args.members)
            engine.config = replace(engine.config, sync_interval_minutes=args.interval)
            store = engine.store
            engine.clock.tick(600)  # type: ignore[attr-defined]
            engine.run(trigger="bench")  # past the HubSpot feed's overlap: idle from here
            engine.clock.tick(60)  # type: ignore[attr-defined]
            before = dict(sell.calls)
            t0 = time.perf_counter()
            report = engine.run(trigger="bench")
            idle_s = time.perf_counter() - t0
            assert report.failure is None, report.failure
            calls = {k: v - before.get(k, 0) for k, v in sell.calls.items() if v - before.get(k, 0)}
            # the worst case: the last link the last run checked is deleted now
            after_id = LinkCheckMark.from_mark(store.get_mark(LINK_CHECK)).after_id
            victim = next(link for page in store.iter_links(after_id=after_id - 1) for link in page)
            sell.delete("lead", victim.sell.id)
            runs = 0
            while True:
                engine.clock.tick(60)  # type: ignore[attr-defined]
                engine.run(trigger="bench")
                runs += 1
                link = store.links_by_sell([victim.sell])[SellRef("lead", victim.sell.id)]
                if link.state is LinkState.TOMBSTONED:
                    break
            print(
                json.dumps(
                    {
                        "links": n,
                        "interval_min": args.interval,
                        "share": share_size(n, runs_per_day=per_day),
                        "check_reads_per_run": calls.get("leads_by_ids", 0),
                        "sell_calls_idle_run": calls,
                        "runs_to_detect": runs,
                        "worst_days_to_detect": round(runs * args.interval / 1440, 3),
                        "idle_run_s": round(idle_s, 2),
                    }
                ),
                flush=True,
            )
            store.close()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()

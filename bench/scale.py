"""Scale (SPEC §6): peak memory and time of a run as links grow.

For each size N, N HubSpot contacts are linked to N Sell leads (links with full field snapshots,
written in bulk), then two runs are measured in process against the in-memory CRMs and a SQLite
store. ``--members all`` puts every linked contact in the synced list (the list grows with the
links); ``--members 1000`` keeps the list at 1,000 and the other links come from pushes.

* an idle run (nothing changed);
* a busy run where 1% of the pairs changed in Sell and 1% in HubSpot.

Peak memory is the tracemalloc peak of the run itself (the CRM fakes hold their data before the
run starts). Prints one JSON object per size, then the ratios between sizes.

    python bench/scale.py --sizes 10000 30000 100000 --members 1000
    python bench/scale.py --sizes 10000 30000 100000 --members all
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from storage.db import open_store
from sync.domain import FieldSnapshot, Link, SellRef
from sync.engine import Engine, EngineConfig
from sync.mapping import field_table, fields_for
from tests.fakes import FakeHubSpot, FakeSell, TickClock

LIST_ID = "7"


def build(
    n: int, db: str, members: int | None
) -> tuple[Engine, FakeHubSpot, FakeSell, list[tuple[str, int]]]:
    clock = TickClock()
    hub = FakeHubSpot(clock=clock)
    hub.make_list(LIST_ID)
    sell = FakeSell(clock=clock)
    store = open_store(db)
    table = fields_for("lead", field_table(score_property="hubspotscore"))
    pairs: list[tuple[str, int]] = []
    links: list[Link] = []
    for i in range(n):
        email = f"user{i}@example.com"
        cid = hub.add_contact(
            email=email, firstname=f"F{i}", lastname=f"L{i}", hubspotscore="80", jobtitle="Eng"
        )
        if members is None or i < members:
            hub.members[LIST_ID].add(cid)
        rid = sell.add("lead", email=email, first_name=f"F{i}", last_name=f"L{i}", title="Eng")
        values = {
            "email": email, "first_name": f"F{i}", "last_name": f"L{i}", "title": "Eng",
        }  # fmt: skip
        snap = {}
        for m in table:
            v = values.get(m.key)
            if m.key == "hs.score":
                v = "80"
            if m.key == "hs.url":
                v = f"https://app.hubspot.com/contacts/{hub.portal_id}/record/0-1/{cid}"
            snap[m.key] = FieldSnapshot(v, v)
        # the mirrors are already in Sell, as after a first sync
        sell.records[("lead", rid)].values.update(
            {
                "custom_fields.HubSpot score": "80",
                "custom_fields.HubSpot public contact URL": snap["hs.url"].sell,
            }
        )
        links.append(Link(sell=SellRef("lead", rid), hubspot_id=cid, snapshot=snap, email=email))
        pairs.append((cid, rid))
    store.save_links(links)
    store.add_members(LIST_ID, list(hub.members[LIST_ID]))
    engine = Engine(
        hub, sell, store, clock, EngineConfig(default_threshold=50, default_list_id=LIST_ID)
    )
    # settle cursors with a first run
    clock.tick(60)
    engine.run(trigger="bench")
    return engine, hub, sell, pairs


def measure(engine: Engine) -> dict[str, float]:
    engine.clock.tick(60)  # type: ignore[attr-defined]
    tracemalloc.start()
    t0 = time.perf_counter()
    report = engine.run(trigger="bench")
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.failure is None, report.failure
    return {
        "seconds": round(elapsed, 3),
        "peak_mib": round(peak / 2**20, 2),
        "counts": dict(report.counts()),
    }  # type: ignore[dict-item]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    ap.add_argument("--members", default="1000", help="list members: a number, or 'all'")
    args = ap.parse_args()
    members = None if args.members == "all" else int(args.members)
    results = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            engine, hub, sell, pairs = build(n, f"sqlite:///{tmp}/scale.db", members)
            setup = time.perf_counter() - t0
            idle = measure(engine)
            step = 100  # 1% of the pairs change on each side
            for _cid, rid in pairs[::step]:
                sell.edit("lead", rid, title="Changed in Sell")
            for cid, _rid in pairs[step // 2 :: step]:
                hub.set(cid, city="Changed in HubSpot")
            busy = measure(engine)
            row = {
                "links": n,
                "members": len(hub.members[LIST_ID]),
                "setup_s": round(setup, 1),
                "idle": idle,
                "busy_1pct": busy,
            }
            print(json.dumps(row), flush=True)
            results.append(row)
            engine.store.close()  # type: ignore[attr-defined]
    base = results[0]
    for r in results[1:]:
        k = r["links"] / base["links"]
        print(
            f"x{k:g} links: idle time x{r['idle']['seconds'] / max(base['idle']['seconds'], 1e-9):.2f}, "
            f"idle peak memory x{r['idle']['peak_mib'] / max(base['idle']['peak_mib'], 1e-9):.2f}; "
            f"busy time x{r['busy_1pct']['seconds'] / max(base['busy_1pct']['seconds'], 1e-9):.2f}, "
            f"busy peak memory x{r['busy_1pct']['peak_mib'] / max(base['busy_1pct']['peak_mib'], 1e-9):.2f}"
        )


if __name__ == "__main__":
    main()

"""L3 end to end over the sandbox servers, without Sell's Sync API: a linked Sell lead deleted
while nothing touches either side becomes a tombstone at the next ordinary run (a share of one
read covers these few links), through the real clients, the SQLite store and the engine."""

from __future__ import annotations

from pathlib import Path

from sandbox import Sandbox
from sync.domain import LinkState, SellRef
from tests.e2e.conftest import engine_over


def test_l3_a_sell_lead_deleted_untouched_is_a_tombstone_at_the_next_run(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    leads = []
    for i in range(5):
        email = f"pair{i}@example.com"
        cid = sb.hubspot.add_contact({"email": email, "lastname": f"P{i}", "hubspotscore": "80"})
        sb.hubspot.add_to_list(list_id, [cid])
        leads.append(sb.sell.add_record("lead", {"email": email, "last_name": f"P{i}"}))
    with engine_over(sb, f"sqlite:///{tmp_path}/l3.db", list_id) as engine:
        store = engine.store
        assert engine.run(trigger="test").failure is None
        assert engine.run(trigger="test").failure is None  # reads back its own writes
        refs = [SellRef("lead", rid) for rid in leads]
        assert {link.state for link in store.links_by_sell(refs).values()} == {LinkState.ACTIVE}
        sb.sell.delete_record("lead", leads[2])
        sb.sell.reset_calls()
        report = engine.run(trigger="test")  # an ordinary run, not --full
        assert report.failure is None and report.counts()["tombstoned"] == 1
        links = store.links_by_sell(refs)
        assert links[refs[2]].state is LinkState.TOMBSTONED
        assert all(links[r].state is LinkState.ACTIVE for r in refs if r != refs[2])
        reads = [c.query for c in sb.sell.calls_matching("GET", "/v2/leads") if "ids" in c.query]
        assert any(str(leads[2]) in str(q["ids"]).split(",") for q in reads)  # an ids= read

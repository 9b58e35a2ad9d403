"""L4 end to end over the sandbox servers: the Sell change feed read while the test deletes and
updates records between two of its pages (an httpx response hook on the client's own
connection), and HubSpot's 10,000-result search window at its real size."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from sandbox import Sandbox
from sandbox.sell_fields import iso_seconds
from sync.clients.hubspot import API_VERSION, HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.hubspot_search import SEARCH_CAP
from sync.clients.sell import SellClient
from sync.domain import FeedMark
from sync.feeds.marks import SellChangeMark
from sync.feeds.sell import SellChangeFeed
from tests.e2e.conftest import engine_over

SEARCH = f"/crm/objects/{API_VERSION}/contacts/search"


def test_l4_sell_records_deleted_while_the_feed_pages_hide_no_change(sb: Sandbox) -> None:
    sb.reset("empty")
    start = int(datetime.now(UTC).timestamp()) - 3600
    ids = [
        sb.sell.add_record("lead", {"last_name": f"L{i}"}, updated_at=iso_seconds(start + i))
        for i in range(320)
    ]
    since = datetime.fromtimestamp(start + 100, UTC)  # the mark a previous run stored
    changed = ids[100:]  # changed since then, one a second, over minutes (beyond any overlap)
    lists = [0]
    doomed: list[int] = []

    def churn(response: httpx.Response) -> None:
        if response.request.url.path != "/v2/leads" or "ids" in response.request.url.params:
            return
        lists[0] += 1
        if lists[0] == 1:  # after the first page: delete ten of its records, move one up
            response.read()
            first = [item["data"]["id"] for item in response.json()["items"]]
            doomed.extend(first[::10])
            for rid in doomed:
                sb.sell.delete_record("lead", rid)
            sb.sell.update_record("lead", ids[150], {"title": "again"})

    def run(mark: FeedMark, hook: bool) -> tuple[set[int], FeedMark | None]:
        http = httpx.Client(event_hooks={"response": [churn]} if hook else {})
        with SellClient(sb.sell_url, sb.sell_token, http=http, per_s=None) as sell:
            feed = SellChangeFeed(sell, "lead", SellChangeMark.from_mark(mark))
            seen = {r.id for page in feed.pages() for r in page}
        http.close()
        return seen, feed.mark.close_slice()

    first, mark = run(FeedMark(updated_at=since, last_id=str(ids[100])), hook=True)
    assert mark is not None and lists[0] > 2  # it paged, and the data moved under it
    second, _ = run(mark, hook=False)
    assert set(changed) - set(doomed) <= first | second


def test_l4_hubspot_search_reads_past_the_10000_result_window(sb: Sandbox) -> None:
    sb.reset("empty")
    base = 1_770_000_000_000
    total = SEARCH_CAP + 150
    for i in range(total):  # three contacts per millisecond: restarts re-read a boundary
        sb.hubspot.add_contact({"email": f"w{i}@example.test"}, updated_ms=base + i // 3)
    with HubSpotClient(
        HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
        HubSpotLimits.unpaced(),  # HubSpot's own page size (200) and window (10,000)
    ) as hs:
        pages = list(hs.changed_pages(base, ["email"]))
        searches = hs.stats["search"]
    seen = [c.id for p in pages for c in p.contacts]
    assert len(seen) == len(set(seen)) == total
    bodies = [c.json for c in sb.hubspot.calls_matching("POST", SEARCH)]
    assert all(int(b["after"]) + b["limit"] <= SEARCH_CAP for b in bodies)
    assert sum(1 for b in bodies if b["after"] == "0") == 2  # one restart
    assert searches <= total // 200 + 3
    assert sb.hubspot.count(status=400) == 0
    assert pages[-1].high_water_ms == base + (total - 1) // 3


def test_l4_a_run_applies_every_hubspot_change_past_the_search_window(
    sb: Sandbox, tmp_path: Path
) -> None:
    # The window shrunk to 50 results of pages of 10 (the real 10,000 is read above).
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    pairs = {}
    for i in range(130):
        email = f"win{i}@example.com"
        cid = sb.hubspot.add_contact({"email": email, "lastname": f"W{i}", "hubspotscore": "80"})
        sb.hubspot.add_to_list(list_id, [cid])
        pairs[cid] = sb.sell.add_record("lead", {"email": email, "last_name": f"W{i}"})
    with engine_over(
        sb,
        f"sqlite:///{tmp_path}/window.db",
        list_id,
        hubspot_limits=HubSpotLimits.unpaced(search_page_size=10, search_result_cap=50),
    ) as engine:
        assert engine.run(trigger="test").failure is None
        for cid in pairs:  # more changed contacts than one search can page through
            sb.hubspot.update_contact(cid, {"jobtitle": "Changed in HubSpot"})
        assert engine.run(trigger="test").failure is None
        titles = {cid: sb.sell.get_record("lead", rid)["title"] for cid, rid in pairs.items()}
        assert set(titles.values()) == {"Changed in HubSpot"}
        searches = [c.json for c in sb.hubspot.calls_matching("POST", SEARCH)]
        assert all(int(b["after"]) + b["limit"] <= 50 for b in searches)

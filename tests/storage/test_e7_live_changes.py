"""The worker's loop of changes in seconds (sync/usecases/live.py) over the real inbox, on SQLite
and PostgreSQL: stored events are applied as small runs and leave the queue; duplicates apply
once; a dead worker's claim runs out and the next applies; events wait while a reconcile holds
the lock; failures back off and show after three; a pause stops event processing and polls.

The CRMs are the in-memory fakes; the store and the engine share one ticking clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

from bot.scheduler import expire_requests
from storage.db import open_store
from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.errors import ServiceUnavailable
from sync.event_payload import parse_events
from sync.feeds.base import Page
from sync.feeds.firehose import FIREHOSE_ABSENT, RECHECK
from sync.live import live_changes
from sync.pipeline.short_run import POLL, Poll, join_order
from sync.pipeline.sync_run import RunParts
from sync.service import CLI_ACTOR, SyncService
from sync.usecases import webhook_inbox
from sync.usecases.live import CLAIM_SECONDS, FAILING_AFTER, LiveChanges, Sources, poll_feeds
from tests.conftest import World
from tests.fakes import FakeHubSpot, FakeSell, TickClock

LIST_ID = "7"
_event_ids = itertools.count(1)


class Live(World):
    """The world of the shared fixtures, with webhooks stored in its inbox and a worker."""

    def linked(self, **props: object) -> tuple[str, object]:
        cid = self.member(**props)
        self.sync()
        self.sync()
        link = self.store.links_by_hubspot([cid])[cid]
        return cid, link.sell

    def webhook(self, *cids: str, kind: str = "contact.propertyChange", **extra: object) -> None:
        items = []
        for cid in cids:
            item: dict[str, object] = {
                "eventId": next(_event_ids),
                "subscriptionType": kind,
                "objectId": int(cid),
                "occurredAt": int(self.clock.now().timestamp() * 1000),
                "attemptNumber": 0,
            }
            if kind.endswith("propertyChange"):
                item.update(propertyName="phone", propertyValue="x")
            item.update(extra)
            items.append(item)
        self.store.store_batch(parse_events(items))

    def worker(self, owner: str = "worker-1", poll: Poll | None = None) -> LiveChanges:
        """A worker's loop; without ``poll``, one that polls nothing (events only)."""
        return live_changes(self.service, owner=owner, poll=poll or Poll())

    def sell_writes(self) -> int:
        return sum(v for k, v in self.sell.calls.items() if k.endswith(("_update", "_create")))


@pytest.fixture
def live(db_url: str) -> Iterator[Live]:
    clock = TickClock()
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list(LIST_ID)
    sell = FakeSell(clock=clock)
    opened = open_store(db_url)
    store = SqlStore(opened.engine, clock=clock.now)
    config = EngineConfig(default_threshold=50, default_list_id=LIST_ID, poll_seconds=60)
    engine = Engine(hubspot, sell, store, clock, config)
    yield Live(hubspot, sell, store, clock, engine, SyncService(engine))
    store.close()
    opened.close()


def test_e7_a_stored_event_is_applied_and_leaves_the_queue(live: Live) -> None:
    cid, ref = live.linked(email="a@x.com", lastname="A")
    live.hubspot.set(cid, phone="555-0100")
    live.webhook(cid)
    result = live.worker().tick()
    assert result.applied == 1 and result.failed == 0
    assert live.sell.value(ref.kind, ref.id, "phone") == "555-0100"  # type: ignore[attr-defined]
    assert live.store.depth() == 0
    assert live.store.recent_runs(1)[0].trigger == "events"


def test_e7_duplicates_and_redeliveries_write_once(live: Live) -> None:
    cid, ref = live.linked(email="d@x.com", lastname="D")
    live.hubspot.set(cid, phone="1")
    live.webhook(cid, cid, cid)
    worker = live.worker()
    before = live.sell_writes()
    assert worker.tick().applied == 3
    writes = live.sell_writes()
    assert writes == before + 1  # three events of one contact: one write
    assert live.sell.value(ref.kind, ref.id, "phone") == "1"  # type: ignore[attr-defined]
    live.webhook(cid)  # HubSpot's retry, or the echo of nothing new
    live.clock.tick(2)
    worker.tick()
    assert live.sell_writes() == writes
    assert live.store.depth() == 0


def test_e7_a_dead_workers_claim_runs_out_and_the_next_worker_applies(live: Live) -> None:
    cid, ref = live.linked(email="k@x.com", lastname="K")
    live.hubspot.set(cid, phone="2")
    live.webhook(cid)
    until = live.clock.now() + timedelta(seconds=CLAIM_SECONDS)
    claimed = live.store.claim_due(10, owner="dead", until=until)
    assert len(claimed) == 1  # the dead worker took it and never applied it
    other = live.worker("worker-2")
    assert other.tick().applied == 0
    assert live.sell.value(ref.kind, ref.id, "phone") is None  # type: ignore[attr-defined]
    live.clock.tick(CLAIM_SECONDS + 1)
    assert other.tick().applied == 1
    assert live.sell.value(ref.kind, ref.id, "phone") == "2"  # type: ignore[attr-defined]


def test_e7_a_worker_whose_claim_was_taken_marks_nothing(live: Live) -> None:
    """A worker stalls past its claim; another takes the event: the stale one's apply counts for
    nothing in the inbox, and the event is the new claimer's to mark."""
    cid, ref = live.linked(email="s@x.com", lastname="S")
    live.hubspot.set(cid, phone="7")
    live.webhook(cid)
    stale, fresh = live.worker("worker-1"), live.worker("worker-2")
    run = stale.run_short

    def stalled(work: object, trigger: str) -> object:
        live.clock.tick(CLAIM_SECONDS + 1)
        taken = live.store.claim_due(10, owner="worker-2", until=live.clock.now() + timedelta(60))
        fresh._claimed = taken  # as if worker-2's own tick had claimed them
        return run(work, trigger)  # type: ignore[arg-type]

    stale.run_short = stalled  # type: ignore[assignment]
    assert stale.tick().applied == 0
    assert live.store.depth() == 1  # still worker-2's
    assert fresh.tick().applied == 1
    assert live.store.depth() == 0
    assert live.sell.value(ref.kind, ref.id, "phone") == "7"  # type: ignore[attr-defined]


def test_e1_the_hourly_job_purges_events_applied_a_week_ago_in_batches(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, _ = live.linked(email="p@x.com", lastname="P")
    live.webhook(cid, cid, cid, cid, cid)
    assert live.worker().tick().applied == 5
    live.webhook(cid, kind="contact.creation")
    failing = live.store.claim_due(1, owner="w", until=live.clock.now())
    live.store.mark_failed(
        [failing[0].id], owner="w", reason="refused by Sell", next_attempt_at=live.clock.now()
    )
    monkeypatch.setattr(webhook_inbox, "PURGE_BATCH", 2)
    notifier = _NoSlack()
    live.clock.tick(6 * 24 * 3600)
    expire_requests(live.service, notifier)
    assert live.service.sources()[0].received == 6  # six days on: nothing purged
    assert live.service.webhook_inbox.purge_applied() == 0
    live.clock.tick(2 * 24 * 3600)
    calls = _count_calls(monkeypatch, live.store, "purge_applied")
    expire_requests(live.service, notifier)
    assert calls == [2, 2, 1]  # three bounded batches, the last one short
    (webhooks, _, _) = live.service.sources()
    assert webhooks.received == 6 and webhooks.queue_depth == 1  # the failing one is kept
    assert live.store.failing(1)[0].id == failing[0].id


class _NoSlack:
    def post(self, message: object) -> None:
        raise AssertionError("nothing to post")

    def update(self, channel: str, ts: str, message: object) -> None:
        raise AssertionError("nothing to update")


def _count_calls(monkeypatch: pytest.MonkeyPatch, store: SqlStore, name: str) -> list[int]:
    """What each call of ``store.<name>`` returned, in order (the real method runs)."""
    results: list[int] = []
    real = getattr(store, name)

    def counted(*args: object, **kwargs: object) -> int:
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(store, name, counted)
    return results


def test_e7_events_wait_in_the_inbox_while_a_reconcile_holds_the_lock(live: Live) -> None:
    cid, ref = live.linked(email="w@x.com", lastname="W")
    live.hubspot.set(cid, phone="3")
    live.webhook(cid)
    worker = live.worker()
    lease = live.engine._lease()
    assert lease.acquire()
    try:
        result = worker.tick()
        assert (result.applied, result.failed, result.waiting) == (0, 0, 1)
        assert live.store.depth() == 1
    finally:
        lease.release()
    assert worker.tick().applied == 1
    assert live.sell.value(ref.kind, ref.id, "phone") == "3"  # type: ignore[attr-defined]
    assert live.store.failing(1) == []  # waiting is no failure


def test_e7_a_failing_apply_backs_off_and_shows_after_three_failures(
    live: Live, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, ref = live.linked(email="f@x.com", lastname="F")
    live.hubspot.set(cid, phone="4")
    live.webhook(cid)

    def down(ids: Sequence[str], properties: Sequence[str]) -> object:
        raise ServiceUnavailable("hubspot", 503, "down")

    monkeypatch.setattr(live.hubspot, "read_contacts", down)
    worker = live.worker()
    for attempt in range(1, FAILING_AFTER + 1):
        assert worker.tick().failed == 1
        assert worker.tick().failed == 0  # backing off: not due yet
        (event,) = live.store.failing(attempt)
        assert event.attempts == attempt
        live.clock.tick(600)
    sources = Sources(live.store, live.store, live.store, live.clock, webhooks_enabled=True)
    (webhooks, _, _) = sources.sources()
    assert webhooks.failing == 1 and webhooks.failing_reasons == ("hubspot_unreachable",)
    assert webhooks.queue_depth == 1
    monkeypatch.undo()
    assert worker.tick().applied == 1
    assert live.sell.value(ref.kind, ref.id, "phone") == "4"  # type: ignore[attr-defined]
    assert sources.sources()[0].failing == 0


def test_e7_a_record_refused_fails_its_own_event_only(live: Live) -> None:
    bad, bad_ref = live.linked(email="bad@x.com", lastname="Bad")
    good, good_ref = live.linked(email="good@x.com", lastname="Good")
    live.sell.fail_updates[(bad_ref.kind, bad_ref.id)] = "phone is invalid"  # type: ignore[attr-defined]
    live.hubspot.set(bad, phone="5")
    live.hubspot.set(good, phone="6")
    live.webhook(bad, good)
    result = live.worker().tick()
    assert (result.applied, result.failed) == (1, 1)
    (failed,) = live.store.failing(1)
    assert failed.event.object_id == bad and failed.last_error == "refused by Sell"
    assert live.sell.value(good_ref.kind, good_ref.id, "phone") == "6"  # type: ignore[attr-defined]


def test_e7_pause_stops_event_processing_and_polls_and_keeps_the_events(live: Live) -> None:
    cid, ref = live.linked(email="p@x.com", lastname="P")
    live.service.change_setting("pause", "on", actor=CLI_ACTOR, reason="migration")
    live.hubspot.set(cid, phone="7")
    live.webhook(cid)
    worker = live.worker(poll=Poll(sell_changes=True))
    runs = len(live.store.recent_runs(50))
    result = worker.tick()
    assert result.held is not None and not result.polled
    assert live.store.depth() == 1 and len(live.store.recent_runs(50)) == runs
    live.service.change_setting("pause", "off", actor=CLI_ACTOR, reason="done")
    assert worker.tick().applied == 1
    assert live.sell.value(ref.kind, ref.id, "phone") == "7"  # type: ignore[attr-defined]


class ListJoins:
    """A join-order feed over ids at hand: one page each, closed after it is applied."""

    stage = "list joins"

    def __init__(self, pages: list[list[str]], closed: list[list[str]]) -> None:
        self.pages = pages
        self.closed = closed

    def read(self) -> Page[str] | None:
        return Page(self.pages.pop(0)) if self.pages else None

    def close(self, page: Page[str]) -> None:
        self.closed.append(list(page.items))


def test_e2_the_poll_runs_every_poll_seconds_and_creates_the_joined_member(live: Live) -> None:
    live.sync()
    cid = live.member(90, email="j@x.com", lastname="J")
    pages: list[list[str]] = [[cid]]
    closed: list[list[str]] = []

    def joins(_parts: RunParts) -> ListJoins:
        return ListJoins(pages, closed)

    worker = live.worker(poll=Poll(joins=joins))
    assert worker.tick().polled
    assert [r.values["email"] for r in live.sell.of_kind("lead")] == ["j@x.com"]
    assert closed == [[cid]]  # the page was closed once applied
    assert live.store.recent_runs(1)[0].trigger == POLL
    live.clock.tick(30)
    assert not worker.tick().polled  # not due before SYNC_POLL_SECONDS
    live.clock.tick(31)
    assert worker.tick().polled


def test_e2_no_poll_when_poll_seconds_is_zero(live: Live) -> None:
    engine = Engine(
        live.hubspot,
        live.sell,
        live.store,
        live.clock,
        EngineConfig(default_threshold=50, default_list_id=LIST_ID, poll_seconds=0),
    )
    worker = live_changes(SyncService(engine), owner="w", poll=Poll(sell_changes=True))
    assert not worker.tick().polled
    assert live.sell.total_calls() == 0 and live.hubspot.total_calls() == 0


def test_e4_an_echo_of_sellsyncs_own_write_causes_no_write(live: Live) -> None:
    cid, ref = live.linked(email="e@x.com", lastname="E", jobtitle="Rep")
    live.sell.edit(ref.kind, ref.id, title="Lead")  # type: ignore[attr-defined]
    live.clock.tick(1)
    live.engine.run(trigger="test")  # sellsync writes jobtitle to HubSpot
    assert live.hubspot.value(cid, "jobtitle") == "Lead"
    hub = live.hubspot.calls["batch_update"]
    sell = live.sell_writes()
    live.webhook(cid, propertyName="jobtitle", propertyValue="Lead", changeSource="INTEGRATION")
    assert live.worker().tick().applied == 1
    assert live.hubspot.calls["batch_update"] == hub and live.sell_writes() == sell


def test_e2_the_default_poll_reads_the_joins_and_what_no_push_source_brings(live: Live) -> None:
    def poll(webhooks: bool, firehose: bool) -> Poll:
        return poll_feeds(live.store, webhooks=webhooks, firehose_followed=firehose)()

    polled = poll(webhooks=False, firehose=False)
    assert polled.joins is join_order and polled.sell_changes and polled.hubspot_changes
    pushed = poll(webhooks=True, firehose=True)
    assert pushed.joins is join_order and not pushed.sell_changes and not pushed.hubspot_changes
    # Sell answered that the account has no Firehose: its changes are polled again
    live.store.remember(FIREHOSE_ABSENT, live.clock.now().isoformat(), RECHECK)
    assert poll(webhooks=True, firehose=True).sell_changes
    live.clock.tick(RECHECK.total_seconds())  # a day on, the Firehose is asked again
    assert not poll(webhooks=True, firehose=True).sell_changes


def test_e7_a_poll_that_finds_nothing_leaves_no_run_in_the_log(live: Live) -> None:
    cid, ref = live.linked(email="n@x.com", lastname="N")
    runs = [r.id for r in live.store.recent_runs(50)]
    worker = live.worker(poll=Poll(sell_changes=True))
    assert worker.tick().polled
    assert [r.id for r in live.store.recent_runs(50)] == runs  # a look, not a run to list
    live.sell.edit(ref.kind, ref.id, title="CEO")  # type: ignore[attr-defined]
    live.clock.tick(61)
    assert worker.tick().polled
    (run, *_) = live.store.recent_runs(1)
    assert run.trigger == POLL and run.counts.get("updated_hubspot") == 1
    assert live.hubspot.value(cid, "jobtitle") == "CEO"

"""Status per source of changes, on SQLite and PostgreSQL: the webhook inbox's figures (received,
last event, queue depth, oldest unapplied, failing) and the poll's period reach ``status``
(``--json``, the Slack board and App Home, the terminal) and ``/metrics``, from the database."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.exposition import generate_latest

from bot.blocks.runs import summary_message
from bot.blocks.status import status_message
from bot.metrics import metrics_registry
from bot.terminal import render_status
from storage.db import open_store
from storage.repositories import SqlStore
from sync.engine import Engine, EngineConfig
from sync.event_payload import parse_events
from sync.feeds.firehose import FIREHOSE_ABSENT, FirehoseMark, firehose_name
from sync.ports import SourceFigures
from sync.service import SyncService
from sync.usecases.live import FAILING_AFTER, Sources
from tests.fakes import FakeHubSpot, FakeSell, TickClock

_ids = itertools.count(1)
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def setup(db_url: str) -> Iterator[tuple[SqlStore, TickClock, SyncService]]:
    clock = TickClock(T0)
    opened = open_store(db_url)
    store = SqlStore(opened.engine, clock=clock.now)
    config = EngineConfig(default_list_id="7", poll_seconds=45, webhooks=True)
    service = SyncService(
        Engine(FakeHubSpot(clock=clock), FakeSell(clock=clock), store, clock, config)
    )
    yield store, clock, service
    store.close()
    opened.close()


def store_events(store: SqlStore, n: int, **extra: object) -> None:
    items = [
        {
            "eventId": next(_ids),
            "subscriptionType": "contact.propertyChange",
            "objectId": 100 + i,
            "occurredAt": int(T0.timestamp() * 1000),
            "propertyName": "phone",
            "propertyValue": "<b>x</b>",
            **extra,
        }
        for i in range(n)
    ]
    store.store_batch(parse_events(items))


def test_e7_status_shows_each_source_from_the_database(
    setup: tuple[SqlStore, TickClock, SyncService],
) -> None:
    store, clock, service = setup
    store_events(store, 3)
    clock.tick(60)
    for _ in range(3):  # one event failed three times: it is listed, with its reason
        (claimed,) = store.claim_due(1, owner="w", until=clock.now() + timedelta(seconds=60))
        store.mark_failed(
            [claimed.id], owner="w", reason="refused by <Sell>", next_attempt_at=clock.now()
        )
    view = service.status()
    webhooks, firehose, poll = view.sources
    assert (webhooks.name, webhooks.enabled, webhooks.received) == ("hubspot_webhooks", True, 3)
    assert webhooks.queue_depth == 3 and webhooks.oldest_unapplied_age_seconds == 60
    assert webhooks.failing == 1 and webhooks.failing_reasons == ("refused by <Sell>",)
    assert not firehose.enabled and firehose.position_age_seconds is None
    assert poll.enabled and poll.interval_seconds == 45
    data = view.to_dict()["sources"]
    assert data[0]["queue_depth"] == 3 and data[2]["interval_seconds"] == 45  # type: ignore[index]

    slack = str(status_message(view).to_dict())
    assert "3 events received" in slack and "3 waiting (oldest 60 s)" in slack
    assert (
        "1 event keeps failing (refused by &lt;Sell&gt;)" in slack and "<Sell>" not in slack
    )  # escaped
    assert "Short poll: every 45 s" in slack
    terminal = render_status(view)
    assert "Webhooks:" in terminal and "3 waiting" in terminal and "every 45 s" in terminal


def test_e7_metrics_show_each_source(setup: tuple[SqlStore, TickClock, SyncService]) -> None:
    store, clock, service = setup
    store_events(store, 2)
    clock.tick(30)
    text = generate_latest(metrics_registry(service.figures)).decode()
    assert 'sellsync_source_queue_depth{source="hubspot_webhooks"} 2.0' in text
    assert 'sellsync_source_events_received_total{source="hubspot_webhooks"} 2.0' in text
    assert 'sellsync_source_oldest_unapplied_age_seconds{source="hubspot_webhooks"} 30.0' in text
    assert 'sellsync_source_enabled{source="poll"} 1.0' in text
    assert 'sellsync_source_enabled{source="sell_firehose"} 0.0' in text
    assert 'sellsync_source_failing_events{source="hubspot_webhooks"} 0.0' in text


def test_e7_the_summary_counts_events_that_keep_failing(
    setup: tuple[SqlStore, TickClock, SyncService],
) -> None:
    store, clock, service = setup
    assert service.summary_since(None).empty
    store_events(store, 2)
    until = clock.now() + timedelta(seconds=60)
    (claimed, _) = store.claim_due(2, owner="w", until=until)
    for _ in range(2):  # each failure releases the claim: the worker claims it again
        store.mark_failed(
            [claimed.id], owner="w", reason="refused by HubSpot", next_attempt_at=clock.now()
        )
        (claimed,) = store.claim_due(1, owner="w", until=until)
    assert service.summary_since(None).failing_events == 0  # twice is not yet "keeps failing"
    store.mark_failed(
        [claimed.id], owner="w", reason="refused by HubSpot", next_attempt_at=clock.now()
    )
    summary = service.summary_since(None)
    assert summary.failing_events == 1 and not summary.empty
    text = str(summary_message(summary).to_dict())
    assert "1 HubSpot event keeps failing" in text


def test_e7_the_boards_source_figures_agree_with_the_single_reads(
    setup: tuple[SqlStore, TickClock, SyncService],
) -> None:
    """The status board reads each source's figures in its one statement; ``/metrics`` reads
    them one at a time: both read the same."""
    store, clock, _service = setup
    sources = Sources(store, store, store, clock)
    assert store.board(5, FAILING_AFTER).sources == sources.figures() == SourceFigures()

    store_events(store, 6)
    clock.tick(60)
    claimed = store.claim_due(6, owner="w", until=clock.now() + timedelta(seconds=60))
    store.mark_applied([e.id for e in claimed[:2]], owner="w")
    clock.tick(60)
    for attempt in range(FAILING_AFTER):  # two fail three times, with two reasons; one once
        ids = [e.id for e in claimed[2:5]] if attempt == 0 else [e.id for e in claimed[2:4]]
        for n, event_id in enumerate(ids):
            store.claim_due(6, owner="w", until=clock.now() + timedelta(seconds=60))
            store.mark_failed(
                [event_id], owner="w", reason=f"reason {n % 2}", next_attempt_at=clock.now()
            )
    clock.tick(7 * 24 * 3600)
    assert store.purge_applied(clock.now(), 1) == 1
    store_events(store, 1)

    board = store.board(5, FAILING_AFTER).sources
    assert board == sources.figures()
    assert (board.received, board.depth, board.failing) == (7, 5, 2)
    assert sorted(r or "" for r in board.failing_reasons) == ["reason 0", "reason 1"]
    assert board.oldest_unapplied_at == T0 and board.last_received_at == clock.now()
    assert board.firehose_stored_at is None and not board.firehose_absent

    store.set_mark(firehose_name("lead"), FirehoseMark.at("p1", T0))
    assert store.board().sources == sources.figures()
    assert store.board().sources.firehose_stored_at is None  # one stream is not followed
    store.set_mark(firehose_name("contact"), FirehoseMark.at("p2", T0 + timedelta(minutes=1)))
    store.remember(FIREHOSE_ABSENT, True, timedelta(days=1))
    board = store.board(5, FAILING_AFTER).sources
    assert board == sources.figures()
    assert board.firehose_stored_at == T0 and board.firehose_absent
    clock.tick(timedelta(days=1, seconds=1).total_seconds())  # asked again after a day
    board = store.board(5, FAILING_AFTER).sources
    assert board == sources.figures() and not board.firehose_absent

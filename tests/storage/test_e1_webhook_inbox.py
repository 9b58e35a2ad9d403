"""The webhook inbox on both databases: a batch is stored whole and each HubSpot eventId once;
workers claim due events without sharing them, an expired claim frees its events, failures back
off and count, and the figures the health board reads add up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from storage.db import open_store
from storage.repositories import InboxRepository, SqlStore
from sync.event_payload import parse_events
from sync.events import HubSpotEvent

from .conftest import T0


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def inbox(db_url: str, clock: Clock) -> Iterator[InboxRepository]:
    with open_store(db_url) as store:
        yield InboxRepository(store.engine, clock=clock)


def event(event_id: int, object_id: int = 7, **extra: object) -> HubSpotEvent:
    item: dict[str, object] = {
        "eventId": event_id,
        "subscriptionType": "contact.propertyChange",
        "objectId": object_id,
        "occurredAt": 1_741_000_000_000 + event_id,
        "attemptNumber": 0,
        "portalId": 62515,
        "changeSource": "CRM_UI",
        "sourceId": "userId:1",
        "propertyName": "email",
        "propertyValue": f"p{event_id}@example.com",
    }
    item.update(extra)
    (parsed,) = parse_events([item])
    return parsed


def test_e1_a_batch_round_trips_with_every_field(inbox: InboxRepository) -> None:
    merge = parse_events(
        [
            {
                "eventId": 9,
                "subscriptionType": "contact.merge",
                "objectId": 11,
                "occurredAt": 1_741_000_000_123,
                "attemptNumber": 2,
                "changeSource": "CRM_UI",
                "primaryObjectId": 11,
                "mergedObjectIds": [11, 12],
                "newObjectId": 13,
            }
        ]
    )[0]
    assert inbox.store_batch([event(1), merge]) == 2
    claimed = inbox.claim_due(10, owner="w1", until=T0 + timedelta(minutes=1))
    assert [c.event for c in claimed] == [event(1), merge]
    assert claimed[1].event.merged_ids == ("11", "12")
    assert claimed[1].event.contact_ids == ("11", "12", "13")
    assert claimed[0].event.occurred_at.tzinfo is not None
    assert claimed[0].received_at == T0
    assert claimed[0].claimed_by == "w1"


def test_e1_a_redelivered_event_is_stored_once(inbox: InboxRepository) -> None:
    assert inbox.store_batch([event(1), event(2)]) == 2
    again = event(2, attemptNumber=3)
    assert inbox.store_batch([again, event(3)]) == 1
    assert inbox.received_count() == 3
    assert inbox.depth() == 3
    claimed = inbox.claim_due(10, owner="w", until=T0 + timedelta(minutes=1))
    assert [c.event.event_id for c in claimed] == [1, 2, 3]
    assert claimed[1].event.attempt_number == 0  # the first delivery is the one kept


def test_e1_a_failed_store_stores_nothing(inbox: InboxRepository) -> None:
    """A batch is one transaction: a row the database refuses takes the whole batch back."""
    broken = HubSpotEvent(
        event_id=5,
        subscription_type="contact.creation",
        object_id=None,  # type: ignore[arg-type]  # the column is NOT NULL on both databases
        occurred_at=T0,
    )
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error
        inbox.store_batch([event(4), broken])
    assert inbox.received_count() == 0


def test_e1_workers_never_share_a_claim_and_an_expired_claim_is_free(
    inbox: InboxRepository, clock: Clock
) -> None:
    inbox.store_batch([event(i) for i in range(1, 6)])
    first = inbox.claim_due(3, owner="w1", until=T0 + timedelta(seconds=30))
    second = inbox.claim_due(10, owner="w2", until=T0 + timedelta(seconds=30))
    assert [c.event.event_id for c in first] == [1, 2, 3]
    assert [c.event.event_id for c in second] == [4, 5]
    assert inbox.claim_due(10, owner="w3", until=T0 + timedelta(seconds=30)) == []
    clock.at = T0 + timedelta(seconds=31)  # w1 was killed: its claim runs out
    inbox.mark_applied([c.id for c in second], owner="w2")
    again = inbox.claim_due(10, owner="w3", until=clock.at + timedelta(seconds=30))
    assert [c.event.event_id for c in again] == [1, 2, 3]
    assert {c.claimed_by for c in again} == {"w3"}


def test_e1_applied_events_leave_the_queue(inbox: InboxRepository, clock: Clock) -> None:
    inbox.store_batch([event(1), event(2)])
    assert inbox.oldest_unapplied() == T0
    claimed = inbox.claim_due(10, owner="w", until=T0 + timedelta(seconds=30))
    clock.at = T0 + timedelta(seconds=5)
    assert inbox.mark_applied([claimed[0].id], owner="w") == 1
    assert inbox.mark_applied([claimed[0].id], owner="w") == 0  # once
    assert inbox.depth() == 1
    inbox.store_batch([event(3)])
    assert inbox.oldest_unapplied() == T0
    assert inbox.last_received_at() == clock.at
    inbox.mark_applied([claimed[1].id], owner="w")
    assert inbox.oldest_unapplied() == clock.at
    assert inbox.received_count() == 3
    clock.at = T0 + timedelta(minutes=5)
    assert [c.event.event_id for c in inbox.claim_due(10, owner="w", until=clock.at)] == [3]


def test_e1_failures_back_off_and_show_after_three(inbox: InboxRepository, clock: Clock) -> None:
    inbox.store_batch([event(1), event(2)])
    for attempt in range(1, 4):
        claimed = inbox.claim_due(1, owner="w", until=clock.at + timedelta(seconds=30))
        assert [c.event.event_id for c in claimed] == [1]
        retry_at = clock.at + timedelta(seconds=10 * attempt)
        assert (
            inbox.mark_failed(
                [claimed[0].id], owner="w", reason="hubspot_unavailable", next_attempt_at=retry_at
            )
            == 1
        )
        # backing off: the next claim takes the other event, or nothing
        others = inbox.claim_due(10, owner="w", until=clock.at + timedelta(seconds=1))
        assert [c.event.event_id for c in others] in ([2], [])
        clock.at = retry_at + timedelta(seconds=2)
        if attempt < 3:
            assert inbox.failing() == []
    failing = inbox.failing()
    assert [(f.event.event_id, f.attempts, f.last_error) for f in failing] == [
        (1, 3, "hubspot_unavailable")
    ]
    assert inbox.failing(min_attempts=4) == []
    assert inbox.depth() == 2


def test_e1_a_stale_claimer_marks_nothing_its_successor_holds(
    inbox: InboxRepository, clock: Clock
) -> None:
    inbox.store_batch([event(1), event(2)])
    stale = inbox.claim_due(10, owner="w1", until=T0 + timedelta(seconds=30))
    clock.at = T0 + timedelta(seconds=31)  # w1 stalled: its claim ran out
    taken = inbox.claim_due(1, owner="w2", until=clock.at + timedelta(seconds=30))
    assert [c.event.event_id for c in taken] == [1]
    ids = [c.id for c in stale]
    later = clock.at + timedelta(minutes=5)
    assert inbox.mark_failed(ids, owner="w1", reason="x", next_attempt_at=later) == 1  # event 2
    assert inbox.mark_applied(ids, owner="w1") == 0  # 1 is w2's, 2 was released by w1
    assert inbox.claim_due(10, owner="w3", until=later) == []  # w2 holds 1; 2 backs off
    assert inbox.failing(1)[0].event.event_id == 2
    assert inbox.mark_applied([taken[0].id], owner="w2") == 1
    assert inbox.depth() == 1


def test_e1_someone_without_a_claim_marks_only_what_no_live_claim_holds(
    inbox: InboxRepository, clock: Clock
) -> None:
    inbox.store_batch([event(1), event(2), event(3)])
    claimed = inbox.claim_due(1, owner="w1", until=T0 + timedelta(seconds=30))
    dead = inbox.claim_due(1, owner="dead", until=T0 + timedelta(seconds=5))
    free = inbox.claim_due(1, owner="w0", until=T0)  # a claim already run out
    clock.at = T0 + timedelta(seconds=10)
    every = [claimed[0].id, dead[0].id, free[0].id]
    assert inbox.mark_applied(every, owner=None) == 2  # w1's live claim is left alone
    assert inbox.depth() == 1
    assert inbox.mark_applied([claimed[0].id], owner="w1") == 1


def test_e1_applied_events_are_purged_after_a_week_and_still_counted_as_received(
    inbox: InboxRepository, clock: Clock
) -> None:
    inbox.store_batch([event(i) for i in range(1, 6)])
    claimed = inbox.claim_due(10, owner="w", until=T0 + timedelta(minutes=1))
    applied, failing, waiting = claimed[:3], claimed[3], claimed[4]
    clock.at = T0 + timedelta(seconds=5)
    assert inbox.mark_applied([c.id for c in applied], owner="w") == 3
    inbox.mark_failed([failing.id], owner="w", reason="refused by Sell", next_attempt_at=T0)
    inbox.mark_failed([waiting.id], owner="w", reason="x", next_attempt_at=T0)
    clock.at = T0 + timedelta(days=7, seconds=6)
    inbox.store_batch([event(6)])
    (late,) = inbox.claim_due(10, owner="w", until=clock.at + timedelta(minutes=1))[2:]
    assert late.event.event_id == 6
    inbox.mark_applied([late.id], owner="w")  # applied just now: kept
    week_ago = clock.at - timedelta(days=7)
    assert inbox.purge_applied(week_ago, 2) == 2  # a bounded batch, oldest first
    assert inbox.received_count() == 6
    assert inbox.purge_applied(week_ago, 2) == 1
    assert inbox.purge_applied(week_ago, 2) == 0
    assert inbox.received_count() == 6  # a purge never lowers what was received
    assert inbox.depth() == 2  # the events not applied stay, failing or not
    assert [e.event.event_id for e in inbox.failing(1)] == [4, 5]
    assert inbox.purge_applied(clock.at + timedelta(days=1), 10) == 1  # the newest, applied
    assert inbox.received_count() == 6 and inbox.depth() == 2
    inbox.store_batch([event(7)])
    assert inbox.received_count() == 7


def test_e1_an_empty_inbox_has_no_figures(inbox: InboxRepository) -> None:
    assert inbox.depth() == 0
    assert inbox.received_count() == 0
    assert inbox.oldest_unapplied() is None
    assert inbox.last_received_at() is None
    assert inbox.failing() == []
    assert inbox.store_batch([]) == 0
    assert inbox.purge_applied(T0 + timedelta(days=30), 100) == 0
    assert inbox.received_count() == 0
    assert inbox.claim_due(10, owner="w", until=T0) == []


def test_e1_the_store_is_the_inbox(store: SqlStore) -> None:
    assert store.store_batch([event(1)]) == 1
    assert store.depth() == 1


def test_e1_concurrent_claims_take_each_event_once(db_url: str) -> None:
    """Four workers claiming at once, each on its own connection, share out every event."""
    with open_store(db_url) as store:
        store.store_batch([event(i) for i in range(1, 201)])
        until = datetime.now(T0.tzinfo) + timedelta(minutes=5)
        taken: list[list[int]] = [[] for _ in range(4)]
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                while claimed := store.claim_due(7, owner=f"w{n}", until=until):
                    taken[n].extend(c.event.event_id for c in claimed)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        every = sorted(i for part in taken for i in part)
        assert every == list(range(1, 201))

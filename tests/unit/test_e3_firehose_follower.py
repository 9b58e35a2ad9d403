"""The Firehose follower's decisions over an in-memory stream and mark store: positions stored
only after a page is applied, one reconcile for expired streams, a missing Firehose remembered
for a day, and the client's reading of Sell's answers (httpx.MockTransport)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from sync.clients.errors import classify_sell
from sync.clients.http import ApiSession
from sync.clients.pacing import Unpaced
from sync.clients.retry import RetryPolicy
from sync.clients.sell_firehose import SellFirehose
from sync.domain import FeedMark, RecordKind, SellRef
from sync.errors import ApiError, AuthError
from sync.feeds.firehose import (
    EXPIRED,
    FIREHOSE_ABSENT,
    UNAVAILABLE,
    FirehoseEvent,
    FirehosePage,
    FirehoseRefusal,
    firehose_name,
)
from sync.pipeline.firehose import FirehoseFollower, Followed, firehose_available, firehose_lag
from tests.fakes import TickClock


class Remembered:
    """Remembered reads in memory, run out by the shared clock."""

    def __init__(self, clock: TickClock) -> None:
        self.clock = clock
        self.values: dict[str, tuple[Any, datetime | None]] = {}

    def remember(self, key: str, value: Any, ttl: timedelta | None) -> None:
        self.values[key] = (value, None if ttl is None else self.clock.now() + ttl)

    def recall(self, key: str) -> Any | None:
        value, until = self.values.get(key, (None, None))
        return None if until is not None and until <= self.clock.now() else value

    def forget(self, key: str) -> None:
        self.values.pop(key, None)


class Marks:
    """Feed marks in memory, beside the remembered reads of the same store."""

    def __init__(self, remembered: Remembered) -> None:
        self.marks: dict[str, FeedMark] = {}
        self.writes = 0
        self.remembered = remembered

    def get_mark(self, name: str) -> FeedMark | None:
        return self.marks.get(name)

    def set_mark(self, name: str, mark: FeedMark) -> None:
        self.writes += 1
        self.marks[name] = mark


class Streams:
    """Both streams as lists of events; a position is the index of the next event."""

    def __init__(self) -> None:
        self.events: dict[RecordKind, list[FirehoseEvent]] = {"lead": [], "contact": []}
        self.answer: FirehoseRefusal | None = None
        self.expired_below = 0
        self.reads = 0

    def add(self, kind: RecordKind, rid: int, event: str = "updated") -> None:
        self.events[kind].append(FirehoseEvent(kind, rid, event))

    def stream(
        self, kind: RecordKind, position: str, *, limit: int = 100
    ) -> FirehosePage | FirehoseRefusal:
        self.reads += 1
        if self.answer is not None:
            return self.answer
        events = self.events[kind]
        start = len(events) if position == "top" else int(position)
        if position != "top" and start < self.expired_below:
            return EXPIRED
        page = events[start : start + limit]
        after = start + len(page)
        return FirehosePage(tuple(page), str(after), after >= len(events))


class Runs:
    def __init__(self) -> None:
        self.applied: list[list[SellRef]] = []
        self.reconciles = 0
        self.ok = True

    def apply(self, refs: Sequence[SellRef]) -> bool:
        self.applied.append(list(refs))
        return self.ok

    def reconcile(self) -> bool:
        self.reconciles += 1
        return self.ok


@pytest.fixture
def parts() -> tuple[Streams, Marks, TickClock, Runs]:
    clock = TickClock()
    return Streams(), Marks(Remembered(clock)), clock, Runs()


def follower(parts: tuple[Streams, Marks, TickClock, Runs], **kw: int) -> FirehoseFollower:
    streams, marks, clock, runs = parts
    return FirehoseFollower(
        streams,
        marks,
        clock,
        remembered=marks.remembered,  # shared by every follower, as a database is
        apply=runs.apply,
        reconcile=runs.reconcile,
        **kw,
    )


def test_e3_loops_until_top_and_stores_each_position_after_its_page(parts) -> None:  # type: ignore[no-untyped-def]
    streams, marks, _clock, runs = parts
    f = follower(parts)
    f.follow()  # starts at the top
    assert marks.marks[firehose_name("lead")].last_id == "0"
    for rid in range(250):
        streams.add("lead", rid)
    streams.add("contact", 7, "deleted")
    result = f.follow()
    assert result.outcome is Followed.READ and result.events == 251
    assert [len(r) for r in runs.applied] == [101, 100, 50]  # leads 100 + the contact; ...
    assert SellRef("contact", 7) in runs.applied[0]
    assert marks.marks[firehose_name("lead")].last_id == "250"


def test_e3_a_page_not_applied_stores_no_position(parts) -> None:  # type: ignore[no-untyped-def]
    streams, marks, _clock, runs = parts
    f = follower(parts)
    f.follow()
    streams.add("lead", 1)
    runs.ok = False
    assert f.follow().outcome is Followed.NOT_APPLIED
    assert marks.marks[firehose_name("lead")].last_id == "0"
    runs.ok = True
    assert f.follow().records == 1  # the same page again
    assert marks.marks[firehose_name("lead")].last_id == "1"


def test_e3_events_naming_one_record_twice_hint_it_once(parts) -> None:  # type: ignore[no-untyped-def]
    streams, _marks, _clock, runs = parts
    f = follower(parts)
    f.follow()
    for event in ("created", "updated", "updated", "deleted"):
        streams.add("lead", 5, event)
    f.follow()
    assert runs.applied == [[SellRef("lead", 5)]]


def test_e3_both_streams_expired_cost_one_reconcile_then_follow_from_top(parts) -> None:  # type: ignore[no-untyped-def]
    streams, marks, _clock, runs = parts
    f = follower(parts)
    f.follow()
    streams.add("lead", 1)
    streams.add("contact", 2)
    streams.expired_below = 1  # position 0 of both streams is gone
    assert f.follow().outcome is Followed.RECONCILED
    assert runs.reconciles == 1 and runs.applied == []
    assert marks.marks[firehose_name("lead")].last_id == "1"  # the top taken before it
    assert f.follow().outcome is Followed.READ
    assert runs.reconciles == 1


def test_e3_a_reconcile_that_fails_is_tried_again(parts) -> None:  # type: ignore[no-untyped-def]
    streams, marks, _clock, runs = parts
    f = follower(parts)
    f.follow()
    streams.add("lead", 1)
    streams.expired_below = 1
    runs.ok = False
    assert f.follow().outcome is Followed.NOT_RECONCILED
    assert marks.marks[firehose_name("lead")].last_id == "0"
    runs.ok = True
    assert f.follow().outcome is Followed.RECONCILED
    assert runs.reconciles == 2


def test_e3_no_firehose_is_remembered_and_asked_again_after_a_day(parts) -> None:  # type: ignore[no-untyped-def]
    streams, marks, clock, _runs = parts
    streams.answer = UNAVAILABLE
    f = follower(parts)
    reads_of = marks.remembered
    assert firehose_available(reads_of)
    assert f.follow().outcome is Followed.ABSENT
    assert reads_of.recall(FIREHOSE_ABSENT) == clock.now().isoformat()  # when Sell said so
    assert marks.marks == {}  # no feed mark: the remembered reads keep it
    reads = streams.reads
    for _ in range(100):
        clock.tick(5)
        assert f.follow().outcome is Followed.ABSENT
    assert streams.reads == reads  # not asked every 5 s
    assert not firehose_available(reads_of)
    assert not follower(parts).available()  # another process sharing the store knows it too
    clock.tick(24 * 3600)
    streams.answer = None  # the account got the premium APIs meanwhile
    assert firehose_available(reads_of)
    assert f.follow().outcome is Followed.READ
    assert streams.reads > reads
    clock.tick(5)
    assert firehose_available(reads_of)


def test_e3_position_age_is_that_of_the_older_stream(parts) -> None:  # type: ignore[no-untyped-def]
    _streams, marks, clock, _runs = parts
    assert firehose_lag(marks, clock) is None
    follower(parts).follow()
    clock.tick(30)
    assert firehose_lag(marks, clock) == timedelta(seconds=30)


# ------------------------------------------------------------------ the client's reading


def client(handler: object) -> SellFirehose:
    http = httpx.Client(transport=httpx.MockTransport(handler))  # type: ignore[arg-type]
    session = ApiSession(
        service="Sell",
        base_url="https://api.getbase.com",
        token="t" * 64,
        classifier=classify_sell,
        http=http,
        retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0, rate_limit_wait=0),
        sleep=lambda _s: None,
    )
    return SellFirehose(session, Unpaced())


def _errors(status: int, code: str) -> httpx.Response:
    body = {"errors": [{"error": {"code": code, "message": code}}], "meta": {"type": "errors"}}
    return httpx.Response(status, json=body)


def test_e3_client_reads_a_page_and_asks_with_position_and_limit() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "items": [
                    {"data": {"id": 3}, "meta": {"type": "lead", "event_type": "deleted"}},
                    {"data": {"id": "4"}, "meta": {"type": "lead", "event_type": "created"}},
                    {"data": {"id": None}, "meta": {"type": "lead", "event_type": "updated"}},
                    {"data": {"id": 5}, "meta": {"type": "deal", "event_type": "updated"}},
                ],
                "meta": {"position": "abc", "top": False, "links": {"next": "x"}},
            },
        )

    page = client(handler).stream("lead", "tail", limit=100)
    assert isinstance(page, FirehosePage)
    assert [(e.id, e.event) for e in page.events] == [(3, "deleted"), (4, "created")]
    assert (page.position, page.top) == ("abc", False)
    assert seen[0].url.path == "/v3/leads/stream"
    assert dict(seen[0].url.params) == {"position": "tail", "limit": "100"}


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [(410, "gone", EXPIRED), (403, "forbidden", UNAVAILABLE), (404, "not_found", UNAVAILABLE)],
)
def test_e3_client_answers_refusals_as_values(
    status: int, code: str, expected: FirehoseRefusal
) -> None:
    assert client(lambda _r: _errors(status, code)).stream("contact", "p") is expected


def test_e3_client_raises_on_a_refused_token_and_a_page_without_position() -> None:
    with pytest.raises(AuthError):
        client(lambda _r: _errors(401, "unauthorized")).stream("lead", "top")
    with pytest.raises(ApiError):
        client(lambda _r: httpx.Response(200, json={"items": [], "meta": {}})).stream("lead", "t")

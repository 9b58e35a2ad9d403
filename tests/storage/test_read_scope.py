"""Read scopes (``Store.reading``): the status board, read on every ``/sellsync status``, takes
one pooled connection instead of one per read (and on SQLite reads one snapshot), on SQLite and
PostgreSQL; writes inside still commit, and the requests it expires on the way are not shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event

from storage.repositories import SqlStore
from sync.domain import Link, LinkState, SellRef, SettingName
from sync.engine import Engine, EngineConfig
from sync.ports import CustomMapping, SchedulerBeat
from sync.service import CLI_ACTOR, SyncService
from tests.fakes import FakeHubSpot, FakeSell, TickClock


@pytest.fixture
def service(store: SqlStore) -> SyncService:
    clock = TickClock()
    hubspot = FakeHubSpot(clock=clock)
    hubspot.make_list("7", "MANUAL")
    engine = Engine(hubspot, FakeSell(clock=clock), store, clock, EngineConfig(default_list_id="7"))
    return SyncService(engine)


@pytest.fixture
def checkouts(store: SqlStore) -> Iterator[list[int]]:
    """One entry per connection taken from the store's pool."""
    taken: list[int] = []

    def on_checkout(*_args: object) -> None:
        taken.append(1)

    event.listen(store.engine, "checkout", on_checkout)
    yield taken
    event.remove(store.engine, "checkout", on_checkout)


def link(n: int) -> Link:
    return Link(
        sell=SellRef("lead", 3_000_000 + n), hubspot_id=str(100 + n), state=LinkState.ACTIVE
    )


def test_the_status_board_takes_one_connection(
    service: SyncService, store: SqlStore, checkouts: list[int]
) -> None:
    store.save_link(link(1))
    service.status()  # the first reading stores the default settings (a write of its own)
    checkouts.clear()
    board = service.status()
    assert board.links["active"] == 1
    assert len(checkouts) == 1  # settings, runs, heartbeat, conflicts, requests, links


def test_reads_outside_a_scope_each_take_their_own(store: SqlStore, checkouts: list[int]) -> None:
    store.count_links()
    store.count_conflicts()
    assert len(checkouts) == 2
    checkouts.clear()
    with store.reading():
        store.count_links()
        store.count_conflicts()
        with store.reading():  # a nested scope joins the outer one
            store.recent_runs(5)
    assert len(checkouts) == 1


def test_writes_inside_a_scope_commit_at_once(store: SqlStore) -> None:
    with store.reading():
        store.save_link(link(2))
    assert store.count_links()["active"] == 1


def test_on_sqlite_a_scope_reads_one_snapshot(sqlite_url: str) -> None:
    from storage.db import open_store

    with open_store(sqlite_url) as store:
        store.save_link(link(3))
        with store.reading():
            before = store.count_links()
            store.save_link(link(4))  # another connection commits meanwhile
            assert store.count_links() == before
            assert before["active"] == 1
        assert store.count_links()["active"] == 2


def test_the_board_does_not_show_a_request_it_expired_on_the_way(
    service: SyncService, store: SqlStore
) -> None:
    service.request_change("threshold", "70", actor=CLI_ACTOR, reason="more")
    assert service.status().pending_requests == 1
    service.engine.clock.tick(timedelta(days=8).total_seconds())  # type: ignore[attr-defined]
    assert service.status().pending_requests == 0
    assert store.pending_requests() == []


def test_the_status_board_is_one_statement(service: SyncService, store: SqlStore) -> None:
    """Settings, recent runs, the newest heartbeat and the counts: one round trip."""
    service.status()
    statements: list[str] = []

    def on_execute(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.split()[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", on_execute)
    try:
        service.status()
    finally:
        event.remove(store.engine, "before_cursor_execute", on_execute)
    assert len(statements) == 1, statements


def test_the_board_counts_agree_with_the_single_reads(
    service: SyncService, store: SqlStore
) -> None:
    empty = store.board_counts()
    assert empty.links == store.count_links() and set(empty.links) == {s.value for s in LinkState}
    assert (empty.open_conflicts, empty.pending_requests, empty.oldest_pending_at) == (0, 0, None)
    store.save_link(link(5))
    store.save_link(link(6))
    store.save_link(Link(sell=SellRef("contact", 7), hubspot_id="9", state=LinkState.TOMBSTONED))
    service.request_change("threshold", "70", actor=CLI_ACTOR, reason="more")
    made = service.engine.clock.now()  # type: ignore[attr-defined]
    counts = store.board_counts()
    assert counts.links == store.count_links()
    assert (counts.links["active"], counts.links["tombstoned"]) == (2, 1)
    assert counts.open_conflicts == store.count_conflicts() == 0
    assert counts.pending_requests == len(store.pending_requests()) == 1
    assert counts.oldest_pending_at == made


def test_the_board_agrees_with_the_single_reads(service: SyncService, store: SqlStore) -> None:
    """``Store.board`` reads what the status board read one statement at a time: the stored
    settings (row and named values), the newest runs in order, the newest heartbeat, the counts."""
    empty = store.board()
    assert empty.settings == store.stored_settings()
    assert (empty.recent_runs, empty.heartbeat) == ([], None)
    assert empty.counts == store.board_counts()

    service.status()  # stores the settings
    store.update_settings(
        custom_mappings=(CustomMapping(hubspot_property="jobtitle", sell_field="title"),)
    )
    store.store_setting(SettingName.BULK_LIMIT, "40", replans=False)
    at = service.engine.clock.now()
    for n in range(7):  # two share a start time: the newer id comes first
        run = store.start_run(trigger=f"t{n}", at=at + timedelta(minutes=min(n, 5)))
        if n % 2:
            store.finish_run(run, at=at + timedelta(hours=1), status="ok", counts={"created": n})
    for n, seen in enumerate((3, 9, 6)):
        store.record_heartbeat(
            SchedulerBeat(
                scheduler_id=f"s{n}",
                started_at=at,
                seen_at=at + timedelta(minutes=seen),
                next_sync_at=at + timedelta(minutes=seen + 15),
            )
        )
    store.save_link(link(8))
    service.request_change("threshold", "70", actor=CLI_ACTOR, reason="more")

    board = store.board(5)
    assert board.settings == store.stored_settings()
    assert board.settings.values == {SettingName.BULK_LIMIT: "40"}
    assert len(board.settings.custom_mappings) == 1
    assert board.recent_runs == store.recent_runs(5)
    assert [r.trigger for r in board.recent_runs] == ["t6", "t5", "t4", "t3", "t2"]
    assert board.heartbeat == store.latest_heartbeat()
    assert board.heartbeat is not None and board.heartbeat.scheduler_id == "s1"
    assert board.counts == store.board_counts()
    assert board.counts.links["active"] == 1 and board.counts.pending_requests == 1

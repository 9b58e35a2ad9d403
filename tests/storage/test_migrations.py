"""Alembic migrations: storage/migrations."""

from __future__ import annotations

import logging
import multiprocessing
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import db
from storage.tables import metadata

from . import workers
from .conftest import T0

TABLES = {
    "links",
    "sell_index",
    "list_members",
    "cursors",
    "conflicts",
    "settings",
    "change_requests",
    "sync_runs",
    "audit_events",
    "locks",
    "scheduler_heartbeats",
    "request_markers",
    "scheduler_state",
    "bulk_holds",
    "setting_values",
    "webhook_events",
    "remembered_reads",
    "list_roster",
    "migration_runs",
    "migration_items",
    "migration_refusals",
    "migration_verifications",
    "sync_health",
}


def table_names(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_takes_an_empty_database_to_head(db_url: str) -> None:
    assert db.current_revision(db_url) is None
    db.upgrade(db_url)
    assert db.current_revision(db_url) == db.head_revision()
    assert table_names(db_url) == TABLES | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(db_url: str) -> None:
    db.upgrade(db_url)
    with db.open_store(db_url) as store:
        store.add_members("L", ["1", "2"])
    db.upgrade(db_url)
    assert db.current_revision(db_url) == db.head_revision()
    with db.open_store(db_url, migrate=False) as store:
        assert store.known_members("L") == {"1", "2"}


def test_upgrade_accepts_an_engine_and_leaves_it_open(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT count(*) FROM links"))
    finally:
        engine.dispose()


def test_migrations_match_the_sqlmodel_tables(db_url: str) -> None:
    db.upgrade(db_url)
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_downgrade_to_base_then_upgrade_again(db_url: str) -> None:
    db.upgrade(db_url)
    db.downgrade(db_url, "base")
    assert table_names(db_url) == {"alembic_version"}
    db.upgrade(db_url)
    assert table_names(db_url) == TABLES | {"alembic_version"}


def test_upgrade_does_not_depend_on_the_current_directory(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert db.MIGRATIONS_DIR.is_absolute()
    assert (db.MIGRATIONS_DIR / "env.py").is_file()
    db.upgrade(db_url)
    assert db.current_revision(db_url) == db.head_revision()


def test_processes_upgrading_an_empty_database_at_once_both_succeed(db_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [context.Process(target=workers.migrate, args=(db_url, barrier)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0]
    assert db.current_revision(db_url) == db.head_revision()
    assert table_names(db_url) == TABLES | {"alembic_version"}


def test_threads_upgrading_at_once_take_turns(db_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def migrate() -> None:
        try:
            barrier.wait(timeout=30)
            db.upgrade(db_url)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert db.current_revision(db_url) == db.head_revision()


def test_upgrade_from_the_first_schema_keeps_its_data(db_url: str) -> None:
    """Every earlier schema upgrades: data written at 0001 survives 0002 (member scores)."""
    from storage.repositories import SqlStore

    db.upgrade(db_url, "0001")
    engine = db.make_engine(db_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text("INSERT INTO list_members (list_id, hubspot_id) VALUES ('7', '101')")
            )
        db.upgrade(engine)
        assert db.current_revision(engine) == db.head_revision()
        store = SqlStore(engine)
        assert store.member_scores("7") == {"101": None}
        store.set_member_scores("7", {"101": "42", "102": None})
        assert store.member_scores("7") == {"101": "42", "102": None}
        assert store.known_members("7") == {"101", "102"}
        store.add_members("7", ["101"])  # adding a known member keeps its score
        assert store.member_scores("7")["101"] == "42"
    finally:
        engine.dispose()


def _fill_0003(engine: sa.Engine, *, alert: str) -> None:
    """Locks, replay markers and cursors as revision 0003 kept them."""
    from storage import tables as t

    with engine.begin() as connection:
        connection.execute(
            sa.insert(t.locks),
            [
                {"name": "sync", "owner": "run-1", "expires_at": T0 + timedelta(minutes=2)},
                {"name": "slack-signature:v0=ab", "owner": "m1", "expires_at": T0 + MARK},
                {"name": "slack-event:Ev01", "owner": "m2", "expires_at": T0 + MARK},
            ],
        )
        connection.execute(
            sa.insert(t.cursors),
            [
                {"name": "alert", "updated_at": T0, "last_id": alert, "position_ms": None},
                {
                    "name": "summary",
                    "updated_at": T0 + timedelta(hours=1),
                    "last_id": None,
                    "position_ms": None,
                },
                {
                    "name": "hubspot:changes",
                    "updated_at": None,
                    "last_id": None,
                    "position_ms": 1_740_992_400_123,
                },
            ],
        )


MARK = timedelta(minutes=6)


def test_0004_moves_markers_and_scheduler_state_into_their_own_tables(db_url: str) -> None:
    from storage.repositories import SqlStore

    db.upgrade(db_url, "0003")
    engine = db.make_engine(db_url)
    try:
        _fill_0003(engine, alert="failing")
        db.upgrade(engine, "0004")
        store = SqlStore(engine)
        # the markers moved: still refusing their requests, no longer locks
        assert store.lock_holder("slack-signature:v0=ab") is None
        assert store.mark_once("slack-signature:v0=ab", owner="x", at=T0, ttl_seconds=60) is False
        assert store.mark_once("slack-event:Ev01", owner="x", at=T0, ttl_seconds=60) is False
        assert store.purge_locks(at=T0 + MARK) == 1  # only the run's lock is left in locks
        assert store.purge_marks(at=T0 + MARK) == 2
        # the scheduler's state moved; the sync's own cursors stayed
        assert store.alerted_failure_since() == T0
        assert store.summary_watermark() == T0 + timedelta(hours=1)
        assert store.get_mark("alert") is None and store.get_mark("summary") is None
        cursor = store.get_mark("hubspot:changes")
        assert cursor is not None and cursor.position_ms == 1_740_992_400_123
    finally:
        engine.dispose()


def test_0004_takes_a_recovered_streak_as_no_alert(db_url: str) -> None:
    from storage.repositories import SqlStore

    db.upgrade(db_url, "0003")
    engine = db.make_engine(db_url)
    try:
        _fill_0003(engine, alert="ok")
        db.upgrade(engine)
        store = SqlStore(engine)
        assert store.alerted_failure_since() is None
        assert store.summary_watermark() == T0 + timedelta(hours=1)
    finally:
        engine.dispose()


def test_0004_downgrade_puts_the_data_back(db_url: str) -> None:
    from storage import tables as t

    db.upgrade(db_url, "0003")
    engine = db.make_engine(db_url)
    try:
        _fill_0003(engine, alert="failing")
        db.upgrade(engine, "0004")
        db.downgrade(engine, "0003")
        assert "request_markers" not in table_names(db_url)
        with engine.connect() as connection:
            locks = {row.name: row.owner for row in connection.execute(sa.select(t.locks))}
            cursors = {
                row.name: (row.updated_at, row.last_id)
                for row in connection.execute(sa.select(t.cursors))
            }
        assert locks == {"sync": "run-1", "slack-signature:v0=ab": "m1", "slack-event:Ev01": "m2"}
        assert cursors["alert"] == (T0, "failing")
        assert cursors["summary"] == (T0 + timedelta(hours=1), None)
        assert "hubspot:changes" in cursors
    finally:
        engine.dispose()


def test_an_up_to_date_database_is_opened_without_migration_chatter(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        db.open_store(db_url).close()
        migrated = [r.getMessage() for r in caplog.records if r.name.startswith("alembic")]
        caplog.clear()
        db.open_store(db_url).close()  # every command opens the store: nothing to migrate now
    assert any("Running upgrade" in line for line in migrated)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("alembic")] == []


def test_0007_gives_links_held_before_it_their_reason_and_counterpart(db_url: str) -> None:
    from storage import tables as t
    from storage.repositories import SqlStore
    from sync.domain import Hold, HoldReason, LinkState, SellRef

    db.upgrade(db_url, "0006")
    engine = db.make_engine(db_url)
    try:
        row = {"origin": "list", "snapshot": {}, "created_at": T0, "updated_at": T0}
        with engine.begin() as connection:
            connection.execute(
                sa.insert(t.links).values(
                    [
                        {
                            **row,
                            "sell_kind": "lead",
                            "sell_id": 1,
                            "hubspot_id": "9",
                            "state": "merge_held",
                        },
                        {
                            **row,
                            "sell_kind": "contact",
                            "sell_id": 2,
                            "hubspot_id": "9",
                            "state": "active",
                        },
                    ]
                )
            )
        db.upgrade(engine)  # through 0007, and 0008, which names the state "held"
        held = SqlStore(engine).links_by_sell([SellRef("lead", 1)])[SellRef("lead", 1)]
        assert held.state is LinkState.HELD
        assert held.hold == Hold(HoldReason.CONTACT_MERGE, SellRef("contact", 2))
    finally:
        engine.dispose()


def test_0008_names_a_held_link_held_and_its_downgrade_names_it_back(db_url: str) -> None:
    from storage import tables as t

    db.upgrade(db_url, "0007")
    engine = db.make_engine(db_url)
    try:
        row = {
            "origin": "list",
            "snapshot": {},
            "hubspot_id": "9",
            "created_at": T0,
            "updated_at": T0,
        }
        with engine.begin() as connection:
            connection.execute(
                sa.insert(t.links).values(
                    [
                        {**row, "sell_kind": "lead", "sell_id": 1, "state": "merge_held"},
                        {**row, "sell_kind": "contact", "sell_id": 2, "state": "active"},
                    ]
                )
            )

        def states() -> list[str]:
            with engine.connect() as connection:
                query = sa.select(t.links.c.state).order_by(t.links.c.sell_id)
                return list(connection.execute(query).scalars())

        db.upgrade(engine, "0008")
        assert states() == ["held", "active"]
        db.downgrade(engine, "0007")
        assert states() == ["merge_held", "active"]
    finally:
        engine.dispose()

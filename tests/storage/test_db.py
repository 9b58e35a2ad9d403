"""Engines and URLs: storage/db.py."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from storage.db import make_engine, normalize_url, open_store
from storage.repositories import SqlStore
from sync.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db:5432/app", "postgresql+psycopg://u:p@db:5432/app"),
        (
            "postgresql://u:p@db/app?sslmode=require",
            "postgresql+psycopg://u:p@db/app?sslmode=require",
        ),
        ("postgres+psycopg://db/app", "postgresql+psycopg://db/app"),
        ("postgresql+psycopg://db/app", "postgresql+psycopg://db/app"),
        ("  postgres://db/app\n", "postgresql+psycopg://db/app"),
        ("sqlite:///sellsync.db", "sqlite:///sellsync.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalize_url_uses_psycopg_for_postgres_and_leaves_others(
    given: str, expected: str
) -> None:
    assert normalize_url(given) == expected


def test_sqlite_engine_uses_wal_busy_timeout_and_works_across_threads(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 5000

        def use_from_another_thread() -> None:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")

        thread = threading.Thread(target=use_from_another_thread)
        thread.start()
        thread.join()
    finally:
        engine.dispose()


def test_in_memory_sqlite_store_is_one_database_for_every_thread() -> None:
    with open_store("sqlite://") as store:
        store.add_members("L", ["1"])
        seen: list[set[str]] = []
        thread = threading.Thread(target=lambda: seen.append(store.known_members("L")))
        thread.start()
        thread.join()
        assert seen == [{"1"}]


@pytest.mark.postgres
def test_postgres_scheme_url_is_accepted(pg_url: str) -> None:
    assert pg_url.startswith("postgresql+psycopg://")
    heroku_style = "postgres://" + pg_url.removeprefix("postgresql+psycopg://")
    with open_store(heroku_style) as store:
        assert store.engine.dialect.name == "postgresql"
        assert store.engine.dialect.driver == "psycopg"
        store.add_members("L", ["1"])
        assert store.known_members("L") == {"1"}


@pytest.mark.postgres
def test_a_pooled_connection_the_server_dropped_is_replaced_after_an_idle_spell(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import storage.connection

    with open_store(pg_url) as store:
        with store.engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        admin = sa.create_engine(normalize_url(pg_url), poolclass=NullPool)
        try:
            with admin.begin() as connection:
                kill = sa.text("SELECT pg_terminate_backend(:pid)")
                assert connection.execute(kill, {"pid": pid}).scalar()
        finally:
            admin.dispose()
        monkeypatch.setattr(storage.connection, "PG_PING_AFTER_IDLE_S", 0.0)
        store.add_members("L", ["1"])  # the dead connection is pinged, dropped and replaced
        assert store.known_members("L") == {"1"}


@pytest.mark.postgres
def test_postgresql_scheme_without_driver_is_accepted(pg_url: str) -> None:
    plain = "postgresql://" + pg_url.removeprefix("postgresql+psycopg://")
    with open_store(plain) as store:
        assert store.engine.dialect.driver == "psycopg"


def test_store_refuses_a_database_other_than_postgresql_or_sqlite() -> None:
    engine = sa.create_engine("sqlite://")
    engine.dialect.name = "oracle"  # no driver needed to prove the check
    try:
        with pytest.raises(ConfigError, match="DATABASE_URL"):
            SqlStore(engine)
    finally:
        engine.dispose()


def test_open_store_without_migrate_leaves_the_database_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with open_store(url, migrate=False) as store:
        assert sa.inspect(store.engine).get_table_names() == []


def test_closing_a_store_keeps_an_engine_it_was_given(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        pool = engine.pool
        assert pool.checkedin() == 1  # one pooled connection, idle
        store = SqlStore(engine)
        store.close()
        # dispose() would have swapped the pool for a new, empty one
        assert engine.pool is pool and pool.checkedin() == 1
        with engine.connect() as connection:  # still usable
            connection.exec_driver_sql("SELECT 1")
    finally:
        engine.dispose()


def test_processes_opening_a_new_sqlite_file_at_once_all_get_wal(tmp_path: Path) -> None:
    """Switching a file to WAL needs it to itself and SQLite does not wait for that: processes
    that open a new file at the same moment must not fail with "database is locked"."""
    import multiprocessing

    from tests.storage import workers

    context = multiprocessing.get_context("spawn")
    for trial in range(3):
        url = f"sqlite:///{tmp_path}/fresh{trial}.db"
        barrier, results = context.Barrier(6), context.Queue()
        processes = [
            context.Process(target=workers.connect, args=(url, barrier, results)) for _ in range(6)
        ]
        for process in processes:
            process.start()
        errors = [results.get(timeout=120) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        assert [e for e in errors if e] == []
        with sqlite3.connect(f"{tmp_path}/fresh{trial}.db") as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

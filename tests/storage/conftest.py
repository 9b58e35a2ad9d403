"""Fixtures of the storage suite: every test runs on SQLite and, when ``TEST_DATABASE_URL`` names
a PostgreSQL database, on PostgreSQL too.

Each test gets an empty database: a fresh SQLite file, or a fresh PostgreSQL schema (dropped
afterwards) reached through ``search_path`` in the URL. The PostgreSQL session also runs in a
non-UTC time zone, so that every timestamp test proves the conversion to UTC.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.db import normalize_url, open_store
from storage.repositories import SqlStore

PG_ENV = "TEST_DATABASE_URL"
PG_SKIP_REASON = (
    f"{PG_ENV} is not set: PostgreSQL storage tests skipped "
    f"(e.g. {PG_ENV}=postgresql://postgres@127.0.0.1:5432/test)"
)
PG_SESSION_TIMEZONE = "Asia/Kolkata"  # +05:30: any mistake in UTC handling shows

#: A fixed, readable instant for tests that pass times in.
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without PostgreSQL, skip its half of this suite with one reason (folded in the report)."""
    if pg_base_url() is not None:
        return
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=PG_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("postgres") is not None and here in item.path.parents:
            item.add_marker(skip)


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


def pg_url_in_schema(base: str, schema: str) -> str:
    """``base`` with every connection confined to ``schema`` (and a non-UTC session zone)."""
    url = make_url(normalize_url(base)).update_query_dict(
        {"options": f"-csearch_path={schema} -cTimeZone={PG_SESSION_TIMEZONE}"}
    )
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    base = pg_base_url()
    if base is None:
        pytest.skip(PG_SKIP_REASON)
    engine = sa.create_engine(normalize_url(base), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{PG_ENV} is set but PostgreSQL does not answer: {exc}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: sa.Engine) -> Iterator[str]:
    """A URL of an empty PostgreSQL schema of this test's own."""
    schema = f"sellsync_test_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    base = pg_base_url()
    assert base is not None
    yield pg_url_in_schema(base, schema)
    with pg_admin.connect() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sellsync.db'}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty database, once per backend."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    """A migrated, empty store."""
    with open_store(db_url) as opened:
        yield opened

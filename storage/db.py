"""Migrations and the entry point :func:`open_store`.

* :func:`open_store` makes an engine (:mod:`storage.connection`, whose :func:`make_engine` and
  :func:`normalize_url` are re-exported here), migrates it and wraps it in a store.
* :func:`upgrade` runs the packaged Alembic migrations to head, whatever the current directory.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from storage.connection import make_engine, normalize_url, reader
from storage.repositories import SqlStore
from sync.errors import ConfigError

__all__ = [
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "normalize_url",
    "open_store",
    "upgrade",
]

#: Where the Alembic environment and ``versions/`` live: beside this module, in the package.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

#: Alembic's ``context`` and ``op`` are module-level proxies: one migration per process at a time.
_ALEMBIC_LOCK = threading.Lock()

#: Alembic's bookkeeping table (its default name).
VERSION_TABLE = "alembic_version"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic ``Config`` for the packaged migrations, built in code (no ``alembic.ini``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser interpolates "%": escape percent-encoded characters of the URL.
        config.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return config


@contextmanager
def _connection(target: str | Engine, *, read_only: bool = False) -> Iterator[sa.Connection]:
    """A connection to a URL (engine made and disposed here) or to an engine (left open)."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        with (reader(engine) if read_only else engine).connect() as connection:
            yield connection
    finally:
        if isinstance(target, str):
            engine.dispose()


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` on a URL or an engine; a no-op when up to date
    (checked first, without Alembic's log lines, which every command would otherwise print).

    Safe to run from several processes at once: on PostgreSQL the migration takes an advisory
    lock, on SQLite the write lock, before it reads the current revision. (Alembic keeps its
    ``context`` in module globals, so within one process migrations take turns.)
    """
    with _ALEMBIC_LOCK:  # threads take turns from the first connection (SQLite's WAL switch)
        if revision == "head" and current_revision(target) == head_revision():
            return  # nothing to do: Alembic is not even started, so it logs nothing
        _migrate(target, revision)


def _migrate(target: str | Engine, revision: str) -> None:
    with _connection(target) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(target: str | Engine, revision: str) -> None:
    """Run the migrations down to ``revision`` (``"base"`` drops every table)."""
    with _ALEMBIC_LOCK, _connection(target) as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(target: str | Engine) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    with _connection(target, read_only=True) as connection:
        # Read Alembic's table directly: MigrationContext would log two INFO lines every time.
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        if len(rows) > 1:  # branches: let Alembic say what it makes of them
            return MigrationContext.configure(connection).get_current_revision()
        return str(rows[0][0]) if rows else None


@functools.cache
def head_revision() -> str:
    """The newest revision shipped with the package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def open_store(url: str, *, migrate: bool = True, **engine_kwargs: Any) -> SqlStore:
    """A :class:`~storage.repositories.SqlStore` on ``url``, migrated to head unless told not.

    The store owns its engine: call ``store.close()`` (or use it as a context manager).
    """
    engine = make_engine(url, **engine_kwargs)
    try:
        if migrate:
            _reachable(engine)
            upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, owns_engine=True)


def _reachable(engine: Engine) -> None:
    """Connect once: a database that cannot be opened at all (no such database, a wrong host
    or port, a SQLite file in a missing directory) is a wrong DATABASE_URL, said in one line."""
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        reason = (str(exc.orig or exc).strip().splitlines() or ["cannot connect"])[0]
        raise ConfigError("DATABASE_URL", f"cannot be opened: {reason}") from None

"""Persistence for sellsync: SQLModel tables, Alembic migrations and :class:`SqlStore`.

Use :func:`open_store` (migrates to head, then returns a :class:`SqlStore` that implements
:class:`sync.ports.Store`) and :func:`upgrade` (``sellsync db upgrade``).
"""

from storage.db import open_store, upgrade
from storage.engine import make_engine, normalize_url
from storage.repositories import SqlStore

__all__ = ["SqlStore", "make_engine", "normalize_url", "open_store", "upgrade"]

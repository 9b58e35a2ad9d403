"""Persistence for sellsync: SQLModel tables, Alembic migrations and one repository per storage
role of :mod:`sync.ports` (``storage/repositories/``), composed into :class:`SqlStore`.

Use :func:`open_store` (migrates to head, then returns a :class:`SqlStore` that implements
:class:`sync.ports.Store`, every role at once) and :func:`upgrade` (``sellsync db upgrade``).
"""

from storage.connection import make_engine, normalize_url
from storage.db import open_store, upgrade
from storage.repositories import SqlStore

__all__ = ["SqlStore", "make_engine", "normalize_url", "open_store", "upgrade"]

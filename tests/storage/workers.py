"""Run in child processes (spawned) by the cross-process tests: each opens its own engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.db import make_engine, open_store, upgrade


def contend(
    url: str, owner: str, names: list[str], at: datetime, barrier: Any, results: Any
) -> None:
    """For each lock name: wait for every contender, then try to take it; report the outcome."""
    with open_store(url, migrate=False) as store:
        store.get_cursor("warm-up")  # connect before the first race
        for name in names:
            barrier.wait(timeout=60)
            results.put((name, owner, store.try_lock(name, owner=owner, at=at, ttl_seconds=60)))


def migrate(url: str, barrier: Any) -> None:
    """Wait for every migrator, then upgrade to head."""
    engine = make_engine(url)
    try:
        with engine.connect():
            pass  # connected before the race
        barrier.wait(timeout=60)
        upgrade(engine)
    finally:
        engine.dispose()

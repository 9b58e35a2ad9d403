"""Request markers: each accepted Slack request is taken once, across every web process.

A marker is a named row with an owner and an expiry, written in one statement that commits on
its own (the request markers role, ``RequestMarkerStore``); taking one that is held fails. The bot's
replay guard (``bot/replay.py``) decides names and lifetimes; this is where they are kept. The
hourly sweep drops expired markers along with the locks of crashed runs.
"""

from __future__ import annotations

from datetime import datetime

from sync.ports import LeaseStore, RequestMarkerStore
from sync.usecases.common import Parts


class Markers:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def take(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """True when this is the first live marker of ``name``."""
        markers: RequestMarkerStore = self.parts.store
        return markers.mark_once(name, owner=owner, at=at, ttl_seconds=ttl_seconds)

    def give_back(self, name: str, *, owner: str) -> None:
        markers: RequestMarkerStore = self.parts.store
        markers.release_mark(name, owner=owner)

    def purge_expired(self) -> None:
        """Drop expired markers and the locks of runs that crashed."""
        markers: RequestMarkerStore = self.parts.store
        leases: LeaseStore = self.parts.store
        now = self.parts.clock.now()
        markers.purge_marks(at=now)
        leases.purge_locks(at=now)

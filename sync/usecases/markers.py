"""Request markers: each accepted Slack request is taken once, across every web process.

A marker is a named row with an owner and an expiry, written in one statement that commits on
its own (the request markers role, ``RequestMarkerStore``); taking one that is held fails. The bot's
replay guard (``bot/replay.py``) decides names and lifetimes; this is where they are kept. The
hourly sweep drops expired markers along with the locks of crashed runs.
"""

from __future__ import annotations

from datetime import datetime

from sync.ports import Clock, LeaseStore, RequestMarkerStore


class Markers:
    def __init__(self, markers: RequestMarkerStore, leases: LeaseStore, clock: Clock) -> None:
        self.markers = markers
        self.leases = leases
        self.clock = clock

    def take(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """True when this is the first live marker of ``name``."""
        return self.markers.mark_once(name, owner=owner, at=at, ttl_seconds=ttl_seconds)

    def give_back(self, name: str, *, owner: str) -> None:
        self.markers.release_mark(name, owner=owner)

    def purge_expired(self) -> None:
        """Drop expired markers and the locks of runs that crashed."""
        now = self.clock.now()
        self.markers.purge_marks(at=now)
        self.leases.purge_locks(at=now)

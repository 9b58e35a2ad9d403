"""Stopping a run on request (SIGINT, SIGTERM, a worker or ``serve`` shutting down).

A run is never cut at an arbitrary point: :class:`StopFlag` is set (by a signal handler, or by the
process shutting down) and the run stops at its next page boundary, after what it applied so far
is stored, and before the page's feed mark moves. The Sell writes of a page not sent yet when the
flag is set are not sent (the next run decides those records again). The engine then records the
run as ``interrupted``, with the counts of what it stored.
"""

from __future__ import annotations

import threading

from sync.errors import RunInterrupted

__all__ = ["RunInterrupted", "StopFlag"]


class StopFlag:
    """Set once, from any thread (or a signal handler); read by the runs of one engine."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`RunInterrupted` once the flag is set."""
        if self._event.is_set():
            raise RunInterrupted(self.reason)

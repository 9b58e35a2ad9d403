"""SIGINT and SIGTERM for the processes that run syncs (``sync``, ``worker``, ``serve``).

The first signal asks the runs going on to stop at their next page boundary (sync/interrupt.py):
what they applied is stored, the run is recorded as interrupted, the lock is released, and the
process exits (``sellsync sync``: 130 for SIGINT, 143 for SIGTERM, as a shell reports them). A
second signal stops at once (:class:`KeyboardInterrupt`); the run is still recorded as
interrupted, with what it had stored.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

log = logging.getLogger("sellsync.signals")

#: The signals that stop a run, and the exit status a shell shows for each (128 + number).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    return 128 + signum


class StopOnSignals:
    """While inside, SIGINT and SIGTERM call ``on_stop(signal name)`` once; a second one raises
    :class:`KeyboardInterrupt`. Outside the main thread (where Python delivers no signals) it
    does nothing. ``received`` is the first signal's number (None: none came)."""

    def __init__(
        self, on_stop: Callable[[str], None], *, note: Callable[[str], None] | None = None
    ):
        self.on_stop = on_stop
        self.note = note
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None:
            raise KeyboardInterrupt  # a second signal: stop now
        self.received = signum
        name = signal.Signals(signum).name
        log.info("%s: stopping the run at its next page", name)
        if self.note is not None:
            self.note(name)
        self.on_stop(name)

    @property
    def exit_code(self) -> int | None:
        return None if self.received is None else exit_code(self.received)

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

"""Client-side pacing: stay under each API's rate limit instead of running into 429s.

HubSpot counts requests in a *rolling* window (``TEN_SECONDLY_ROLLING``): at most N requests in
any 10 s. A plain token bucket would allow a burst of N and then N more as tokens refill, i.e.
up to 2N in some 10 s window, so :class:`RollingWindowPacer` keeps the send times of the last N
requests instead and lets a request go only when the oldest of them has left the window. The
same class paces HubSpot search (5 per 1 s) and Sell (10 per 1 s, i.e. its 36,000 / hour).

``safety`` widens the window a little to absorb the difference between when we send and when
the service counts a request.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class RollingWindowPacer:
    """At most ``max_calls`` acquisitions in any ``period`` (+ ``safety``) seconds. Thread-safe."""

    def __init__(
        self,
        max_calls: int,
        period: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        safety: float = 0.05,
        name: str = "",
    ) -> None:
        if max_calls < 1 or period <= 0:
            raise ValueError("a pacer needs max_calls >= 1 and period > 0")
        self.max_calls = max_calls
        self.period = period
        self.safety = safety
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds callers spent waiting here

    @property
    def window(self) -> float:
        return self.period + self.safety

    def delay(self) -> float:
        """Seconds until the next acquisition could go (0 = now). Does not reserve anything."""
        with self._lock:
            return self._delay_locked(self._clock())

    def _delay_locked(self, now: float) -> float:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()
        wait = max(self._paused_until - now, 0.0)
        if len(self._sent) >= self.max_calls:
            wait = max(wait, self._sent[0] + self.window - now)
        return wait

    def acquire(self) -> float:
        """Block until a request may be sent, record it, and return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = self._delay_locked(now)
                if wait <= 0:
                    self._sent.append(now)
                    self.waited += waited
                    return waited
            self._sleep(wait)
            waited += wait

    def pause(self, seconds: float) -> None:
        """Hold every caller for ``seconds`` from now (the service said "slow down")."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class Unpaced:
    """A pacer that never waits (for tests and for services without limits)."""

    waited = 0.0

    def acquire(self) -> float:
        return 0.0

    def pause(self, seconds: float) -> None:
        return None

    def delay(self) -> float:
        return 0.0


Pacer = RollingWindowPacer | Unpaced

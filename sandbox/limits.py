"""Rate limits the stand-in servers enforce, and the two counters they are built from.

:class:`SandboxLimits` is shared by the three servers of one :class:`~sandbox.server.Sandbox` and
read on every request, so a test may change a field while the servers run. ``scale`` multiplies
every allowance (``scale=10`` lets ten times as many requests through per window); the windows
themselves keep their length unless a test shortens ``hubspot_window_s``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class SandboxLimits:
    hubspot_per_10s: int = 190  # per token, rolling window of ``hubspot_window_s``
    hubspot_search_per_s: int = 5  # search has its own bucket and sends no rate-limit headers
    hubspot_daily: int = 1_000_000
    sell_per_s: float = 10.0  # Sell's 36,000/h per token, as a token bucket of one second
    enabled: bool = True
    scale: float = 1.0
    hubspot_window_s: float = 10.0  # the "ten-secondly" window; shorten it in tests only

    @property
    def hubspot_burst(self) -> int:
        return max(1, math.floor(self.hubspot_per_10s * self.scale))

    @property
    def hubspot_search_burst(self) -> int:
        return max(1, math.floor(self.hubspot_search_per_s * self.scale))

    @property
    def hubspot_daily_max(self) -> int:
        return max(1, math.floor(self.hubspot_daily * self.scale))

    @property
    def sell_rate(self) -> float:
        return max(0.001, self.sell_per_s * self.scale)

    def update(self, changes: dict[str, Any]) -> None:
        """Set fields from a JSON object (the control endpoint); unknown names raise ValueError."""
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown limit {name!r}")
            current = getattr(self, name)
            if isinstance(current, bool):
                setattr(self, name, bool(value))
            elif isinstance(current, int):
                setattr(self, name, int(value))
            else:
                setattr(self, name, float(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RollingWindow:
    """At most ``limit`` events in any ``window_s`` seconds."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()

    def acquire(
        self, limit: int, window_s: float, now: float | None = None
    ) -> tuple[bool, int, float]:
        """(allowed, remaining after this event, seconds until a slot frees when refused)."""
        now = time.monotonic() if now is None else now
        while self._times and now - self._times[0] >= window_s:
            self._times.popleft()
        if len(self._times) >= limit:
            wait = window_s - (now - self._times[0]) if self._times else window_s
            return False, 0, max(wait, 0.0)
        self._times.append(now)
        return True, limit - len(self._times), 0.0

    def clear(self) -> None:
        self._times.clear()


class TokenBucket:
    """``rate`` tokens a second, holding at most one second's worth (at least one token)."""

    def __init__(self) -> None:
        self._tokens: float | None = None
        self._stamp = 0.0

    def acquire(self, rate: float, now: float | None = None) -> tuple[bool, float]:
        """(allowed, seconds until a token is available when refused)."""
        now = time.monotonic() if now is None else now
        capacity = max(1.0, rate)
        if self._tokens is None:
            self._tokens = capacity
        else:
            self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True, 0.0
        return False, (1.0 - self._tokens) / rate

    def clear(self) -> None:
        self._tokens = None


class DailyCounter:
    """Requests per UTC day (HubSpot resets at midnight in the account's time zone)."""

    def __init__(self) -> None:
        self._day = ""
        self.used = 0

    def _roll(self) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        if day != self._day:
            self._day, self.used = day, 0

    def remaining(self, limit: int) -> int:
        self._roll()
        return max(limit - self.used, 0)

    def consume(self, limit: int) -> int:
        """Count one request; the requests left today after it."""
        self._roll()
        self.used += 1
        return max(limit - self.used, 0)

    def clear(self) -> None:
        self._day, self.used = "", 0

"""Backoff: exponential with full jitter, honouring ``Retry-After``.

``RetryPolicy.delay`` is pure (the random source is passed in), so the waits are testable; the
loop that uses it lives in :class:`sync.clients.http.ApiSession`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from sync.clients.errors import Remedy, Resolution

Random = Callable[[], float]  # uniform in [0, 1)
Sleep = Callable[[float], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    * ``max_attempts`` counts every try, the first included (1 = never retry).
    * RETRY without a hint waits ``uniform(0, min(max_delay, base_delay * 2**(n-1)))`` after
      the n-th failed attempt (full jitter).
    * RATE_LIMITED without ``Retry-After`` waits ``rate_limit_wait`` plus that jitter.
    * A hint (``Retry-After``, 423's 2 s) is honoured: the hint plus up to ``base_delay`` of
      jitter, so that concurrent workers do not all come back at the same instant.
    * A hint longer than ``max_wait`` is not waited for: the error is raised at once, carrying
      the wait, so the run can stop and resume later.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    rate_limit_wait: float = 1.0
    max_wait: float = 300.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.rate_limit_wait, self.max_wait) < 0:
            raise ValueError("retry delays must not be negative")

    def backoff(self, attempt: int, rand: Random) -> float:
        """Full jitter after the ``attempt``-th failure (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * float(1 << min(max(attempt - 1, 0), 62)))
        return rand() * ceiling

    def delay(self, attempt: int, resolution: Resolution, rand: Random = random.random) -> float:
        """Seconds to wait before the next attempt after ``resolution``."""
        if resolution.wait is not None:
            return resolution.wait + rand() * self.base_delay
        jitter = self.backoff(attempt, rand)
        if resolution.action is Remedy.RATE_LIMITED:
            return self.rate_limit_wait + jitter
        return jitter

    def should_retry(self, attempt: int, resolution: Resolution) -> bool:
        """True when ``resolution`` is retryable, attempts remain and the wait is acceptable."""
        if resolution.action not in (Remedy.RETRY, Remedy.RATE_LIMITED):
            return False
        if attempt >= self.max_attempts:
            return False
        return resolution.wait is None or resolution.wait <= self.max_wait

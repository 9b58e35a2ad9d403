"""The closed set of errors the sync core understands.

::

    SyncError
    ├── ConfigError            a setting is missing or unusable (exit 2)
    ├── Refused                understood but not allowed or not possible: one line says why
    ├── RecordError            about one record: the run goes on (S14)
    │   ├── RecordNotFound     the record is gone (404): S5 / S6
    │   └── RecordRejected     the other side refused the values (422, 400, 409 ...)
    └── ApiError               the service failed for the whole request
        ├── AuthError          401 / 403: stop the run
        ├── RateLimited        429 after retries ran out; carries the wait in seconds
        │   └── DailyLimitReached  HubSpot's DAILY policy: stop the run cleanly
        ├── ServiceUnavailable 5xx, timeouts, dropped connections after retries ran out
        └── UnprovenAbsence    a read left records out that exist: nothing is deleted

Each error builds its own message and never carries a token.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of every error the sync core raises or expects from its ports."""


class Refused(SyncError):
    """The request is understood but not allowed or not possible; the message says why."""


class ConfigError(SyncError):
    def __init__(self, variable: str, problem: str = "is not set") -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable} {problem}")


class RecordError(SyncError):
    def __init__(self, item: str, reason: str) -> None:
        self.item = item
        self.reason = reason
        super().__init__(f"{item}: {reason}")


class RecordNotFound(RecordError):
    def __init__(self, item: str, reason: str = "not found") -> None:
        super().__init__(item, reason)


class RecordRejected(RecordError):
    pass


class ApiError(SyncError):
    def __init__(self, service: str, message: str, status: int | None = None) -> None:
        self.service = service
        self.status = status
        self.detail = message
        prefix = f"{service} {status}" if status is not None else service
        super().__init__(f"{prefix}: {message}")


class AuthError(ApiError):
    pass


class RateLimited(ApiError):
    def __init__(self, service: str, wait_seconds: float, message: str = "rate limited") -> None:
        self.wait_seconds = wait_seconds
        super().__init__(service, f"{message} (retry in {wait_seconds:.1f}s)", 429)


class DailyLimitReached(RateLimited):
    def __init__(self, service: str = "HubSpot", wait_seconds: float = 3600.0) -> None:
        super().__init__(service, wait_seconds, "daily API limit reached; the run stopped")


class ServiceUnavailable(ApiError):
    pass


class UnprovenAbsence(ApiError):
    """A bulk read left records out without saying they are gone, and those read alone came
    back: absence is no proof of deletion, so the run stops before it tombstones anything."""

    def __init__(self, service: str, *, absent: int, asked: int, noun: str, back: int) -> None:
        self.absent = absent
        self.asked = asked
        super().__init__(
            service,
            f"{service} answered {absent} of {asked} {noun} as absent without saying they were "
            f"deleted, and the {back} read alone exist (a changed role or token?); the run "
            "stopped before marking any of them deleted",
        )

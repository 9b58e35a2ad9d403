"""Every exception of the sync core, in one place.

::

    SyncError
    ├── ConfigError            a setting is missing or unusable (exit 2)
    ├── Refused                understood but not allowed or not possible: one line says why
    │   ├── ConflictChanged    a field conflict changed since the manager reviewed it
    │   ├── RunsHeld           a setting holds runs (the sync is paused): no run starts
    │   ├── SellNotCalled      the sell_mode in force forbids this call to Sell
    │   └── RetireUnverified   retiring Sell needs a second confirmation: migration unverified
    ├── FieldWriteRefused      a CRM refused one field's value, or the record is gone
    ├── MalformedEvents        a webhook body that is not a batch of HubSpot events (400)
    ├── RecordError            about one record: the run goes on (S14)
    │   ├── RecordNotFound     the record is gone (404): S5 / S6
    │   └── RecordRejected     the other side refused the values (422, 400, 409 ...)
    ├── ApiError               the service failed for the whole request
    │   ├── AuthError          401 / 403: stop the run
    │   ├── RateLimited        429 after retries ran out; carries the wait in seconds
    │   │   └── DailyLimitReached  HubSpot's DAILY policy: stop the run cleanly
    │   ├── ServiceUnavailable 5xx, timeouts, dropped connections after retries ran out
    │   │   └── AmbiguousWrite a create that may have been applied: look before sending again
    │   ├── UnexpectedShape    a success whose JSON is not its endpoint's shape
    │   └── UnprovenAbsence    a read left records out that exist: nothing is deleted
    ├── RunInProgress          another run holds the run lock
    └── LeaseLost              the run's lease was taken over: stop before writing more

    ValueError
    └── UnusableValue          a value that cannot be read as its field's type (S14)

    Exception
    └── ListKeptShifting       a Sell list shifted under every window a walk tried (a client
                               turns it into an ApiError)

    BaseException
    └── RunInterrupted         a run stopped on request at a page boundary (like
                               KeyboardInterrupt: nothing may take it for an error and go on)

Each error builds its own message and never carries a token. The classification of failed
exchanges into these errors is :mod:`sync.clients.errors`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.domain import Conflict, Held
    from sync.ports import RunRecord


class SyncError(Exception):
    """Base of every error the sync core raises or expects from its ports."""


class Refused(SyncError):
    """The request is understood but not allowed or not possible; the message says why."""


class RunsHeld(Refused):
    """No sync may start while a setting holds runs (the sync is paused). ``held`` says why,
    and how to let runs go again, for the bot to word."""

    def __init__(self, held: Held) -> None:
        self.held = held
        super().__init__(held.why)


class SellNotCalled(Refused):
    """The ``sell_mode`` in force forbids the call to Sell: a write under ``read_only``, any
    call under ``retired``. Nothing was sent."""


class RetireUnverified(Refused):
    """Retiring Sell was asked without confirming that the migration is not verified:
    ``unverified`` moved items no verification vouches for (None: nothing was ever moved and
    verified). Nothing changed; the same change, confirmed, goes through."""

    def __init__(self, unverified: int | None) -> None:
        self.unverified = unverified
        if unverified is None:
            what = "no migration to HubSpot was run and verified"
        else:
            items = f"{unverified:,} moved item{'' if unverified == 1 else 's'}"
            what = f"{items} no verification vouches for"
        super().__init__(f"retiring Sell needs a second confirmation: {what}")


class FieldWriteRefused(SyncError):
    """A CRM refused one field's value (or the record is gone): nothing was written."""


class MalformedEvents(SyncError):
    """A webhook body is not a batch of well-formed HubSpot events; the message says what is
    wrong and where, never a value from the body."""


class ConflictChanged(Refused):
    """The conflict no longer shows what the manager reviewed: nothing was written, and
    ``conflict`` (still open) holds the fresh values to review again."""

    def __init__(self, conflict: Conflict, message: str) -> None:
        self.conflict = conflict
        super().__init__(message)


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


class AmbiguousWrite(ServiceUnavailable):
    """A non-idempotent request failed in a way that may have applied it (timeout, drop, 500).

    Raised instead of retrying blindly, so the caller can look for the effect first.
    """


class UnexpectedShape(ApiError):
    """A success whose JSON is not the shape the endpoint answers with (a proxy's page, a
    changed API, a broken answer): a classified API failure naming the endpoint, never a
    TypeError deep in a client."""

    def __init__(self, service: str, endpoint: str, why: str, status: int | None = None) -> None:
        super().__init__(service, f"answered {endpoint} with an unexpected shape ({why})", status)
        self.endpoint = endpoint
        self.args = (f"{service} answered {endpoint} with an unexpected shape ({why})",)


#: Who started a run, by its stored trigger, for the refusal of another one.
STARTED_BY = {
    "schedule": "the schedule",
    "cli": "the command line",
    "slack": "a manager in Slack",
    "manual": "a manager in Slack",
}


def _utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


class RunInProgress(SyncError):
    """Another run holds the run lock: who (its run row, when one is recorded), since when,
    and when its lock would be taken over if that holder is dead."""

    def __init__(
        self,
        holder: RunRecord | None = None,
        *,
        released_with_process: bool = False,
        expires_at: datetime | None = None,
    ) -> None:
        self.holder = holder
        self.released_with_process = released_with_process
        self.expires_at = expires_at
        text = "a sync is already running"
        if holder is not None:
            who = STARTED_BY.get(holder.trigger.partition(":")[0], holder.trigger)
            text += f" (run #{holder.id}, started by {who} at {_utc(holder.started_at)})"
        text += "; try again when it has finished"
        if released_with_process:
            text += (
                ". Its lock is released with its process: if that process is gone, the next "
                "run starts at once"
            )
        elif expires_at is not None:
            text += f". If its holder is gone, the lock is taken over at {_utc(expires_at)}"
        super().__init__(text)


class LeaseLost(SyncError):
    """The run's lease was taken over (it expired while the run could not renew it, or the
    database session holding its process lock ended)."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"lost the lock on {name!r} (it is no longer this run's: it expired and was taken "
            "over, or the database session holding it ended): stopped before writing anything "
            "more"
        )


class UnusableValue(ValueError):
    """A value that cannot be read as its field's type (S14)."""


class ListKeptShifting(Exception):
    """The list shifted under every window the walk tried."""

    def __init__(self, steps: int) -> None:
        super().__init__(
            f"the list kept shifting while it was paged ({steps} steps back); "
            "the next run reads it again"
        )


class RunInterrupted(BaseException):
    """The run stopped on request at a page boundary. A :class:`BaseException`, like
    :class:`KeyboardInterrupt`: nothing on the way may take it for an error and go on."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"interrupted ({reason})")

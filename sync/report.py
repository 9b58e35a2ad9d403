"""What a run (or a push) did: counts per outcome, skips, errors, warnings.

A run that stops early keeps two things: ``failure``, the error's own text (for the operator:
``sellsync status`` and the log), and ``failure_kind``, what sort of failure it was. Only the
kind reaches Slack: an error's text can hold SQL, a CRM's answer or a contact's data, and a
channel alert must say what went wrong and where to look, never repeat it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sync.bulk import BulkNotice
from sync.domain import Outcome, Skip
from sync.errors import (
    ApiError,
    AuthError,
    ConfigError,
    LeaseLost,
    RateLimited,
    ServiceUnavailable,
    UnprovenAbsence,
)
from sync.plan import SyncPlan

#: The count of what the bulk guard held for a manager (or would hold, in a dry run).
HELD = "held_for_approval"


class FailureKind(StrEnum):
    """Why a run stopped, as a closed set (the wording lives with the messages)."""

    HUBSPOT_UNREACHABLE = "hubspot_unreachable"
    SELL_UNREACHABLE = "sell_unreachable"
    HUBSPOT_AUTH = "hubspot_auth"  # 401 / 403: the token is missing a scope, revoked or wrong
    SELL_AUTH = "sell_auth"
    HUBSPOT_RATE_LIMIT = "hubspot_rate_limit"
    SELL_RATE_LIMIT = "sell_rate_limit"
    HUBSPOT_LIST_MISSING = "hubspot_list_missing"  # 404 for the synced list
    HUBSPOT_REFUSED = "hubspot_refused"  # any other refusal of a whole request
    SELL_REFUSED = "sell_refused"
    # a read left out records that exist: absence is no proof of deletion (S5, S6)
    HUBSPOT_UNPROVEN_ABSENCE = "hubspot_unproven_absence"
    SELL_UNPROVEN_ABSENCE = "sell_unproven_absence"
    DATABASE = "database"
    CONFIG = "config"
    LOST_LOCK = "lost_lock"
    UNEXPECTED = "unexpected"


_BY_SERVICE: dict[tuple[type[ApiError], str], FailureKind] = {
    (ServiceUnavailable, "hubspot"): FailureKind.HUBSPOT_UNREACHABLE,
    (ServiceUnavailable, "sell"): FailureKind.SELL_UNREACHABLE,
    (AuthError, "hubspot"): FailureKind.HUBSPOT_AUTH,
    (AuthError, "sell"): FailureKind.SELL_AUTH,
    (RateLimited, "hubspot"): FailureKind.HUBSPOT_RATE_LIMIT,
    (RateLimited, "sell"): FailureKind.SELL_RATE_LIMIT,
    (UnprovenAbsence, "hubspot"): FailureKind.HUBSPOT_UNPROVEN_ABSENCE,
    (UnprovenAbsence, "sell"): FailureKind.SELL_UNPROVEN_ABSENCE,
    (ApiError, "hubspot"): FailureKind.HUBSPOT_REFUSED,
    (ApiError, "sell"): FailureKind.SELL_REFUSED,
}

#: Modules whose exceptions mean the database failed (matched by name: sync/ imports no driver).
_DATABASE_MODULES = ("sqlalchemy", "sqlite3", "psycopg", "psycopg2", "alembic")


def classify_failure(exc: BaseException) -> FailureKind:
    """The kind of a run's failure, from the exception that stopped it; never raises."""
    if isinstance(exc, ConfigError):
        return FailureKind.CONFIG
    if isinstance(exc, LeaseLost):
        return FailureKind.LOST_LOCK
    if isinstance(exc, ApiError):
        service = str(exc.service).strip().lower()
        if service == "hubspot" and exc.status == 404 and type(exc) is ApiError:
            return FailureKind.HUBSPOT_LIST_MISSING  # the one whole-run read that can 404
        kinds: tuple[type[ApiError], ...] = (
            ServiceUnavailable,
            AuthError,
            RateLimited,
            UnprovenAbsence,
            ApiError,
        )
        for cls in kinds:
            if isinstance(exc, cls) and (cls, service) in _BY_SERVICE:
                return _BY_SERVICE[(cls, service)]
        return FailureKind.UNEXPECTED
    for cls in type(exc).__mro__:
        if cls.__module__.split(".")[0] in _DATABASE_MODULES:
            return FailureKind.DATABASE
    return FailureKind.UNEXPECTED


@dataclass
class SyncReport:
    """What a run (or a push) did: counts per outcome, skips, errors, warnings."""

    trigger: str
    dry_run: bool
    started_at: datetime
    finished_at: datetime | None = None
    run_id: int | None = None
    plan: SyncPlan = field(default_factory=SyncPlan)  # everything decided
    applied: SyncPlan = field(default_factory=SyncPlan)  # what took effect
    errors: list[Skip] = field(default_factory=list)  # records that failed (S14)
    failure: str | None = None  # the run stopped early: the error's text, for the operator
    failure_cause: Exception | None = field(default=None, repr=False, compare=False)  # its error
    failure_kind: FailureKind | None = None  # …and what kind of failure it was, for Slack
    not_qualified: int = 0
    bulk: BulkNotice | None = None  # what the bulk guard held (or would hold, in a dry run)

    #: The run stopped on request (Ctrl-C, SIGTERM, the process shutting down): what asked.
    interrupted: str | None = None

    @property
    def idle(self) -> bool:
        """Nothing happened: no record changed, skipped or failed, nothing held, no failure."""
        return self.status == "ok" and not any(self.run_counts().values()) and self.bulk is None

    @property
    def status(self) -> str:
        if self.interrupted is not None:
            return "interrupted"
        if self.failure:
            return "failed"
        return "errors" if self.errors else "ok"

    def counts(self) -> Counter[str]:
        result = self.plan.counts() if self.dry_run else self.applied.counts()
        if self.errors:
            result[Outcome.ERROR.value] += len(self.errors)
        if self.bulk is not None and self.bulk.total:
            result[HELD] = self.bulk.total
        return result

    def run_counts(self) -> dict[str, int]:
        """Counts kept with the run record: outcomes plus ``skipped:<reason>``."""
        counts = dict(self.counts())
        for s in (self.plan if self.dry_run else self.applied).skipped:
            key = "skipped:" + _reason_key(s.reason)
            counts[key] = counts.get(key, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "dry_run": self.dry_run,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "counts": dict(self.counts()),
            "not_qualified": self.not_qualified,
            "skipped": [{"item": s.item, "reason": s.reason} for s in self.applied.skipped]
            if not self.dry_run
            else [{"item": s.item, "reason": s.reason} for s in self.plan.skipped],
            "errors": [{"item": s.item, "reason": s.reason} for s in self.errors],
            "warnings": list(self.plan.warnings),
            "bulk_held": None
            if self.bulk is None
            else {
                "held": dict(self.bulk.held),
                "limit": self.bulk.limit,
                "request_id": self.bulk.hold_id,
                "rejected": self.bulk.rejected,
                "note": self.bulk.line(dry_run=self.dry_run),
            },
            "failure": self.failure,
            "failure_kind": self.failure_kind.value if self.failure_kind else None,
            "interrupted": self.interrupted,
            "plan": self.plan.to_dict() if self.dry_run else None,
        }


def _reason_key(reason: str) -> str:
    """A reason without its record-specific tail, for counting skips by reason."""
    return reason.split(":", 1)[0].split(";", 1)[0].strip()[:80]

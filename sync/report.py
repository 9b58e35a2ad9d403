"""What a run (or a push) did: counts per outcome, skips, errors, warnings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.domain import Outcome, Skip
from sync.plan import SyncPlan


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
    failure: str | None = None  # the run stopped early
    failure_cause: Exception | None = field(default=None, repr=False, compare=False)  # its error
    not_qualified: int = 0

    @property
    def status(self) -> str:
        if self.failure:
            return "failed"
        return "errors" if self.errors else "ok"

    def counts(self) -> Counter[str]:
        result = self.plan.counts() if self.dry_run else self.applied.counts()
        if self.errors:
            result[Outcome.ERROR.value] += len(self.errors)
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
            "failure": self.failure,
            "plan": self.plan.to_dict() if self.dry_run else None,
        }


def _reason_key(reason: str) -> str:
    """A reason without its record-specific tail, for counting skips by reason."""
    return reason.split(":", 1)[0].split(";", 1)[0].strip()[:80]

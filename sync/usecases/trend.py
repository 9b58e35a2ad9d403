"""The run trend: runs, changes and failures per day over the last days, from the run history.

Answered from the stored runs alone (no API call); days are UTC calendar days, the newest last,
with a row for every day even when nothing ran.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sync.domain import Outcome
from sync.ports import RunRecord
from sync.usecases.status import RunStatus

#: How many days the summary's trend covers.
TREND_DAYS = 14

#: How many stored runs are read at most: a run every 15 minutes for 14 days is 1,344, and
#: runs that found nothing to do are not kept.
TREND_RUN_LIMIT = 5_000

#: The outcomes that wrote something to one side or the other.
CHANGE_OUTCOMES = frozenset(
    {
        Outcome.CREATED_IN_SELL,
        Outcome.CREATED_IN_HUBSPOT,
        Outcome.MERGED,
        Outcome.UPDATED_SELL,
        Outcome.UPDATED_HUBSPOT,
        Outcome.TOMBSTONED,
        Outcome.HUBSPOT_DELETED,
        Outcome.CONVERTED,
        Outcome.HUBSPOT_ABSORBED,
    }
)


@dataclass(frozen=True)
class TrendDay:
    """One UTC day: runs started, records changed, and failures (runs that failed plus
    record writes that failed)."""

    day: date
    runs: int = 0
    changes: int = 0
    failures: int = 0


@dataclass(frozen=True)
class RunTrend:
    days: tuple[TrendDay, ...]  # oldest first, one per day

    @property
    def runs(self) -> int:
        return sum(d.runs for d in self.days)

    @property
    def changes(self) -> int:
        return sum(d.changes for d in self.days)

    @property
    def failures(self) -> int:
        return sum(d.failures for d in self.days)

    @property
    def empty(self) -> bool:
        return not self.runs


def daily_trend(runs: Iterable[RunRecord], *, today: date, days: int = TREND_DAYS) -> RunTrend:
    """Bucket ``runs`` by the UTC day they started, for the ``days`` days ending ``today``."""
    first = today - timedelta(days=days - 1)
    buckets = {first + timedelta(days=i): [0, 0, 0] for i in range(days)}
    for run in runs:
        bucket = buckets.get(run.started_at.date())
        if bucket is None:
            continue
        bucket[0] += 1
        bucket[1] += sum(n for k, n in run.counts.items() if k in CHANGE_OUTCOMES)
        bucket[2] += run.counts.get(Outcome.ERROR, 0) + (run.status == RunStatus.FAILED)
    return RunTrend(tuple(TrendDay(day, *counts) for day, counts in buckets.items()))

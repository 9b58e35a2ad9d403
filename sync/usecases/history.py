"""Run history and the audit trail: what ran, and what changed, where, why and by whom.

Answered from the database alone (``sellsync runs``, ``sellsync audit [ITEM]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sync.domain import SellRef
from sync.ports import AuditEvent, AuditLog, LinkStore, RunLog, RunRecord, SellIndexStore
from sync.push import parse_items
from sync.report import SyncReport
from sync.usecases.common import Refused


class Trigger(StrEnum):
    """What started a run, as it is stored (a push is stored as ``push:<actor id>``)."""

    SCHEDULE = "schedule"  # the worker's interval
    SLACK = "slack"  # /sellsync run or a Slack button
    CLI = "cli"  # sellsync sync
    PUSH = "push"  # a push, by the actor after the colon
    EVENTS = "events"  # a small run of webhook and Firehose events (sync/pipeline/short_run.py)
    POLL = "poll"  # a small run of the short poll between scheduled runs


#: Values older versions stored, read as today's.
_OLD_TRIGGERS = {"manual": Trigger.SLACK}


def stored_trigger(stored: str) -> str:
    """A stored trigger in today's vocabulary (``manual``, stored before, is ``slack``)."""
    old = _OLD_TRIGGERS.get(stored.strip().lower())
    return old.value if old is not None else stored


def trigger_parts(stored: str) -> tuple[Trigger | None, str]:
    """A stored trigger as its kind (None when unknown) and, for a push, who pushed."""
    text = stored_trigger(stored)
    kind, _, actor = text.partition(":")
    try:
        trigger = Trigger(kind)
    except ValueError:
        return None, text
    return trigger, actor


@dataclass(frozen=True)
class AuditTrail:
    """Audit events, oldest first; ``subjects`` are what ITEM was resolved to.

    ``events`` is a list when a ``limit`` was given, and a stream read from the database as it
    is consumed (to be read once) otherwise.
    """

    item: str | None
    subjects: tuple[str, ...]
    events: Iterable[AuditEvent]


class History:
    def __init__(
        self, runs: RunLog, audit_log: AuditLog, links: LinkStore, index: SellIndexStore
    ) -> None:
        self._runs = runs
        self.audit_log = audit_log
        self.links = links
        self.index = index

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Run history, newest first."""
        return self._runs.recent_runs(limit)

    def audit_trail(
        self,
        item: str | None = None,
        *,
        limit: int | None = 100,
        run_id: int | None = None,
        since: datetime | None = None,
    ) -> AuditTrail:
        """Audit events of ITEM (all of them without one), oldest first: the newest ``limit``
        (all, streamed, when None), of run ``run_id`` and at or after ``since`` when given.

        ITEM is ``lead:ID``/``contact:ID``, a Sell URL, an email or a HubSpot contact id; it
        matches the events of that record and of the record it is linked to.
        """
        subjects: tuple[str, ...] = ()
        if item is not None and item.strip():
            item = item.strip()
            subjects = self._subjects(item)
            if not subjects:
                return AuditTrail(item, subjects, [])
        else:
            item = None
        events = self.audit_log.audit_events(
            subjects=subjects, run_id=run_id, since=since, newest=limit
        )
        return AuditTrail(item, subjects, events if limit is None else list(events))

    def _subjects(self, item: str) -> tuple[str, ...]:
        refs: list[SellRef] = []
        hubspot_ids: list[str] = []
        parsed = parse_items([item])
        if parsed.invalid:
            if not item.isdigit():
                raise Refused(
                    f"not an item: {item!r} (use lead:ID, contact:ID, a Sell URL, an email "
                    "or a HubSpot contact id)"
                )
            hubspot_ids.append(item)
        refs.extend(parsed.refs)
        for entries in self.index.find_by_email(parsed.emails).values():
            refs.extend(e.ref for e in entries)
        for link in self.links.links_by_sell(refs).values():
            hubspot_ids.append(link.hubspot_id)
        for link in self.links.links_by_hubspot(hubspot_ids).values():
            refs.append(link.sell)
        return tuple(dict.fromkeys([*(str(r) for r in refs), *hubspot_ids]))


def run_log_line(report: SyncReport) -> str:
    """One line per run for the operators' log: which run, how it ended, its counts."""
    took = (
        f" in {(report.finished_at - report.started_at).total_seconds():.1f}s"
        if report.finished_at
        else ""
    )
    counts = ", ".join(f"{k}={v}" for k, v in sorted(report.run_counts().items())) or "no changes"
    name = f"sync run #{report.run_id}" if report.run_id is not None else "sync dry run"
    line = f"{name} ({report.trigger}) {report.status}{took}: {counts}"
    if report.not_qualified:
        line += f", not_qualified={report.not_qualified}"
    if report.failure:
        line += f"; stopped: {report.failure}"
    return line

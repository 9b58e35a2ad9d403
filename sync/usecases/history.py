"""Run history and the audit trail: what ran, and what changed, where, why and by whom.

Answered from the database alone (``sellsync runs``, ``sellsync audit [ITEM]``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.domain import SellRef
from sync.ports import AuditEvent, RunRecord
from sync.push import parse_items
from sync.report import SyncReport
from sync.usecases.common import Parts, Refused


@dataclass(frozen=True)
class AuditTrail:
    """Audit events, oldest first; ``subjects`` are what ITEM was resolved to."""

    item: str | None
    subjects: tuple[str, ...]
    events: list[AuditEvent]


class History:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Run history, newest first."""
        return self.parts.store.recent_runs(limit)

    def audit_trail(self, item: str | None = None, *, limit: int = 100) -> AuditTrail:
        """Audit events of ITEM (all of them without one), oldest first.

        ITEM is ``lead:ID``/``contact:ID``, a Sell URL, an email or a HubSpot contact id; it
        matches the events of that record and of the record it is linked to.
        """
        store = self.parts.store
        if item is None or not item.strip():
            return AuditTrail(None, (), store.audit_trail(limit=limit))
        item = item.strip()
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
        for entries in store.find_by_email(parsed.emails).values():
            refs.extend(e.ref for e in entries)
        for link in store.links_by_sell(refs).values():
            hubspot_ids.append(link.hubspot_id)
        for link in store.links_by_hubspot(hubspot_ids).values():
            refs.append(link.sell)
        subjects = tuple(dict.fromkeys([*(str(r) for r in refs), *hubspot_ids]))
        events = store.audit_trail(subjects=subjects, limit=limit) if subjects else []
        return AuditTrail(item, subjects, events)


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

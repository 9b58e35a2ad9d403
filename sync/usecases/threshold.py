"""What a threshold would do: how many list members qualify at it and at nearby values (S1).

Answered from the members and scores the last sync recorded: no API call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sync.domain import LinkState
from sync.ports import LinkStore, MemberStore, RunLog
from sync.qualify import parse_score
from sync.settings_registry import MAX_THRESHOLD, parse_threshold
from sync.usecases.common import InForce

__all__ = ["MAX_THRESHOLD", "ImpactRow", "Threshold", "ThresholdImpact", "parse_threshold"]


@dataclass(frozen=True)
class ImpactRow:
    threshold: int
    qualifying: int  # members not yet linked whose score meets this threshold
    to_import: int  # of those, the ones that would enter Sell (tombstones never do, S5)


@dataclass(frozen=True)
class ThresholdImpact:
    current: int
    proposed: int | None
    members: int
    scored: int
    linked: int
    tombstoned: int
    rows: list[ImpactRow]
    as_of: datetime | None = None  # the sync whose member scores these are

    def row(self, threshold: int) -> ImpactRow | None:
        return next((r for r in self.rows if r.threshold == threshold), None)


class Threshold:
    def __init__(
        self, links: LinkStore, members: MemberStore, runs: RunLog, settings: InForce
    ) -> None:
        self.links = links
        self.members = members
        self.runs = runs
        self.settings = settings

    def impact(self, proposed: int | None = None) -> ThresholdImpact:
        """How many list members qualify now and at nearby thresholds, and how many are linked."""
        settings = self.settings()
        recorded = self.members.member_scores(settings.list_id)
        links = self.links.links_by_hubspot(recorded)
        # Linked pairs sync whatever their score (S7): only the others can still enter Sell.
        scores = {
            cid: parse_score(raw)
            for cid, raw in recorded.items()
            if cid not in links or links[cid].state is not LinkState.ACTIVE
        }
        current = settings.threshold
        candidates = sorted(
            {max(0, current + d) for d in (-20, -10, -5, 0, 5, 10, 20)}
            | ({proposed} if proposed is not None else set())
        )
        rows = []
        for t in candidates:
            qual = [cid for cid, s in scores.items() if s is not None and s >= Decimal(t)]
            tombs = sum(1 for cid in qual if cid in links)
            rows.append(ImpactRow(t, len(qual), len(qual) - tombs))
        runs = self.runs.recent_runs(1)
        return ThresholdImpact(
            current=current,
            proposed=proposed,
            members=len(recorded),
            scored=sum(1 for s in scores.values() if s is not None),
            linked=sum(1 for link in links.values() if link.state is LinkState.ACTIVE),
            tombstoned=sum(1 for link in links.values() if link.state is LinkState.TOMBSTONED),
            rows=rows,
            as_of=runs[0].started_at if runs else None,
        )

"""A run's decisions as a value: what ``sellsync sync --dry-run`` prints and the engine applies.

Also what the planner is handed for a linked pair (:class:`LinkedPair`, :class:`ConvertedLead`,
gathered by :mod:`sync.pipeline.facts`) and the decisions every rule shares (:func:`tombstone`,
:func:`hubspot_gone`, :func:`after_event`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sync.domain import (
    HubSpotContact,
    LeadConversion,
    Link,
    LinkState,
    Outcome,
    SellRecord,
    SellRef,
    Skip,
)
from sync.merge import RecordMerge


@dataclass(frozen=True)
class RecordDecision:
    """One record-level decision.

    ``outcomes`` lists what applying it achieves (a link update can both update Sell and open a
    conflict). ``sell_writes`` / ``hubspot_writes`` are exactly the values that will be sent.
    """

    outcomes: tuple[Outcome, ...]
    sell: SellRef | None
    hubspot_id: str | None
    summary: str
    sell_writes: Mapping[str, Any] = field(default_factory=dict)
    hubspot_writes: Mapping[str, str] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()
    # what the engine needs to apply it (not shown)
    link: Link | None = field(default=None, compare=False, repr=False)
    merge: RecordMerge | None = field(default=None, compare=False, repr=False)
    create_kind: str | None = field(default=None, compare=False, repr=False)
    moved_from: SellRef | None = field(default=None, compare=False, repr=False)  # L1
    absorbed_from: str | None = field(default=None, compare=False, repr=False)  # L2: absorbed id

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcomes": [o.value for o in self.outcomes],
            "sell": str(self.sell) if self.sell else None,
            "hubspot_id": self.hubspot_id,
            "summary": self.summary,
            "sell_writes": dict(self.sell_writes),
            "hubspot_writes": dict(self.hubspot_writes),
            "conflicts": list(self.conflicts),
        }


@dataclass
class SyncPlan:
    """Decisions of a whole run (or a push), in the order they are applied.

    With ``keep_actions=False`` only the counts are kept (a long run's memory stays flat);
    skips and warnings are always kept.
    """

    actions: list[RecordDecision] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    keep_actions: bool = True
    _counts: Counter[str] = field(default_factory=Counter, repr=False)

    def add(self, action: RecordDecision) -> None:
        for o in action.outcomes:
            # conflicts are counted per field, everything else per record
            self._counts[o.value] += len(action.conflicts) if o is Outcome.CONFLICT_OPENED else 1
        if self.keep_actions:
            self.actions.append(action)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append(Skip(item, reason))

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def extend(self, other: SyncPlan) -> None:
        for action in other.actions:
            self.add(action)
        self.skipped.extend(other.skipped)
        for w in other.warnings:
            self.warn(w)

    def counts(self) -> Counter[str]:
        c = Counter(self._counts)
        if self.skipped:
            c[Outcome.SKIPPED.value] += len(self.skipped)
        return c

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts()),
            "actions": [a.to_dict() for a in self.actions],
            "skipped": [{"item": s.item, "reason": s.reason} for s in self.skipped],
            "warnings": list(self.warnings),
        }

    def render(self) -> str:
        """The plan as lines a person reads (the dry-run output)."""
        lines: list[str] = []
        counts = self.counts()
        lines.append(
            "Plan: "
            + (
                ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(counts.items()))
                or "nothing to do"
            )
        )
        for a in self.actions:
            who = " ↔ ".join(x for x in (str(a.sell) if a.sell else None, a.hubspot_id) if x)
            lines.append(f"  {', '.join(o.value for o in a.outcomes)}: {who} — {a.summary}")
            for k, v in a.sell_writes.items():
                lines.append(f"      Sell {k} ← {v!r}")
            for k, v in a.hubspot_writes.items():
                lines.append(f"      HubSpot {k} ← {v!r}")
            for c in a.conflicts:
                lines.append(f"      conflict: {c}")
        for s in self.skipped:
            lines.append(f"  skipped: {s.item} — {s.reason}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        return "\n".join(lines)


@dataclass
class PagePlan:
    """What one page (or a push) decided: decisions, skips, failures, members not qualified."""

    plan: SyncPlan = field(default_factory=SyncPlan)
    errors: list[Skip] = field(default_factory=list)
    not_qualified: int = 0

    def add(self, decided: RecordDecision | Skip | None) -> None:
        """A decision is planned, a Skip is a record that could not be planned (S14)."""
        if isinstance(decided, Skip):
            self.errors.append(decided)
        elif decided is not None:
            self.plan.add(decided)

    def extend(self, other: PagePlan) -> None:
        self.plan.extend(other.plan)
        self.errors.extend(other.errors)
        self.not_qualified += other.not_qualified


@dataclass
class WriteFacts:
    """What the applier found while writing a page, for the planner to decide (never the
    applier): decisions whose Sell record a write found gone, those whose HubSpot contact an
    update found gone, and which of the gone leads Sell converted meanwhile (read after)."""

    sell_gone: list[RecordDecision] = field(default_factory=list)
    hubspot_gone: list[RecordDecision] = field(default_factory=list)
    converted: set[SellRef] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.sell_gone or self.hubspot_gone)


@dataclass(frozen=True)
class LinkedPair:
    """A linked pair as read for re-syncing: either side may be gone."""

    link: Link
    record: SellRecord | None  # None: deleted in Sell
    contact: HubSpotContact | None  # None with ``hubspot_missing``: gone from HubSpot
    hubspot_missing: bool = False
    #: L2: when ``contact`` is another contact than the link's (HubSpot merged the link's contact
    #: into it), the link that contact already has, if any (read by the run).
    survivor_link: Link | None = None

    @property
    def absorbed(self) -> bool:
        """HubSpot answered for the link's contact with the contact that absorbed it (L2)."""
        return self.contact is not None and self.contact.id != self.link.hubspot_id

    @property
    def lead_missing(self) -> bool:
        """An active link whose lead Sell no longer answers: deleted, or converted (L1)."""
        link = self.link
        return self.record is None and link.sell.kind == "lead" and link.state is LinkState.ACTIVE


@dataclass(frozen=True)
class ConvertedLead:
    """A linked lead Sell converted (L1), read for moving its link to the new contact."""

    link: Link
    conversion: LeadConversion
    record: SellRecord | None  # the individual contact; None: there is none (any more)
    contact: HubSpotContact | None  # None with ``hubspot_missing``: gone from HubSpot
    hubspot_missing: bool = False


def after_event(
    event: Outcome, summary: str, decision: RecordDecision, **origin: Any
) -> RecordDecision:
    """``decision`` for a link a lifecycle event (L1, L2) moved: the event's outcome first, its
    summary before the decision's, and where the link came from (``moved_from``/``absorbed_from``)."""
    return replace(
        decision,
        outcomes=(event, *decision.outcomes),
        summary=f"{summary}; {decision.summary}",
        **origin,
    )


def tombstone(link: Link, reason: str) -> RecordDecision:
    """S5: the Sell record is gone; the pair is never synced or created again unless restored."""
    return RecordDecision(
        (Outcome.TOMBSTONED,),
        link.sell,
        link.hubspot_id,
        reason,
        link=replace(link, state=LinkState.TOMBSTONED),
    )


def hubspot_gone(link: Link) -> RecordDecision:
    """S6: the HubSpot contact is gone; the Sell record is kept and no longer synced."""
    return RecordDecision(
        (Outcome.HUBSPOT_DELETED,),
        link.sell,
        link.hubspot_id,
        "archived or deleted in HubSpot; the Sell record is kept and no longer synced",
        link=replace(link, state=LinkState.HUBSPOT_DELETED),
    )

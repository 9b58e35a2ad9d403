"""What a plan or run of the move out of Sell did, and where it is while it walks.

:class:`MigrationReport` gathers counts, samples, conflicts and refusals; :class:`Progress` is
what ``on_progress`` hears after every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.migration.rules import Conflict
from sync.ports import MigrationRefusal

#: How many conflicts, refusals and samples a report keeps word for word (counts keep all).
KEPT = 200
SAMPLES = 5


@dataclass(frozen=True)
class Progress:
    """Where a plan or run is: ``phase`` (``companies``, ``contacts``, ``notes``), items done
    so far in all phases, and the total when known."""

    phase: str
    done: int
    total: int | None = None


@dataclass
class MigrationReport:
    """What a plan would do or a run did.

    ``counts`` by ``<object>.<action>`` (``contacts.create``, ``companies.adopt``,
    ``notes.unchanged``, ``associations.create``, ``refused`` ...); ``samples`` the first keys
    of each; ``conflicts`` fields a matched contact keeps (HubSpot's value); ``refusals`` items
    not moved and why; ``unassigned`` Sell users with no HubSpot owner (their records move
    unassigned); ``new_properties`` the properties made (or to make); ``not_moved`` counts of
    what stays behind (deals, tasks, calls, documents, notes on deals).
    """

    dry_run: bool
    run_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    refusals: list[MigrationRefusal] = field(default_factory=list)
    unassigned: list[str] = field(default_factory=list)
    new_properties: list[str] = field(default_factory=list)
    not_moved: dict[str, int] = field(default_factory=dict)
    status: str = "finished"
    #: Sell items read (what ``Progress.done`` counts): a plan's is a run's progress total.
    walked: int = 0

    def count(self, name: str, amount: int = 1, sample: str | None = None) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount
        if sample is not None:
            kept = self.samples.setdefault(name, [])
            if len(kept) < SAMPLES:
                kept.append(sample)

    def refuse(self, key: str, reason: str) -> MigrationRefusal:
        refusal = MigrationRefusal(key, reason)
        self.count("refused")
        if len(self.refusals) < KEPT:
            self.refusals.append(refusal)
        return refusal

    @property
    def moved(self) -> int:
        """Items created, updated, adopted or found equal (contacts, companies, notes)."""
        return sum(
            v
            for k, v in self.counts.items()
            if k.split(".")[0] in ("contacts", "companies", "notes")
            and k.split(".")[-1] in ("create", "update", "adopt", "unchanged", "merge")
        )

    @property
    def writes(self) -> int:
        """Items written (or to write): everything but the unchanged."""
        return sum(
            v
            for k, v in self.counts.items()
            if k.split(".")[-1] in ("create", "update", "adopt", "merge")
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "run_id": self.run_id,
            "status": self.status,
            "walked": self.walked,
            "counts": dict(sorted(self.counts.items())),
            "samples": {k: list(v) for k, v in sorted(self.samples.items())},
            "conflicts": [
                {"key": c.key, "property": c.property, "sell": c.sell, "hubspot": c.hubspot}
                for c in self.conflicts
            ],
            "refusals": [{"key": r.sell_key, "reason": r.reason} for r in self.refusals],
            "unassigned_owners": list(self.unassigned),
            "new_properties": list(self.new_properties),
            "not_moved": dict(self.not_moved),
        }

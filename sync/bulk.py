"""The bulk guard: a run that would create many records, or tombstone a share of the links,
keeps them back for a manager. Pure: the rule and the partition of a run's decisions.

A run hands every page plan to the applier; with a :class:`BulkCollector` in place the applier
first takes out the creations (``create_in_sell``) and the plain link removals (a tombstone, or
a "deleted in HubSpot" mark) and keeps them for the end of the run. There, :func:`judge` splits
them into those released (applied then), those held (stored as a request for a manager) and
those a manager rejected under the same list, threshold and limit (left alone):

* creations on one side above the limit (``SYNC_BULK_LIMIT``, default 100) are held;
* link removals are held when there are more than :data:`REMOVALS_MIN` of them and more than
  :data:`REMOVALS_SHARE` of the links;
* what a manager approved is released whatever the count; ``sync --yes-bulk`` releases the
  rest too; what a manager rejected stays out until the list, threshold or limit changes.

Updates of linked records never wait: only creations and removals are collected.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sync.domain import Outcome
from sync.plan import RecordDecision, SyncPlan

#: Link removals are held when there are more than this many …
REMOVALS_MIN = 10
#: … and they are more than this share of the links.
REMOVALS_SHARE = 0.05

DEFAULT_BULK_LIMIT = 100

#: How many held records a request names.
SAMPLE_SIZE = 10


class HeldKind(StrEnum):
    """What the guard collects, by the key it names each by."""

    CREATE_IN_SELL = "create_in_sell"  # keyed by the HubSpot contact id
    TOMBSTONE = "tombstone"  # keyed by the Sell record ("lead:12")
    HUBSPOT_DELETED = "hubspot_deleted"  # keyed by the Sell record


CREATIONS = (HeldKind.CREATE_IN_SELL,)
REMOVALS = (HeldKind.TOMBSTONE, HeldKind.HUBSPOT_DELETED)

_REMOVAL_OUTCOMES: dict[tuple[Outcome, ...], HeldKind] = {
    (Outcome.TOMBSTONED,): HeldKind.TOMBSTONE,
    (Outcome.HUBSPOT_DELETED,): HeldKind.HUBSPOT_DELETED,
}


class HoldStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # released to the next run
    REJECTED = "rejected"  # left alone under the same scope
    SUPERSEDED = "superseded"  # a newer hold replaced it, or no run needs it any more
    APPLIED = "applied"  # an approved hold a run carried out


def scope_of(list_id: str, threshold: int, limit: int) -> str:
    """What a decision holds under: a rejection lapses once any of these changes."""
    return f"list {list_id}, threshold {threshold}, limit {limit}"


def held_kind(decision: RecordDecision) -> HeldKind | None:
    """The kind the guard collects ``decision`` under; None for what is never held (updates,
    and a removal that is part of a lead's conversion or a merge, which follow their event)."""
    if decision.create_kind is not None and decision.outcomes == (Outcome.CREATED_IN_SELL,):
        return HeldKind.CREATE_IN_SELL
    kind = _REMOVAL_OUTCOMES.get(decision.outcomes)
    if (
        kind is None
        or decision.moved_from is not None
        or decision.absorbed_from is not None
        or decision.sell_writes
        or decision.hubspot_writes
    ):
        return None
    return kind


def held_key(kind: HeldKind, decision: RecordDecision) -> str:
    if kind is HeldKind.CREATE_IN_SELL:
        return str(decision.hubspot_id)
    assert decision.link is not None
    return str(decision.link.sell)


def removals_over(count: int, links_total: int) -> bool:
    """True when ``count`` link removals in one run are too many to apply unasked."""
    return count > REMOVALS_MIN and count > REMOVALS_SHARE * links_total


@dataclass
class Verdict:
    """Each kind's keys: released (apply now), held (ask a manager), rejected (leave alone)."""

    released: dict[HeldKind, list[str]] = field(default_factory=dict)
    held: dict[HeldKind, list[str]] = field(default_factory=dict)
    rejected: dict[HeldKind, list[str]] = field(default_factory=dict)

    def count(self, which: Mapping[HeldKind, Sequence[str]]) -> int:
        return sum(len(v) for v in which.values())

    @property
    def holds(self) -> bool:
        return any(self.held.values())


def judge(
    collected: Mapping[HeldKind, Sequence[str]],
    *,
    limit: int,
    links_total: int,
    approved: Mapping[str, Iterable[str]] | None = None,
    rejected: Mapping[str, Iterable[str]] | None = None,
    pending: Mapping[str, Iterable[str]] | None = None,
    yes: bool = False,
) -> Verdict:
    """Split what a run collected. ``approved``/``rejected``: keys by kind a manager decided
    (the rejected ones under this run's scope only); ``pending``: the keys of the request still
    waiting under this scope (creations it holds stay held while the newcomers, if within the
    limit on their own, are created); ``yes``: the operator's ``--yes-bulk``."""
    waiting = {HeldKind(k): set(v) for k, v in (pending or {}).items()}
    approved_keys = {HeldKind(k): set(v) for k, v in (approved or {}).items()}
    rejected_keys = {HeldKind(k): set(v) for k, v in (rejected or {}).items()}
    verdict = Verdict()
    rest: dict[HeldKind, list[str]] = {}
    for kind, keys in collected.items():
        ok = approved_keys.get(kind, set())
        no = rejected_keys.get(kind, set()) - ok
        verdict.released[kind] = [k for k in keys if k in ok]
        verdict.rejected[kind] = [k for k in keys if k in no]
        rest[kind] = [k for k in keys if k not in ok and k not in no]
    removals = sum(len(rest.get(kind, [])) for kind in REMOVALS)
    for kind, keys in rest.items():
        over = (
            removals_over(removals, links_total) if kind in REMOVALS else len(keys) > max(limit, 0)
        )
        asked = [k for k in keys if k in waiting.get(kind, set())]
        newcomers = [k for k in keys if k not in waiting.get(kind, set())]
        if over and not yes and kind in CREATIONS and asked and len(newcomers) <= limit:
            verdict.held[kind] = asked  # the same request: newcomers are not held with it
            verdict.released[kind] = verdict.released[kind] + newcomers
        elif over and not yes:
            verdict.held[kind] = keys
        else:
            verdict.released[kind] = verdict.released[kind] + keys
    return verdict


class BulkCollector:
    """A run's creations and link removals, kept back by the applier until the run's end."""

    def __init__(self) -> None:
        self.decisions: dict[HeldKind, dict[str, RecordDecision]] = {k: {} for k in HeldKind}
        self.scores: dict[str, str | None] = {}  # members to create: their score, when read

    def take(self, plan: SyncPlan) -> SyncPlan:
        """``plan`` less what the guard collects (kept here)."""
        rest = SyncPlan(keep_actions=True)
        for decision in plan.actions:
            kind = held_kind(decision)
            if kind is None:
                rest.add(decision)
            else:
                self.decisions[kind].setdefault(held_key(kind, decision), decision)
        rest.skipped.extend(plan.skipped)
        for warning in plan.warnings:
            rest.warn(warning)
        return rest

    def collected(self) -> dict[HeldKind, list[str]]:
        return {kind: list(d) for kind, d in self.decisions.items() if d}

    def removals(self) -> set[str]:
        """Sell refs of the links this run would remove (collected already)."""
        return {key for kind in REMOVALS for key in self.decisions[kind]}

    def members_waiting(self) -> set[str]:
        """HubSpot ids of the members whose creation waits (not evaluated until created)."""
        return set(self.decisions[HeldKind.CREATE_IN_SELL])

    def plan_of(self, keys: Mapping[HeldKind, Sequence[str]]) -> SyncPlan:
        out = SyncPlan(keep_actions=True)
        for kind, wanted in keys.items():
            for key in wanted:
                out.add(self.decisions[kind][key])
        return out


def sample(
    collector: BulkCollector, held: Mapping[HeldKind, Sequence[str]], size: int = SAMPLE_SIZE
) -> list[str]:
    """A few held records as a person reads them: what, and who."""
    out: list[str] = []
    for kind, keys in held.items():
        for key in keys:
            if len(out) >= size:
                return out
            d = collector.decisions[kind][key]
            if kind is HeldKind.CREATE_IN_SELL:
                email = d.link.email if d.link is not None else None
                out.append(
                    f"new Sell {d.create_kind} from HubSpot {key}"
                    + (f" ({email})" if email else "")
                )
            elif kind is HeldKind.TOMBSTONE:
                out.append(f"tombstone {key} (missing in Sell)")
            else:
                out.append(f"mark {key} deleted in HubSpot (contact {d.hubspot_id})")
    return out


def describe(counts: Mapping[str, int]) -> str:
    """Held counts as words: "300 creations in Sell, 30 tombstones"."""
    words = {
        HeldKind.CREATE_IN_SELL: ("creation in Sell", "creations in Sell"),
        HeldKind.TOMBSTONE: ("tombstone", "tombstones"),
        HeldKind.HUBSPOT_DELETED: (
            "link marked deleted in HubSpot",
            "links marked deleted in HubSpot",
        ),
    }
    parts = []
    for kind in HeldKind:
        n = counts.get(kind.value, 0)
        if n:
            one, many = words[kind]
            parts.append(f"{n} {one if n == 1 else many}")
    return ", ".join(parts) or "nothing"


@dataclass(frozen=True)
class BulkNotice:
    """What a run tells about the guard: held (with the request's id), or would hold (dry)."""

    held: Mapping[str, int]  # by HeldKind value
    limit: int
    hold_id: int | None = None  # the request managers decide; None in a dry run
    rejected: int = 0  # left alone: a manager rejected them under this scope
    applied_hold: int | None = None  # an approved hold this run carried out
    closed: tuple[int, ...] = ()  # holds this run closed (carried out, superseded): messages

    @property
    def total(self) -> int:
        return sum(self.held.values())

    def line(self, *, dry_run: bool) -> str | None:
        """One line for the terminal and Slack; None when nothing was held or rejected."""
        out = []
        if self.total:
            what = describe(self.held)
            why = []
            if any(self.held.get(k.value) for k in CREATIONS):
                why.append(f"more than SYNC_BULK_LIMIT={self.limit} creations")
            if any(self.held.get(k.value) for k in REMOVALS):
                why.append(
                    f"more than {REMOVALS_MIN} and {REMOVALS_SHARE:.0%} of the links removed"
                )
            reason = " and ".join(why)
            if dry_run:
                out.append(f"The bulk guard would hold {what} ({reason}) for a manager's approval.")
            else:
                out.append(
                    f"Held {what} for a manager's approval ({reason}): request "
                    f"#{self.hold_id}. A manager approves it in Slack's approvals channel, "
                    "or an operator runs `sellsync sync --yes-bulk`."
                )
        if self.rejected:
            out.append(
                f"{self.rejected} held record(s) left alone: a manager rejected them "
                "(asked again once the list, threshold or SYNC_BULK_LIMIT changes)."
            )
        return " ".join(out) or None

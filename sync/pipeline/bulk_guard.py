"""The bulk guard at a run's end: what the applier kept back is released, held or left alone.

During the run the applier collects creations and link removals (:class:`sync.bulk.
BulkCollector`); members whose creation waits are not marked evaluated, so a run that holds
them reads them again next time (and an approval finds them there). At the end,
:meth:`BulkGuard.settle`:

1. reads the holds managers decided: approved ones (released to this run whatever the count),
   rejected ones under this run's list, threshold and limit (left alone);
2. judges the rest (:func:`sync.bulk.judge`) and applies what is released, in pages, marking
   the created members evaluated;
3. files what is held as one pending request (a newer one supersedes it; the same hold again
   is not filed twice), and closes a pending request no run needs any more;
4. marks the approved holds it carried out as applied.

A dry run judges the same and writes nothing: its report says what the guard would hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sync.applier import Applier, PlanOnly
from sync.bulk import (
    CREATIONS,
    REMOVALS,
    BulkCollector,
    BulkNotice,
    HeldKind,
    HoldStatus,
    Verdict,
    judge,
    sample,
    scope_of,
)
from sync.config import EngineConfig
from sync.domain import LinkState
from sync.feeds.members import CHUNK
from sync.planner import PagePlan
from sync.ports import AuditEvent, BulkHold, Clock, Store
from sync.report import SyncReport
from sync.run_context import RunContext
from sync.settings_registry import bulk_limit

#: Who files and closes holds in the audit log.
GUARD = "sellsync"

UNSETTLED = (HoldStatus.PENDING, HoldStatus.APPROVED, HoldStatus.REJECTED)


class GuardParts(Protocol):
    """What the guard uses of a run's parts (:class:`sync.pipeline.sync_run.RunParts`)."""

    store: Store
    clock: Clock
    config: EngineConfig
    applier: PlanOnly
    report: SyncReport

    def tick(self, stage: str) -> None: ...


class BulkGuard:
    def __init__(self, parts: GuardParts, *, yes: bool, reconcile: bool = True) -> None:
        self.p = parts
        self.yes = yes  # the operator's ``sync --yes-bulk``
        #: False for a small run (events, polls): it reads only what its hints name, so it
        #: neither closes a pending hold no run of its own needs nor marks approved ones applied.
        self.reconcile = reconcile
        self.collector = BulkCollector()
        self.closed: list[int] = []  # holds this run closed, whose messages change
        self._after: list[Callable[[], None]] = []
        self.links_total = parts.store.count_links().get(LinkState.ACTIVE.value, 0)
        parts.applier.bulk = self.collector
        #: Members in a hold a manager has not carried out (pending, approved, rejected): kept
        #: with their scores (the threshold's impact counts them), yet read again every run,
        #: so an approval finds them and a rejection is asked again under another limit.
        self.unsettled: set[str] = set()
        #: Links such a hold names (Sell refs): the run reads them again before it settles.
        self.unsettled_links: set[str] = set()
        for hold in parts.store.holds(UNSETTLED):
            self.unsettled.update(hold.items.get(HeldKind.CREATE_IN_SELL.value, ()))
            for kind in REMOVALS:
                self.unsettled_links.update(hold.items.get(kind.value, ()))

    @property
    def real(self) -> bool:
        return isinstance(self.p.applier, Applier)

    def after_settle(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` once the guard has applied or held what it collected (a Sync API page is
        acked then: a run stopped before leaves its deletions to be sent again)."""
        self._after.append(fn)

    def waiting(self) -> set[str]:
        """Members whose creation waits for the run's end: not evaluated yet."""
        return self.collector.members_waiting()

    def settle(self, context: RunContext) -> None:
        p = self.p
        settings = context.settings
        limit = bulk_limit(settings, p.config)  # stored, else SYNC_BULK_LIMIT
        scope = scope_of(settings.list_id, settings.threshold, limit)
        approved = p.store.holds([HoldStatus.APPROVED])
        rejected = [h for h in p.store.holds([HoldStatus.REJECTED]) if h.scope == scope]
        pending = p.store.holds([HoldStatus.PENDING], limit=1)
        collected = self.collector.collected()
        verdict = judge(
            collected,
            limit=limit,
            links_total=self.links_total,
            approved=_union(approved),
            rejected=_union(rejected),
            pending=_union([h for h in pending if h.scope == scope]),
            yes=self.yes,
        )
        p.applier.bulk = None
        self._release(settings.list_id, verdict)
        rejected_count = verdict.count(verdict.rejected)
        hold_id = None
        if verdict.holds:
            hold_id = self._file(scope, verdict, pending[0] if pending else None, limit)
        # only once in a hold (read again by every run until carried out): their scores
        waiting = verdict.held.get(HeldKind.CREATE_IN_SELL, []) + verdict.rejected.get(
            HeldKind.CREATE_IN_SELL, []
        )
        if waiting:
            p.applier.remember_scores(
                settings.list_id, {k: self.collector.scores.get(k) for k in waiting}
            )
        if not verdict.holds and pending and self.real and self.reconcile:
            self._close(pending[0], HoldStatus.SUPERSEDED, "no run needs it any more")
        if self.real and self.reconcile:
            for hold in approved:
                self._close(hold, HoldStatus.APPLIED, "carried out", was=HoldStatus.APPROVED)
        for fn in self._after:
            fn()
        self._after.clear()
        if verdict.holds or rejected_count or self.closed:
            p.report.bulk = BulkNotice(
                held={k.value: len(v) for k, v in verdict.held.items() if v},
                limit=limit,
                hold_id=hold_id,
                rejected=rejected_count,
                applied_hold=approved[0].id if approved and self.real else None,
                closed=tuple(self.closed),
            )

    def _release(self, list_id: str, verdict: Verdict) -> None:
        p = self.p
        released = {k: v for k, v in verdict.released.items() if v}
        for kind, keys in released.items():
            for start in range(0, len(keys), CHUNK):
                chunk = keys[start : start + CHUNK]
                p.applier.write(PagePlan(self.collector.plan_of({kind: chunk})))
                if kind in CREATIONS:
                    p.applier.add_members(list_id, chunk)
                    p.applier.remember_scores(
                        list_id, {k: self.collector.scores.get(k) for k in chunk}
                    )
                p.tick("bulk")

    def _file(
        self, scope: str, verdict: Verdict, pending: BulkHold | None, limit: int
    ) -> int | None:
        p = self.p
        items = {k.value: sorted(v) for k, v in verdict.held.items() if v}
        if not self.real:
            return None
        if (
            pending is not None
            and pending.scope == scope
            and {k: sorted(v) for k, v in pending.items.items()} == items
        ):
            return pending.id  # the same hold again: managers are not asked twice
        hold, superseded = p.store.create_hold(
            scope=scope,
            items=items,
            sample=sample(self.collector, verdict.held),
            bulk_limit=limit,
            links_total=self.links_total,
            run_id=p.report.run_id,
            at=p.clock.now(),
        )
        counts = {k: len(v) for k, v in items.items()}
        p.applier.audit(
            AuditEvent(
                at=p.clock.now(),
                kind="bulk_held",
                subject=f"bulk hold #{hold.id}",
                detail={"counts": counts, "scope": scope, "sample": list(hold.sample)},
                actor=GUARD,
                run_id=p.report.run_id,
            )
        )
        for old in superseded:
            self.closed.append(old.id)
            self._audit_closed(old, HoldStatus.SUPERSEDED, f"superseded by #{hold.id}")
        return hold.id

    def _close(
        self, hold: BulkHold, status: HoldStatus, why: str, *, was: str = HoldStatus.PENDING
    ) -> None:
        _, changed = self.p.store.decide_hold(
            hold.id, status=status, by=None, at=self.p.clock.now(), was=was
        )
        if changed:
            self.closed.append(hold.id)
            self._audit_closed(hold, status, why)

    def _audit_closed(self, hold: BulkHold, status: HoldStatus, why: str) -> None:
        p = self.p
        p.applier.audit(
            AuditEvent(
                at=p.clock.now(),
                kind=f"bulk_{status}",
                subject=f"bulk hold #{hold.id}",
                detail={"why": why, "counts": {k: len(v) for k, v in hold.items.items()}},
                actor=GUARD,
                run_id=p.report.run_id,
            )
        )


def _union(holds: list[BulkHold]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for hold in holds:
        for kind, keys in hold.items.items():
            out.setdefault(kind, set()).update(keys)
    return out

"""The bulk guard's requests: a run held creations (or link removals) above the limits, and a
manager approves or rejects them (see :mod:`sync.bulk` for the rule, and
:mod:`sync.pipeline.bulk_guard` for the run's side).

Approving releases exactly the held records to the next run (which creates them once: they
are still unlinked and not evaluated); rejecting leaves them alone until the list, the
threshold or ``SYNC_BULK_LIMIT`` changes. Deciding is a compare-and-set on the hold's row, so of
two managers clicking at once only one decides; the decision is audited.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.bulk import HoldStatus
from sync.ports import BulkHold, BulkHoldStore, Clock
from sync.usecases.approvals import DecisionOutcome
from sync.usecases.common import Actor, Audit, Refused


@dataclass(frozen=True)
class HoldDecision:
    hold: BulkHold  # as it stands now
    outcome: DecisionOutcome

    @property
    def changed(self) -> bool:
        return self.outcome is DecisionOutcome.DECIDED


class BulkHolds:
    def __init__(self, holds: BulkHoldStore, audit: Audit, clock: Clock) -> None:
        self.holds = holds
        self.audit = audit
        self.clock = clock

    def pending(self) -> BulkHold | None:
        """The one pending hold, if any."""
        holds = self.holds.holds([HoldStatus.PENDING], limit=1)
        return holds[0] if holds else None

    def get(self, hold_id: int) -> BulkHold | None:
        return self.holds.get_hold(hold_id)

    def unposted(self) -> BulkHold | None:
        """The pending hold when no message shows it yet (the scheduler posts it)."""
        hold = self.pending()
        return hold if hold is not None and hold.message_ts is None else None

    def attach_message(self, hold_id: int, *, channel: str, ts: str) -> None:
        self.holds.set_hold_message(hold_id, channel=channel, ts=ts)

    def decide(self, hold_id: int, *, approve: bool, actor: Actor) -> HoldDecision:
        store = self.holds
        hold = store.get_hold(hold_id)
        if hold is None:
            raise Refused(f"there is no bulk request #{hold_id}")
        if hold.status != HoldStatus.PENDING:
            return HoldDecision(hold, DecisionOutcome.ALREADY_CLOSED)
        if not actor.is_manager:
            raise Refused("only managers can approve or reject held creations")
        status = HoldStatus.APPROVED if approve else HoldStatus.REJECTED
        decided, changed = store.decide_hold(
            hold.id, status=status, by=actor.id, at=self.clock.now()
        )
        if not changed:
            return HoldDecision(decided, DecisionOutcome.DECIDED_MEANWHILE)
        self.audit(
            f"bulk_{status}",
            f"bulk hold #{hold.id}",
            actor,
            {"counts": {k: len(v) for k, v in hold.items.items()}, "scope": hold.scope},
        )
        return HoldDecision(decided, DecisionOutcome.DECIDED)

    def approve_pending_from_terminal(self, actor: Actor) -> BulkHold | None:
        """``sync --yes-bulk``: the pending hold, approved by the operator (audited), so that
        its Slack message and the audit log say who let it through."""
        hold = self.pending()
        if hold is None:
            return None
        decision = self.decide(hold.id, approve=True, actor=actor)
        if not decision.changed:
            raise Refused(f"bulk request #{hold.id} was decided meanwhile; run the sync again")
        return hold

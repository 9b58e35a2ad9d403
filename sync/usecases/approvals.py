"""Settings change requests: asked by anyone, approved or rejected by another manager (S1, S2).

Any setting of :mod:`sync.settings_registry` can be asked for: its entry parses, validates and
applies the value, so nothing here depends on which setting it is. A request for the threshold
carries its impact; a newer request for the same setting supersedes the pending one (a resume
supersedes a pending pause); a request nobody decided expires after :data:`REQUEST_TTL`.
Deciding is a compare-and-set on the request's row, so of two managers clicking at once only
one decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sync.config import EngineConfig
from sync.domain import HubSpotList, SettingName
from sync.ports import ChangeRequest, ChangeRequestStore, Clock, HubSpotPort, SyncSettingsStore
from sync.sell_mode import Standing, check_retirement
from sync.settings_registry import Change, entry
from sync.usecases.common import Actor, Audit, InForce, Refused
from sync.usecases.threshold import Threshold, ThresholdImpact

REQUEST_TTL = timedelta(days=7)

#: Who expires requests in the audit log and on the request's row.
EXPIRER = "sellsync"


#: A setting that changes only through an approved request (the registry's names).
Setting = SettingName


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


class DecisionOutcome(StrEnum):
    DECIDED = "decided"  # this click approved or rejected it
    ALREADY_CLOSED = "already_closed"  # it was no longer pending (a double click, superseded …)
    EXPIRED = "expired"  # it turned out to be too old, and is now expired
    DECIDED_MEANWHILE = "decided_meanwhile"  # another manager decided it a moment before


@dataclass(frozen=True)
class RequestResult:
    request: ChangeRequest
    superseded: list[ChangeRequest]
    impact: ThresholdImpact | None


@dataclass(frozen=True)
class Decision:
    request: ChangeRequest  # as it stands now
    outcome: DecisionOutcome

    @property
    def changed(self) -> bool:
        """False: it had already been decided (a double click), or it expired."""
        return self.outcome is DecisionOutcome.DECIDED


class Approvals:
    def __init__(
        self,
        requests: ChangeRequestStore,
        settings_store: SyncSettingsStore,
        hubspot: HubSpotPort,
        settings: InForce,
        audit: Audit,
        config: EngineConfig,
        threshold: Threshold,
        standing: Standing | None = None,
    ) -> None:
        self.requests = requests
        self.settings_store = settings_store
        self.hubspot = hubspot
        self.settings = settings
        self.audit = audit
        self.clock: Clock = audit.clock
        self.config = config
        self.threshold = threshold
        self.standing = standing  # the migration's, for retiring Sell (M5)

    def synced_list(self) -> HubSpotList:
        """The one HubSpot list that feeds Sell (S2)."""
        return self.hubspot.get_list(self.settings().list_id)

    def request_change(
        self, setting: SettingName | str, value: str, *, actor: Actor, reason: str = ""
    ) -> RequestResult:
        """File a request; its entry checks the value as ``sellsync settings set`` does."""
        kind = entry(setting)
        parsed = kind.parse(value)
        new_value = kind.text(parsed)
        old_value = kind.text(kind.in_force(self.settings(), self.config))
        if new_value == old_value:
            raise Refused(f"{kind.name} is already {old_value}")
        kind.validate(parsed, self.hubspot)
        impact = self.threshold.impact(parsed) if kind.shows_impact else None
        request, superseded = self.requests.create_request(
            setting=kind.name,
            new_value=new_value,
            old_value=old_value,
            requested_by=actor.id,
            reason=reason.strip()[:500],
            at=self.clock.now(),
        )
        self.audit(
            "change_requested",
            f"{kind.name}={new_value}",
            actor,
            {"request_id": request.id, "old": old_value, "reason": request.reason},
        )
        return RequestResult(request, superseded, impact)

    def attach_message(self, request_id: int, *, channel: str, ts: str) -> None:
        """Remember where the request's approval message was posted, to rewrite it later."""
        self.requests.set_request_message(request_id, channel=channel, ts=ts)

    def expire_requests(self) -> list[ChangeRequest]:
        """Mark pending requests older than 7 days expired; returns the ones it expired."""
        store = self.requests
        now = self.clock.now()
        expired = []
        for r in store.pending_requests():
            if now - r.created_at >= REQUEST_TTL:
                request, changed = store.decide_request(
                    r.id, status=RequestStatus.EXPIRED, by=EXPIRER, at=now
                )
                if changed:
                    expired.append(request)
        return expired

    def pending_requests(self) -> list[ChangeRequest]:
        """The pending requests, once those past ``REQUEST_TTL`` are expired (one read when
        none is: this runs on every ``/sellsync status``)."""
        pending = self.requests.pending_requests()
        now = self.clock.now()
        if not any(now - r.created_at >= REQUEST_TTL for r in pending):
            return pending
        self.expire_requests()
        # the others, not read again: in a read scope (the status board) the snapshot predates
        # the expiry just written
        return [r for r in pending if now - r.created_at < REQUEST_TTL]

    def pending_count(self, count: int, oldest_at: datetime | None) -> int:
        """``count`` pending requests, the oldest made at ``oldest_at`` (the status board's one
        read): that count as it is, unless one is past ``REQUEST_TTL`` (then they are expired
        first, as :meth:`pending_requests` does)."""
        if oldest_at is None or self.clock.now() - oldest_at < REQUEST_TTL:
            return count
        return len(self.pending_requests())

    def decide(
        self, request_id: int, *, approve: bool, actor: Actor, confirm_unverified: bool = False
    ) -> Decision:
        """Approve or reject a pending request. Approving one that retires Sell while the
        migration is not verified raises :class:`~sync.errors.RetireUnverified` unless
        ``confirm_unverified`` (the manager's second confirmation); the request stays pending."""
        store = self.requests
        request = store.get_request(request_id)
        if request is None:
            raise Refused(f"there is no change request #{request_id}")
        if request.status != RequestStatus.PENDING:
            return Decision(request, DecisionOutcome.ALREADY_CLOSED)
        if not actor.is_manager:
            raise Refused("only managers can approve or reject settings changes")
        if actor.id == request.requested_by:
            raise Refused("you can't approve or reject your own request")
        now = self.clock.now()
        if now - request.created_at >= REQUEST_TTL:
            expired, _ = store.decide_request(
                request.id, status=RequestStatus.EXPIRED, by=EXPIRER, at=now
            )
            return Decision(expired, DecisionOutcome.EXPIRED)
        if approve:
            check_retirement(
                request.setting,
                request.new_value,
                self.standing,
                confirmed=confirm_unverified,
            )
        status = RequestStatus.APPROVED if approve else RequestStatus.REJECTED
        decided, changed = store.decide_request(request.id, status=status, by=actor.id, at=now)
        if not changed:
            return Decision(decided, DecisionOutcome.DECIDED_MEANWHILE)
        if approve:
            kind = entry(request.setting)
            change = Change(request.requested_by, request.reason, now, approved_by=actor.id)
            kind.apply(self.settings_store, kind.parse(request.new_value), change)
        self.audit(
            f"change_{status}",
            f"{request.setting}={request.new_value}",
            actor,
            {"request_id": request.id, "old": request.old_value},
        )
        return Decision(decided, DecisionOutcome.DECIDED)

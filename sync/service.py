"""The service functions behind every Slack command, the scheduler and the command line.

Each returns a plain value (rendered by ``bot/blocks`` for Slack and by ``bot/cli`` for the
terminal) or raises :class:`Refused` with a one-line reason a person can act on.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sync.domain import (
    RECORD_KINDS,
    Conflict,
    ConflictStatus,
    FieldSnapshot,
    HubSpotContact,
    HubSpotList,
    Link,
    LinkState,
    SellRecord,
    SellRef,
)
from sync.engine import Engine
from sync.errors import RecordNotFound, RecordRejected, SyncError
from sync.mapping import (
    STANDARD_FIELDS,
    FieldMapping,
    MappingCheck,
    check_custom_mapping,
    hubspot_canonical,
    hubspot_owned_fields,
    sell_canonical,
    to_hubspot_value,
    to_sell_value,
)
from sync.merge import hubspot_raw
from sync.ports import (
    AuditEvent,
    ChangeRequest,
    ContactWrite,
    CustomMapping,
    RunRecord,
    SchedulerBeat,
    SyncSettings,
)
from sync.push import parse_items
from sync.qualify import parse_score, qualify
from sync.report import SyncReport

log = logging.getLogger("sellsync.runs")

REQUEST_TTL = timedelta(days=7)
MAX_THRESHOLD = 1_000_000
SETTINGS = ("threshold", "list_id")

#: A scheduler records a heartbeat every minute (bot/scheduler.py); one silent for this long is
#: taken for dead (crashed, stopped without a chance to say so, or its host is gone).
HEARTBEAT_STALE = timedelta(minutes=5)


class Refused(SyncError):
    """The request is understood but not allowed or not possible; the message says why."""


@dataclass(frozen=True)
class Actor:
    id: str
    is_manager: bool = False
    name: str | None = None


CLI_ACTOR = Actor("cli", is_manager=True, name="command line")


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class ScheduleState:
    """Whether a scheduler is alive, from the heartbeats schedulers record in the database.

    ``state``: ``running`` (seen within :data:`HEARTBEAT_STALE`), ``stale`` (silent since
    ``seen_at``), ``stopped`` (shut down cleanly at ``stopped_at``) or ``never`` (none seen).
    Next run times are only given while it runs: nothing else would start those runs.
    """

    state: str
    seen_at: datetime | None = None
    stopped_at: datetime | None = None
    next_sync: datetime | None = None
    next_summary: datetime | None = None

    @classmethod
    def from_beat(cls, beat: SchedulerBeat | None, now: datetime) -> ScheduleState:
        if beat is None:
            return cls("never")
        if beat.stopped_at is not None:
            return cls("stopped", seen_at=beat.seen_at, stopped_at=beat.stopped_at)
        if now - beat.seen_at > HEARTBEAT_STALE:
            return cls("stale", seen_at=beat.seen_at)
        return cls(
            "running",
            seen_at=beat.seen_at,
            next_sync=beat.next_sync_at,
            next_summary=beat.next_summary_at,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state,
            "seen_at": _iso(self.seen_at),
            "stopped_at": _iso(self.stopped_at),
            "next_sync": _iso(self.next_sync),
            "next_summary": _iso(self.next_summary),
        }


@dataclass(frozen=True)
class StatusView:
    threshold: int
    list_id: str
    last_run: RunRecord | None
    next_run: datetime | None  # the running scheduler's next sync (schedule.next_sync)
    open_conflicts: int
    pending_requests: int
    links: dict[str, int]
    recent_runs: list[RunRecord] = field(default_factory=list)
    schedule: ScheduleState = field(default_factory=lambda: ScheduleState("never"))

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "list_id": self.list_id,
            "last_run": _run_dict(self.last_run),
            "next_run": _iso(self.next_run),
            "scheduler": self.schedule.to_dict(),
            "open_conflicts": self.open_conflicts,
            "pending_requests": self.pending_requests,
            "links": self.links,
        }


@dataclass(frozen=True)
class Explanation:
    """Why a record did or did not sync."""

    item: str
    verdict: str  # one line
    facts: list[str]
    link: Link | None = None
    conflicts: list[Conflict] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "item": self.item,
            "verdict": self.verdict,
            "facts": self.facts,
            "link": None
            if self.link is None
            else {
                "sell": str(self.link.sell),
                "hubspot_id": self.link.hubspot_id,
                "state": self.link.state.value,
                "last_synced_at": self.link.last_synced_at.isoformat()
                if self.link.last_synced_at
                else None,
            },
            "open_conflicts": [c.field for c in self.conflicts],
        }


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


@dataclass(frozen=True)
class RequestResult:
    request: ChangeRequest
    superseded: list[ChangeRequest]
    impact: ThresholdImpact | None


@dataclass(frozen=True)
class Decision:
    request: ChangeRequest
    changed: bool  # False: it had already been decided (a double click)
    message: str


@dataclass(frozen=True)
class ConflictPage:
    conflicts: list[Conflict]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class FieldRow:
    hubspot: str
    sell: str
    direction: str
    kinds: tuple[str, ...]
    status: str = "ok"
    note: str = ""


@dataclass(frozen=True)
class AuditTrail:
    """Audit events, oldest first; ``subjects`` are what ITEM was resolved to."""

    item: str | None
    subjects: tuple[str, ...]
    events: list[AuditEvent]


@dataclass(frozen=True)
class SettingChange:
    """A line of the summary's setting changes: plain text, and who approved it (a user id)."""

    text: str
    approved_by: str | None = None


@dataclass(frozen=True)
class Summary:
    since: datetime | None
    until: datetime
    counts: dict[str, int]
    skipped_by_reason: dict[str, int]
    setting_changes: list[SettingChange]
    runs: int
    failed_runs: int

    @property
    def empty(self) -> bool:
        return not self.counts and not self.setting_changes and not self.runs


# --------------------------------------------------------------------------- the service


@dataclass(frozen=True)
class _Resolution:
    """A conflict's resolution, read from both sides and not yet written."""

    link: Link
    mapping: FieldMapping
    to_hubspot: bool  # Keep Sell: Sell's value to HubSpot; Use HubSpot: HubSpot's value to Sell
    value: str | None  # canonical: what both sides hold once it is written
    raw: Any  # the value as the receiving side takes it

    def settled(self, at: datetime) -> Link:
        """The link with both sides of the field at ``value``."""
        snapshot = dict(self.link.snapshot)
        snapshot[self.mapping.key] = FieldSnapshot(sell=self.value, hubspot=self.value)
        return replace(self.link, snapshot=snapshot, last_synced_at=at)


class SyncService:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.store = engine.store
        self.hubspot = engine.hubspot
        self.sell = engine.sell
        self.clock = engine.clock

    # -------------------------------------------------------------- running
    def run(
        self,
        *,
        actor: Actor,
        trigger: str = "manual",
        dry_run: bool = False,
        full: bool = False,
        progress: Callable[[str, SyncReport], None] | None = None,
    ) -> SyncReport:
        if not actor.is_manager and not dry_run:
            raise Refused("only managers can start a sync")
        report = self.engine.run(trigger=trigger, dry_run=dry_run, full=full, progress=progress)
        log.info("%s", run_log_line(report))
        return report

    def push(self, items: Sequence[str], *, actor: Actor, dry_run: bool = False) -> SyncReport:
        parsed = parse_items(items)
        if parsed.empty and not parsed.invalid:
            raise Refused(
                "nothing to push: give emails, lead:ID, contact:ID, Sell URLs or tag:NAME"
            )
        return self.engine.push(items, actor=actor.id, dry_run=dry_run)

    # -------------------------------------------------------------- status
    def settings(self) -> SyncSettings:
        return self.engine.settings()

    def status(self) -> StatusView:
        settings = self.settings()
        runs = self.store.recent_runs(5)
        schedule = self.schedule_state()
        return StatusView(
            threshold=settings.threshold,
            list_id=settings.list_id,
            last_run=runs[0] if runs else None,
            next_run=schedule.next_sync,
            schedule=schedule,
            open_conflicts=self.store.count_conflicts(),
            pending_requests=len(self.pending_requests()),
            links=self.store.count_links(),
            recent_runs=runs,
        )

    def schedule_state(self) -> ScheduleState:
        """Is a scheduler alive, and when does it run next (from its heartbeat)."""
        return ScheduleState.from_beat(self.store.latest_heartbeat(), self.clock.now())

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """Run history, newest first (``sellsync runs``)."""
        return self.store.recent_runs(limit)

    def audit_trail(self, item: str | None = None, *, limit: int = 100) -> AuditTrail:
        """What changed, where, why and by whom (``sellsync audit [ITEM]``), oldest first.

        ITEM is ``lead:ID``/``contact:ID``, a Sell URL, an email or a HubSpot contact id; it
        matches the events of that record and of the record it is linked to. Answered from the
        database alone.
        """
        if item is None or not item.strip():
            return AuditTrail(None, (), self.store.audit_trail(limit=limit))
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
        for entries in self.store.find_by_email(parsed.emails).values():
            refs.extend(e.ref for e in entries)
        for link in self.store.links_by_sell(refs).values():
            hubspot_ids.append(link.hubspot_id)
        for link in self.store.links_by_hubspot(hubspot_ids).values():
            refs.append(link.sell)
        subjects = tuple(dict.fromkeys([*(str(r) for r in refs), *hubspot_ids]))
        events = self.store.audit_trail(subjects=subjects, limit=limit) if subjects else []
        return AuditTrail(item, subjects, events)

    def hubspot_url(self, contact_id: str) -> str | None:
        """The contact's page in HubSpot, for links in messages (None: portal id unknown)."""
        return self.hubspot.contact_url(contact_id)

    def explain(self, item: str) -> Explanation:
        """Why a record did or did not sync: list, score vs threshold, link, tombstone, conflicts."""
        item = item.strip()
        settings = self.settings()
        link, contact, record, facts = self._locate(item)
        if link is None and contact is None and record is None:
            return Explanation(item, "not found in Sell, in HubSpot or among synced records", facts)
        conflicts = self.store.conflicts_for(link.sell) if link else []
        open_conflicts = [c for c in conflicts if c.status is ConflictStatus.OPEN]
        if link is not None:
            when = (
                link.last_synced_at.strftime("%Y-%m-%d %H:%M UTC")
                if link.last_synced_at
                else "never"
            )
            facts.append(
                f"Linked: {link.sell} ↔ HubSpot {link.hubspot_id} (from {link.origin.value}); last synced {when}"
            )
        if link is not None and link.state is LinkState.TOMBSTONED:
            verdict = (
                f"not synced: its Sell record {link.sell} was deleted, so HubSpot contact "
                f"{link.hubspot_id} is never created in Sell again (a manager can restore it)"
            )
        elif link is not None and link.state is LinkState.HUBSPOT_DELETED:
            verdict = (
                f"not synced: HubSpot contact {link.hubspot_id} was deleted in HubSpot; the Sell "
                "record is kept. Push it again to re-create it in HubSpot"
            )
        elif link is not None:
            verdict = "synced: linked pairs keep syncing both ways whatever their list or score"
            if open_conflicts:
                verdict += f" ({len(open_conflicts)} open conflict{'s' if len(open_conflicts) > 1 else ''})"
        elif contact is not None:
            members = self.store.known_members(settings.list_id)
            in_list = contact.id in members
            facts.append(
                f"In the synced list {settings.list_id}: {'yes' if in_list else 'no'} (as of the last sync)"
            )
            q = qualify(
                contact.properties.get(self.engine.config.score_property),
                in_list=in_list,
                threshold=settings.threshold,
            )
            facts.append(f"Score: {q.reason}")
            if q.qualifies:
                verdict = "qualifies: it enters Sell at the next sync"
            else:
                verdict = f"not synced: {q.reason}"
        else:
            assert record is not None
            if record.is_organization:
                verdict = "not synced: company contacts can't be added to HubSpot"
            elif record.email is None:
                verdict = "not synced: it has no email (HubSpot requires one)"
            else:
                verdict = "not linked yet: push it with /sellsync push " + str(record.ref)
        for c in open_conflicts:
            facts.append(
                f"Open conflict on {field_label(c.field)}: Sell {c.sell_value!r} vs HubSpot {c.hubspot_value!r}"
            )
        return Explanation(item, verdict, facts, link, open_conflicts)

    def _locate(
        self, item: str
    ) -> tuple[Link | None, HubSpotContact | None, SellRecord | None, list[str]]:
        facts: list[str] = []
        link: Link | None = None
        contact: HubSpotContact | None = None
        record: SellRecord | None = None
        props = self._props_to_read()
        hub_id = item.split(":", 1)[1] if item.lower().startswith("hubspot:") else None
        if hub_id is not None:
            link = self.store.links_by_hubspot([hub_id]).get(hub_id)
            found, _ = self.hubspot.read_contacts([hub_id], props)
            contact = found.get(hub_id)
        else:
            parsed = parse_items([item])
            if parsed.invalid:
                raise Refused(parsed.invalid[0].reason)
            if parsed.refs:
                ref = parsed.refs[0]
                link = self.store.links_by_sell([ref]).get(ref)
                record = self.sell.get_records(ref.kind, [ref.id]).get(ref.id)
                if record is None:
                    facts.append(f"Sell: {ref} does not exist (deleted?)")
            elif parsed.emails:
                email = parsed.emails[0]
                entries = [
                    e for entries in self.store.find_by_email([email]).values() for e in entries
                ]
                if entries:
                    best = max(entries, key=lambda e: (e.ref.kind == "contact", e.updated_at))
                    link = self.store.links_by_sell([best.ref]).get(best.ref)
                    record = self.sell.get_records(best.ref.kind, [best.ref.id]).get(best.ref.id)
                contact = self.hubspot.read_contacts_by_email([email], props).get(email)
                if contact is not None and link is None:
                    link = self.store.links_by_hubspot([contact.id]).get(contact.id)
            else:
                raise Refused("give an email, lead:ID, contact:ID, a Sell URL or hubspot:ID")
            if link is not None and contact is None:
                found, _ = self.hubspot.read_contacts([link.hubspot_id], props)
                contact = found.get(link.hubspot_id)
        if record is not None:
            facts.append(f"Sell: {record.ref}, email {record.email or '(none)'}")
        if contact is not None:
            score = contact.properties.get(self.engine.config.score_property)
            facts.append(
                f"HubSpot: contact {contact.id}, email {contact.email or '(none)'}, score {score or '(blank)'}"
            )
        elif hub_id is not None or (link is not None):
            facts.append("HubSpot: the contact is archived or does not exist")
        return link, contact, record, facts

    def _props_to_read(self) -> list[str]:
        return sorted({"email", "firstname", "lastname", self.engine.config.score_property})

    def synced_list(self) -> HubSpotList:
        """The one HubSpot list that feeds Sell (S2)."""
        return self.hubspot.get_list(self.settings().list_id)

    # -------------------------------------------------------------- threshold
    def threshold_impact(self, proposed: int | None = None) -> ThresholdImpact:
        """How many list members qualify now and at nearby thresholds, and how many are linked.

        Answered from the members and scores the last sync recorded: no API call.
        """
        settings = self.settings()
        recorded = self.store.member_scores(settings.list_id)
        links = self.store.links_by_hubspot(recorded)
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
        runs = self.store.recent_runs(1)
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

    # -------------------------------------------------------------- approvals
    @staticmethod
    def parse_threshold(text: str) -> int:
        raw = text.strip()
        if not re.fullmatch(r"[0-9]{1,7}", raw):  # ASCII only: int() also reads "٥٠"
            raise Refused(
                f"threshold must be a whole number from 0 to {MAX_THRESHOLD:,}, not {raw!r}"
            )
        value = int(raw)
        if value > MAX_THRESHOLD:
            raise Refused(
                f"threshold must be a whole number from 0 to {MAX_THRESHOLD:,}, not {raw!r}"
            )
        return value

    def request_change(
        self, setting: str, value: str, *, actor: Actor, reason: str = ""
    ) -> RequestResult:
        if setting not in SETTINGS:
            raise Refused(f"unknown setting {setting!r}: use threshold or list_id")
        settings = self.settings()
        impact = None
        if setting == "threshold":
            new_value = str(self.parse_threshold(value))
            old_value = str(settings.threshold)
        else:
            new_value = value.strip()
            if not new_value.isdigit():
                raise Refused(f"a HubSpot list id is a number (the v3 listId), not {value!r}")
            old_value = settings.list_id
            self.hubspot.get_list(new_value)  # must exist
        if new_value == old_value:
            raise Refused(f"{setting} is already {old_value}")
        if setting == "threshold":
            impact = self.threshold_impact(int(new_value))
        request, superseded = self.store.create_request(
            setting=setting,
            new_value=new_value,
            old_value=old_value,
            requested_by=actor.id,
            reason=reason.strip()[:500],
            at=self.clock.now(),
        )
        self._audit(
            "change_requested",
            f"{setting}={new_value}",
            actor,
            {"request_id": request.id, "old": old_value, "reason": request.reason},
        )
        return RequestResult(request, superseded, impact)

    def expire_requests(self) -> list[ChangeRequest]:
        """Mark pending requests older than 7 days expired; returns the ones it expired."""
        now = self.clock.now()
        expired = []
        for r in self.store.pending_requests():
            if now - r.created_at >= REQUEST_TTL:
                request, changed = self.store.decide_request(
                    r.id, status="expired", by="sellsync", at=now
                )
                if changed:
                    expired.append(request)
        return expired

    def pending_requests(self) -> list[ChangeRequest]:
        """The pending requests, once those past ``REQUEST_TTL`` are expired (one read when
        none is: this runs on every ``/sellsync status``)."""
        pending = self.store.pending_requests()
        now = self.clock.now()
        if not any(now - r.created_at >= REQUEST_TTL for r in pending):
            return pending
        self.expire_requests()
        return self.store.pending_requests()

    def decide(self, request_id: int, *, approve: bool, actor: Actor) -> Decision:
        request = self.store.get_request(request_id)
        if request is None:
            raise Refused(f"there is no change request #{request_id}")
        if request.status != "pending":
            who = (
                f" by <@{request.decided_by}>"
                if request.decided_by and request.status in ("approved", "rejected")
                else ""
            )
            return Decision(
                request, False, f"request #{request.id} was already {request.status}{who}"
            )
        if not actor.is_manager:
            raise Refused("only managers can approve or reject settings changes")
        if actor.id == request.requested_by:
            raise Refused("you can't approve or reject your own request")
        now = self.clock.now()
        if now - request.created_at >= REQUEST_TTL:
            expired, _ = self.store.decide_request(
                request.id, status="expired", by="sellsync", at=now
            )
            return Decision(expired, False, f"request #{request.id} expired after 7 days")
        status = "approved" if approve else "rejected"
        decided, changed = self.store.decide_request(request.id, status=status, by=actor.id, at=now)
        if not changed:
            return Decision(decided, False, f"request #{request.id} was already {decided.status}")
        if approve:
            if request.setting == "threshold":
                self.store.update_settings(threshold=int(request.new_value))
            else:
                self.store.update_settings(list_id=request.new_value)
        self._audit(
            f"change_{status}",
            f"{request.setting}={request.new_value}",
            actor,
            {"request_id": request.id, "old": request.old_value},
        )
        return Decision(decided, True, f"{request.setting} change to {request.new_value} {status}")

    # -------------------------------------------------------------- conflicts
    def conflicts(self, *, offset: int = 0, limit: int = 10) -> ConflictPage:
        """One page of open conflicts; a page past the end (``conflicts 999``) is the last one."""
        limit = max(1, limit)
        total = self.store.count_conflicts()
        offset = min(max(0, offset), (max(0, total - 1) // limit) * limit)
        items = self.store.list_conflicts(offset=offset, limit=limit)
        return ConflictPage(items, total, offset, limit)

    def resolve_conflict(
        self, conflict_id: int, action: str, *, actor: Actor
    ) -> tuple[Conflict, bool]:
        """Keep Sell (Sell's value goes to HubSpot), Use HubSpot (HubSpot's to Sell), or Dismiss.

        One decision per conflict: the conflict is closed (a compare-and-set on its row) before
        any CRM write, so of two managers clicking at once only the first one's value is
        written; the other gets ``(conflict, False)``, which says who decided and how. When the
        write then fails, the decision is undone, the conflict is open again, and Refused says
        why.
        """
        if not actor.is_manager:
            raise Refused("only managers can resolve conflicts")
        statuses = {
            "keep_sell": ConflictStatus.KEPT_SELL,
            "use_hubspot": ConflictStatus.USED_HUBSPOT,
            "dismiss": ConflictStatus.DISMISSED,
        }
        if action not in statuses:
            raise Refused(f"unknown conflict action {action!r}")
        conflict = self.store.get_conflict(conflict_id)
        if conflict is None:
            raise Refused(f"there is no conflict #{conflict_id}")
        if conflict.status is not ConflictStatus.OPEN:
            return conflict, False
        write = None if action == "dismiss" else self._plan_resolution(conflict, action)
        status = statuses[action]
        resolved, changed = self.store.resolve_conflict(
            conflict_id, status=status, by=actor.id, at=self.clock.now()
        )
        if not changed:
            return resolved, False  # decided by someone else meanwhile: nothing written
        subject = f"{conflict.sell}|{conflict.hubspot_id}"
        if write is not None:
            try:
                self._write_resolution(write)
            except BaseException as exc:  # the decision is undone, whatever stopped the write
                reopened = self.store.reopen_conflict(conflict_id, status=status, by=actor.id)
                self._audit(
                    "conflict_resolution_failed",
                    subject,
                    actor,
                    {
                        "field": conflict.field,
                        "action": action,
                        "error": type(exc).__name__,
                        "reopened": reopened,
                    },
                )
                if not isinstance(exc, SyncError):
                    raise
                again = "it is open again" if reopened else "a newer conflict replaces it"
                raise Refused(f"{exc}; conflict #{conflict_id} was not resolved, {again}") from exc
            self.store.save_link(write.settled(self.clock.now()))
        self._audit(
            "conflict_resolved", subject, actor, {"field": conflict.field, "action": action}
        )
        return resolved, True

    def _plan_resolution(self, conflict: Conflict, action: str) -> _Resolution:
        """What resolving ``conflict`` writes, read from both sides now (no write yet)."""
        link = self.store.links_by_sell([conflict.sell]).get(conflict.sell)
        if link is None or link.state is not LinkState.ACTIVE:
            raise Refused(f"{conflict.sell} is no longer synced; dismiss the conflict instead")
        run = self.engine.context()
        mapping = next((m for m in run.table(conflict.sell.kind) if m.key == conflict.field), None)
        if mapping is None:
            raise Refused(
                f"field {conflict.field} is no longer mapped; dismiss the conflict instead"
            )
        record = self.sell.get_records(conflict.sell.kind, [conflict.sell.id]).get(conflict.sell.id)
        found, _ = self.hubspot.read_contacts([link.hubspot_id], run.hubspot_props())
        contact = found.get(link.hubspot_id)
        if record is None or contact is None:
            raise Refused("the record no longer exists on one side; dismiss the conflict instead")
        prop = run.props.get(mapping.hubspot)
        if action == "keep_sell":
            value = sell_canonical(mapping, record.values.get(mapping.sell))
            raw: object = to_hubspot_value(mapping, value, prop)
        else:
            value = hubspot_canonical(mapping, hubspot_raw(mapping, contact, None), prop)
            raw = to_sell_value(mapping, value)
        return _Resolution(link, mapping, action == "keep_sell", value, raw)

    def _write_resolution(self, write: _Resolution) -> None:
        link, mapping = write.link, write.mapping
        if write.to_hubspot:
            result = self.hubspot.update_contacts(
                [
                    ContactWrite(
                        key="resolve",
                        id=link.hubspot_id,
                        properties={mapping.hubspot: write.raw},
                    )
                ]
            )[0]
            if not result.ok:
                raise Refused(f"HubSpot refused the value: {result.error or 'contact is gone'}")
        else:
            try:
                self.sell.update_record(link.sell.kind, link.sell.id, {mapping.sell: write.raw})
            except (RecordNotFound, RecordRejected) as exc:
                raise Refused(f"Sell refused the value: {exc}") from exc

    # -------------------------------------------------------------- restore
    def restore(self, item: str, *, actor: Actor) -> Link:
        """S5: lift a tombstone; from the next sync the contact is treated as never linked."""
        if not actor.is_manager:
            raise Refused("only managers can restore deleted records")
        link = self._tombstone_for(item.strip())
        self.store.delete_link(link.sell)
        self._audit("restored", f"{link.sell}|{link.hubspot_id}", actor, {})
        return link

    def _tombstone_for(self, item: str) -> Link:
        candidates: list[Link] = []
        if item.lower().startswith("hubspot:"):
            hub = item.split(":", 1)[1].strip()
            candidates = list(self.store.links_by_hubspot([hub]).values())
        else:
            parsed = parse_items([item])
            if parsed.invalid or parsed.tags:
                raise Refused(
                    "restore takes lead:ID, contact:ID, a Sell URL, an email or hubspot:ID"
                )
            if parsed.refs:
                candidates = list(self.store.links_by_sell(parsed.refs).values())
            for email in parsed.emails:
                candidates += [
                    link
                    for batch in self.store.iter_links()
                    for link in batch
                    if link.email == email and link.state is LinkState.TOMBSTONED
                ]
        tomb = [link for link in candidates if link.state is LinkState.TOMBSTONED]
        if not tomb:
            raise Refused(f"{item} has no tombstone to lift")
        return tomb[0]

    # -------------------------------------------------------------- fields
    def fields(self) -> list[FieldRow]:
        rows = [FieldRow(m.hubspot, m.sell, "both", m.kinds) for m in STANDARD_FIELDS]
        rows += [
            FieldRow(m.hubspot, m.sell, "HubSpot → Sell", m.kinds)
            for m in hubspot_owned_fields(self.engine.config.score_property)
        ]
        settings = self.settings()
        if settings.custom_mappings:
            props = self.hubspot.properties()
            sell_fields = {k: self.sell.custom_fields(k) for k in RECORD_KINDS}
            for cm in settings.custom_mappings:
                check = check_custom_mapping(cm.hubspot_property, cm.sell_field, props, sell_fields)
                rows.append(
                    FieldRow(
                        cm.hubspot_property,
                        f"custom_fields.{cm.sell_field}",
                        "both",
                        check.mapping.kinds if check.mapping else RECORD_KINDS,
                        check.status,
                        check.message,
                    )
                )
        return rows

    def map_field(self, hubspot_property: str, sell_field: str, *, actor: Actor) -> MappingCheck:
        """S13: map a HubSpot custom property to a Sell custom field (managers)."""
        if not actor.is_manager:
            raise Refused("only managers can map fields")
        prop_name, field_name = hubspot_property.strip(), sell_field.strip()
        if not prop_name or not field_name:
            raise Refused('usage: fields map PROPERTY "Sell field"')
        if any(m.hubspot == prop_name for m in (*STANDARD_FIELDS, *hubspot_owned_fields())):
            raise Refused(f"{prop_name} is a standard field and is already synced")
        props = self.hubspot.properties()
        sell_fields = {k: self.sell.custom_fields(k) for k in RECORD_KINDS}
        check = check_custom_mapping(prop_name, field_name, props, sell_fields)
        if check.status == "refused":
            return check
        settings = self.settings()
        kept = tuple(m for m in settings.custom_mappings if m.hubspot_property != prop_name)
        self.store.update_settings(custom_mappings=(*kept, CustomMapping(prop_name, field_name)))
        self._audit(
            "field_mapped", prop_name, actor, {"sell_field": field_name, "status": check.status}
        )
        return check

    # -------------------------------------------------------------- summary
    def summary_since(self, since: datetime | None) -> Summary:
        events = self.store.audit_since(since)
        counts: Counter[str] = Counter()
        changes: list[SettingChange] = []
        for e in events:
            if e.kind in ("change_approved",):
                changes.append(SettingChange(e.subject, approved_by=e.actor))
            elif e.kind == "field_mapped":
                changes.append(
                    SettingChange(f"field {e.subject} mapped to {e.detail.get('sell_field')}")
                )
            elif e.kind == "restored":
                changes.append(SettingChange(f"restored {e.subject.split('|')[0]}"))
            if e.kind == "conflict_opened":
                counts[e.kind] += len(e.detail.get("conflicts") or ()) or 1
            else:
                counts[e.kind] += 1
        runs = [r for r in self.store.recent_runs(500) if since is None or r.started_at >= since]
        skipped: Counter[str] = Counter()
        for r in runs:
            for k, v in r.counts.items():
                if k.startswith("skipped:"):
                    skipped[k.removeprefix("skipped:")] += v
        errors = sum(r.counts.get("error", 0) for r in runs)
        if errors:
            counts["error"] = errors
        return Summary(
            since,
            self.clock.now(),
            dict(counts),
            dict(skipped),
            changes,
            len(runs),
            sum(1 for r in runs if r.status == "failed"),
        )

    # -------------------------------------------------------------- helpers
    def _audit(self, kind: str, subject: str, actor: Actor, detail: dict[str, object]) -> None:
        self.store.audit(
            AuditEvent(
                at=self.clock.now(), kind=kind, subject=subject, detail=detail, actor=actor.id
            )
        )


def _run_dict(run: RunRecord | None) -> dict[str, object] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": dict(run.counts),
        "error": run.error,
    }


def field_label(key: str) -> str:
    """A field as people name it (``City``, not ``address.city``; a custom field by its name)."""
    for m in (*STANDARD_FIELDS, *hubspot_owned_fields()):
        if m.key == key and m.label:
            return m.label
    return key.removeprefix("custom_fields.").removeprefix("custom:")


def run_log_line(report: SyncReport) -> str:
    """One line per run for operators: which run, how it ended, how long it took, its counts."""
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


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

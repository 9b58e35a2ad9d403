"""The Health inbox: records whose writes keep failing, and webhook events that keep failing.

A record is listed once its write failed on two runs in a row (no sync of it in between); an
event once its apply failed :data:`~sync.usecases.live.FAILING_AFTER` times. Each entry says
why in words (:func:`reason_in_words`: HubSpot's own message for a refusal, an invalid email,
Sell's refusal, the other record gone), when it first and last failed, and what to do.

The failures come from each real run's report (:meth:`Health.record_run`, which the engine
calls once the run log has the run): the applier only reports them. A record that syncs later
is forgotten then; so is one a retry synced. Managers may *Retry now* (the record, or the
event's contacts, through a small run of the normal pipeline at once) or *Ignore* (kept until
the record syncs); both are audited. Anyone may look.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from sync.domain import SellRef, Skip
from sync.events import StoredEvent
from sync.pipeline.short_run import Hints, ShortWork
from sync.ports import EventInbox, HealthRecord, HealthStore, LinkStore, RecordFailure
from sync.report import SyncReport
from sync.usecases.common import Actor, Audit, Refused, iso
from sync.usecases.live import FAILING_AFTER, backoff

__all__ = [
    "ADVICE",
    "EVENT_PREFIX",
    "FAILED_RUNS",
    "Health",
    "HealthEntry",
    "HealthView",
    "Reason",
    "ReasonKind",
    "RetryOutcome",
    "failures_of",
    "reason_in_words",
]

#: Runs in a row a record's write must fail on before it is listed.
FAILED_RUNS = 2

#: The prefix of an event's key (``event:12``); a record's key is its report item.
EVENT_PREFIX = "event:"

#: The longest reason shown (a CRM's message can be long).
MAX_WORDS = 500


class ReasonKind(StrEnum):
    INVALID_EMAIL = "invalid_email"
    HUBSPOT_REFUSED = "hubspot_refused"
    SELL_REFUSED = "sell_refused"
    GONE = "other_record_gone"
    UNREADABLE = "unreadable_value"
    RUN_FAILED = "run_failed"
    OTHER = "other"


#: What a manager can do about each kind (the operations guide says more).
ADVICE: dict[ReasonKind, str] = {
    ReasonKind.INVALID_EMAIL: "Correct the email address in the CRM, then Retry now.",
    ReasonKind.HUBSPOT_REFUSED: (
        "HubSpot's message names the property or validation rule: fix the value (or the rule "
        "in HubSpot), then Retry now."
    ),
    ReasonKind.SELL_REFUSED: "Fix the value Sell refused in Sell, then Retry now.",
    ReasonKind.GONE: (
        "The record was deleted or merged away on one side: restore it there and Retry now, or "
        "Ignore."
    ),
    ReasonKind.UNREADABLE: "Fix the value in the CRM it comes from, then Retry now.",
    ReasonKind.RUN_FAILED: "The whole run stopped: see sellsync status, then Retry now.",
    ReasonKind.OTHER: "Retry now; if it fails again, see sellsync's log.",
}

#: An event's classified reason (``sync.usecases.live``) as a kind.
_EVENT_KINDS = {
    "invalid email": ReasonKind.INVALID_EMAIL,
    "refused by hubspot": ReasonKind.HUBSPOT_REFUSED,
    "refused by sell": ReasonKind.SELL_REFUSED,
    "a value could not be read": ReasonKind.UNREADABLE,
}

_GONE_MARKS = ("not found", "is gone", "no longer exists", "deleted", "merged away")


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    words: str  # the sentence shown (a CRM's message quoted as it came; escaped by the caller)

    @property
    def advice(self) -> str:
        return ADVICE[self.kind]


def reason_in_words(text: str | None) -> Reason:
    """A run report's reason (``HubSpot refused: …``, ``invalid email '…'``) or an event's
    classified one, in words a manager reads."""
    raw = " ".join((text or "").split())
    low = raw.lower()
    head, _, rest = raw.partition(":")
    rest = rest.strip()
    if low.startswith("invalid email"):
        shown = raw[len("invalid email") :].strip()
        return Reason(ReasonKind.INVALID_EMAIL, _clip(f"Invalid email address {shown}".strip()))
    if any(mark in low for mark in _GONE_MARKS):
        return Reason(ReasonKind.GONE, _clip(f"The other record is gone ({raw})"))
    if head.lower() == "hubspot refused":
        return Reason(ReasonKind.HUBSPOT_REFUSED, _clip(f"Refused by HubSpot: {rest}"))
    if head.lower() == "sell refused":
        return Reason(ReasonKind.SELL_REFUSED, _clip(f"Refused by Sell: {rest}"))
    if head.lower() == "unreadable value":
        return Reason(ReasonKind.UNREADABLE, _clip(f"A value could not be read: {rest}"))
    if low in _EVENT_KINDS:
        kind = _EVENT_KINDS[low]
        return Reason(kind, raw[:1].upper() + raw[1:])
    if low and low.replace("_", "").isalpha() and "_" in low:  # a run's failure kind
        return Reason(ReasonKind.RUN_FAILED, f"The run stopped: {low.replace('_', ' ')}")
    return Reason(ReasonKind.OTHER, _clip(raw or "The record could not be written"))


def _clip(text: str) -> str:
    return text if len(text) <= MAX_WORDS else text[: MAX_WORDS - 1] + "…"


def failures_of(errors: Sequence[Skip]) -> list[RecordFailure]:
    """A report's failed records as the Health inbox keeps them."""
    out: list[RecordFailure] = []
    for error in errors:
        sell, hubspot_id = _names(error.item)
        if sell is None and hubspot_id is None:
            continue  # not a record (cannot be retried or cleared)
        out.append(RecordFailure(error.item, sell, hubspot_id, error.reason))
    return out


def _names(item: str) -> tuple[SellRef | None, str | None]:
    if item.startswith("HubSpot "):
        cid = item.removeprefix("HubSpot ").strip()
        return None, cid if cid.isdigit() else None
    try:
        return SellRef.parse(item), None
    except ValueError:
        return None, None


@dataclass(frozen=True)
class HealthEntry:
    """One listed entry. ``key`` names it in buttons and on the command line."""

    key: str
    kind: Literal["record", "event"]
    sell: SellRef | None
    hubspot_id: str | None
    reason: Reason
    failures: int
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    ignored_by: str | None = None
    ignored_at: datetime | None = None

    @property
    def ignored(self) -> bool:
        return self.ignored_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "sell": str(self.sell) if self.sell is not None else None,
            "hubspot_id": self.hubspot_id,
            "reason": self.reason.kind.value,
            "reason_text": self.reason.words,
            "what_to_do": self.reason.advice,
            "failures": self.failures,
            "first_failed_at": iso(self.first_failed_at),
            "last_failed_at": iso(self.last_failed_at),
            "ignored": self.ignored,
            "ignored_by": self.ignored_by,
        }


@dataclass(frozen=True)
class HealthView:
    entries: list[HealthEntry] = field(default_factory=list)  # not ignored, newest first
    ignored: list[HealthEntry] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.entries)

    def to_dict(self) -> dict[str, Any]:
        return {
            "failing": self.count,
            "ignored": len(self.ignored),
            "entries": [e.to_dict() for e in self.entries],
            "ignored_entries": [e.to_dict() for e in self.ignored],
        }


@dataclass(frozen=True)
class RetryOutcome:
    entry: HealthEntry
    synced: bool  # True: it went through; False: it failed again (``reason`` says why)
    reason: Reason | None = None


#: Runs a small run of ``work`` under ``trigger`` (``SyncService.run_short``).
RunShort = Callable[[ShortWork, str], SyncReport]


class Health:
    def __init__(
        self,
        store: HealthStore,
        inbox: EventInbox,
        links: LinkStore,
        audit: Audit,
        run_short: RunShort,
    ) -> None:
        self.store = store
        self.inbox = inbox
        self.links = links
        self.audit = audit
        self.clock = audit.clock
        self.run_short = run_short

    # ------------------------------------------------------------------ from each run
    def record_run(self, report: SyncReport) -> None:
        """Keep a real run's failed records, and forget those synced since they failed."""
        if report.dry_run:
            return
        failures = failures_of(report.errors)
        refs = [f.sell for f in failures if f.sell is not None and f.hubspot_id is None]
        if refs:  # the contact a Sell record is linked to, named beside it
            links = self.links.links_by_sell(refs)
            failures = [
                replace(f, hubspot_id=links[f.sell].hubspot_id)
                if f.sell is not None and f.hubspot_id is None and f.sell in links
                else f
                for f in failures
            ]
        at = report.finished_at or self.clock.now()
        self.store.record_failures(failures, run_id=report.run_id, at=at)
        self.store.clear_synced()

    # ------------------------------------------------------------------ reading
    def view(self) -> HealthView:
        records = self.store.health_records(FAILED_RUNS)
        by_subject = {r.subject: r for r in records}
        entries: list[HealthEntry] = []
        covered: set[str] = set()  # records an event's entry stands for: listed once
        for event in self.inbox.failing(FAILING_AFTER):
            subjects = self._subjects_of(event.event.contact_ids)
            covered |= subjects
            ignored = by_subject.get(f"{EVENT_PREFIX}{event.id}")
            entries.append(self._event_entry(event, ignored, [by_subject.get(s) for s in subjects]))
        entries += [
            _record_entry(r)
            for r in records
            if not r.subject.startswith(EVENT_PREFIX) and r.subject not in covered
        ]
        entries.sort(key=lambda e: e.last_failed_at or e.first_failed_at or _EPOCH, reverse=True)
        return HealthView([e for e in entries if not e.ignored], [e for e in entries if e.ignored])

    def count(self) -> int:
        """How many entries are listed (not ignored): the summary's and the board's figure."""
        return self.view().count

    def entry(self, key: str) -> HealthEntry | None:
        view = self.view()
        return next((e for e in (*view.entries, *view.ignored) if e.key == key), None)

    def _subjects_of(self, contact_ids: Sequence[str]) -> set[str]:
        """How a run's report names the records of these contacts: ``HubSpot ID`` and the Sell
        record each is linked to."""
        links = self.links.links_by_hubspot(contact_ids) if contact_ids else {}
        return {f"HubSpot {cid}" for cid in contact_ids} | {str(x.sell) for x in links.values()}

    def _event_entry(
        self,
        event: StoredEvent,
        ignored: HealthRecord | None,
        records: Sequence[HealthRecord | None],
    ) -> HealthEntry:
        ids = event.event.contact_ids
        links = self.links.links_by_hubspot(ids) if ids else {}
        reason = reason_in_words(event.last_error)
        sell = next((link.sell for link in links.values()), None)
        # the record's own entry has the CRM's message where the event keeps only its kind
        own = next((r for r in records if r is not None and r.reason), None)
        if own is not None:
            reason = reason_in_words(own.reason)
        last = (
            event.next_attempt_at - backoff(event.attempts)
            if event.next_attempt_at is not None
            else None
        )
        return HealthEntry(
            key=f"{EVENT_PREFIX}{event.id}",
            kind="event",
            sell=sell,
            hubspot_id=ids[0] if ids else None,
            reason=reason,
            failures=event.attempts,
            first_failed_at=event.received_at,  # its first apply follows its arrival
            last_failed_at=last,
            ignored_by=ignored.ignored_by if ignored is not None else None,
            ignored_at=ignored.ignored_at if ignored is not None else None,
        )

    # ------------------------------------------------------------------ acting
    def ignore(self, key: str, *, actor: Actor) -> tuple[HealthEntry, bool]:
        """Ignore an entry (kept until the record syncs); False when someone did already."""
        if not actor.is_manager:
            raise Refused("only managers can ignore a failing record")
        entry = self._listed(key)
        changed = self.store.ignore_health(entry.key, by=actor.id, at=self.clock.now())
        if changed:
            self.audit("health_ignored", _subject(entry), actor, _detail(entry))
        fresh = self.entry(key) or entry
        return fresh, changed

    def retry(self, key: str, *, actor: Actor, trigger: str) -> RetryOutcome:
        """Run the entry's record (an event: its contacts) through a small run now."""
        if not actor.is_manager:
            raise Refused("only managers can retry a failing record")
        entry = self._listed(key)
        self.audit("health_retry", _subject(entry), actor, _detail(entry))
        if entry.kind == "event":  # the contacts it names and their Sell records, as they are now
            hubspot = list(self._event_contacts(entry.key))
            links = self.links.links_by_hubspot(hubspot) if hubspot else {}
            sell: list[SellRef] = [link.sell for link in links.values()]
        else:
            sell = [entry.sell] if entry.sell is not None else []
            hubspot = [entry.hubspot_id] if entry.hubspot_id else []
        report = self.run_short(ShortWork(Hints.of(hubspot=hubspot, sell=sell)), trigger)
        if report.failure is not None:
            kind = report.failure_kind.value if report.failure_kind else "unexpected"
            if entry.kind == "event":
                self._event_failed(entry, kind)
            return RetryOutcome(entry, False, reason_in_words(kind))
        mine = {entry.key} if entry.kind == "record" else self._subjects_of(hubspot)
        mine |= {f"HubSpot {cid}" for cid in hubspot} | {str(ref) for ref in sell}
        failed = [e for e in report.errors if e.item in mine]
        if failed:
            reason = reason_in_words(failed[0].reason)
            if entry.kind == "event":
                self._event_failed(entry, _event_reason(reason))
            return RetryOutcome(entry, False, reason)
        if entry.kind == "event":
            self.inbox.mark_applied([int(entry.key.removeprefix(EVENT_PREFIX))], owner=None)
        self.store.forget_health(entry.key)
        for subject in mine:
            self.store.forget_health(subject)
        return RetryOutcome(entry, True)

    def _listed(self, key: str) -> HealthEntry:
        entry = self.entry(key.strip())
        if entry is None:
            raise Refused(f"{key.strip()[:80]!r} is not failing any more (or never was)")
        return entry

    def _event_contacts(self, key: str) -> tuple[str, ...]:
        event_id = int(key.removeprefix(EVENT_PREFIX))
        event = next((e for e in self.inbox.failing(1) if e.id == event_id), None)
        return event.event.contact_ids if event is not None else ()

    def _event_failed(self, entry: HealthEntry, reason: str) -> None:
        event_id = int(entry.key.removeprefix(EVENT_PREFIX))
        now = self.clock.now()
        self.inbox.mark_failed(  # a manager's retry claims nothing: no worker's event is touched
            [event_id], owner=None, reason=reason, next_attempt_at=now + backoff(entry.failures + 1)
        )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_EVENT_REASONS = {
    ReasonKind.INVALID_EMAIL: "invalid email",
    ReasonKind.HUBSPOT_REFUSED: "refused by HubSpot",
    ReasonKind.SELL_REFUSED: "refused by Sell",
    ReasonKind.UNREADABLE: "a value could not be read",
}


def _event_reason(reason: Reason) -> str:
    """An event keeps only the kind of its reason (never record data)."""
    return _EVENT_REASONS.get(reason.kind, "the record could not be written")


def _record_entry(record: HealthRecord) -> HealthEntry:
    return HealthEntry(
        key=record.subject,
        kind="record",
        sell=record.sell,
        hubspot_id=record.hubspot_id,
        reason=reason_in_words(record.reason),
        failures=record.failures,
        first_failed_at=record.first_failed_at,
        last_failed_at=record.last_failed_at,
        ignored_by=record.ignored_by,
        ignored_at=record.ignored_at,
    )


def _subject(entry: HealthEntry) -> str:
    """The audit subject: ``sell|hubspot`` as a sync's events have it, where known."""
    sell = str(entry.sell) if entry.sell is not None else ""
    return f"{sell}|{entry.hubspot_id or ''}" if entry.kind == "record" else entry.key


def _detail(entry: HealthEntry) -> dict[str, object]:
    return {"entry": entry.key, "reason": entry.reason.kind.value, "failures": entry.failures}

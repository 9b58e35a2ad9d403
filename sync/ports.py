"""What the engine needs from the outside world, as Protocols.

``sync/clients/`` (httpx) and ``tests/fakes`` implement the two CRM ports; ``storage/``
implements the storage roles; ``bot/`` wires them together. Every method either returns a value
or raises one of :mod:`sync.errors`.

Storage is split by role (links, the Sell email index, list members, feed marks, conflicts, change
requests, the run log, the audit log, leases, request markers, scheduler state, sync settings,
the webhook inbox), each a small Protocol over tables of its own, so that a consumer names the
few methods it uses and a reader sees which job each table does. :class:`Store` joins them all
for the composition root (and for the engine and service, which use most of them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sync.domain import (
    Conflict,
    ConflictStatus,
    FeedMark,
    HeldLinkSettled,
    HubSpotContact,
    HubSpotList,
    LeadConversion,
    Link,
    PropertyInfo,
    RecordKind,
    SellCustomField,
    SellRecord,
    SellRef,
    SettingName,
)
from sync.events import HubSpotEvent, StoredEvent

# --------------------------------------------------------------------------- clock


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


# --------------------------------------------------------------------------- HubSpot


@dataclass(frozen=True)
class ContactWrite:
    """One contact to create (``id`` None) or update. ``key`` correlates the result."""

    key: str
    properties: Mapping[str, str]
    id: str | None = None


@dataclass(frozen=True)
class WriteResult:
    key: str
    id: str | None = None
    error: str | None = None  # the service's reason, for S14
    duplicate_of: str | None = None  # 409 "Contact already exists. Existing ID: ..."
    missing: bool = False  # the contact to update is archived or deleted (S6)

    @property
    def ok(self) -> bool:
        return self.id is not None and self.error is None and not self.missing


@dataclass(frozen=True)
class ChangePage:
    contacts: Sequence[HubSpotContact]
    high_water_ms: int  # lastmodifieddate of the newest contact in this page


@dataclass(frozen=True)
class JoinPage:
    """One page of a list's members in the order they joined (oldest first)."""

    ids: Sequence[str]
    after: str | None  # the paging token that reads this page (None: the first page)


class HubSpotPort(Protocol):
    def get_list(self, list_id: str) -> HubSpotList: ...

    def list_member_pages(self, list_id: str) -> Iterator[Sequence[str]]:
        """Member record ids, page by page (<=250 each)."""
        ...

    def list_join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
        """Member record ids in the order they joined the list, from the page ``after`` reads
        (the first when None) to the last, one call a page (<=250 each)."""
        ...

    def lists_of(self, contact_id: str) -> set[str]:
        """The ids of the lists the contact is a member of now (one call, whatever the lists'
        sizes; empty for an unknown contact)."""
        ...

    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> tuple[dict[str, HubSpotContact], set[str]]:
        """(found by requested id, requested ids that are archived or do not exist).
        Batches of 100.

        A requested id that HubSpot merged into another contact (L2) maps to the survivor:
        ``found[absorbed_id]`` is the surviving contact, whose ``id`` is its own, not the one
        requested (``found[survivor_id]`` too when that was requested). An id is matched to a
        returned contact by the contact's id or its ``merged_ids``; one matched by neither is
        missing."""
        ...

    def read_contacts_by_email(
        self, emails: Sequence[str], properties: Sequence[str]
    ) -> dict[str, HubSpotContact]:
        """Found contacts keyed by normalised email. Batches of 100."""
        ...

    def changed_pages(self, since_ms: int, properties: Sequence[str]) -> Iterator[ChangePage]:
        """Contacts whose lastmodifieddate >= since_ms, oldest first."""
        ...

    def create_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]: ...

    def update_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]: ...

    def add_list_members(self, list_id: str, ids: Sequence[str]) -> None: ...

    def properties(self) -> dict[str, PropertyInfo]: ...

    def contact_url(self, contact_id: str) -> str | None:
        """The public contact URL when the API does not return one (S10)."""
        ...


# --------------------------------------------------------------------------- Sell


class SellPort(Protocol):
    def changed_pages(self, kind: RecordKind, since: datetime | None) -> Iterator[list[SellRecord]]:
        """Records updated at or after ``since`` (all when None), newest first, page by page."""
        ...

    def get_records(self, kind: RecordKind, ids: Sequence[int]) -> dict[int, SellRecord]:
        """Existing records among ``ids``; an id left out was deleted (S5)."""
        ...

    def create_record(self, kind: RecordKind, values: Mapping[str, Any]) -> SellRecord:
        """Raises RecordRejected when Sell refuses the values."""
        ...

    def update_record(self, kind: RecordKind, id: int, values: Mapping[str, Any]) -> SellRecord:
        """Partial update. Raises RecordNotFound (deleted) or RecordRejected."""
        ...

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]: ...

    def conversions_after(self, after_id: int) -> list[LeadConversion]:
        """Lead conversions with an id above ``after_id``, oldest first (L1)."""
        ...

    def conversions_of(self, lead_ids: Sequence[int]) -> dict[int, LeadConversion]:
        """The conversion of each of ``lead_ids`` that was converted, by lead id (L1)."""
        ...

    def check_credentials(self) -> str:
        """The name of the user the token belongs to."""
        ...


@dataclass(frozen=True)
class SellSyncEvent:
    """One item of Sell's Sync API queue: a resource type (``lead``, ``contact``, ``deal`` ...),
    its id and the event hint (``created``, ``updated``, ``deleted``)."""

    type: str
    id: int
    event: str


@dataclass(frozen=True)
class SellSyncPage:
    """One fetched page of the queue and the ack keys of every item on it (all types)."""

    events: tuple[SellSyncEvent, ...]
    ack_keys: tuple[str, ...]


@dataclass(frozen=True)
class SellSyncStart:
    """``available`` False: the account has no Sync API (403/404). ``session`` None: nothing new."""

    available: bool
    session: str | None = None


@runtime_checkable
class SellSyncPort(Protocol):
    """Sell's Sync API (``reference/sell-api.md`` §6b), where a Sell port offers it."""

    def sync_start(self) -> SellSyncStart: ...

    def sync_pages(self, session: str) -> Iterator[SellSyncPage]:
        """The session's queue, page by page, until it is drained."""
        ...

    def sync_ack(self, ack_keys: Sequence[str]) -> None: ...


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True)
class SellIndexEntry:
    """One row of the bulk Sell email index, built from pages (never one lookup per record)."""

    ref: SellRef
    email: str | None
    updated_at: datetime
    is_organization: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomMapping:
    """A manager's S13 mapping of a HubSpot custom property to a Sell custom field."""

    hubspot_property: str
    sell_field: str


@dataclass(frozen=True)
class SyncSettings:
    """The sync settings in force (SPEC S1): each one stored (approved in Slack, set from the
    command line, or seeded by the first real sync), else the environment's value for this
    invocation. See :mod:`sync.usecases.settings`."""

    threshold: int
    list_id: str
    custom_mappings: tuple[CustomMapping, ...] = ()
    version: int = 0  # bumped by every change that re-plans: it re-evaluates every list member
    #: The other named settings stored, as text (the bulk limit, a pause …): read them through
    #: their entry in :mod:`sync.settings_registry`, which knows their type and default.
    values: Mapping[SettingName, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredSettings:
    """What the database holds of the settings: None for a setting never stored (the
    environment's value applies to it, and the first real sync stores it)."""

    threshold: int | None = None
    list_id: str | None = None
    custom_mappings: tuple[CustomMapping, ...] = ()
    version: int = 0
    values: Mapping[SettingName, str] = field(default_factory=dict)  # as in SyncSettings


@dataclass(frozen=True)
class ChangeRequest:
    id: int
    setting: SettingName
    new_value: str
    old_value: str
    requested_by: str
    reason: str
    status: str  # pending | approved | rejected | expired | superseded
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None


@dataclass(frozen=True)
class BulkHold:
    """What a run's bulk guard kept back for a manager (see :mod:`sync.bulk`)."""

    id: int
    status: str  # pending | approved | rejected | superseded | applied
    scope: str  # the list, threshold and limit it was decided under
    items: Mapping[str, Sequence[str]]  # what was held, by kind (sync.bulk.HeldKind)
    sample: Sequence[str]
    bulk_limit: int
    links_total: int
    created_at: datetime
    run_id: int | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    channel: str | None = None
    message_ts: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    at: datetime
    kind: str
    subject: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    actor: str | None = None
    run_id: int | None = None


#: The statuses a run row takes: ``running`` until it finishes with one of the others;
#: ``interrupted``: stopped by a signal (Ctrl-C, SIGTERM), or its process vanished (closed so by
#: the next run that holds the lock, or by the worker's start).
RUN_STATUSES = ("running", "ok", "errors", "failed", "interrupted")
#: Finished runs that count as a success (``errors``: some records failed, the run went through).
SUCCESS_STATUSES = ("ok", "errors")


@dataclass(frozen=True)
class RunRecord:
    id: int
    started_at: datetime
    finished_at: datetime | None
    trigger: str
    status: str  # running | ok | errors | failed | interrupted
    counts: Mapping[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class BoardCounts:
    """The status board's counts, read at once (:meth:`Store.board_counts`)."""

    links: dict[str, int]  # by LinkState value, every state
    open_conflicts: int
    pending_requests: int
    oldest_pending_at: datetime | None  # when the oldest pending change request was made


@dataclass(frozen=True)
class Board:
    """Everything the status board reads, in one statement (:meth:`Store.board`)."""

    settings: StoredSettings
    recent_runs: list[RunRecord]  # newest first
    heartbeat: SchedulerBeat | None  # the most recently seen scheduler
    counts: BoardCounts
    #: What the status of each source of changes is made from (``sync.usecases.live``)
    sources: SourceFigures


@dataclass(frozen=True)
class SourceFigures:
    """The stored figures each source of changes' status is made from, read by
    :meth:`Store.board` in its one statement or one at a time (``Sources`` for ``/metrics``).

    Webhook inbox: ``received`` (stored rows and the purged total), the newest and the oldest
    unapplied event's times, ``depth`` (not applied), and the events failing (not applied after
    so many attempts) with their distinct reasons (None: none recorded). Firehose:
    ``firehose_stored_at``, when the older of the two streams' positions was stored (None unless
    both are), and ``firehose_absent``, whether it is remembered that the account has none."""

    received: int = 0
    last_received_at: datetime | None = None
    depth: int = 0
    oldest_unapplied_at: datetime | None = None
    failing: int = 0
    failing_reasons: tuple[str | None, ...] = ()  # distinct
    firehose_stored_at: datetime | None = None
    firehose_absent: bool = False


@dataclass(frozen=True)
class SchedulerBeat:
    """What one running scheduler last recorded about itself (SPEC §3 schedules).

    ``scheduler_id`` is unique per process; ``next_*`` are the times its jobs fire next (None
    when the job is paused or gone); ``stopped_at`` is set when it shut down cleanly.
    """

    scheduler_id: str
    started_at: datetime
    seen_at: datetime
    next_sync_at: datetime | None = None
    next_summary_at: datetime | None = None
    stopped_at: datetime | None = None


@dataclass(frozen=True)
class RunStats:
    """Every recorded run counted by status, and when the newest run started, when the last
    finished run ended and when the last run that did not fail ended (None: never)."""

    by_status: Mapping[str, int]
    last_started: datetime | None
    last_finished: datetime | None
    last_success: datetime | None


class SyncSettingsStore(Protocol):
    """The one row of :class:`StoredSettings`. Reading never writes: only
    :meth:`seed_settings` (a real sync) and :meth:`update_settings` (a decided change) do."""

    def stored_settings(self) -> StoredSettings: ...

    def seed_settings(self, *, threshold: int, list_id: str) -> StoredSettings:
        """Store the given values for the settings not stored yet; stored ones are kept."""
        ...

    def update_settings(
        self,
        *,
        threshold: int | None = None,
        list_id: str | None = None,
        custom_mappings: tuple[CustomMapping, ...] | None = None,
    ) -> StoredSettings:
        """Change the given settings; ``version`` goes up by one when anything changed."""
        ...

    def store_setting(self, name: SettingName, value: str, *, replans: bool) -> StoredSettings:
        """Store one of the other named settings (``values``); "" removes it. With
        ``replans``, ``version`` goes up by one when the value changed."""
        ...


class LinkStore(Protocol):
    """Sell records paired with HubSpot contacts, tombstones included."""

    def links_by_hubspot(self, ids: Iterable[str]) -> dict[str, Link]: ...

    def links_by_sell(self, refs: Iterable[SellRef]) -> dict[SellRef, Link]: ...

    def save_link(self, link: Link) -> Link:
        """Insert or update by Sell ref (one link per Sell record)."""
        ...

    def save_links(self, links: Sequence[Link]) -> None:
        """``save_link`` for many links in one transaction."""
        ...

    def delete_link(self, ref: SellRef) -> None: ...

    def move_link(self, old: SellRef, new: SellRef) -> None:
        """Re-point the link of ``old`` and its conflicts to ``new`` (L1: a converted lead)."""
        ...

    def iter_links(self, *, batch_size: int = 1000, after_id: int = 0) -> Iterator[list[Link]]:
        """Every link whose row id is above ``after_id``, in row id order."""
        ...

    def held_links(self, *, offset: int = 0, limit: int = 10) -> list[tuple[Link, Link | None]]:
        """Links a HubSpot merge holds (L2), oldest first, each with the active link the
        surviving contact has (None when it has none any more)."""
        ...

    def settle_held_link(self, held: SellRef, *, keep_held: bool) -> HeldLinkSettled | None:
        """Keep the held link (the survivor's other link is removed) or remove it, in one
        transaction; the removed link's open conflicts are dismissed. None when ``held`` is no
        longer held (decided meanwhile)."""
        ...

    def count_links(self) -> dict[str, int]:
        """Counts per LinkState value."""
        ...


class SellIndexStore(Protocol):
    """The bulk Sell email index, built from pages of Sell records."""

    def index_sell_records(self, entries: Sequence[SellIndexEntry]) -> None: ...

    def remove_from_index(self, refs: Iterable[SellRef]) -> None: ...

    def find_by_email(self, emails: Iterable[str]) -> dict[str, list[SellIndexEntry]]: ...

    def find_by_tag(self, tag: str) -> list[SellIndexEntry]: ...


class MemberStore(Protocol):
    """HubSpot list members already evaluated, with the score each last had."""

    def known_members(self, list_id: str) -> set[str]: ...

    def add_members(self, list_id: str, ids: Iterable[str]) -> None: ...

    def set_member_scores(self, list_id: str, scores: Mapping[str, str | None]) -> None:
        """Record evaluated members with the score HubSpot gave (raw text, None when blank)."""
        ...

    def member_scores(self, list_id: str) -> dict[str, str | None]: ...

    def remove_members(self, list_id: str, ids: Iterable[str]) -> None: ...


class RosterStore(Protocol):
    """The synced list's members as the runs know them: the whole list as the last sweep read
    it, and those who joined since (evaluated or not)."""

    def roster(self, list_id: str) -> set[str]: ...

    def add_to_roster(self, list_id: str, ids: Iterable[str]) -> None: ...

    def remove_from_roster(self, list_id: str, ids: Iterable[str]) -> None: ...


class RememberedReads(Protocol):
    """API answers that do not change from run to run (definitions, a refusal, a cursor),
    remembered in the database so that a new process does not ask again.

    A value is any JSON value but None; ``ttl`` None keeps it until forgotten. :meth:`recall`
    gives None for a key never remembered, forgotten, or whose ``ttl`` has run out."""

    def remember(self, key: str, value: Any, ttl: timedelta | None) -> None: ...

    def recall(self, key: str) -> Any | None: ...

    def forget(self, key: str) -> None: ...


class MarkStore(Protocol):
    """Where each change feed of a sync run stopped."""

    def get_mark(self, name: str) -> FeedMark | None: ...

    def set_mark(self, name: str, mark: FeedMark) -> None: ...


class ConflictStore(Protocol):
    """Merge conflicts: at most one open per Sell record and field."""

    def open_conflict(self, conflict: Conflict) -> tuple[Conflict, bool]:
        """Open, or refresh the one open conflict of (sell ref, field); True when new."""
        ...

    def get_conflict(self, conflict_id: int) -> Conflict | None: ...

    def list_conflicts(
        self,
        *,
        status: ConflictStatus | None = ConflictStatus.OPEN,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Conflict]: ...

    def conflicts_for(self, ref: SellRef) -> list[Conflict]: ...

    def count_conflicts(self, status: ConflictStatus = ConflictStatus.OPEN) -> int: ...

    def resolve_conflict(
        self,
        conflict_id: int,
        *,
        status: ConflictStatus,
        by: str,
        at: datetime,
        values: tuple[str | None, str | None] | None = None,
    ) -> tuple[Conflict, bool]:
        """Close an open conflict; (conflict, False) when it was already closed, or (with
        ``values``) no longer holds those (Sell, HubSpot) values."""
        ...

    def refresh_conflict(
        self, conflict_id: int, *, sell_value: str | None, hubspot_value: str | None
    ) -> Conflict | None:
        """Set an open conflict's two values; None when it is no longer open."""
        ...

    def reopen_conflict(self, conflict_id: int, *, status: ConflictStatus, by: str) -> bool:
        """Undo ``by``'s resolution (its write failed); False when it cannot be reopened."""
        ...


class ChangeRequestStore(Protocol):
    """Settings changes waiting for (or past) a manager's approval."""

    def create_request(
        self,
        *,
        setting: SettingName,
        new_value: str,
        old_value: str,
        requested_by: str,
        reason: str,
        at: datetime,
    ) -> tuple[ChangeRequest, list[ChangeRequest]]:
        """The new pending request and the older pending ones for that setting it superseded."""
        ...

    def get_request(self, request_id: int) -> ChangeRequest | None: ...

    def pending_requests(self) -> list[ChangeRequest]: ...

    def decide_request(
        self, request_id: int, *, status: str, by: str, at: datetime
    ) -> tuple[ChangeRequest, bool]:
        """Move a pending request to approved/rejected/expired; (request, False) if not pending."""
        ...

    def set_request_message(self, request_id: int, *, channel: str, ts: str) -> None: ...


class RunLog(Protocol):
    """One row per sync run: started, then finished with a status and counts."""

    def start_run(self, *, trigger: str, at: datetime) -> int: ...

    def finish_run(
        self,
        run_id: int,
        *,
        at: datetime,
        status: str,
        counts: Mapping[str, int],
        error: str | None = None,
    ) -> None: ...

    def recent_runs(self, limit: int = 10) -> list[RunRecord]: ...

    def run_stats(self) -> RunStats:
        """All runs counted by status (every status of ``RUN_STATUSES`` present) and the last
        start, finish and success, computed in the database whatever the number of runs."""
        ...

    def running_runs(self) -> list[RunRecord]:
        """The runs recorded as started and not finished, newest first."""
        ...

    def forget_run(self, run_id: int) -> None:
        """Drop a finished run from the log: a small run of events or a poll that found nothing
        to do (the log keeps what happened, not every look). A run still running stays."""
        ...

    def interrupt_runs(self, *, at: datetime, error: str) -> list[int]:
        """Close every run still ``running`` as ``interrupted`` at ``at`` (its counts kept):
        called by a run that holds the run lock, when any other such row is an orphan whose
        process vanished. Returns their ids."""
        ...


class AuditLog(Protocol):
    """Every change and decision, append-only."""

    def audit(self, event: AuditEvent) -> None: ...

    def audit_many(self, events: Sequence[AuditEvent]) -> None:
        """Record many events in one transaction."""
        ...

    def audit_since(self, since: datetime | None, *, limit: int = 10000) -> list[AuditEvent]: ...

    def audit_trail(self, *, subjects: Sequence[str] = (), limit: int = 100) -> list[AuditEvent]:
        """The newest ``limit`` events (about ``subjects`` when given), oldest first."""
        ...

    def audit_events(
        self,
        *,
        subjects: Sequence[str] = (),
        run_id: int | None = None,
        since: datetime | None = None,
        newest: int | None = None,
    ) -> Iterator[AuditEvent]:
        """Events about ``subjects`` (all without), of run ``run_id``, at or after ``since``,
        oldest first, only the newest ``newest`` when given; streamed, whatever their number."""
        ...


class LockHold(Protocol):
    """A lock the operating system or the database drops with the process (or its database
    session) that holds it: on PostgreSQL a session advisory lock, on SQLite a file lock
    beside the database file. Taken by :meth:`LeaseStore.hold_lock`."""

    @property
    def kind(self) -> str:
        """What it is, for people ("a file lock", "a PostgreSQL advisory lock"); empty for the
        stand-in given where no such lock exists (in-memory SQLite): the TTL alone decides."""
        ...

    def alive(self) -> bool:
        """Still held (the database session is up and still holds it)."""
        ...

    def release(self) -> None:
        """Give it back (idempotent)."""
        ...


class LeaseStore(Protocol):
    """Named locks that hold across processes until they expire (the run lock, the summary's),
    and the lock the kernel or the database drops with its holder (the run lock's)."""

    def hold_lock(self, name: str) -> LockHold | None:
        """Take ``name``'s process lock without waiting: None while another process (or
        session) holds it; a hold of empty ``kind`` where this database has no such lock."""
        ...

    def lock_expiry(self, name: str) -> datetime | None:
        """When the named lock's row expires (expired or not), or None when there is none."""
        ...

    def try_lock(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Take a named lock that holds across processes; False when someone else holds it."""
        ...

    def renew_lock(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Extend a lock ``owner`` still holds; False when it is gone or someone else's."""
        ...

    def unlock(self, name: str, *, owner: str) -> None: ...

    def lock_holder(self, name: str) -> str | None:
        """The owner of the named lock (expired or not), or None."""
        ...

    def purge_locks(self, *, at: datetime) -> int:
        """Delete the locks that expired by ``at``; returns how many."""
        ...


class RequestMarkerStore(Protocol):
    """Once-only markers of accepted Slack requests (the replay guard of SPEC §7)."""

    def mark_once(self, key: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Record ``key`` for ``owner`` until ``at + ttl_seconds``: True the first time, False
        while an unexpired mark of ``key`` exists (in any process sharing the store).
        ``release_mark(key, owner=owner)`` gives it back. One cheap statement per call."""
        ...

    def release_mark(self, key: str, *, owner: str) -> None:
        """Drop ``owner``'s mark of ``key`` (its request was not processed); else nothing."""
        ...

    def purge_marks(self, *, at: datetime) -> int:
        """Delete the marks that expired by ``at``; returns how many."""
        ...


class EventInbox(Protocol):
    """HubSpot webhook events, stored before their request is answered, and their applies.

    Any number of web processes store; the worker claims due events, applies them and marks
    them. One row per HubSpot ``eventId``: a redelivery is stored once. Times of bookkeeping
    (when received, applied, whether a claim or a back-off has run out) are the store's clock.
    """

    def store_batch(self, events: Sequence[HubSpotEvent]) -> int:
        """Store ``events`` in one transaction; returns how many were new (an ``eventId``
        already stored is left as it is). Raises when the database cannot take them: nothing
        may answer HubSpot 2xx then."""
        ...

    def claim_due(self, limit: int, *, owner: str, until: datetime) -> list[StoredEvent]:
        """Claim for ``owner`` until ``until`` up to ``limit`` unapplied events, oldest first,
        whose back-off has run out and that no one else holds (an expired claim is free:
        its worker died). Two workers never get the same event while a claim holds."""
        ...

    def mark_applied(self, ids: Sequence[int], *, owner: str | None) -> int:
        """The events (inbox ids) were applied: they leave the queue; returns how many.

        Only events still claimed by ``owner`` are marked (a worker whose claim ran out and was
        taken by another marks none of those); ``owner`` None (someone who claimed nothing, a
        manager's retry) marks only events no live claim holds."""
        ...

    def mark_failed(
        self, ids: Sequence[int], *, owner: str | None, reason: str, next_attempt_at: datetime
    ) -> int:
        """An apply of the events failed with the classified ``reason`` (no record data): one
        more attempt counted, the claim released, not due again before ``next_attempt_at``.
        Only the events ``owner`` may mark, as for :meth:`mark_applied`; returns how many."""
        ...

    def depth(self) -> int:
        """How many stored events are not applied yet."""
        ...

    def oldest_unapplied(self) -> datetime | None:
        """When the oldest event not applied yet was received; None when none waits."""
        ...

    def received_count(self) -> int:
        """How many events were ever stored (each ``eventId`` once), those purged included."""
        ...

    def purge_applied(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` events applied before ``before`` (never one not applied);
        returns how many. :meth:`received_count` keeps counting them. An ``eventId`` HubSpot
        sent again after its event was purged would be stored again, but HubSpot retries a
        delivery for 24 hours at most, so a week of applied events covers every redelivery."""
        ...

    def last_received_at(self) -> datetime | None:
        """When the newest event was received; None when none ever was."""
        ...

    def failing(self, min_attempts: int = 3) -> list[StoredEvent]:
        """Unapplied events whose apply failed at least ``min_attempts`` times, oldest first."""
        ...


class BulkHoldStore(Protocol):
    """The bulk guard's holds: at most one pending; a newer one supersedes it."""

    def create_hold(
        self,
        *,
        scope: str,
        items: Mapping[str, Sequence[str]],
        sample: Sequence[str],
        bulk_limit: int,
        links_total: int,
        run_id: int | None,
        at: datetime,
    ) -> tuple[BulkHold, list[BulkHold]]:
        """The new pending hold and the pending one it superseded (if any)."""
        ...

    def get_hold(self, hold_id: int) -> BulkHold | None: ...

    def holds(self, statuses: Sequence[str], *, limit: int = 20) -> list[BulkHold]:
        """Holds in those statuses, newest first."""
        ...

    def decide_hold(
        self, hold_id: int, *, status: str, by: str | None, at: datetime, was: str = "pending"
    ) -> tuple[BulkHold, bool]:
        """Move a hold from ``was`` to ``status``; (hold, False) when it was not in ``was``.
        Raises RecordNotFound for an unknown id."""
        ...

    def set_hold_message(self, hold_id: int, *, channel: str, ts: str) -> None: ...


class SchedulerStateStore(Protocol):
    """What the schedulers keep between runs and share between processes: their heartbeats,
    the failure streak already alerted, and where the last summary ended."""

    def record_heartbeat(self, beat: SchedulerBeat) -> None:
        """Insert or replace the row of ``beat.scheduler_id``; rows of schedulers not seen for a
        week are dropped on the way."""
        ...

    def latest_heartbeat(self) -> SchedulerBeat | None:
        """The most recently seen scheduler, stopped or not; None when none was ever seen."""
        ...

    def alerted_failure_since(self) -> datetime | None:
        """When the failure streak that was alerted began; None when no alert is out."""
        ...

    def set_alerted_failure_since(self, since: datetime | None) -> None:
        """Record the alerted streak (``since``), or its end (None: the sync recovered)."""
        ...

    def summary_watermark(self) -> datetime | None:
        """Where the next summary starts (just after the last one posted); None: never posted."""
        ...

    def set_summary_watermark(self, at: datetime) -> None: ...


# --------------------------------------------------------------------------- leaving Sell


@dataclass(frozen=True)
class MovedItem:
    """One thing a migration put in HubSpot: ``sell_key`` is its ``zendesk_sell_id``
    (``lead:12``, ``contact:4``, ``organization:7``, ``note:3``) or, for an association, the
    contact's key with ``assoc:`` in front; ``object_type`` is ``contacts``, ``companies``,
    ``notes`` or ``associations``."""

    sell_key: str
    object_type: str
    hubspot_id: str


@dataclass(frozen=True)
class MigrationRefusal:
    """A record a migration run could not move, and HubSpot's (or the rules') reason."""

    sell_key: str
    reason: str


@dataclass(frozen=True)
class MigrationVerification:
    """What one ``migrate --verify`` found: ``checked`` moved items read back, ``verified`` of
    them equal on both sides, ``differences`` the number of differences found and ``details``
    the first of them (``{"key", "field", "sell", "hubspot"}``)."""

    verified_at: datetime
    checked: int
    verified: int
    differences: int
    details: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True)
class MigrationCount:
    """How many Sell items the newest plan (dry run) or complete run read, and when: a later
    run's progress total, without reading Sell twice (Sell may have changed since)."""

    walked: int
    at: datetime
    planned: bool


@dataclass(frozen=True)
class MigrationStanding:
    """Where leaving Sell stands, from storage alone (no API call).

    * ``verified_at``: when the newest verification ran (None: never);
    * ``verified``: moved items it found equal on both sides;
    * ``differences``: differences it found (0 when none, or never verified);
    * ``unverified``: moved items no verification vouches for (moved since, or differing);
      None when nothing is known (nothing moved and never verified);
    * ``moved``: items recorded as moved (contacts, companies, notes, associations).
    """

    verified_at: datetime | None
    verified: int
    differences: int
    unverified: int | None
    moved: int = 0


class MigrationStore(Protocol):
    """What ``sellsync migrate`` keeps: its runs, what moved (by ``zendesk_sell_id``), what
    was refused, and each verification."""

    def start_migration_run(self, at: datetime) -> int:
        """A new run in state ``running``; its id."""
        ...

    def finish_migration_run(
        self, run_id: int, at: datetime, status: str, counts: Mapping[str, int]
    ) -> None: ...

    def record_moved(self, run_id: int, items: Sequence[MovedItem], at: datetime) -> None:
        """Insert or replace each item by its ``sell_key``."""
        ...

    def moved_ids(self, sell_keys: Sequence[str]) -> dict[str, str]:
        """``sell_key`` → HubSpot id of the keys among ``sell_keys`` already moved."""
        ...

    def moved_pages(self, object_type: str, size: int = 100) -> Iterator[list[MovedItem]]:
        """The moved items of ``object_type`` in ``sell_key`` order, ``size`` at a time."""
        ...

    def record_refusals(
        self, run_id: int, refusals: Sequence[MigrationRefusal], at: datetime
    ) -> None: ...

    def migration_refusals(self, run_id: int) -> list[MigrationRefusal]: ...

    def record_migration_plan(self, at: datetime, walked: int) -> None:
        """A plan (dry run) as a run in state ``planned``: the Sell items it read."""
        ...

    def latest_migration_count(self) -> MigrationCount | None:
        """The Sell items (``walked``) the newest plan or finished run counted; None when none
        did."""
        ...

    def record_verification(self, verification: MigrationVerification) -> None: ...

    def migration_standing(self) -> MigrationStanding:
        """The newest verification against the moved items (see :class:`MigrationStanding`)."""
        ...


@dataclass(frozen=True)
class RecordFailure:
    """A record whose write failed in a run: its run-report item (``lead:12``, ``HubSpot 34``),
    the Sell record and HubSpot contact it names, and the report's reason."""

    subject: str
    sell: SellRef | None
    hubspot_id: str | None
    reason: str


@dataclass(frozen=True)
class HealthRecord:
    """A record's failing streak (failed writes with no sync in between), or an ignored event
    (``subject`` ``event:ID``, no failures of its own)."""

    subject: str
    sell: SellRef | None
    hubspot_id: str | None
    reason: str
    failures: int
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    last_run_id: int | None = None
    ignored_at: datetime | None = None
    ignored_by: str | None = None


class HealthStore(Protocol):
    """Records whose writes keep failing (the Health inbox), kept from each run's report."""

    def record_failures(
        self, failures: Sequence[RecordFailure], *, run_id: int | None, at: datetime
    ) -> None:
        """One more failure for each record (a new streak starts at 1, first failure ``at``)."""
        ...

    def clear_synced(self) -> int:
        """Forget the streaks of records whose link was synced after their last failure."""
        ...

    def health_records(self, min_failures: int = 2) -> list[HealthRecord]:
        """Streaks of at least ``min_failures`` failures and every ignored entry, the newest
        failure first."""
        ...

    def health_record(self, subject: str) -> HealthRecord | None: ...

    def ignore_health(self, subject: str, *, by: str, at: datetime) -> bool:
        """Ignore ``subject`` (kept until it syncs); False when it was ignored already."""
        ...

    def forget_health(self, subject: str) -> bool:
        """Drop ``subject``'s entry (a retry synced it); False when there was none."""
        ...


class Store(
    SyncSettingsStore,
    LinkStore,
    SellIndexStore,
    MemberStore,
    RosterStore,
    RememberedReads,
    MarkStore,
    ConflictStore,
    ChangeRequestStore,
    BulkHoldStore,
    RunLog,
    AuditLog,
    LeaseStore,
    RequestMarkerStore,
    SchedulerStateStore,
    EventInbox,
    MigrationStore,
    HealthStore,
    Protocol,
):
    """Every storage role at once, for the composition root (and, for now, the engine and the
    service). Every method commits on its own; all are idempotent where it matters. Anything
    narrower should take the role it uses."""

    def reading(self) -> AbstractContextManager[None]:
        """A scope whose reads share one connection and one read transaction (on SQLite, one
        snapshot): for a screen that reads many things at once. Writes inside commit on their
        own, as everywhere."""
        ...

    def board_counts(self) -> BoardCounts:
        """Links by state, open conflicts and pending change requests in one statement (one
        round trip), for the status board."""
        ...

    def board(self, runs: int = 5, failing_after: int = 3) -> Board:
        """The status board's reads in one statement (one round trip on PostgreSQL): the
        stored settings, the ``runs`` newest runs, the newest heartbeat, the counts and the
        sources' figures (events failing: tried ``failing_after`` times or more)."""
        ...


#: The roles :class:`Store` is made of, read from its bases (the storage tests check each).
STORE_ROLES: tuple[type, ...] = tuple(role for role in Store.__bases__ if role is not Protocol)

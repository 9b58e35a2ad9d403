"""One facade over the use cases, for the bot, the scheduler and the command line.

Each feature lives in its own module under :mod:`sync.usecases` and returns a value (rendered by
``bot/blocks`` for Slack and by ``bot/terminal`` for the terminal) or raises :class:`Refused`
with a one-line reason a person can act on. :class:`SyncService` only composes them, so a caller
holds one object and never the store: it is the one place that says which use case answers
which request. Running a sync and pushing records are the engine's; the facade adds who may.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from sync.domain import Conflict, Held, HubSpotList, Link, SellMode, SellRef
from sync.engine import Engine
from sync.errors import ConflictChanged, RunsHeld, SellNotCalled
from sync.mapping import MappingCheck
from sync.migration.standing import migration_standing
from sync.pipeline.short_run import ShortWork
from sync.ports import (
    BulkHold,
    ChangeRequest,
    MigrationStanding,
    RunRecord,
    SchedulerBeat,
    SyncSettings,
)
from sync.push import parse_items
from sync.report import SyncReport
from sync.sell_mode import RETIRED_WHY
from sync.settings_registry import REGISTRY as SETTINGS
from sync.settings_registry import SettingNote, runs_held, sell_mode
from sync.settings_registry import needs_crm as setting_needs_crm
from sync.usecases.approvals import (
    REQUEST_TTL,
    Approvals,
    Decision,
    DecisionOutcome,
    RequestResult,
    RequestStatus,
    Setting,
)
from sync.usecases.bulk import BulkHolds, HoldDecision
from sync.usecases.common import CLI_ACTOR, Actor, Audit, Parts, Refused
from sync.usecases.conflicts import (
    ConflictAction,
    ConflictPage,
    Conflicts,
    FieldDecision,
    HeldLink,
    HeldLinkPage,
    HeldLinks,
)
from sync.usecases.conflicts import seen_token as conflict_seen_token
from sync.usecases.digest import ChangeKind, Digest, SettingChange, Summary
from sync.usecases.explain import Explain, Explanation, Verdict
from sync.usecases.export import Export, ExportTable, SellArchivePort
from sync.usecases.fields import FieldRow, Fields, field_label
from sync.usecases.health import Health, HealthEntry, HealthView, RetryOutcome
from sync.usecases.history import (
    AuditTrail,
    History,
    Trigger,
    run_log_line,
    stored_trigger,
    trigger_parts,
)
from sync.usecases.live import SourceStatus
from sync.usecases.markers import Markers
from sync.usecases.settings import SettingChanged, SettingRow, Settings, SettingsView
from sync.usecases.status import (
    HEARTBEAT_STALE,
    Figures,
    RunStatus,
    SchedulerState,
    ScheduleState,
    Status,
    StatusView,
    run_dict,
)
from sync.usecases.threshold import (
    MAX_THRESHOLD,
    ImpactRow,
    Threshold,
    ThresholdImpact,
    parse_threshold,
)
from sync.usecases.tombstones import RunRestored, Tombstones
from sync.usecases.webhook_inbox import WebhookInbox

__all__ = [
    "CLI_ACTOR",
    "HEARTBEAT_STALE",
    "MAX_THRESHOLD",
    "REQUEST_TTL",
    "SETTINGS",
    "Actor",
    "AuditTrail",
    "ChangeKind",
    "ConflictAction",
    "ConflictChanged",
    "ConflictPage",
    "Decision",
    "DecisionOutcome",
    "Explanation",
    "ExportTable",
    "FieldDecision",
    "FieldRow",
    "Figures",
    "HealthEntry",
    "HealthView",
    "HeldLink",
    "HeldLinkPage",
    "ImpactRow",
    "Refused",
    "RequestResult",
    "RequestStatus",
    "RetryOutcome",
    "RunRestored",
    "RunStatus",
    "ScheduleState",
    "SchedulerState",
    "Setting",
    "SettingChange",
    "SettingNote",
    "StatusView",
    "Summary",
    "SyncService",
    "ThresholdImpact",
    "Trigger",
    "Verdict",
    "conflict_seen_token",
    "field_label",
    "run_dict",
    "run_log_line",
    "setting_needs_crm",
    "stored_trigger",
    "trigger_parts",
]

log = logging.getLogger("sellsync.runs")


class SyncService:
    """Every use case behind one object; the method names are the features'."""

    def __init__(self, engine: Engine):
        self.engine = engine
        parts = Parts.of(engine)
        self.clock = parts.clock
        self._parts = parts
        # Each use case gets the storage roles it calls (the store plays them all).
        store, clock, config, in_force = engine.store, engine.clock, engine.config, engine.settings
        hubspot, sell = engine.hubspot, parts.sell
        audit = Audit(store, clock)
        self._threshold = Threshold(store, store, store, in_force)
        standing = partial(migration_standing, store)
        self._approvals = Approvals(
            store, store, hubspot, in_force, audit, config, self._threshold, standing
        )
        self._bulk = BulkHolds(store, audit, clock)
        self._status = Status(store, clock, config, self._approvals)
        self._history = History(store, store, store, store)
        self._explain = Explain(parts)
        self._conflicts = Conflicts(
            store,
            store,
            hubspot,
            sell,
            audit,
            context=engine.context,
            write_field=engine.write_field,
        )
        self._held_links = HeldLinks(store, audit)
        self._tombstones = Tombstones(store, store, clock)
        self._fields = Fields(
            hubspot, sell, store, in_force, audit, score_property=config.score_property
        )
        self._digest = Digest(
            store,
            store,
            store,
            store,
            clock,
            self.sell_mode,
            inbox=store,
            failing=lambda: self._health.count(),
        )
        self.markers = Markers(store, store, clock)
        self.webhook_inbox = WebhookInbox(store, clock)
        self._settings = Settings(store, store, hubspot, in_force, clock, config, standing)
        self._export = Export(store, self.sell_mode)
        self._health = Health(
            store, store, store, audit, lambda work, trigger: self.run_short(work, trigger=trigger)
        )
        engine.after_run = self._health.record_run  # each real run's failing records are kept

    # -------------------------------------------------------------- running (the engine's)
    def run(
        self,
        *,
        actor: Actor,
        trigger: str = "slack",
        dry_run: bool = False,
        full: bool = False,
        progress: Callable[[str, SyncReport], None] | None = None,
        yes_bulk: bool = False,
    ) -> SyncReport:
        if not actor.is_manager and not dry_run:
            raise Refused("only managers can start a sync")
        held = None if dry_run else self.runs_held()
        if held is not None:
            raise RunsHeld(held)
        report = self.engine.run(
            trigger=trigger, dry_run=dry_run, full=full, progress=progress, yes_bulk=yes_bulk
        )
        log.info("%s", run_log_line(report))
        return report

    def run_short(self, work: ShortWork, *, trigger: str) -> SyncReport:
        """A small run of what events and polls brought up (the worker's); raises RunsHeld
        while the sync is paused and RunInProgress while another run holds the lock."""
        held = self.runs_held()
        if held is not None:
            raise RunsHeld(held)
        report = self.engine.run_short(work, trigger=trigger)
        if report.counts().total() or report.failure or report.errors:
            log.info("%s", run_log_line(report))
        return report

    def sources(self) -> list[SourceStatus]:
        """Each source of changes between scheduled runs (``status``, App Home, ``/metrics``)."""
        return self._status.sources.sources()

    def interrupt(self, reason: str) -> None:
        """Stop the runs going on at their next page boundary, recorded as interrupted (a
        signal, or the process shutting down): see sync/interrupt.py."""
        self.engine.interrupt(reason)

    def wait_for_runs(self, timeout: float) -> bool:
        """Wait until no run of this process goes on; False when one still does."""
        return self.engine.wait_idle(timeout)

    def close_orphaned_runs(self) -> list[int]:
        """Close as interrupted the runs left "running" by processes that vanished (when no
        run holds the lock); their ids."""
        return self.engine.close_orphans()

    def push(self, items: Sequence[str], *, actor: Actor, dry_run: bool = False) -> SyncReport:
        parsed = parse_items(items)
        if parsed.empty and not parsed.invalid:
            raise Refused(
                "nothing to push: give emails, lead:ID, contact:ID, Sell URLs or tag:NAME"
            )
        if sell_mode(self.settings()) is SellMode.RETIRED:
            raise SellNotCalled(f"{RETIRED_WHY}: nothing can be pushed from it")
        return self.engine.push(items, actor=actor.id, dry_run=dry_run)

    def hubspot_url(self, contact_id: str) -> str | None:
        """The contact's page in HubSpot, for links in messages (None: portal id unknown)."""
        return self._parts.hubspot.contact_url(contact_id)

    # -------------------------------------------------------------- status and history
    def settings(self) -> SyncSettings:
        return self._parts.settings()

    def sell_mode(self) -> SellMode:
        """How far sellsync still uses Sell (M5): active, read_only or retired."""
        return sell_mode(self._parts.settings())

    def migration_standing(self) -> MigrationStanding:
        """Where leaving Sell stands, from storage alone (for retiring Sell)."""
        return migration_standing(self.engine.store)

    def export_tables(self, open_archive: Callable[[], SellArchivePort]) -> list[ExportTable]:
        """``sellsync export``: every table to write, each a stream (refused under retired)."""
        return self._export.tables(open_archive)

    def runs_held(self) -> Held | None:
        """Why no sync may start now (a pause, approved); None: runs may start."""
        return runs_held(self._parts.settings())

    def settings_view(self) -> SettingsView:
        """Each setting stored and from the environment (``sellsync settings``). Reads only."""
        return self._settings.view()

    def settings_differences(self) -> list[SettingRow]:
        """The stored settings that differ from the environment's (the stored value wins)."""
        return self._settings.differences()

    def change_setting(
        self,
        name: str,
        value: str,
        *,
        actor: Actor,
        reason: str,
        confirm_unverified: bool = False,
    ) -> SettingChanged:
        """``sellsync settings set``: change one now, checked and audited (retiring Sell while
        the migration is not verified needs ``confirm_unverified``)."""
        return self._settings.change(
            name, value, actor=actor, reason=reason, confirm_unverified=confirm_unverified
        )

    def store_settings(self) -> SyncSettings:
        """``serve`` and ``worker`` at start: store the environment's value of every setting
        not stored yet, once HubSpot confirmed the list (a real run does it too)."""
        return self.engine.store_settings()

    def status(self) -> StatusView:
        return self._status.status()

    def schedule_state(self) -> ScheduleState:
        return self._status.schedule_state()

    def record_heartbeat(self, beat: SchedulerBeat) -> None:
        self._status.record_heartbeat(beat)

    def last_run(self) -> RunRecord | None:
        return self._status.last_run()

    def figures(self) -> Figures:
        return self._status.figures()

    def runs(self, limit: int = 20) -> list[RunRecord]:
        return self._history.runs(limit)

    def audit_trail(
        self,
        item: str | None = None,
        *,
        limit: int | None = 100,
        run_id: int | None = None,
        since: datetime | None = None,
    ) -> AuditTrail:
        return self._history.audit_trail(item, limit=limit, run_id=run_id, since=since)

    def explain(self, item: str) -> Explanation:
        return self._explain.explain(item)

    # -------------------------------------------------------------- threshold and approvals
    parse_threshold = staticmethod(parse_threshold)

    def synced_list(self) -> HubSpotList:
        return self._approvals.synced_list()

    def threshold_impact(self, proposed: int | None = None) -> ThresholdImpact:
        return self._threshold.impact(proposed)

    def request_change(
        self, setting: str, value: str, *, actor: Actor, reason: str = ""
    ) -> RequestResult:
        return self._approvals.request_change(setting, value, actor=actor, reason=reason)

    def attach_request_message(self, request_id: int, *, channel: str, ts: str) -> None:
        self._approvals.attach_message(request_id, channel=channel, ts=ts)

    def expire_requests(self) -> list[ChangeRequest]:
        return self._approvals.expire_requests()

    def pending_requests(self) -> list[ChangeRequest]:
        return self._approvals.pending_requests()

    def decide(
        self, request_id: int, *, approve: bool, actor: Actor, confirm_unverified: bool = False
    ) -> Decision:
        return self._approvals.decide(
            request_id, approve=approve, actor=actor, confirm_unverified=confirm_unverified
        )

    # -------------------------------------------------------------- the bulk guard's holds
    def bulk_hold(self, hold_id: int | None = None) -> BulkHold | None:
        """A hold by id; without one, the pending hold (if any)."""
        return self._bulk.pending() if hold_id is None else self._bulk.get(hold_id)

    def unposted_bulk_hold(self) -> BulkHold | None:
        return self._bulk.unposted()

    def attach_bulk_message(self, hold_id: int, *, channel: str, ts: str) -> None:
        self._bulk.attach_message(hold_id, channel=channel, ts=ts)

    def decide_bulk(self, hold_id: int, *, approve: bool, actor: Actor) -> HoldDecision:
        return self._bulk.decide(hold_id, approve=approve, actor=actor)

    def approve_bulk_from_terminal(self, actor: Actor = CLI_ACTOR) -> BulkHold | None:
        return self._bulk.approve_pending_from_terminal(actor)

    # -------------------------------------------------------------- conflicts, restore, fields
    def conflicts(self, *, offset: int = 0, limit: int = 10) -> ConflictPage:
        return self._conflicts.page(offset=offset, limit=limit)

    def resolve_conflict(
        self, conflict_id: int, action: str, *, actor: Actor, seen: str | None = None
    ) -> tuple[Conflict, bool]:
        """Resolve a conflict as reviewed (``seen``: :func:`conflict_seen_token` of what the
        manager saw); raises ConflictChanged when that is no longer what it holds."""
        return self._conflicts.resolve(conflict_id, action, actor=actor, seen=seen)

    def conflict_fields(self) -> dict[str, int]:
        """How many conflicts are open on each field (for deciding a field's all at once)."""
        return {f: len(cs) for f, cs in sorted(self._conflicts.open_by_field().items())}

    def conflicts_of_field(self, field: str) -> list[Conflict]:
        """The open conflicts of ``field``, oldest first."""
        return self._conflicts.open_by_field().get(field, [])

    def resolve_conflicts_of_field(
        self, field: str, action: str, *, actor: Actor, up_to: int | None = None
    ) -> FieldDecision:
        """Decide every open conflict of ``field`` (with an id up to ``up_to``: those the
        confirmation named), each as :meth:`resolve_conflict` does and audits it."""
        return self._conflicts.resolve_field(field, action, actor=actor, up_to=up_to)

    # -------------------------------------------------------------- health
    def health(self) -> HealthView:
        """Records and events that keep failing, with reasons (ignored ones apart)."""
        return self._health.view()

    def retry_failing(self, key: str, *, actor: Actor, trigger: str = "slack") -> RetryOutcome:
        """Run a failing record (or event) through the pipeline now (managers)."""
        return self._health.retry(key, actor=actor, trigger=trigger)

    def ignore_failing(self, key: str, *, actor: Actor) -> tuple[HealthEntry, bool]:
        """Stop listing a failing record until it syncs (managers); False: done already."""
        return self._health.ignore(key, actor=actor)

    def held_links(self, *, limit: int = 10) -> HeldLinkPage:
        """L2: Sell records a HubSpot contact merge left on one contact, waiting for a manager."""
        return self._held_links.page(limit=limit)

    def keep_link(
        self, held: SellRef, keep: SellRef | None, *, actor: Actor
    ) -> tuple[SellRef | None, bool]:
        """L2: keep ``keep``'s link to the surviving contact; the other record is unlinked."""
        return self._held_links.keep(held, keep, actor=actor)

    def restore(self, item: str, *, actor: Actor) -> Link:
        return self._tombstones.restore(item, actor=actor)

    def restore_run(self, run_id: int, *, actor: Actor, reason: str = "") -> RunRestored:
        """Re-activate every link run ``run_id`` tombstoned or marked deleted in HubSpot."""
        return self._tombstones.restore_run(run_id, actor=actor, reason=reason)

    def fields(self) -> list[FieldRow]:
        return self._fields.rows()

    def map_field(self, hubspot_property: str, sell_field: str, *, actor: Actor) -> MappingCheck:
        return self._fields.map_field(hubspot_property, sell_field, actor=actor)

    # -------------------------------------------------------------- the scheduled digest
    def summary_since(self, since: datetime | None) -> Summary:
        return self._digest.summary_since(since)

    def post_summary(self, post: Callable[[Summary], bool]) -> bool:
        return self._digest.post_summary(post)

    def run_failed(self, alert: Callable[[], object]) -> bool:
        return self._digest.failed(alert)

    def run_succeeded(self, note: Callable[[datetime | None], object]) -> bool:
        return self._digest.succeeded(note)

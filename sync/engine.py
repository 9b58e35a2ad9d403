"""The engine: the public face of a sync run and a push, and the run lease around a run.

A run is a pipeline (sync/pipeline/sync_run.py): feeds read pages and own their marks
(sync/feeds/), the planner turns each page and what the store knows of it into a plan value
(sync/planner.py), and the applier is the only code that writes (sync/applier.py). A push
(sync/pipeline/push_run.py) is built from the same parts. A dry run is the same pipeline with
an applier that keeps the plan and writes nothing, over an email index overlaid in memory.

The engine picks those parts, holds the run lease (sync/lease.py) while a run applies, and
keeps the run log: a run is recorded as started once the lease is its own, and finished
whatever happens.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sync.applier import Applier, PlanOnly, write_field
from sync.config import EngineConfig
from sync.domain import Link
from sync.email_index import EmailIndex, OverlaidEmailIndex, StoredEmailIndex
from sync.errors import ApiError, RunInProgress, RunInterrupted, SyncError
from sync.interrupt import StopFlag
from sync.lease import RunLease
from sync.mapping import FieldMapping
from sync.new_records import NewRecordNotifier
from sync.pipeline.push_run import PushRun
from sync.pipeline.short_run import ShortRun, ShortWork
from sync.pipeline.sync_run import Progress, RunParts, SyncRun
from sync.plan import SyncPlan
from sync.planner import Planner
from sync.ports import Clock, HubSpotPort, SellPort, Store, SyncSettings
from sync.report import SyncReport, classify_failure
from sync.run_context import RunContext
from sync.sell_mode import guard_sell, live_guard
from sync.settings_registry import sell_mode

__all__ = ["SYNC_LOCK", "Engine", "EngineConfig", "Progress"]

log = logging.getLogger("sellsync.engine")

SYNC_LOCK = "sync"


#: The error of a run closed as interrupted because its process vanished.
ORPHANED = "its process ended before the run finished (killed, or out of disk or memory)"


class Engine:
    def __init__(
        self,
        hubspot: HubSpotPort,
        sell: SellPort,
        store: Store,
        clock: Clock,
        config: EngineConfig,
    ) -> None:
        self.hubspot = hubspot
        self.sell = sell
        self.store = store
        self.clock = clock
        self.config = config
        #: Set to stop this engine's runs at their next page boundary (:meth:`interrupt`).
        self.stop = StopFlag()
        #: Told of every record a real run creates in Sell (speed to lead); set by the wiring.
        self.announce: NewRecordNotifier | None = None
        #: Handed each real run's report once the run log has it (the Health inbox's record of
        #: failing writes); set by the service. A hook that fails is logged, never the run's.
        self.after_run: Callable[[SyncReport], None] | None = None
        self._active = 0  # real runs going on now, for :meth:`wait_idle`
        self._idle = threading.Condition()

    # ------------------------------------------------------------------ public
    def settings(self) -> SyncSettings:
        """The settings in force: the stored ones, else the environment's. Stores nothing."""
        return self.config.settings_over(self.store.stored_settings())

    def store_settings(self, context: RunContext | None = None) -> SyncSettings:
        """Store the environment's value of every setting not stored yet, once HubSpot has
        confirmed the list exists (its read is the run's own, cached in ``context``). Only what
        runs the sync for real calls this: a real run, ``serve`` and ``worker`` at start.
        Raises the API error when the list cannot be read (nothing is stored then)."""
        context = context or self.context()
        stored = self.store.stored_settings()
        if stored.threshold is None or stored.list_id is None:
            context.hs_list  # noqa: B018 - reads (and caches) the list: HubSpot confirms it
            self.store.seed_settings(
                threshold=context.settings.threshold, list_id=context.settings.list_id
            )
        return self.settings()

    def run(
        self,
        *,
        trigger: str = "slack",
        dry_run: bool = False,
        full: bool = False,
        progress: Progress | None = None,
        keep_actions: bool = False,
        yes_bulk: bool = False,
        short: ShortWork | None = None,
    ) -> SyncReport:
        """One sync cycle. Raises RunInProgress when another run holds the lock.

        ``short``: a small run of what events and polls brought up instead of the whole cycle
        (:meth:`run_short`).

        ``yes_bulk``: the operator confirms creations and link removals above the bulk guard's
        limits (``sync --yes-bulk``); without it they are held for a manager.

        A dry run's report keeps every planned action (it is the plan to print); a real run's
        keeps counts, skips and errors only, unless ``keep_actions``.
        """
        lease = None if dry_run else self._take_lease()
        report = SyncReport(  # started once the lock is ours: runs never overlap in time
            trigger=trigger,
            dry_run=dry_run,
            started_at=self.clock.now(),
            plan=SyncPlan(keep_actions=dry_run or keep_actions),
            applied=SyncPlan(keep_actions=keep_actions),
        )
        if lease is not None:
            try:
                self._close_orphans(report.started_at)  # the lock is ours: no other run lives
                report.run_id = self.store.start_run(trigger=trigger, at=report.started_at)
                with self._idle:
                    self._active += 1
            except BaseException:
                lease.release()
                raise
        try:
            parts = self._parts(report, lease=lease, progress=progress, actor=None)
            with lease or nullcontext():  # the lease is renewed by a heartbeat while it runs
                if lease is not None:  # a real run stores the settings it runs with
                    self.store_settings(parts.context)
                if short is not None:
                    ShortRun(parts, short).sync()
                else:
                    SyncRun(parts, full=full, yes_bulk=yes_bulk).sync()
        except RunInterrupted as exc:  # asked to stop: it did, at a page boundary
            report.interrupted = exc.reason
            log.warning("sync run interrupted (%s)", exc.reason)
        except (ApiError, SyncError) as exc:
            report.failure, report.failure_cause = str(exc), exc
            report.failure_kind = classify_failure(exc)
            log.warning("sync run stopped: %s", exc)
        except (KeyboardInterrupt, SystemExit) as exc:  # recorded as interrupted, then raised
            report.interrupted = "SIGINT" if isinstance(exc, KeyboardInterrupt) else "exit"
            raise
        except BaseException as exc:  # a bug: recorded as failed, then raised
            report.failure = f"{type(exc).__name__}: {exc}"
            report.failure_kind = classify_failure(exc)
            raise
        finally:
            report.finished_at = self.clock.now()
            if lease is not None:
                assert report.run_id is not None
                try:
                    self.store.finish_run(
                        report.run_id,
                        at=report.finished_at,
                        status=report.status,
                        counts=report.run_counts(),
                        error=report.failure
                        or (f"interrupted by {report.interrupted}" if report.interrupted else None),
                    )
                    if short is not None and report.idle:  # a look that found nothing
                        self.store.forget_run(report.run_id)
                    self._after_run(report)
                finally:
                    self._release(lease)
        return report

    def run_short(self, work: ShortWork, *, trigger: str) -> SyncReport:
        """A small run (:mod:`sync.pipeline.short_run`): the records ``work`` names, read as
        they are now, and its poll's feeds, through the same planner and applier, under the
        same lock, recorded in the run log under ``trigger`` (``events``, ``poll``). Raises
        RunInProgress when another run holds the lock for longer than the configuration's
        ``short_run_patience_seconds`` (the hints wait for the next one), and at once when
        :meth:`interrupt` was called (the process is stopping)."""
        deadline = time.monotonic() + self.config.short_run_patience_seconds
        while True:
            if self.stop.is_set():  # the process is stopping: no small run starts, hints wait
                raise RunInProgress()
            try:
                return self.run(trigger=trigger, short=work)
            except RunInProgress:  # refused before the run started: nothing to undo
                if time.monotonic() >= deadline or self.stop.is_set():
                    raise
                time.sleep(0.05)

    def interrupt(self, reason: str) -> None:
        """Stop this engine's runs at their next page boundary, recorded as interrupted (a
        signal, the process shutting down). A full run started afterwards stops at its first
        page; a small run does not start (:meth:`run_short`)."""
        self.stop.set(reason)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no real run of this engine goes on (False: still one after ``timeout``)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)

    def close_orphans(self) -> list[int]:
        """Close the runs still recorded as running whose process vanished (the worker's start):
        only while no run holds the lock, which proves them orphans. Their ids."""
        lease = self._lease()
        if not lease.acquire():
            return []
        try:
            return self._close_orphans(self.clock.now())
        finally:
            lease.release()

    def _close_orphans(self, at: datetime) -> list[int]:
        ids = self.store.interrupt_runs(at=at, error=ORPHANED)
        if ids:
            log.warning("closed run(s) %s as interrupted: %s", ids, ORPHANED)
        return ids

    def _after_run(self, report: SyncReport) -> None:
        if self.after_run is None:
            return
        try:
            self.after_run(report)
        except Exception as exc:  # what follows a run never fails it
            log.warning("the run's failing records could not be kept: %s", type(exc).__name__)

    def _release(self, lease: RunLease) -> None:
        try:
            lease.release()
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def push(self, items: Sequence[str], *, actor: str, dry_run: bool = False) -> SyncReport:
        """S4: send the selected Sell records to HubSpot (create, or merge with an existing one)."""
        report = SyncReport(trigger=f"push:{actor}", dry_run=dry_run, started_at=self.clock.now())
        try:
            parts = self._parts(report, lease=None, progress=None, actor=actor)
            PushRun(parts).push(items, actor=actor)
        except (ApiError, SyncError) as exc:
            report.failure, report.failure_cause = str(exc), exc
            report.failure_kind = classify_failure(exc)
        report.finished_at = self.clock.now()
        return report

    def write_field(self, link: Link, mapping: FieldMapping, raw: Any, *, to_hubspot: bool) -> None:
        """Write one field's value to one side of ``link`` (resolving a conflict) through the
        applier. Raises :class:`~sync.errors.FieldWriteRefused` when the side refuses it."""
        sell = guard_sell(self.sell, sell_mode(self.settings()))
        write_field(self.hubspot, sell, link, mapping, raw, to_hubspot=to_hubspot)

    def context(self) -> RunContext:
        """A read-only run context: settings, HubSpot properties and the field tables."""
        settings = self.settings()
        sell = guard_sell(self.sell, sell_mode(settings))
        return RunContext(self.hubspot, sell, settings, score_property=self.config.score_property)

    def guarded_sell(self) -> SellPort:
        """The Sell port as the Sell mode in force at each call allows it (M5): for what
        answers people outside a run (``status ITEM``, conflicts, fields)."""
        return live_guard(self.sell, lambda: sell_mode(self.settings()))

    def planner(self) -> Planner:
        """The planner a run decides with, over a fresh read-only context (``status ITEM``)."""
        return self.context().planner(import_as=self.config.import_as)

    def _parts(
        self,
        report: SyncReport,
        *,
        lease: RunLease | None,
        progress: Progress | None,
        actor: str | None,
    ) -> RunParts:
        """The pipeline's parts for one run: a dry run plans over an overlaid index, writing
        nothing; a real one writes through the applier, its store guarded by the lease."""
        store = self.store if lease is None else lease.guard(self.store)
        settings = self.settings()
        sell = guard_sell(self.sell, sell_mode(settings))  # M5: what the Sell mode allows
        context = RunContext(
            self.hubspot,
            sell,
            settings,
            score_property=self.config.score_property,
            warn=report.plan.warn,
        )
        index: EmailIndex
        applier: PlanOnly
        if report.dry_run:
            index = OverlaidEmailIndex(store)
            applier = PlanOnly(report)
        else:
            index = StoredEmailIndex(store)
            applier = Applier(
                report,
                hubspot=self.hubspot,
                sell=sell,
                store=store,
                clock=self.clock,
                index=index,
                lease=lease,
                actor=actor,
                sell_write_workers=self.config.sell_write_workers,
                stop=self.stop,
                announce=self.announce,
            )
        return RunParts(
            hubspot=self.hubspot,
            sell=sell,
            store=store,
            clock=self.clock,
            config=self.config,
            context=context,
            index=index,
            applier=applier,
            report=report,
            lease=lease,
            progress=progress,
            stop=self.stop,
        )

    def _lease(self) -> RunLease:
        return run_lease(self.store, self.clock, self.config)

    def _take_lease(self) -> RunLease:
        """The run lease (see sync/lease.py), or RunInProgress while another run holds it."""
        return take_run_lease(self.store, self.clock, self.config)


def run_lease(store: Store, clock: Clock, config: EngineConfig) -> RunLease:
    """The run lock every sync and every move out of Sell takes (not yet taken)."""
    return RunLease(
        store,
        clock,
        name=SYNC_LOCK,
        ttl_seconds=config.lock_ttl_seconds,
        heartbeat_seconds=config.lock_heartbeat_seconds,
    )


def take_run_lease(store: Store, clock: Clock, config: EngineConfig) -> RunLease:
    """The run lease, taken, or RunInProgress naming the run that holds it.

    A run killed anywhere frees its process lock with its process: the next run takes the
    lease at once. Where no process lock exists, the lease is taken over once it expired."""
    lease = run_lease(store, clock, config)
    if not lease.acquire():
        running = store.running_runs()
        by_process = lease.refused_by == "process"
        raise RunInProgress(
            running[0] if running else None,
            released_with_process=by_process,
            expires_at=None if by_process else store.lock_expiry(SYNC_LOCK),
        )
    return lease

"""Leaving Sell from Slack: the move a manager approved, run by the worker under the run lock.

A request (``/sellsync migrate``) carries the plan's counts as its value (:func:`order_text`);
once approved, the ``migration`` setting holds the order (``run: N Sell items (…)``) with who
asked and who approved (:class:`~sync.settings_registry.MigrationEntry`). The worker finds it
(:meth:`ApprovedMigrations.pending`), takes the run lock the syncs take (so a migration and a
sync never overlap), moves everything with :class:`~sync.usecases.migrate.MigrationService`
(its store guarded by the lease: a run that lost the lock writes nothing more), and once the move
is over stores ``idle`` with the outcome. A worker killed mid-move leaves the order in place: the
next worker resumes it, and the move upserts by ``zendesk_sell_id``, so nothing is duplicated.
An interrupted move (the worker stopping) keeps the order too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sync.config import EngineConfig
from sync.engine import take_run_lease
from sync.migration.mover import MigrationReport, Progress
from sync.ports import Store
from sync.service import SyncService
from sync.settings_registry import MIGRATION, MIGRATION_IDLE
from sync.usecases.common import Actor, Audit
from sync.usecases.migrate import MigrationService, MigrationStores

#: Who the audit log names for what the worker does with an approved order.
WORKER_ACTOR = Actor("worker", is_manager=True, name="worker")

#: The objects a plan's counts are summed for, and the actions that place an item in HubSpot.
_OBJECTS = ("contacts", "companies", "notes")
_PLACED = ("create", "update", "adopt", "merge", "unchanged")


def placed(report: MigrationReport, obj: str) -> int:
    """Items of ``obj`` (``contacts``, ``companies``, ``notes``) the plan or run places."""
    return sum(report.counts.get(f"{obj}.{action}", 0) for action in _PLACED)


def order_text(plan: MigrationReport) -> str:
    """The request's value: ``run: 1600 Sell items (1000 contacts, 100 companies, 500 notes)``
    (the Sell items are the run's progress total)."""
    parts = ", ".join(f"{placed(plan, obj)} {obj}" for obj in _OBJECTS)
    return f"run: {plan.walked} Sell items ({parts})"


@dataclass(frozen=True)
class MigrationOrder:
    """An approved move waiting for (or being run by) the worker."""

    order: str
    total: int | None
    by: str
    approved_by: str | None
    at: datetime | None
    channel: str | None = None  # where the worker's progress message is, once posted
    ts: str | None = None


def migration_of(service: SyncService, store: MigrationStores | None = None) -> MigrationService:
    """The migration on the service's own HubSpot and Sell clients (and ``store``, the
    engine's by default)."""
    engine = service.engine
    return MigrationService(
        cast(Any, engine.hubspot),
        cast(Any, engine.sell),
        store if store is not None else cast(MigrationStores, engine.store),
        engine.clock,
    )


class ApprovedMigrations:
    """The ``migration`` order of ``service``: read it, remember its message, run it."""

    def __init__(self, service: SyncService) -> None:
        self.service = service
        self.engine = service.engine
        self.audit = Audit(self.engine.store, self.engine.clock)

    def _details(self) -> dict[str, Any]:
        raw = self.engine.store.stored_settings().values.get(MIGRATION.name) or ""
        return MIGRATION.details(raw)

    def pending(self) -> MigrationOrder | None:
        """The approved order not yet run to its end (None: nothing waits). Reads the store."""
        details = self._details()
        order = MIGRATION.decode(json.dumps(details)) if details else MIGRATION_IDLE
        if order == MIGRATION_IDLE:
            return None
        at = details.get("at")
        return MigrationOrder(
            order=order,
            total=MIGRATION.items(order),
            by=str(details.get("by") or ""),
            approved_by=details.get("approved_by"),
            at=datetime.fromisoformat(str(at)) if at else None,
            channel=details.get("channel"),
            ts=details.get("ts"),
        )

    def _store(self, details: dict[str, Any]) -> None:
        self.engine.store.store_setting(MIGRATION.name, json.dumps(details), replans=False)

    def remember_message(self, channel: str, ts: str) -> None:
        """Keep where the progress message is, so a restarted worker updates the same one."""
        details = self._details()
        if details:
            self._store({**details, "channel": channel, "ts": ts})

    def run(
        self,
        order: MigrationOrder,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> MigrationReport | None:
        """Move everything under the run lock (RunInProgress while a sync holds it; None when,
        once the lock is held, the order is no longer waiting: another worker ran it). A move
        that ends (finished, or failed on its own records) closes the order before the lock is
        released; an interrupted one keeps it for the next worker. Errors propagate with the
        order kept: :meth:`close` it to give up."""
        engine = self.engine
        lease = take_run_lease(engine.store, engine.clock, engine.config)
        try:
            if self.pending() is None:
                return None
            with lease:
                store = lease.guard(cast(MigrationStores, engine.store))
                stop = should_stop or engine.stop.is_set

                def stopping() -> bool:
                    return stop() or engine.stop.is_set() or lease.lost

                report = migration_of(self.service, store).run(
                    on_progress=on_progress, should_stop=stopping, total=order.total
                )
            if report.status != "interrupted":
                self.close(report.status, run_id=report.run_id, moved=report.moved)
        finally:
            lease.release()
        return report

    def close(self, status: str, *, run_id: int | None = None, moved: int = 0) -> None:
        """The order is over (``finished``, ``failed``): ``idle`` again, with the outcome."""
        details = self._details()
        last = {"status": status, "run_id": run_id, "moved": moved}
        self._store({"order": MIGRATION_IDLE, "last": last, "previous": details.get("order")})
        self.audit(f"migration_{status}", "migration", WORKER_ACTOR, dict(last))


def run_from_terminal(
    migration: MigrationService,
    store: Store,
    config: EngineConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    total: int | None = None,
    count_first: Callable[[], int | None] | None = None,
) -> MigrationReport:
    """``sellsync migrate --yes``: the move under the run lock the syncs and the worker's move
    take (``store`` holds the lock), so none of them overlap. RunInProgress, naming the run that
    holds the lock, before anything is read or written; the move's store is guarded by the
    lease (a run that lost the lock writes nothing more and stops at the next page).
    ``count_first``, once the lock is held, answers the progress total when ``total`` is None."""
    lease = take_run_lease(store, migration.clock, config)
    try:
        if total is None and count_first is not None:
            total = count_first()
        with lease:
            guarded = lease.guard(migration.store)
            locked = MigrationService(migration.hubspot, migration.sell, guarded, migration.clock)

            def stopping() -> bool:
                return lease.lost or (should_stop is not None and should_stop())

            return locked.run(on_progress=on_progress, should_stop=stopping, total=total)
    finally:
        lease.release()

"""Leaving Sell as one use case: plan, run, verify and the standing, on the configured clients.

:class:`MigrationService` is what the command line calls, and what a Slack request's worker
calls once a manager approved it: :meth:`~MigrationService.run` takes ``on_progress`` (hears a
:class:`~sync.migration.mover.Progress` after every page: phase, items done, total when known)
and ``should_stop`` (a run stops at the next page boundary, recorded as interrupted).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sync.clients.hubspot import HubSpotClient
from sync.clients.hubspot_crm import crm_of
from sync.clients.hubspot_scopes import required_scopes
from sync.clients.sell import SellClient
from sync.clients.sell_migration import SellMigrationSource
from sync.config import EngineConfig
from sync.domain import RECORD_KINDS, SellMode
from sync.errors import RunInterrupted, SellNotCalled
from sync.mapping import FieldMapping, check_custom_mapping
from sync.migration.mover import MigrationReport, Mover, Progress
from sync.migration.ports import MigrationHubSpot, MigrationSell
from sync.migration.rules import Difference
from sync.migration.verify import Verifier, VerifyReport
from sync.ports import (
    Clock,
    LinkStore,
    MigrationStanding,
    MigrationStore,
    SyncSettingsStore,
)
from sync.settings_registry import MIGRATION, sell_mode


class MigrationStores(MigrationStore, LinkStore, SyncSettingsStore, Protocol):
    """The storage roles a migration uses: its own records, the sync's links (a linked record
    updates its own contact) and the settings (the S13 custom mappings)."""


@dataclass(frozen=True)
class KnownTotal:
    """A run's progress total counted before it (Sell may have changed since): the Sell items,
    what counted them, and when (None: not recorded)."""

    items: int
    source: str
    at: datetime | None


class MigrationService:
    """Plan, run and verify the move of the Sell account of ``sell`` to the HubSpot portal of
    ``hubspot``, recording in ``store``."""

    def __init__(
        self,
        hubspot: HubSpotClient | MigrationHubSpot,
        sell: SellClient | MigrationSell,
        store: MigrationStores,
        clock: Clock,
    ) -> None:
        self.hubspot: MigrationHubSpot = (
            crm_of(hubspot) if isinstance(hubspot, HubSpotClient) else hubspot
        )
        self.sell: MigrationSell = (
            SellMigrationSource(sell) if isinstance(sell, SellClient) else sell
        )
        self.store = store
        self.clock = clock

    def _mappings(self) -> list[FieldMapping]:
        """The managers' S13 mappings that are usable now (as the sync uses them)."""
        custom = self.store.stored_settings().custom_mappings
        if not custom:
            return []
        props = self.hubspot.object_properties("contacts")
        sell_fields = {kind: self.sell.custom_fields(kind) for kind in RECORD_KINDS}
        out: list[FieldMapping] = []
        for cm in custom:
            check = check_custom_mapping(cm.hubspot_property, cm.sell_field, props, sell_fields)
            if check.mapping is not None:
                out.append(check.mapping)
        return out

    def _mover(
        self,
        *,
        dry_run: bool,
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None = None,
        total: int | None = None,
    ) -> Mover:
        return Mover(
            self.hubspot,
            self.sell,
            self.store,
            links=self.store,
            mappings=self._mappings(),
            now=self.clock.now,
            dry_run=dry_run,
            on_progress=on_progress,
            should_stop=should_stop,
            total=total,
            required_scopes=required_scopes(feature="migration"),
        )

    def _refuse_if_retired(self) -> None:
        """Under ``sell_mode`` ``retired`` sellsync does not call Sell: nothing to move from."""
        settings = EngineConfig().settings_over(self.store.stored_settings())
        if sell_mode(settings) is SellMode.RETIRED:
            raise SellNotCalled(
                "Sell is retired (sell_mode retired): sellsync does not call it, so nothing can "
                "be moved from it or verified against it; switch Sell to read_only to migrate"
            )

    def plan(self, on_progress: Callable[[Progress], None] | None = None) -> MigrationReport:
        """M1: what would move, read from both sides; writes nothing to either CRM (it keeps
        how many Sell items it read: a later run's progress total). Raises ``ConfigError``
        naming a scope the credential lacks, ``SellNotCalled`` under ``sell_mode``
        ``retired``."""
        self._refuse_if_retired()
        report = self._mover(dry_run=True, on_progress=on_progress).run()
        self.store.record_migration_plan(self.clock.now(), report.walked)
        return report

    def known_total(self) -> KnownTotal | None:
        """A run's progress total without reading Sell: the Sell items of the approved order,
        else of the newest plan or complete run; None when nothing counted them."""
        raw = self.store.stored_settings().values.get(MIGRATION.name) or ""
        ordered = MIGRATION.items(MIGRATION.decode(raw))
        if ordered is not None:
            return KnownTotal(ordered, "the approved migration's plan", None)
        counted = self.store.latest_migration_count()
        if counted is None:
            return None
        source = "the last plan" if counted.planned else "the last complete run"
        return KnownTotal(counted.walked, source, counted.at)

    def run(
        self,
        on_progress: Callable[[Progress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        total: int | None = None,
    ) -> MigrationReport:
        """M2: move everything (resumable, idempotent). The scopes are checked before any
        write; a refused record is reported and the run goes on; ``total`` (a plan's item
        count) is handed to ``on_progress``. Stopped by ``should_stop``, it answers what it did
        with ``status`` ``interrupted``; the next run resumes."""
        self._refuse_if_retired()
        mover = self._mover(
            dry_run=False, on_progress=on_progress, should_stop=should_stop, total=total
        )
        try:
            return mover.run()
        except RunInterrupted:  # recorded as interrupted; what moved is kept
            return mover.report

    def verify(
        self,
        on_difference: Callable[[Difference], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> VerifyReport:
        """M3: compare every Sell item with its HubSpot record; the result is stored."""
        self._refuse_if_retired()
        return Verifier(
            self.hubspot,
            self.sell,
            self.store,
            mappings=self._mappings(),
            now=self.clock.now,
            on_difference=on_difference,
            on_progress=on_progress,
        ).run()

    def standing(self) -> MigrationStanding:
        return self.store.migration_standing()

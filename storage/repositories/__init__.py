"""The storage roles of :mod:`sync.ports` on SQLAlchemy, for PostgreSQL and SQLite: one module
per role (``links``, ``sell_index``, ``members``, ``marks``, ``conflicts``,
``change_requests``, ``runs``, ``audit``, ``leases``, ``markers``, ``scheduler``, ``settings``,
``remembered``, ``inbox``),
each a small class over the engine helpers of :mod:`storage.repositories.base`, and composed here,
in one place, into :class:`SqlStore`.

:class:`SqlStore` is every repository at once on one engine (it inherits them: each keeps its
own methods and state is only the shared engine and clock), so it satisfies
:class:`sync.ports.Store` with the flat method names the engine and the service call today; any
one repository built on an engine alone satisfies its role.

Concurrency, which matters because several ``web`` processes and the ``worker`` share one
database (SPEC §4), is handled per role: see each module's opening comment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from storage.repositories.audit import AuditRepository
from storage.repositories.base import CHUNK, Repository, chunked, utcnow
from storage.repositories.board import BoardRepository
from storage.repositories.bulk_holds import BulkHoldRepository
from storage.repositories.change_requests import ChangeRequestRepository
from storage.repositories.conflicts import ConflictRepository
from storage.repositories.health import HealthRepository
from storage.repositories.inbox import InboxRepository
from storage.repositories.leases import LeaseRepository
from storage.repositories.links import LinkRepository
from storage.repositories.markers import RequestMarkerRepository
from storage.repositories.marks import MarkRepository
from storage.repositories.members import MemberRepository
from storage.repositories.migration import MigrationRepository
from storage.repositories.remembered import RememberedReadRepository, RosterRepository
from storage.repositories.runs import RunRepository
from storage.repositories.scheduler import SchedulerStateRepository
from storage.repositories.sell_index import SellIndexRepository
from storage.repositories.settings import SettingsRepository

__all__ = [
    "CHUNK",
    "AuditRepository",
    "BoardRepository",
    "BulkHoldRepository",
    "ChangeRequestRepository",
    "ConflictRepository",
    "HealthRepository",
    "InboxRepository",
    "LeaseRepository",
    "LinkRepository",
    "MarkRepository",
    "MemberRepository",
    "MigrationRepository",
    "RememberedReadRepository",
    "Repository",
    "RequestMarkerRepository",
    "RosterRepository",
    "RunRepository",
    "SchedulerStateRepository",
    "SellIndexRepository",
    "SettingsRepository",
    "SqlStore",
    "chunked",
]


class SqlStore(
    SettingsRepository,
    LinkRepository,
    SellIndexRepository,
    MemberRepository,
    RosterRepository,
    RememberedReadRepository,
    MarkRepository,
    ConflictRepository,
    ChangeRequestRepository,
    BulkHoldRepository,
    RunRepository,
    AuditRepository,
    LeaseRepository,
    RequestMarkerRepository,
    SchedulerStateRepository,
    MigrationRepository,
    InboxRepository,
    HealthRepository,
    BoardRepository,
):
    """The sync state in a SQL database. Build it with :func:`storage.db.open_store`."""

    def __init__(
        self,
        engine: Engine,
        *,
        owns_engine: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(engine, clock=clock)
        self._owns_engine = owns_engine

    def close(self) -> None:
        """Close the pooled connections (when the store made its engine) and the markers'
        own file (always the store's)."""
        self.close_markers()
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlStore({self._engine.url.render_as_string(hide_password=True)!r})"


if TYPE_CHECKING:
    from sync.ports import (
        AuditLog,
        BulkHoldStore,
        ChangeRequestStore,
        ConflictStore,
        LeaseStore,
        LinkStore,
        MarkStore,
        MemberStore,
        RequestMarkerStore,
        RunLog,
        SchedulerStateStore,
        SellIndexStore,
        Store,
        SyncSettingsStore,
    )

    # mypy checks each repository against its role, and the composition against Store, here.
    def _roles(
        settings: SettingsRepository,
        links: LinkRepository,
        index: SellIndexRepository,
        members: MemberRepository,
        marks: MarkRepository,
        conflicts: ConflictRepository,
        requests: ChangeRequestRepository,
        holds: BulkHoldRepository,
        runs: RunRepository,
        audit: AuditRepository,
        leases: LeaseRepository,
        markers: RequestMarkerRepository,
        scheduler: SchedulerStateRepository,
        store: SqlStore,
    ) -> tuple[
        SyncSettingsStore,
        LinkStore,
        SellIndexStore,
        MemberStore,
        MarkStore,
        ConflictStore,
        ChangeRequestStore,
        BulkHoldStore,
        RunLog,
        AuditLog,
        LeaseStore,
        RequestMarkerStore,
        SchedulerStateStore,
        Store,
    ]:
        return (
            settings,
            links,
            index,
            members,
            marks,
            conflicts,
            requests,
            holds,
            runs,
            audit,
            leases,
            markers,
            scheduler,
            store,
        )

    from sync.ports import EventInbox, HealthStore

    def _inbox_role(inbox: InboxRepository) -> EventInbox:
        return inbox

    def _health_role(health: HealthRepository) -> HealthStore:
        return health

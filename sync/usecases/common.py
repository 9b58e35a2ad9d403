"""What every use case shares: who acts, the refusal, the audit write, the settings in force.

Each use case takes the storage roles of :mod:`sync.ports` it calls (a ``LinkStore``, an
``AuditLog`` ...), never the whole store or the engine; :class:`sync.service.SyncService` wires
them. :class:`Parts` is the whole set, for what reads across all of them (``status ITEM``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sync.errors import Refused
from sync.ports import AuditEvent, AuditLog, Clock, HubSpotPort, SellPort, Store, SyncSettings

if TYPE_CHECKING:
    from sync.engine import Engine, EngineConfig

__all__ = ["CLI_ACTOR", "Actor", "Audit", "InForce", "Parts", "Refused", "iso"]

#: The settings in force (the stored ones over the environment's): ``Engine.settings``.
InForce = Callable[[], SyncSettings]


@dataclass(frozen=True)
class Actor:
    id: str
    is_manager: bool = False
    name: str | None = None


CLI_ACTOR = Actor("cli", is_manager=True, name="command line")


@dataclass(frozen=True)
class Audit:
    """Records what a person did: one audit event, stamped now."""

    log: AuditLog
    clock: Clock

    def __call__(self, kind: str, subject: str, actor: Actor, detail: dict[str, object]) -> None:
        self.log.audit(
            AuditEvent(
                at=self.clock.now(), kind=kind, subject=subject, detail=detail, actor=actor.id
            )
        )


@dataclass(frozen=True)
class Parts:
    """The engine's ports and settings, taken apart once so each use case names what it uses."""

    engine: Engine
    store: Store
    hubspot: HubSpotPort
    sell: SellPort
    clock: Clock
    config: EngineConfig

    @classmethod
    def of(cls, engine: Engine) -> Parts:
        sell = engine.guarded_sell()  # as the Sell mode in force allows (M5)
        return cls(engine, engine.store, engine.hubspot, sell, engine.clock, engine.config)

    def settings(self) -> SyncSettings:
        """The stored threshold, list and custom mappings (seeded from the configuration)."""
        return self.engine.settings()

    def audit(self, kind: str, subject: str, actor: Actor, detail: dict[str, object]) -> None:
        Audit(self.store, self.clock)(kind, subject, actor, detail)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None

"""The settings managers approve (S1, S2): what is stored, the environment's values, and a
change made from the command line.

Every setting is an entry of :mod:`sync.settings_registry`; nothing here names one.
Each setting lives in the database once stored. Until then the environment's value applies
(``SYNC_THRESHOLD``, ``HUBSPOT_LIST_ID``, ``SYNC_BULK_LIMIT``), for that invocation only: reading
stores nothing.
Only a command that runs the sync for real stores them (:meth:`sync.engine.Engine.store_settings`,
once HubSpot confirmed the list). A stored value wins over the environment's; where the two
differ, :meth:`Settings.differences` says so, for every command to show in one line.

:meth:`Settings.change` is the operator's way to change one without Slack: validated as a
request in Slack is (a list must exist in HubSpot), audited as a change from the command line,
and, like an approved request, a new settings version when the setting re-plans (every list
member is evaluated again; a pause does not).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sync.config import EngineConfig
from sync.domain import SettingName
from sync.ports import AuditLog, Clock, CustomMapping, HubSpotPort, SyncSettingsStore
from sync.sell_mode import Standing, check_retirement
from sync.settings_registry import REGISTRY, Change, Entry, entry
from sync.settings_registry import parse_list_id as parse_list_id
from sync.usecases.common import Actor, Audit, InForce, Refused


class Origin(StrEnum):
    """How a stored value got there (from the audit log)."""

    APPROVED = "approved"  # a request approved in Slack
    COMMAND_LINE = "command_line"  # ``sellsync settings set``
    FIRST_SYNC = "first_sync"  # the environment's value, stored by the first real sync


#: Audit kinds that change a setting, and the origin each stands for.
CHANGE_KINDS = {"change_approved": Origin.APPROVED, "setting_changed": Origin.COMMAND_LINE}


def parse_setting(name: str) -> SettingName:
    """A setting by the word typed for it (``list`` or ``list_id``); Refused when unknown."""
    return entry(name).name


@dataclass(frozen=True)
class SettingRow:
    """One setting: stored (None: not yet), the environment's value (None: not set), and the
    value in force."""

    name: SettingName
    stored: str | None
    environment: str | None
    in_force: str
    origin: Origin | None = None  # how the stored value got there

    @property
    def entry(self) -> Entry[Any]:
        return REGISTRY[self.name]

    @property
    def command(self) -> str:
        """The word typed for it (``sellsync settings set WORD``)."""
        return self.entry.command

    @property
    def variable(self) -> str | None:
        return self.entry.variable

    @property
    def differs(self) -> bool:
        """Stored and set in the environment, to different values: the stored one wins."""
        return (
            self.stored is not None
            and self.environment is not None
            and self.stored != self.environment
        )


@dataclass(frozen=True)
class SettingsView:
    rows: tuple[SettingRow, ...]
    custom_mappings: tuple[CustomMapping, ...]
    version: int

    @property
    def differences(self) -> list[SettingRow]:
        return [r for r in self.rows if r.differs]


@dataclass(frozen=True)
class SettingChanged:
    setting: SettingName
    old: str
    new: str
    version: int

    @property
    def entry(self) -> Entry[Any]:
        return REGISTRY[self.setting]


class Settings:
    def __init__(
        self,
        settings_store: SyncSettingsStore,
        audit_log: AuditLog,
        hubspot: HubSpotPort,
        settings: InForce,
        clock: Clock,
        config: EngineConfig,
        standing: Standing | None = None,
    ) -> None:
        self.standing = standing  # the migration's, for retiring Sell (M5)
        self.settings_store = settings_store
        self.audit_log = audit_log
        self.hubspot = hubspot
        self.settings = settings
        self.clock = clock
        self.config = config
        self.audit = Audit(audit_log, clock)

    def view(self) -> SettingsView:
        """Every setting, stored and from the environment. Reads only."""
        config = self.config
        stored = self.settings_store.stored_settings()
        in_force = config.settings_over(stored)
        rows = []
        for kind in REGISTRY.values():
            kept, env = kind.stored(stored), kind.environment(config)
            kept_text = None if kept is None else kind.text(kept)
            now = kind.text(kind.in_force(in_force, config))
            origin = None if kept_text is None else self._origin(kind.name, kept_text)
            rows.append(
                SettingRow(
                    kind.name, kept_text, None if env is None else kind.text(env), now, origin
                )
            )
        return SettingsView(tuple(rows), stored.custom_mappings, stored.version)

    def differences(self) -> list[SettingRow]:
        """The settings whose stored value differs from the environment's (it wins)."""
        return self.view().differences

    def change(
        self,
        name: str,
        value: str,
        *,
        actor: Actor,
        reason: str,
        confirm_unverified: bool = False,
    ) -> SettingChanged:
        """Change one setting now (the operator's way without Slack): the value is checked as
        a request in Slack is, the change audited with its reason. Retiring Sell while the
        migration is not verified needs ``confirm_unverified``
        (:class:`~sync.errors.RetireUnverified`)."""
        kind = entry(name)
        if not actor.is_manager:
            raise Refused("only managers can change settings")
        if not reason.strip():
            raise Refused("say why: a change needs a reason (--reason)")
        parsed = kind.parse(value)
        new = kind.text(parsed)
        old = kind.text(kind.in_force(self.settings(), self.config))
        is_stored = kind.stored(self.settings_store.stored_settings())
        if new == old and (is_stored is not None or not kind.seeded):
            raise Refused(f"{kind.command} is already {old}")
        kind.validate(parsed, self.hubspot)
        check_retirement(kind.name, parsed, self.standing, confirmed=confirm_unverified)
        now = self.clock.now()
        after = kind.apply(self.settings_store, parsed, Change(actor.id, reason.strip()[:500], now))
        self.audit(
            "setting_changed",
            f"{kind.name}={new}",
            actor,
            {"old": old, "reason": reason.strip()[:500], "via": "command line"},
        )
        return SettingChanged(kind.name, old, new, after.version)

    def _origin(self, name: SettingName, value: str) -> Origin:
        events = self.audit_log.audit_trail(subjects=[f"{name}={value}"], limit=20)
        for event in reversed(events):  # newest first
            origin = CHANGE_KINDS.get(event.kind)
            if origin is not None:
                return origin
        return Origin.FIRST_SYNC

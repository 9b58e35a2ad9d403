"""The settings managers approve (S1, S2): what is stored, the environment's values, and a
change made from the command line.

Each setting lives in the database once stored. Until then the environment's value applies
(``SYNC_THRESHOLD``, ``HUBSPOT_LIST_ID``), for that invocation only: reading stores nothing.
Only a command that runs the sync for real stores them (:meth:`sync.engine.Engine.store_settings`,
once HubSpot confirmed the list). A stored value wins over the environment's; where the two
differ, :meth:`Settings.differences` says so, for every command to show in one line.

:meth:`Settings.change` is the operator's way to change one without Slack: validated as a
request in Slack is (a list must exist in HubSpot), audited as a change from the command line,
and, like an approved request, a new settings version (every list member is evaluated again).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sync.errors import ApiError
from sync.ports import CustomMapping
from sync.usecases.common import Actor, Parts, Refused
from sync.usecases.threshold import parse_threshold


class SettingName(StrEnum):
    """A setting shown and changed by name (``sellsync settings set NAME VALUE``)."""

    THRESHOLD = "threshold"
    LIST = "list"

    @property
    def key(self) -> str:
        """The name in change requests and the audit log (``threshold=60``, ``list_id=7``)."""
        return "list_id" if self is SettingName.LIST else self.value

    @property
    def variable(self) -> str:
        """The environment variable that seeds it."""
        return "HUBSPOT_LIST_ID" if self is SettingName.LIST else "SYNC_THRESHOLD"


class Origin(StrEnum):
    """How a stored value got there (from the audit log)."""

    APPROVED = "approved"  # a request approved in Slack
    COMMAND_LINE = "command_line"  # ``sellsync settings set``
    FIRST_SYNC = "first_sync"  # the environment's value, stored by the first real sync


#: Audit kinds that change a setting, and the origin each stands for.
CHANGE_KINDS = {"change_approved": Origin.APPROVED, "setting_changed": Origin.COMMAND_LINE}


def parse_setting(name: str) -> SettingName:
    text = name.strip().lower()
    if text == "list_id":
        return SettingName.LIST
    try:
        return SettingName(text)
    except ValueError:
        names = " or ".join(s.value for s in SettingName)
        raise Refused(f"unknown setting {name!r}: use {names}") from None


def parse_list_id(text: str) -> str:
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise Refused(f"a HubSpot list id is a number (the v3 listId), not {text!r}")
    return value


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
    def variable(self) -> str:
        return self.name.variable

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


class Settings:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def view(self) -> SettingsView:
        """Every setting, stored and from the environment. Reads only."""
        config = self.parts.config
        stored = self.parts.store.stored_settings()
        in_force = config.settings_over(stored)
        env_threshold = config.default_threshold
        values = {
            SettingName.THRESHOLD: (
                None if stored.threshold is None else str(stored.threshold),
                None if env_threshold is None else str(env_threshold),
                str(in_force.threshold),
            ),
            SettingName.LIST: (stored.list_id, config.default_list_id or None, in_force.list_id),
        }
        rows = []
        for name, (kept, env, now) in values.items():
            origin = None if kept is None else self._origin(name, kept)
            rows.append(SettingRow(name, kept, env, now, origin))
        return SettingsView(tuple(rows), stored.custom_mappings, stored.version)

    def differences(self) -> list[SettingRow]:
        """The settings whose stored value differs from the environment's (it wins)."""
        return self.view().differences

    def change(self, name: str, value: str, *, actor: Actor, reason: str) -> SettingChanged:
        """Change one setting now (the operator's way without Slack): the value is checked as
        a request in Slack is, the change audited with its reason."""
        setting = parse_setting(name)
        if not actor.is_manager:
            raise Refused("only managers can change settings")
        if not reason.strip():
            raise Refused("say why: a change needs a reason (--reason)")
        current = self.parts.settings()
        if setting is SettingName.THRESHOLD:
            new, old = str(parse_threshold(value)), str(current.threshold)
        else:
            new, old = parse_list_id(value), current.list_id
        stored = self.parts.store.stored_settings()
        is_stored = stored.threshold if setting is SettingName.THRESHOLD else stored.list_id
        if new == old and is_stored is not None:
            raise Refused(f"{setting} is already {old}")
        if setting is SettingName.LIST:
            try:
                self.parts.hubspot.get_list(new)  # it must exist
            except ApiError as exc:
                if exc.status != 404:
                    raise
                raise Refused(f"HubSpot has no list {new}; nothing changed") from None
            after = self.parts.store.update_settings(list_id=new)
        else:
            after = self.parts.store.update_settings(threshold=int(new))
        self.parts.audit(
            "setting_changed",
            f"{setting.key}={new}",
            actor,
            {"old": old, "reason": reason.strip()[:500], "via": "command line"},
        )
        return SettingChanged(setting, old, new, after.version)

    def _origin(self, name: SettingName, value: str) -> Origin:
        events = self.parts.store.audit_trail(subjects=[f"{name.key}={value}"], limit=20)
        for event in reversed(events):  # newest first
            origin = CHANGE_KINDS.get(event.kind)
            if origin is not None:
                return origin
        return Origin.FIRST_SYNC

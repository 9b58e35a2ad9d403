"""The approvable settings: one typed entry per :class:`~sync.domain.SettingName`.

A setting changes only by a manager's decision: a request approved in Slack
(:mod:`sync.usecases.approvals`) or ``sellsync settings set`` (:mod:`sync.usecases.settings`).
Everything that differs from one setting to the next lives in its entry, so those use cases,
the Slack wording and the terminal never branch on a setting's name:

* ``parse``: the text a person types → the value, or :class:`~sync.errors.Refused` in one line;
* ``validate``: checks that need the CRM (the list exists), through a narrow port;
* ``in_force`` / ``stored`` / ``environment``: the value now, the value the store holds (None:
  not stored), the environment's (None: none), and ``text`` to show and compare any of them;
* ``apply``: store a value (the caller audits the change);
* ``replans``: whether a change evaluates every list member again (the settings version);
* ``label``, ``request_words`` and ``approved_words``: how a request names the change;
* ``variable``: the environment variable that seeds it (None: there is none);
* ``seeded``: whether the first real sync stores the environment's value;
* ``holds_runs``: why no sync may start while it has its value (None: runs go on), the one
  place the service and the scheduler ask; ``note``: what the status board says about it.

The threshold and the list live in the settings row; the others in one row each
(:meth:`sync.ports.SyncSettingsStore.store_setting`). Adding a setting is its name, its entry
here, and the code that obeys it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sync.domain import Held, HowToSet, HubSpotList, SellMode, SettingName
from sync.errors import ApiError, Refused
from sync.ports import StoredSettings, SyncSettings, SyncSettingsStore

if TYPE_CHECKING:
    from sync.config import EngineConfig

T = TypeVar("T")

MAX_THRESHOLD = 1_000_000
MAX_BULK_LIMIT = 1_000_000


class ListLookup(Protocol):
    """The one CRM call a setting's validation makes: does this HubSpot list exist."""

    def get_list(self, list_id: str) -> HubSpotList: ...


@dataclass(frozen=True)
class SettingNote:
    """What the status board says about a setting in force: ``label`` (``Paused``), who set
    it, since when, why, and how to undo it."""

    label: str
    by: str
    at: datetime
    reason: str
    undo: HowToSet


@dataclass(frozen=True)
class Change:
    """Who changes a setting, why and when (``approved_by``: the manager who approved it)."""

    by: str
    reason: str
    at: datetime
    approved_by: str | None = None


def _same(text: str) -> str:
    return text


class Entry(Generic[T]):
    """One approvable setting. Subclasses give the parsing and the storage."""

    name: SettingName
    command: str  # the word typed: ``sellsync settings set WORD``, ``/sellsync WORD``
    label: str
    variable: str | None = None
    replans: bool = True
    seeded: bool = False
    slack_args: str | None = None  # the slash command's arguments asking for it ("{value}")
    needs_crm: bool = False  # its validation asks HubSpot (a change needs its token)
    shows_impact: bool = False  # a request carries what the new value would let in

    def parse(self, text: str) -> T:
        raise NotImplementedError

    def validate(self, value: T, crm: ListLookup) -> None:
        """Checks that need the CRM; nothing by default."""
        del value, crm

    def text(self, value: T) -> str:
        return str(value)

    def in_force(self, settings: SyncSettings, config: EngineConfig) -> T:
        raise NotImplementedError

    def stored(self, stored: StoredSettings) -> T | None:
        raise NotImplementedError

    def environment(self, config: EngineConfig) -> T | None:
        del config
        return None

    def apply(self, store: SyncSettingsStore, value: T, change: Change) -> StoredSettings:
        raise NotImplementedError

    def request_words(self, old: str, new: str, show: Callable[[str], str] = _same) -> str:
        """``change the engagement-score threshold from 40 to 50`` (``show`` formats values)."""
        return f"change the {self.label} from {show(old)} to {show(new)}"

    def asked_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        """``change the bulk limit to 500``: what a request asks, before it is filed."""
        return f"change the {self.label} to {show(new)}"

    def approved_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        """What approving does, for the confirmation dialog."""
        return f"The {self.label} becomes {show(new)} for the next sync."

    def holds_runs(self, settings: SyncSettings) -> Held | None:
        """Why no sync may start with the settings in force (None: it may)."""
        del settings
        return None

    def note(self, settings: SyncSettings) -> SettingNote | None:
        """What the status board says about the value in force (None: nothing)."""
        del settings
        return None

    def how_to_set(self, value: str) -> HowToSet:
        """How a person sets it to ``value``, from a terminal and (if it can) from Slack."""
        args = None if self.slack_args is None else self.slack_args.format(value=value)
        return HowToSet(self.command, value, args)


class _Stored(Entry[T]):
    """A setting kept in its own row of named settings, as :meth:`text` writes it."""

    def decode(self, text: str) -> T:
        return self.parse(text)

    def stored(self, stored: StoredSettings) -> T | None:
        raw = stored.values.get(self.name)
        return None if raw is None else self.decode(raw)

    def in_force(self, settings: SyncSettings, config: EngineConfig) -> T:
        raw = settings.values.get(self.name)
        if raw is not None:
            return self.decode(raw)
        return self.default(config)

    def default(self, config: EngineConfig) -> T:
        raise NotImplementedError

    def encode(self, value: T, change: Change) -> str:
        del change
        return self.text(value)

    def apply(self, store: SyncSettingsStore, value: T, change: Change) -> StoredSettings:
        return store.store_setting(self.name, self.encode(value, change), replans=self.replans)


# --------------------------------------------------------------------------- the entries


def parse_threshold(text: str) -> int:
    """A threshold as typed: a whole number from 0 to :data:`MAX_THRESHOLD`."""
    raw = text.strip()
    if (
        not re.fullmatch(r"[0-9]{1,7}", raw) or int(raw) > MAX_THRESHOLD
    ):  # ASCII only: int() reads "٥٠"
        raise Refused(f"threshold must be a whole number from 0 to {MAX_THRESHOLD:,}, not {raw!r}")
    return int(raw)


def parse_list_id(text: str) -> str:
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise Refused(f"a HubSpot list id is a number (the v3 listId), not {text!r}")
    return value


class ThresholdEntry(Entry[int]):
    name = SettingName.THRESHOLD
    command = "threshold"
    label = "engagement-score threshold"
    variable = "SYNC_THRESHOLD"
    seeded = True
    slack_args = "threshold {value}"
    shows_impact = True

    def parse(self, text: str) -> int:
        return parse_threshold(text)

    def in_force(self, settings: SyncSettings, config: EngineConfig) -> int:
        return settings.threshold

    def stored(self, stored: StoredSettings) -> int | None:
        return stored.threshold

    def environment(self, config: EngineConfig) -> int | None:
        return config.default_threshold

    def apply(self, store: SyncSettingsStore, value: int, change: Change) -> StoredSettings:
        return store.update_settings(threshold=value)


class ListEntry(Entry[str]):
    name = SettingName.LIST_ID
    command = "list"
    label = "synced HubSpot list"
    variable = "HUBSPOT_LIST_ID"
    seeded = True
    slack_args = "list {value}"
    needs_crm = True

    def parse(self, text: str) -> str:
        return parse_list_id(text)

    def validate(self, value: str, crm: ListLookup) -> None:
        try:
            crm.get_list(value)  # it must exist
        except ApiError as exc:
            if exc.status != 404:
                raise
            raise Refused(f"HubSpot has no list {value} (not found); nothing changed") from None

    def in_force(self, settings: SyncSettings, config: EngineConfig) -> str:
        return settings.list_id

    def stored(self, stored: StoredSettings) -> str | None:
        return stored.list_id

    def environment(self, config: EngineConfig) -> str | None:
        return config.default_list_id or None

    def apply(self, store: SyncSettingsStore, value: str, change: Change) -> StoredSettings:
        return store.update_settings(list_id=value)


class BulkLimitEntry(_Stored[int]):
    """Creations one run makes unasked (the bulk guard): a change re-offers rejected holds,
    whose scope names the limit, and evaluates every member again."""

    name = SettingName.BULK_LIMIT
    command = "bulk_limit"
    label = "bulk limit"
    variable = "SYNC_BULK_LIMIT"

    def parse(self, text: str) -> int:
        raw = text.strip()
        if not re.fullmatch(r"[0-9]{1,7}", raw) or int(raw) > MAX_BULK_LIMIT:
            raise Refused(
                f"the bulk limit is a whole number from 0 to {MAX_BULK_LIMIT:,}, not {raw!r}"
            )
        return int(raw)

    def default(self, config: EngineConfig) -> int:
        return config.bulk_limit

    def environment(self, config: EngineConfig) -> int | None:
        return config.bulk_limit if config.bulk_limit_set else None


@dataclass(frozen=True)
class Paused:
    """Who paused the sync, why, when, and the manager who approved it."""

    by: str
    reason: str
    at: datetime
    approved_by: str | None = None


PAUSE_WORDS = {"on": True, "pause": True, "paused": True, "off": False, "resume": False}


class PauseEntry(_Stored[bool]):
    """The sync paused: no scheduled run starts, and a run asked for is refused, until a
    resume. Members are not evaluated again: a resumed run goes on from its marks."""

    name = SettingName.PAUSE
    command = "pause"
    label = "pause"
    replans = False
    slack_args = None  # two subcommands ask for on and off: see how_to_set

    def parse(self, text: str) -> bool:
        word = text.strip().lower()
        if word not in PAUSE_WORDS:
            raise Refused(f"pause is on or off, not {text.strip()!r}")
        return PAUSE_WORDS[word]

    def text(self, value: bool) -> str:
        return "on" if value else "off"

    def decode(self, text: str) -> bool:
        return bool(text)  # a stored pause is its details; none stored: not paused

    def default(self, config: EngineConfig) -> bool:
        return False

    def encode(self, value: bool, change: Change) -> str:
        if not value:
            return ""  # removed
        return json.dumps(
            {
                "by": change.by,
                "reason": change.reason,
                "at": change.at.isoformat(),
                "approved_by": change.approved_by,
            }
        )

    def paused(self, settings: SyncSettings) -> Paused | None:
        """The pause in force, or None."""
        raw = settings.values.get(self.name)
        if not raw:
            return None
        data: dict[str, Any] = json.loads(raw)
        return Paused(
            by=str(data.get("by") or ""),
            reason=str(data.get("reason") or ""),
            at=datetime.fromisoformat(str(data["at"])),
            approved_by=data.get("approved_by"),
        )

    def holds_runs(self, settings: SyncSettings) -> Held | None:
        pause = self.paused(settings)
        if pause is None:
            return None
        why = f": {pause.reason}" if pause.reason.strip() else ""
        return Held(
            f"the sync is paused (by {pause.by} at {pause.at:%Y-%m-%d %H:%M} UTC{why})",
            "resume it",
            self.how_to_set("off"),
        )

    def note(self, settings: SyncSettings) -> SettingNote | None:
        pause = self.paused(settings)
        if pause is None:
            return None
        return SettingNote("Paused", pause.by, pause.at, pause.reason, self.how_to_set("off"))

    def request_words(self, old: str, new: str, show: Callable[[str], str] = _same) -> str:
        return "pause the sync" if self.parse(new) else "resume the sync"

    def asked_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        return self.request_words("", new)

    def approved_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        if self.parse(new):
            return "Scheduled runs stop, and a run asked for is refused, until a resume."
        return "Scheduled runs start again."

    def how_to_set(self, value: str) -> HowToSet:
        return HowToSet(self.command, value, "pause [reason]" if self.parse(value) else "resume")


SELL_MODE_WORDS = {m.value: m for m in SellMode} | {
    "read-only": SellMode.READ_ONLY,
    "readonly": SellMode.READ_ONLY,
}


class SellModeEntry(_Stored[SellMode]):
    """How far sellsync still uses Sell: ``active`` → ``read_only`` (nothing is written to
    Sell; its changes still reach HubSpot) → ``retired`` (Sell is not called; no sync runs,
    HubSpot is the system of record). Stored with who set it, when and why, for the status
    board. A change evaluates every list member again, so members skipped while Sell was
    read-only enter it once it is active again; a linked pair is decided afresh whenever a run
    reads it, so a value held back from Sell is written then."""

    name = SettingName.SELL_MODE
    command = "sell_mode"
    label = "Sell mode"
    slack_args = "sell-mode {value}"

    def parse(self, text: str) -> SellMode:
        word = text.strip().lower()
        if word not in SELL_MODE_WORDS:
            raise Refused(f"the Sell mode is active, read_only or retired, not {text.strip()!r}")
        return SELL_MODE_WORDS[word]

    def text(self, value: SellMode) -> str:
        return value.value

    def decode(self, text: str) -> SellMode:
        return self.parse(self._details(text).get("mode") or SellMode.ACTIVE.value)

    @staticmethod
    def _details(text: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError:
            return {"mode": text}  # a bare word
        return data if isinstance(data, dict) else {"mode": str(data)}

    def default(self, config: EngineConfig) -> SellMode:
        return SellMode.ACTIVE

    def encode(self, value: SellMode, change: Change) -> str:
        return json.dumps(
            {
                "mode": value.value,
                "by": change.by,
                "reason": change.reason,
                "at": change.at.isoformat(),
                "approved_by": change.approved_by,
            }
        )

    def mode(self, settings: SyncSettings) -> SellMode:
        """The mode in force (``active`` when none was ever set)."""
        raw = settings.values.get(self.name)
        return SellMode.ACTIVE if not raw else self.decode(raw)

    def holds_runs(self, settings: SyncSettings) -> Held | None:
        if self.mode(settings) is not SellMode.RETIRED:
            return None
        return Held(
            "Sell is retired: HubSpot is the system of record and Sell is not called",
            "bring Sell back (read-only)",
            self.how_to_set(SellMode.READ_ONLY.value),
        )

    def note(self, settings: SyncSettings) -> SettingNote | None:
        mode = self.mode(settings)
        if mode is SellMode.ACTIVE:
            return None
        details = self._details(settings.values.get(self.name) or "")
        at = details.get("at")
        label = "Sell read-only" if mode is SellMode.READ_ONLY else "Sell retired"
        back = SellMode.ACTIVE if mode is SellMode.READ_ONLY else SellMode.READ_ONLY
        return SettingNote(
            label,
            str(details.get("by") or ""),
            datetime.fromisoformat(str(at)) if at else datetime.fromtimestamp(0, UTC),
            str(details.get("reason") or ""),
            self.how_to_set(back.value),
        )

    def request_words(self, old: str, new: str, show: Callable[[str], str] = _same) -> str:
        return f"switch Sell from {show(old)} to {show(new)}"

    def asked_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        return f"switch Sell to {show(new)}"

    def approved_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        mode = self.parse(new)
        if mode is SellMode.ACTIVE:
            return "sellsync writes to Sell again from the next sync."
        if mode is SellMode.READ_ONLY:
            return (
                "From the next sync nothing is written to Sell; Sell's changes still reach HubSpot."
            )
        return (
            "Sell is not called any more and no sync runs: HubSpot becomes the system of "
            "record. Export Sell's data first."
        )


#: The migration's value when no approved move waits for the worker.
MIGRATION_IDLE = "idle"
_MIGRATION_ORDER = re.compile(r"run(?::\s*(?P<items>[0-9]{1,9})\b.{0,300})?", re.S)


class MigrationEntry(_Stored[str]):
    """Leaving Sell as an approved order for the worker: ``idle``, or ``run`` with the plan's
    counts (``run: 1600 Sell items (1000 contacts, 100 companies, 500 notes)``). Approving a
    request stores the order with who asked and who approved; the worker moves everything,
    keeps where its progress message is in the stored details, and stores ``idle`` with the
    outcome once the move is over, so a worker killed meanwhile finds the order again and
    resumes it (:mod:`sync.migration_orders`). Nothing is evaluated again."""

    name = SettingName.MIGRATION
    command = "migration"
    label = "migration to HubSpot"
    replans = False
    slack_args = "migrate"

    def parse(self, text: str) -> str:
        value = " ".join(text.split())
        if value.lower() == MIGRATION_IDLE:
            return MIGRATION_IDLE
        if not _MIGRATION_ORDER.fullmatch(value):
            raise Refused(f"the migration is run or idle, not {text.strip()[:60]!r}")
        return "run" + value[3:]

    def decode(self, text: str) -> str:
        order = self.details(text).get("order")
        return self.parse(str(order)) if order else MIGRATION_IDLE

    @staticmethod
    def details(text: str) -> dict[str, Any]:
        """The stored order's details (``order``, ``by``, ``approved_by``, ``at``, the
        worker's ``channel`` / ``ts`` and ``last``); {} when none is stored."""
        if not text:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            return {"order": text}
        return data if isinstance(data, dict) else {}

    def default(self, config: EngineConfig) -> str:
        return MIGRATION_IDLE

    def encode(self, value: str, change: Change) -> str:
        return json.dumps(
            {
                "order": value,
                "by": change.by,
                "reason": change.reason,
                "at": change.at.isoformat(),
                "approved_by": change.approved_by,
            }
        )

    @staticmethod
    def items(value: str) -> int | None:
        """The plan's Sell items an order names (the run's progress total), if it names them."""
        found = _MIGRATION_ORDER.fullmatch(value)
        return int(found["items"]) if found and found["items"] else None

    def how_to_set(self, value: str) -> HowToSet:
        """An order from Slack is ``/sellsync migrate`` (its plan's counts are the value);
        ``idle`` withdraws an approved order from a terminal."""
        return HowToSet(self.command, value, None if value == MIGRATION_IDLE else "migrate")

    def note(self, settings: SyncSettings) -> SettingNote | None:
        """An approved order the worker has not finished: who asked, when, why."""
        details = self.details(settings.values.get(self.name) or "")
        if self.decode(json.dumps(details)) == MIGRATION_IDLE:
            return None
        at = details.get("at")
        return SettingNote(
            "Migration to HubSpot approved",
            str(details.get("by") or ""),
            datetime.fromisoformat(str(at)) if at else datetime.fromtimestamp(0, UTC),
            str(details.get("reason") or ""),
            self.how_to_set(MIGRATION_IDLE),
        )

    def request_words(self, old: str, new: str, show: Callable[[str], str] = _same) -> str:
        return f"move everything out of Sell into HubSpot ({show(new)})"

    def asked_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        return "move everything out of Sell into HubSpot"

    def approved_words(self, new: str, show: Callable[[str], str] = _same) -> str:
        return (
            "The worker moves every Sell lead, contact, organization and note to HubSpot now "
            "(no sync runs meanwhile), with its progress in this channel."
        )


THRESHOLD = ThresholdEntry()
LIST_ID = ListEntry()
BULK_LIMIT = BulkLimitEntry()
PAUSE = PauseEntry()
SELL_MODE = SellModeEntry()
MIGRATION = MigrationEntry()

#: Every approvable setting, in the order they are shown.
REGISTRY: Mapping[SettingName, Entry[Any]] = {
    e.name: e for e in (THRESHOLD, LIST_ID, BULK_LIMIT, PAUSE, SELL_MODE, MIGRATION)
}


def needs_crm(name: str) -> bool:
    """Whether changing the setting typed as ``name`` asks HubSpot (False when unknown: the
    change is refused before anything is asked)."""
    text = name.strip().lower()
    return any(e.needs_crm for e in REGISTRY.values() if text in (e.name.value, e.command))


def entry(name: SettingName | str) -> Entry[Any]:
    """The entry of a setting by its name or the word typed for it (``list`` or ``list_id``)."""
    text = str(name).strip().lower()
    for e in REGISTRY.values():
        if text in (e.name.value, e.command):
            return e
    names = ", ".join(e.command for e in REGISTRY.values())
    raise Refused(f"unknown setting {str(name)!r}: use {names}")


def runs_held(settings: SyncSettings) -> Held | None:
    """Why no sync may start now, in one line (a pause …); None: runs may start."""
    return next((why for e in REGISTRY.values() if (why := e.holds_runs(settings))), None)


def notes(settings: SyncSettings) -> tuple[SettingNote, ...]:
    """What the status board says about the settings in force (a pause …)."""
    return tuple(note for e in REGISTRY.values() if (note := e.note(settings)) is not None)


def paused(settings: SyncSettings) -> Paused | None:
    """The pause in force (None: the sync runs)."""
    return PAUSE.paused(settings)


def sell_mode(settings: SyncSettings) -> SellMode:
    """The Sell mode in force: ``active`` unless a manager set another."""
    return SELL_MODE.mode(settings)


def bulk_limit(settings: SyncSettings, config: EngineConfig) -> int:
    """The bulk limit in force: stored, else ``SYNC_BULK_LIMIT``."""
    return BULK_LIMIT.in_force(settings, config)

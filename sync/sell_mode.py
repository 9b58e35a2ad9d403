"""What the ``sell_mode`` setting (M5) allows, enforced where the core calls Sell.

The planner decides no write to Sell under ``read_only`` (:class:`~sync.planner.Planner`'s
``sell_mode``) and no run starts under ``retired`` (the setting holds runs). Behind those, every
Sell port the engine hands a run, a push or a conflict's resolution goes through
:func:`guard_sell`, so a write that slipped through is refused (:class:`SellNotCalled`) before
anything is sent:

* ``active``: the port as it is;
* ``read_only``: reads go through; ``create_record`` / ``update_record`` raise;
* ``retired``: every call raises.

:func:`retirement_unverified` says when switching to ``retired`` needs a second confirmation:
while no verification of the migration vouches for everything it moved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sync.domain import Held, RecordKind, SellMode, SellRecord, SettingName
from sync.errors import RetireUnverified, RunsHeld, SellNotCalled
from sync.ports import MigrationStanding, SellPort

RETIRED_WHY = "Sell is retired (sell_mode retired): sellsync does not call it any more"
T = TypeVar("T")

READ_ONLY_WHY = "Sell is read-only (sell_mode read_only): sellsync writes nothing to it"


class _ReadOnlySell:
    """A Sell port whose writes are refused; everything else is the wrapped port's."""

    def __init__(self, port: SellPort) -> None:
        self._port = port

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def create_record(self, kind: RecordKind, values: Mapping[str, Any]) -> SellRecord:
        raise SellNotCalled(f"{READ_ONLY_WHY}: no new {kind} is created")

    def update_record(self, kind: RecordKind, id: int, values: Mapping[str, Any]) -> SellRecord:
        raise SellNotCalled(f"{READ_ONLY_WHY}: {kind}:{id} is not updated")


class _RetiredSell:
    """A Sell port that calls nothing."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise SellNotCalled(RETIRED_WHY)


def guard_sell(port: SellPort, mode: SellMode) -> SellPort:
    """``port`` as ``mode`` allows it to be used."""
    if mode is SellMode.ACTIVE:
        return port
    guarded: Any = _ReadOnlySell(port) if mode is SellMode.READ_ONLY else _RetiredSell()
    return guarded  # type: ignore[no-any-return]


def retirement_unverified(standing: MigrationStanding) -> bool:
    """Whether retiring Sell now needs a second confirmation: a migration moved items no
    verification vouches for, or nothing was ever moved and verified."""
    return standing.unverified is None or standing.unverified > 0


class _LiveGuard:
    """A Sell port guarded by the mode in force at each call (for the service's use cases,
    which live longer than one setting)."""

    def __init__(self, port: SellPort, mode: Callable[[], SellMode]) -> None:
        self._port = port
        self._mode = mode

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(guard_sell(self._port, self._mode()), name)


def live_guard(port: SellPort, mode: Callable[[], SellMode]) -> SellPort:
    """``port`` guarded by ``mode()`` as it is at each call."""
    guarded: Any = _LiveGuard(port, mode)
    return guarded  # type: ignore[no-any-return]


Standing = Callable[[], MigrationStanding]


def check_retirement(
    setting: SettingName | str, value: object, standing: Standing | None, *, confirmed: bool
) -> None:
    """Raise :class:`RetireUnverified` when ``setting`` → ``value`` retires Sell, unconfirmed,
    while :func:`retirement_unverified` (``standing``: the migration's; None: none known)."""
    if str(setting) != SettingName.SELL_MODE or str(value) != SellMode.RETIRED or confirmed:
        return
    known = standing() if standing is not None else MigrationStanding(None, 0, 0, None)
    if retirement_unverified(known):
        raise RetireUnverified(known.unverified)


class _UnlessHeld:
    """A reader of Sell that is not called while runs are held (Sell retired, the sync
    paused): what it would read could not be applied, and under ``retired`` Sell is not called
    at all."""

    def __init__(self, reader: object, held: Callable[[], Held | None]) -> None:
        self._reader = reader
        self._held = held

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        why = self._held()
        if why is not None:
            raise RunsHeld(why)
        return getattr(self._reader, name)


def unless_held(reader: T, held: Callable[[], Held | None]) -> T:
    """``reader``, refusing every call with :class:`~sync.errors.RunsHeld` while ``held()``
    says why runs are held."""
    guarded: Any = _UnlessHeld(reader, held)
    return guarded  # type: ignore[no-any-return]

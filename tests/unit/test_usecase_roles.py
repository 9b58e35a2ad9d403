"""Use cases take the storage roles they call (sync.ports), never the whole store or the
engine: what a use case may touch is readable from its constructor."""

from __future__ import annotations

import inspect
import typing

import pytest

from sync.usecases import (
    approvals,
    bulk,
    conflicts,
    digest,
    fields,
    history,
    markers,
    settings,
    status,
    threshold,
    tombstones,
)

USE_CASES = [
    approvals.Approvals,
    bulk.BulkHolds,
    conflicts.Conflicts,
    conflicts.HeldLinks,
    digest.Digest,
    fields.Fields,
    history.History,
    markers.Markers,
    settings.Settings,
    threshold.Threshold,
    tombstones.Tombstones,
]

#: What no use case takes whole: the store of every role, the engine, or both bundled.
WHOLE = {"Store", "Engine", "Parts"}


def _taken(cls: type) -> set[str]:
    hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    hints.pop("return", None)
    names = set()
    for hint in hints.values():
        name = getattr(hint, "__name__", None) or str(hint)
        names.add(name)
    return names


@pytest.mark.parametrize("cls", USE_CASES, ids=lambda c: c.__name__)
def test_a_use_case_takes_the_roles_it_uses(cls: type) -> None:
    assert inspect.signature(cls.__init__).parameters.get("parts") is None
    assert _taken(cls) & WHOLE == set()


def test_only_the_status_board_reads_the_whole_store_in_one_snapshot() -> None:
    assert _taken(status.Status) & WHOLE == {"Store"}

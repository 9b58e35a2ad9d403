"""The HubSpot stand-in's stored rows: a record (a contact, a company, a note) and a list, shared
by the stores and the contacts' merges; and how a record's values change and are rendered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.hubspot_properties import iso_ms


@dataclass
class StoredContact:
    id: str
    values: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    archived_ms: int | None = None


def write_values(values: dict[str, str], changes: Mapping[str, str | None]) -> None:
    """Each change written into ``values``: None clears a value."""
    for name, value in changes.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value


def merged_values(
    record: StoredContact | None, changes: Mapping[str, str | None]
) -> dict[str, str]:
    """The values ``record`` (None: a new one) would have after ``changes``."""
    values = dict(record.values) if record else {}
    write_values(values, changes)
    return values


def record_body(
    record: StoredContact,
    values: dict[str, str],
    wanted: Sequence[str] | None,
    *,
    all_values: bool,
    defaults: Iterable[str],
    known: Mapping[str, Any],
    always: Iterable[str],
    url: str,
) -> dict[str, Any]:
    """A ``SimplePublicObject``: every value (``all_values``), or those ``wanted`` (else the
    ``defaults``) that are ``known`` properties plus the ``always`` returned ones."""
    if all_values:
        props: dict[str, str | None] = dict(values)
    else:
        names = list(wanted) if wanted is not None else list(defaults)
        props = {n: values.get(n) for n in names if n in known}
        for name in always:
            props[name] = values.get(name)
    body: dict[str, Any] = {
        "id": record.id,
        "properties": props,
        "createdAt": iso_ms(record.created_ms),
        "updatedAt": iso_ms(record.updated_ms),
        "archived": record.archived,
        "url": url,
    }
    if record.archived and record.archived_ms is not None:
        body["archivedAt"] = iso_ms(record.archived_ms)
    return body


@dataclass
class StoredList:
    list_id: str
    name: str
    processing_type: str
    created_ms: int
    updated_ms: int
    version: int = 1  # bumped by every membership change
    members: dict[str, int] = field(default_factory=dict)  # record id -> ms it was added
    _orders: dict[str, tuple[int, list[tuple[str, int]]]] = field(default_factory=dict, repr=False)

    def ordered(self, by: str) -> list[tuple[str, int]]:
        """(record id, ms added) by record id or by join time, sorted once per version."""
        cached = self._orders.get(by)
        if cached is None or cached[0] != self.version:
            items = list(self.members.items())
            if by == "id":
                items.sort(key=lambda item: int(item[0]))
            else:
                items.sort(key=lambda item: (item[1], int(item[0])))
            cached = (self.version, items)
            self._orders[by] = cached
        return cached[1]

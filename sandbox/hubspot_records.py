"""The HubSpot stand-in's stored rows: a contact and a list, shared by the store and its merges."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StoredContact:
    id: str
    values: dict[str, str]
    created_ms: int
    updated_ms: int
    archived: bool = False
    archived_ms: int | None = None


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

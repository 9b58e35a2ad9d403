"""The bulk Sell email index as a run sees it: stored, or overlaid in memory for a dry run.

A dry run reads the same Sell pages as a real one and must match emails against what it read,
without storing anything: :class:`OverlaidEmailIndex` keeps its additions and removals in memory
over the stored index. A real run uses :class:`StoredEmailIndex`. The run picks one at start;
nothing else asks whether the run is dry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sync.domain import SellRecord, SellRef
from sync.ports import SellIndexEntry, Store


class EmailIndex(Protocol):
    def add(self, records: Iterable[SellRecord]) -> None: ...

    def remove(self, refs: Iterable[SellRef]) -> None: ...

    def find(self, emails: Iterable[str]) -> dict[str, list[SellIndexEntry]]: ...

    def find_by_tag(self, tag: str) -> list[SellIndexEntry]: ...


def _entries(records: Iterable[SellRecord]) -> list[SellIndexEntry]:
    return [
        SellIndexEntry(r.ref, r.email, r.updated_at, r.is_organization, r.tags) for r in records
    ]


class StoredEmailIndex:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, records: Iterable[SellRecord]) -> None:
        entries = _entries(records)
        if entries:
            self.store.index_sell_records(entries)

    def remove(self, refs: Iterable[SellRef]) -> None:
        refs = list(refs)
        if refs:
            self.store.remove_from_index(refs)

    def find(self, emails: Iterable[str]) -> dict[str, list[SellIndexEntry]]:
        emails = list(emails)
        return self.store.find_by_email(emails) if emails else {}

    def find_by_tag(self, tag: str) -> list[SellIndexEntry]:
        return self.store.find_by_tag(tag)


class OverlaidEmailIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.overlay: dict[SellRef, SellIndexEntry] = {}
        self.removed: set[SellRef] = set()

    def add(self, records: Iterable[SellRecord]) -> None:
        for e in _entries(records):
            self.overlay[e.ref] = e
            self.removed.discard(e.ref)

    def remove(self, refs: Iterable[SellRef]) -> None:
        self.removed.update(refs)

    def find(self, emails: Iterable[str]) -> dict[str, list[SellIndexEntry]]:
        emails = list(emails)
        found = self.store.find_by_email(emails) if emails else {}
        wanted = set(emails)
        merged: dict[str, dict[SellRef, SellIndexEntry]] = {
            e: {x.ref: x for x in entries} for e, entries in found.items()
        }
        for entry in self.overlay.values():
            for entries in merged.values():
                entries.pop(entry.ref, None)
            if entry.email in wanted:
                merged.setdefault(entry.email, {})[entry.ref] = entry
        return {
            e: [x for ref, x in entries.items() if ref not in self.removed]
            for e, entries in merged.items()
        }

    def find_by_tag(self, tag: str) -> list[SellIndexEntry]:
        return self.store.find_by_tag(tag)  # tags are matched in the stored index only

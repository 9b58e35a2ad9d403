"""``sellsync export`` (M4): what a team keeps once Zendesk deletes Sell's data.

The export is a list of :class:`ExportTable`: every Sell lead, person contact, organization,
note and user as Sell sends them, and sellsync's own links, tombstones, conflicts, settings
history and audit trail. Each table is a stream opened on demand (:attr:`ExportTable.rows`):
records are read a page at a time and handed on one by one, never gathered in memory. Writing
the files (JSON Lines, CSV, the manifest) is the caller's (``bot/export_writer.py``).

Under ``sell_mode`` ``retired`` Sell is not called, so its records cannot be read: the export
is refused in one line (:class:`~sync.errors.SellNotCalled`) instead of writing an archive
without them that could be taken for a complete one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sync.domain import Conflict, Link, LinkState, SellMode
from sync.errors import SellNotCalled
from sync.ports import AuditEvent, AuditLog, ConflictStore, LinkStore
from sync.usecases.common import iso

Row = Mapping[str, Any]

#: Audit kinds that are a step of a settings change (asked, decided, made from a terminal).
SETTINGS_KINDS = frozenset(
    {
        "change_requested",
        "change_approved",
        "change_rejected",
        "change_expired",
        "change_superseded",
        "setting_changed",
        "field_mapped",
    }
)
CONFLICT_PAGE = 500


class HasRaw(Protocol):
    @property
    def raw(self) -> Mapping[str, Any]: ...


class SellArchivePort(Protocol):
    """Everything a Sell account holds, streamed (``sync.clients.sell_archive.SellArchive``)."""

    def leads(self) -> Iterator[dict[str, Any]]: ...

    def contacts(self) -> Iterator[dict[str, Any]]: ...

    def organizations(self) -> Iterator[dict[str, Any]]: ...

    def notes(self) -> Iterator[HasRaw]: ...

    def users(self) -> Iterator[HasRaw]: ...


class ExportStore(LinkStore, ConflictStore, AuditLog, Protocol):
    """The storage roles an export reads."""


@dataclass(frozen=True)
class ExportTable:
    """One exported table: ``name`` (the files' stem), where it comes from (``sell`` or
    ``sellsync``), and ``rows``: opens a fresh stream of its records."""

    name: str
    source: str
    rows: Callable[[], Iterator[Row]]


def link_row(link: Link) -> dict[str, Any]:
    return {
        "id": link.id,
        "sell": str(link.sell),
        "hubspot_id": link.hubspot_id,
        "state": link.state.value,
        "origin": link.origin.value,
        "email": link.email,
        "last_synced_at": iso(link.last_synced_at),
        "hold_reason": None if link.hold is None else link.hold.reason.value,
        "held_with": (
            None
            if link.hold is None or link.hold.counterpart is None
            else str(link.hold.counterpart)
        ),
        "snapshot": {
            key: {"sell": s.sell, "hubspot": s.hubspot} for key, s in sorted(link.snapshot.items())
        },
    }


def conflict_row(c: Conflict) -> dict[str, Any]:
    return {
        "id": c.id,
        "sell": str(c.sell),
        "hubspot_id": c.hubspot_id,
        "field": c.field,
        "sell_value": c.sell_value,
        "hubspot_value": c.hubspot_value,
        "status": c.status.value,
        "opened_at": iso(c.opened_at),
        "resolved_by": c.resolved_by,
        "resolved_at": iso(c.resolved_at),
    }


def audit_row(e: AuditEvent) -> dict[str, Any]:
    return {
        "at": iso(e.at),
        "kind": e.kind,
        "subject": e.subject,
        "actor": e.actor,
        "run_id": e.run_id,
        "detail": dict(e.detail),
    }


def _raw(items: Iterable[HasRaw]) -> Iterator[Row]:
    return (dict(i.raw) for i in items)


class Export:
    def __init__(self, store: ExportStore, sell_mode: Callable[[], SellMode]) -> None:
        self.store = store
        self.sell_mode = sell_mode

    def tables(self, open_archive: Callable[[], SellArchivePort]) -> list[ExportTable]:
        """Every table of an export, Sell's first (``open_archive`` gives Sell's readers).
        Raises :class:`SellNotCalled` under ``retired``, before Sell's readers are opened."""
        if self.sell_mode() is SellMode.RETIRED:
            raise SellNotCalled(
                "Sell is retired (sell_mode retired): sellsync does not call it, so its records "
                "cannot be exported; switch Sell to read_only for the export"
            )
        archive = open_archive()
        return [
            ExportTable("sell_leads", "sell", archive.leads),
            ExportTable("sell_contacts", "sell", archive.contacts),
            ExportTable("sell_organizations", "sell", archive.organizations),
            ExportTable("sell_notes", "sell", lambda: _raw(archive.notes())),
            ExportTable("sell_users", "sell", lambda: _raw(archive.users())),
            *self.own_tables(),
        ]

    def own_tables(self) -> list[ExportTable]:
        """sellsync's own tables: links, tombstones, conflicts, settings history, audit."""
        return [
            ExportTable("sellsync_links", "sellsync", self._links),
            ExportTable(
                "sellsync_tombstones",
                "sellsync",
                lambda: self._links(LinkState.TOMBSTONED),
            ),
            ExportTable("sellsync_conflicts", "sellsync", self._conflicts),
            ExportTable(
                "sellsync_settings_history",
                "sellsync",
                lambda: (
                    audit_row(e) for e in self.store.audit_events() if e.kind in SETTINGS_KINDS
                ),
            ),
            ExportTable(
                "sellsync_audit", "sellsync", lambda: map(audit_row, self.store.audit_events())
            ),
        ]

    def _links(self, state: LinkState | None = None) -> Iterator[Row]:
        for batch in self.store.iter_links():
            for link in batch:
                if state is None or link.state is state:
                    yield link_row(link)

    def _conflicts(self) -> Iterator[Row]:
        offset = 0
        while True:
            page = self.store.list_conflicts(status=None, offset=offset, limit=CONFLICT_PAGE)
            yield from (conflict_row(c) for c in page)
            if len(page) < CONFLICT_PAGE:
                return
            offset += len(page)

"""Reading everything a Sell account holds, page by page: what a migration moves and an export
keeps before Sell deletes its data.

:class:`SellArchive` reads through a :class:`~sync.clients.sell.SellClient`'s session, so its
requests share the client's pacing, retries, error table and request counters
(``SellClient.archive()`` makes one). Every reader is a generator that asks for at most
:data:`~sync.clients.sell_wire.PAGE_SIZE` items a request and holds one page at a time:

* :meth:`SellArchive.leads`, :meth:`~SellArchive.contacts` (people),
  :meth:`~SellArchive.organizations` (contacts with ``is_organization``) and
  :meth:`~SellArchive.notes` walk ``sort_by=updated_at:desc`` with the overlapping windows of
  :class:`~sync.clients.sell_pages.OffsetWalk`, so a record deleted while we page cannot hide
  another one; each record is handed on once (the version first seen);
* :meth:`~SellArchive.users` and :meth:`~SellArchive.tags` are short lists read page by page
  in Sell's own order;
* :meth:`~SellArchive.count` counts the items of a collection the migration does not move
  (deals, tasks, calls, documents): Sell's list answers carry no total, so the pages are read
  and counted, ⌈N/100⌉ requests. Sell lists documents only per record: :meth:`counts` leaves
  them out when Sell refuses the account-wide list.

Leads, contacts and organizations are handed on as Sell sent them (the item's ``data``); notes,
users and tags as small frozen values that keep the raw ``data`` too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sync.clients.errors import SELL
from sync.clients.http import ApiSession
from sync.clients.pacing import Pacer
from sync.clients.sell_pages import OffsetWalk
from sync.clients.sell_wire import (
    PAGE_SIZE,
    has_next_page,
    item_data,
    parse_sell_time,
    record_id,
)
from sync.errors import ApiError, ListKeptShifting
from sync.migration.rules import Note

# Collections the migration counts and does not move.
COUNTED = ("deals", "tasks", "calls", "documents")
_EPOCH = datetime.fromtimestamp(0, UTC)

Raw = dict[str, Any]


def _optional_id(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def _text(value: object) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class SellNote(Note):
    """A ``/v2/notes`` item: ``content`` about ``resource_type`` (``lead``, ``contact``,
    ``deal``) ``resource_id``, written by user ``creator_id`` at ``created_at``; the migration's
    :class:`~sync.migration.rules.Note` with when Sell last changed it and the raw item."""

    updated_at: datetime | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SellNote:
        return cls(
            id=int(data["id"]),
            resource_type=_text(data.get("resource_type")),
            resource_id=_optional_id(data.get("resource_id")),
            content=_text(data.get("content")),
            creator_id=_optional_id(data.get("creator_id")),
            created_at=parse_sell_time(data.get("created_at")),
            updated_at=parse_sell_time(data.get("updated_at")),
            raw=data,
        )


@dataclass(frozen=True)
class SellUser:
    """A ``/v2/users`` item (a record's ``owner_id``, a note's ``creator_id``)."""

    id: int
    name: str
    email: str
    status: str
    role: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SellUser:
        return cls(
            id=int(data["id"]),
            name=_text(data.get("name")),
            email=_text(data.get("email")),
            status=_text(data.get("status")),
            role=_text(data.get("role")),
            raw=data,
        )


@dataclass(frozen=True)
class SellTag:
    """A ``/v2/tags`` item: a tag ``name`` defined for ``resource_type`` records."""

    id: int
    name: str
    resource_type: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> SellTag:
        return cls(
            id=int(data["id"]),
            name=_text(data.get("name")),
            resource_type=_text(data.get("resource_type")),
            raw=data,
        )


@dataclass(frozen=True)
class _Versioned:
    """A raw item as :class:`OffsetWalk` sees it."""

    id: int
    updated_at: datetime
    data: Raw


class SellArchive:
    """Every lead, contact, organization, note, user and tag of a Sell account, and counts of
    the rest, read through ``session`` at ``pacer``'s pace."""

    def __init__(self, session: ApiSession, pacer: Pacer) -> None:
        self._session = session
        self._pacer = pacer

    def _page(self, path: str, params: Mapping[str, str | int]) -> tuple[list[Raw], bool]:
        """One list answer: its items' ``data`` (items holding none left out) and whether
        Sell offered a next page."""
        body = (
            self._session.send_ok("GET", path, kind="archive", pacer=self._pacer, params=params)
            or {}
        )
        items = [d for d in (item_data(i) for i in body.get("items") or []) if d is not None]
        return items, bool(items) and has_next_page(body)

    def _walk(self, path: str, params: Mapping[str, str | int]) -> Iterator[Raw]:
        """Every item of ``path``, newest change first, each once (see the module's doc)."""
        walk = OffsetWalk()
        seen: set[int] = set()
        while not walk.done:
            window = walk.request()
            items, more = self._page(
                path,
                {
                    **params,
                    "sort_by": "updated_at:desc",
                    "per_page": window.per_page,
                    "page": window.page,
                },
            )
            records = []
            for data in items:
                rid = record_id(data)
                if rid is not None:
                    updated = parse_sell_time(data.get("updated_at")) or _EPOCH
                    records.append(_Versioned(rid, updated, data))
            try:
                fresh = walk.observe(window, records, more=more)
            except ListKeptShifting as exc:
                raise ApiError(SELL, f"{path}: {exc}") from exc
            for record in fresh:
                if record.id not in seen:
                    seen.add(record.id)
                    yield record.data

    def _in_order(self, path: str) -> Iterator[Raw]:
        """Every item of a short list, in Sell's own order (each list sorts by what it allows:
        tags not by id, for one)."""
        page = 1
        while True:
            items, more = self._page(path, {"per_page": PAGE_SIZE, "page": page})
            yield from (d for d in items if record_id(d) is not None)
            if not more:
                return
            page += 1

    # ------------------------------------------------------------------ records

    def leads(self) -> Iterator[Raw]:
        """Every lead, as Sell sends it."""
        return self._walk("/v2/leads", {})

    def contacts(self) -> Iterator[Raw]:
        """Every person contact (not organizations), as Sell sends it."""
        return (
            d
            for d in self._walk("/v2/contacts", {"is_organization": "false"})
            if not d.get("is_organization")
        )

    def organizations(self) -> Iterator[Raw]:
        """Every organization (a contact with ``is_organization``), as Sell sends it."""
        return (
            d
            for d in self._walk("/v2/contacts", {"is_organization": "true"})
            if d.get("is_organization")
        )

    def notes(self) -> Iterator[SellNote]:
        """Every note, on any kind of record."""
        return (SellNote.from_wire(d) for d in self._walk("/v2/notes", {}))

    def users(self) -> Iterator[SellUser]:
        """Every user of the account, active or not."""
        return (SellUser.from_wire(d) for d in self._in_order("/v2/users"))

    def tags(self) -> Iterator[SellTag]:
        """Every tag, of any resource type."""
        return (SellTag.from_wire(d) for d in self._in_order("/v2/tags"))

    # ------------------------------------------------------------------ counts

    def count(self, collection: str) -> int:
        """How many items ``/v2/<collection>`` lists (one of :data:`COUNTED`)."""
        if collection not in COUNTED:
            raise ValueError(f"not a counted collection: {collection!r}")
        return sum(1 for _ in self._in_order(f"/v2/{collection}"))

    def counts(self) -> dict[str, int]:
        """:meth:`count` of every collection in :data:`COUNTED` that Sell lists account-wide.
        Sell lists documents only per record (``resource_type`` and ``resource_id`` are
        required: a 400 account-wide), and one read per record would cost more than the whole
        export: such a collection is left out rather than counted wrong."""
        out: dict[str, int] = {}
        for name in COUNTED:
            try:
                out[name] = self.count(name)
            except ApiError as exc:
                if exc.status != 400:
                    raise
        return out

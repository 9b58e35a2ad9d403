"""Typed marks: one per feed, each turning the store's :class:`~sync.domain.FeedMark` into
what that feed needs, and back.

They follow Airbyte CDK's ``Cursor``: ``observe`` every record (or page) read, ``close_slice``
once what was read has been applied, which gives the mark to store. Nothing here does I/O: the
run stores the mark, and only when it applies (a dry run reads the same pages and stores none).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sync.domain import FeedMark, LeadConversion, Link, RecordKind, SellRecord

HUBSPOT_CHANGES = "hubspot:changes"
LIST_MEMBERS = "hubspot:members"


def sell_changes_name(kind: RecordKind) -> str:
    """The stored name of the Sell change feed of ``kind`` (leads or contacts)."""
    return f"sell:{kind}"


def sell_index_name(kind: RecordKind) -> str:
    """The stored name of a push's index refresh of ``kind`` (it never moves the run's feed)."""
    return f"index:{kind}"


@dataclass
class SellChangeMark:
    """``(updated_at, id)`` of the newest Sell record read.

    Sell pages come newest first, so the mark may only move once the whole feed has been read
    and applied: a run killed half way must read the older pages again.
    """

    since: datetime | None = None
    since_id: str | None = None
    _newest: tuple[datetime, int] | None = field(default=None, repr=False)

    @classmethod
    def from_mark(cls, mark: FeedMark | None) -> SellChangeMark:
        if mark is None:
            return cls()
        return cls(since=mark.updated_at, since_id=mark.last_id)

    def observe(self, page: Sequence[SellRecord]) -> None:
        for r in page:
            key = (r.updated_at, r.id)
            if self._newest is None or key > self._newest:
                self._newest = key

    def close_slice(self) -> FeedMark | None:
        """The mark to store, or None when nothing newer than ``since`` was read."""
        if self._newest is None:
            return None
        updated_at, rid = self._newest
        if self.since is not None and updated_at <= self.since:
            return None
        return FeedMark(updated_at=updated_at, last_id=str(rid))


@dataclass
class HubSpotChangeMark:
    """The ``lastmodifieddate`` (ms) up to which HubSpot's changes were applied.

    HubSpot pages come oldest first, so the mark moves after every applied page. ``None``
    until a first run starts watching.

    ``read_at_ms`` (kept in the stored mark's ``last_id``) is when, by the run's clock, the walk
    that read through to the position began; only a walk read and applied whole stores it. Once
    that was an overlap or more after the position, every contact modified up to the position
    was in the search index when the walk read it, so the next walk starts just after the
    position instead of re-reading the overlap (after a burst of changes, every idle run would
    otherwise page through the burst again).
    """

    position_ms: int | None = None
    read_at_ms: int | None = None

    @classmethod
    def from_mark(cls, mark: FeedMark | None) -> HubSpotChangeMark:
        if mark is None:
            return cls()
        raw = mark.last_id
        read_at = int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None
        return cls(position_ms=mark.position_ms, read_at_ms=read_at)

    def settled(self, overlap_ms: int) -> bool:
        return (
            self.position_ms is not None
            and self.read_at_ms is not None
            and self.read_at_ms - overlap_ms >= self.position_ms
        )

    def since_ms(self, overlap_ms: int) -> int:
        """Where to read from: the position less an overlap for late index updates, or just
        after it once a walk read the overlap an overlap after the position."""
        assert self.position_ms is not None
        if self.settled(overlap_ms):
            return self.position_ms + 1
        return max(0, self.position_ms - overlap_ms)

    def start(self, now_ms: int) -> FeedMark:
        """A first run: every member is read as new; changes are watched from now on."""
        self.position_ms = now_ms
        return FeedMark(position_ms=now_ms)

    def observe(self, high_water_ms: int) -> None:
        assert self.position_ms is not None
        self.position_ms = max(self.position_ms, high_water_ms)

    def close_slice(self) -> FeedMark:
        return FeedMark(position_ms=self.position_ms)

    def close_walk(self, started_ms: int) -> FeedMark:
        """The mark once a walk that began at ``started_ms`` was read and applied whole."""
        self.read_at_ms = started_ms
        return FeedMark(position_ms=self.position_ms, last_id=str(started_ms))


@dataclass(frozen=True)
class MembersEvaluatedKey:
    """Which list, under which settings version, the stored evaluated members belong to.

    A different key (another list, changed settings) means every member is evaluated again.
    """

    list_id: str
    settings_version: int

    @property
    def text(self) -> str:
        return f"{self.list_id}:{self.settings_version}"

    def matches(self, mark: FeedMark | None) -> bool:
        return mark is not None and mark.last_id == self.text

    def close_slice(self) -> FeedMark:
        return FeedMark(last_id=self.text)


LEAD_CONVERSIONS = "sell:lead_conversions"


@dataclass
class ConversionMark:
    """The id of the newest Sell lead conversion followed (ids only grow).

    Conversions are read oldest first, so the mark may move after every applied batch.
    """

    after_id: int = 0

    @classmethod
    def from_mark(cls, mark: FeedMark | None) -> ConversionMark:
        raw = None if mark is None else mark.last_id
        return cls(int(raw) if raw is not None and raw.isascii() and raw.isdigit() else 0)

    def observe(self, conversions: Sequence[LeadConversion]) -> None:
        self.after_id = max([self.after_id, *(c.id for c in conversions)])

    def close_slice(self) -> FeedMark:
        return FeedMark(last_id=str(self.after_id))


LINK_CHECK = "links:check"


@dataclass
class LinkCheckMark:
    """How far the rotating check of linked Sell records got: the stored id of the last link
    checked. The next run carries on after it, and starts again from the first link after the
    last; links added meanwhile join the round, links removed leave no gap."""

    after_id: int = 0

    @classmethod
    def from_mark(cls, mark: FeedMark | None) -> LinkCheckMark:
        raw = None if mark is None else mark.last_id
        return cls(int(raw) if raw is not None and raw.isascii() and raw.isdigit() else 0)

    def observe(self, batch: Sequence[Link]) -> None:
        ids = [link.id for link in batch if link.id is not None]
        if ids:
            self.after_id = ids[-1]

    def close_slice(self) -> FeedMark:
        return FeedMark(last_id=str(self.after_id))


JOIN_ORDER = "hubspot:joins"


@dataclass
class JoinOrderMark:
    """How far the synced list's join order was read, and when its membership was last read
    whole (the sweep).

    ``page_after`` is the paging token of the page holding ``last_id``, the last member read
    (None: the first page). A read starts on that page again, so it can check ``last_id`` is
    still where it was: members who left before it move every later one up, and a read that
    does not find it reads the list whole instead. Joins come oldest first, so the mark moves
    after every applied page. Stored for one list: another list starts with no mark.
    """

    list_id: str
    page_after: str | None = None
    last_id: str | None = None
    swept_at: datetime | None = None

    @classmethod
    def from_mark(cls, list_id: str, mark: FeedMark | None) -> JoinOrderMark:
        try:
            stored = json.loads(mark.last_id) if mark is not None and mark.last_id else None
        except ValueError:
            stored = None
        if not isinstance(stored, list) or len(stored) != 3 or stored[0] != list_id:
            return cls(list_id)
        _, page_after, last_id = stored
        assert mark is not None
        return cls(
            list_id,
            page_after if isinstance(page_after, str) else None,
            last_id if isinstance(last_id, str) else None,
            mark.updated_at,
        )

    def restart(self, swept_at: datetime) -> None:
        """A sweep: the join order is read from its first page."""
        self.page_after = self.last_id = None
        self.swept_at = swept_at

    def observe(self, page_after: str | None, ids: Sequence[str]) -> None:
        if ids:
            self.page_after, self.last_id = page_after, ids[-1]

    def close_slice(self) -> FeedMark:
        text = json.dumps([self.list_id, self.page_after, self.last_id], separators=(",", ":"))
        return FeedMark(updated_at=self.swept_at, last_id=text)

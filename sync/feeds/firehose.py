"""Sell's Firehose: the leads and contacts streams followed from a stored position.

Where the account has Sell's premium APIs, ``GET /v3/leads/stream`` and ``/v3/contacts/stream``
list every write to a lead or a contact, oldest first, from a *position*
(``reference/sell-api.md`` §6c). :class:`FirehoseFeed` follows one stream as a
:class:`~sync.feeds.base.Feed`: each page is the Sell records its events name, as hints (an
event's values are never used: the run reads each record as it is now, so an echo of our own
write, a repeat or an out-of-order event changes nothing), and the position the page reaches,
stored only once the page was applied (a process killed in between reads the page again). It
reads while ``meta.top`` is false; empty pages short of the top are normal.

A ``deleted`` event is a hint like any other: the record is read back, and a lead that is gone is
looked up among the conversions before it is tombstoned (a converted lead leaves the leads list,
and its stream says ``deleted``).

What a stream may answer besides a page is a value, not an exception:

* :data:`EXPIRED` (``410 Gone``): the stored position is older than the 72 hours Sell keeps; what
  happened meanwhile is only found by a full reconcile, after which the stream is followed from
  its ``top``;
* :data:`UNAVAILABLE` (``403``/``404``): the account has no Firehose (the premium APIs, or a token
  that is not the root user's); remembered (under :data:`FIREHOSE_ABSENT`) and asked again at
  most daily, while Sell's ``updated_at`` feed is polled instead.

Nothing here does I/O of its own: the client (:mod:`sync.clients.sell_firehose`) reads, the
caller stores marks (:mod:`sync.pipeline.firehose`).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sync.domain import FeedMark, RecordKind, SellRef
from sync.feeds.base import Page, SaveMark

#: Events asked for in one page (Sell's most).
PAGE_LIMIT = 100
#: After a 403/404, how long before the Firehose is asked again.
RECHECK = timedelta(days=1)
#: Where a stream is started when no position is stored (the reconcile covers the past).
TOP = "top"


def firehose_name(kind: RecordKind) -> str:
    """The stored name of the Firehose position of ``kind``."""
    return f"firehose:{kind}"


#: The remembered read (:class:`sync.ports.RememberedReads`) of "this account has no Firehose":
#: when Sell said so, kept for :data:`RECHECK`.
FIREHOSE_ABSENT = "firehose:absent"


@dataclass(frozen=True)
class FirehoseEvent:
    """One event of a stream: which record, and what happened to it (a hint only)."""

    kind: RecordKind
    id: int
    event: str  # created | updated | deleted
    at: datetime | None = None

    @property
    def ref(self) -> SellRef:
        return SellRef(self.kind, self.id)


@dataclass(frozen=True)
class FirehosePage:
    """A stream page: its events, the position after them, and whether that is the top."""

    events: tuple[FirehoseEvent, ...]
    position: str
    top: bool


class FirehoseRefusal(enum.Enum):
    """What a stream answers instead of a page."""

    EXPIRED = "expired"  # 410: the position is older than the stream keeps
    UNAVAILABLE = "unavailable"  # 403/404: no Firehose for this account or token


EXPIRED = FirehoseRefusal.EXPIRED
UNAVAILABLE = FirehoseRefusal.UNAVAILABLE


class SellFirehosePort(Protocol):
    """Reads one page of a Firehose stream."""

    def stream(
        self, kind: RecordKind, position: str, *, limit: int = PAGE_LIMIT
    ) -> FirehosePage | FirehoseRefusal: ...


@dataclass(frozen=True)
class FirehoseMark:
    """The stored position of one stream, and when it was stored (its age feeds ``status``)."""

    position: str | None = None
    stored_at: datetime | None = None

    @classmethod
    def from_mark(cls, mark: FeedMark | None) -> FirehoseMark:
        if mark is None or not mark.last_id:
            return cls()
        return cls(mark.last_id, mark.updated_at)

    @staticmethod
    def at(position: str, now: datetime) -> FeedMark:
        return FeedMark(updated_at=now, last_id=position)


class FirehoseFeed:
    """One stream followed from ``position`` until its top, as a
    :class:`~sync.feeds.base.Feed` of record hints.

    After :meth:`read` returns None, :attr:`refused` says why when it was not the top: the
    stream's :class:`FirehoseRefusal`. ``max_pages`` bounds one follow (a backlog is read on
    the next)."""

    def __init__(
        self,
        firehose: SellFirehosePort,
        kind: RecordKind,
        position: str,
        *,
        save: SaveMark,
        now: datetime,
        max_pages: int = 50,
    ) -> None:
        self.firehose = firehose
        self.kind = kind
        self.position = position
        self.save = save
        self.now = now
        self.stage = f"sell {kind}s firehose"
        self.refused: FirehoseRefusal | None = None
        self.events = 0  # events read
        self._top = False
        self._pages_left = max_pages

    @property
    def at_top(self) -> bool:
        return self._top

    def read(self) -> Page[SellRef] | None:
        if self._top or self.refused is not None or self._pages_left <= 0:
            return None
        self._pages_left -= 1
        answer = self.firehose.stream(self.kind, self.position)
        if isinstance(answer, FirehoseRefusal):
            self.refused = answer
            return None
        self._top = answer.top
        self.events += len(answer.events)
        return Page(hints(answer.events), FirehoseMark.at(answer.position, self.now))

    def close(self, page: Page[SellRef]) -> None:
        """``page`` was applied: its position is stored (and read from next)."""
        if page.mark is not None and page.mark.last_id:
            self.save(firehose_name(self.kind), page.mark)
            self.position = page.mark.last_id


def hints(events: Sequence[FirehoseEvent]) -> list[SellRef]:
    """The records ``events`` name, each once, in the order first named."""
    return list(dict.fromkeys(e.ref for e in events))

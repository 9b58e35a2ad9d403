"""Where a newest-first walk of a Sell list stands: offset pages that cannot skip a record.

Sell's Core API has no ``updated_since`` filter, so changes are read with
``sort_by=updated_at:desc`` and ``page``/``per_page`` offsets. Offsets are positions in the list
*at the moment each page is answered*. A record updated or created while we page moves to the
top and pushes everything down one place: a later page repeats a record (harmless, dropped
here). A record *deleted* (or a lead converted) above the next offset pulls everything up one
place: the record that would have opened the next page slides into the page already read and
is never seen. Its change would stay hidden until something touched it again.

The walk makes that impossible by overlapping windows and checking the seam:

* every window after the first starts at least ``overlap`` places before the end of what was
  read. Aligned pages of one size never overlap, so each window picks the page size (at most
  100) whose aligned page straddles that point and reaches furthest (typically 85 to 95 new
  records a call; ``bench/api_economy.py`` counts them);
* a window is *anchored* when it starts at the top of the list or holds a record read in an
  anchored window with the same ``updated_at`` (so it did not move meanwhile). One page is one
  moment of the list: an anchored window holds everything between its anchor and its end, and
  by induction the anchored windows together hold every record that did not change during the
  walk, from the top down to where the walk stops;
* a window without an anchor means more records left the list above it than the overlap:
  the walk steps back to that window's start and tries again (each step back moves at least
  ``overlap`` places towards the top, where a window is always anchored).

The walk stops at the first anchored window that reaches a record older than the bound, or the
end of the list. A list that keeps shifting faster than the walk can step back stops it with
:class:`ListKeptShifting` after ``max_steps_back`` retries; the run then fails and the mark is
not moved, so the next run reads the same range again. Records changed while the walk runs are
seen by this walk or, being newer than anything it observed, by the next one.

Nothing here does I/O: the client (and the in-memory fake) send :meth:`OffsetWalk.request` and
hand the answer to :meth:`OffsetWalk.observe`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from sync.errors import ListKeptShifting

PAGE_MAX = 100  # Sell's largest per_page
OVERLAP = 5  # places each window re-reads of the previous one
MAX_STEPS_BACK = 50


class Versioned(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def updated_at(self) -> datetime: ...


R = TypeVar("R", bound=Versioned)


@dataclass(frozen=True)
class Window:
    """``per_page`` records from offset ``start`` (Sell's 1-based ``page``)."""

    page: int
    per_page: int

    @property
    def start(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def end(self) -> int:
        return self.start + self.per_page


def window_after(position: int, *, overlap: int = OVERLAP, page_max: int = PAGE_MAX) -> Window:
    """The aligned page that starts at least ``overlap`` places before ``position``, ends after
    it, and reaches furthest; the first page when ``position`` is within ``overlap`` of the top."""
    if not 0 <= overlap < page_max:
        raise ValueError("overlap must be at least 0 and below page_max")
    latest = position - overlap
    if latest <= 0:
        return Window(1, page_max)
    best = Window(1, page_max)
    for size in range(page_max, overlap, -1):
        start = latest // size * size
        if start + size > position and start + size > best.end:
            best = Window(start // size + 1, size)
    return best


@dataclass
class OffsetWalk:
    """One newest-first walk down to ``bound`` (None: the whole list)."""

    bound: datetime | None = None
    overlap: int = OVERLAP
    page_max: int = PAGE_MAX
    max_steps_back: int = MAX_STEPS_BACK
    position: int = 0  # the anchored windows hold the list down to this offset
    anchors: dict[int, datetime] = field(default_factory=dict)  # read in anchored windows
    yielded: dict[int, datetime] = field(default_factory=dict)
    steps_back: int = 0
    done: bool = False

    def request(self) -> Window:
        return window_after(self.position, overlap=self.overlap, page_max=self.page_max)

    def observe(self, window: Window, records: Sequence[R], *, more: bool) -> list[R]:
        """Take the answer to ``window`` (``more``: Sell offered a next page); → the records
        to hand on: in range and not handed on before in the same version."""
        fresh = [
            r
            for r in records
            if self.yielded.get(r.id) != r.updated_at
            and (self.bound is None or r.updated_at >= self.bound)
        ]
        for r in fresh:
            self.yielded[r.id] = r.updated_at
        anchored = window.start == 0 or any(self.anchors.get(r.id) == r.updated_at for r in records)
        if not anchored:
            self.steps_back += 1
            if self.steps_back > self.max_steps_back:
                raise ListKeptShifting(self.steps_back)
            self.position = window.start
            return fresh
        for r in records:
            self.anchors[r.id] = r.updated_at
        self.position = window.start + len(records)
        reached_bound = self.bound is not None and any(r.updated_at < self.bound for r in records)
        if reached_bound or not more or len(records) < window.per_page:
            self.done = True
        return fresh

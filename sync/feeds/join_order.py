"""The synced list's joins: members who joined since the stored mark, from HubSpot's join order.

HubSpot has no webhook for list membership. ``GET /crm/lists/{version}/{listId}/memberships/
join-order`` lists members oldest join first, so the members who joined since the last read are
at its end: reading from the page that held the last member read costs **one call** when no one
joined, whatever the list's size. The feed yields the joined ids page by page (the run reads
their properties with ``batch/read``, 100 a call) and its mark moves once a page is applied.

The same walk from the first page is the *sweep*: the whole membership, read at most daily (and
whenever the join order cannot be followed: the last member read left the list, or members
before it left and it moved to an earlier page). Leaving the list changes nothing for a linked
pair, so nothing but the sweep needs to see departures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from sync.feeds.base import Feed, Page, SaveMark
from sync.feeds.marks import JOIN_ORDER, JoinOrderMark
from sync.ports import HubSpotPort, JoinPage

#: How long the membership read whole by a sweep is trusted before it is read whole again.
SWEEP_EVERY = timedelta(days=1)
#: Members a join-order page holds (HubSpot's largest page): the list read whole costs
#: ⌈members / MEMBERSHIP_PAGE⌉ calls.
MEMBERSHIP_PAGE = 250

Item = TypeVar("Item")


def sweep_due(mark: JoinOrderMark, now: datetime, every: timedelta = SWEEP_EVERY) -> bool:
    """Whether the list must be read whole: never swept, or not within ``every``."""
    return mark.swept_at is None or now - mark.swept_at >= every


class JoinOrderFeed:
    """A :class:`~sync.feeds.base.Feed` of member ids (oldest join first); the mark moves after
    every applied page. With ``sweep`` (or when the join order cannot be followed from the
    mark) it reads the whole membership and :attr:`swept` is True; with ``follow_only`` (a
    short poll) it never does, and reads nothing until a reconcile has swept the list.

    ``joined``, if given, is told each page's ids once the page is applied, before the mark
    moves (the run adds them to the roster of members)."""

    stage = "list joins"

    def __init__(
        self,
        hubspot: HubSpotPort,
        mark: JoinOrderMark,
        *,
        sweep: bool,
        now: Callable[[], datetime],
        save: SaveMark | None = None,
        joined: Callable[[Sequence[str]], None] | None = None,
        follow_only: bool = False,
    ) -> None:
        self.hubspot = hubspot
        self.mark = mark
        self.sweep = sweep
        self.now = now
        self.save = save
        self.joined = joined
        self.follow_only = follow_only
        self.swept = False  # True once this feed reads the membership whole
        self._pages: Iterator[list[str]] | None = None

    def read(self) -> Page[str] | None:
        if self._pages is None:
            self._pages = self.pages()
        ids = next(self._pages, None)
        return None if ids is None else Page(ids, self.mark.close_slice())

    def close(self, page: Page[str]) -> None:
        if self.joined is not None and page.items:
            self.joined(page.items)
        if self.save is not None and page.mark is not None:
            self.save(JOIN_ORDER, page.mark)

    def pages(self) -> Iterator[list[str]]:
        if not self.sweep and self.mark.swept_at is not None:
            pages = self.hubspot.list_join_pages(self.mark.list_id, self.mark.page_after)
            first = next(pages, None)
            joined = None if first is None else self._joined(first)
            if first is not None and joined is not None:
                self.mark.observe(first.after, first.ids)
                if joined:
                    yield joined
                for page in pages:
                    self.mark.observe(page.after, page.ids)
                    if page.ids:
                        yield list(page.ids)
                return
        if self.follow_only:
            return  # the list is read whole by a reconcile, never by a short poll
        # the sweep: every member, and the mark restarts at the join order's end
        self.swept = True
        self.mark.restart(self.now())
        for page in self.hubspot.list_join_pages(self.mark.list_id, None):
            self.mark.observe(page.after, page.ids)
            yield list(page.ids)  # an empty list's one empty page still stores the sweep

    def _joined(self, page: JoinPage) -> list[str] | None:
        """The ids after the last one read, or None when it is not on its page any more."""
        if self.mark.last_id is None:
            return list(page.ids)
        try:
            at = list(page.ids).index(self.mark.last_id)
        except ValueError:
            return None
        return list(page.ids[at + 1 :])


class ReadAhead(Generic[Item]):
    """A feed whose pages are read now and applied later: a run needs the list's membership
    before its change feeds, and applies the joins after them. Closing still goes through the
    feed, once each page was applied."""

    def __init__(self, feed: Feed[Item]) -> None:
        self.feed = feed
        self.stage = feed.stage
        self.pages: list[Page[Item]] = list(iter(feed.read, None))
        self._left = iter(self.pages)

    @property
    def items(self) -> list[Item]:
        return [item for page in self.pages for item in page.items]

    def read(self) -> Page[Item] | None:
        return next(self._left, None)

    def close(self, page: Page[Item]) -> None:
        self.feed.close(page)

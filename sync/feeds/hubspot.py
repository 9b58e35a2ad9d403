"""The HubSpot change feed: contacts whose ``lastmodifieddate`` passed the stored position.

It yields linked contacts changed in HubSpot and members whose score may have risen. The
client walks HubSpot's 10k search window (:class:`~sync.clients.hubspot_search.SearchCursor`);
this feed only keeps the position between runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from sync.domain import HubSpotContact
from sync.feeds.base import Page, SaveMark
from sync.feeds.marks import HUBSPOT_CHANGES, HubSpotChangeMark
from sync.ports import ChangePage, HubSpotPort


class HubSpotChangeFeed:
    """A :class:`~sync.feeds.base.Feed`: oldest first, so the mark moves after every page. A
    first run reads no page: every member is read as new, and changes are watched from now."""

    stage = "hubspot changes"

    def __init__(
        self,
        hubspot: HubSpotPort,
        mark: HubSpotChangeMark,
        *,
        overlap_ms: int,
        properties: Callable[[], Sequence[str]] = list,
        now_ms: Callable[[], int] = lambda: 0,
        save: SaveMark | None = None,
    ) -> None:
        self.hubspot = hubspot
        self.mark = mark
        self.overlap_ms = overlap_ms
        self.properties = properties  # read once the first page is (a first run reads none)
        self.now_ms = now_ms
        self.save = save
        self._pages: Iterator[ChangePage] | None = None
        self._started = False
        self._walk_began: int | None = None
        self._read_any = False
        self._was_settled = False

    def read(self) -> Page[HubSpotContact] | None:
        if self._pages is None:
            if self._started:
                return None  # a first run's closing page was read
            self._started = True
            if self.mark.position_ms is None:
                return Page([], self.mark.start(self.now_ms()), final=True)
            was_settled = self.mark.settled(self.overlap_ms)
            self._walk_began = self.now_ms()
            self._pages = self.pages(self.properties())
            self._was_settled = was_settled  # nothing read then: the stored mark says it all
        page = next(self._pages, None)
        if page is not None:
            self._read_any = True
            return Page(page.contacts, self.mark.close_slice())
        if self._walk_began is None or (self._was_settled and not self._read_any):
            return None
        began, self._walk_began = self._walk_began, None  # read whole: when it began
        return Page([], self.mark.close_walk(began), final=True)

    def close(self, page: Page[HubSpotContact]) -> None:
        if self.save is not None and page.mark is not None:
            self.save(HUBSPOT_CHANGES, page.mark)

    def pages(self, properties: Sequence[str]) -> Iterator[ChangePage]:
        since = self.mark.since_ms(self.overlap_ms)
        for page in self.hubspot.changed_pages(since, properties):
            self.mark.observe(page.high_water_ms)
            yield page

"""The HubSpot change feed: contacts whose ``lastmodifieddate`` passed the stored position.

It yields linked contacts changed in HubSpot and members whose score may have risen. The
client walks HubSpot's 10k search window (:class:`~sync.clients.hubspot_search.SearchCursor`);
this feed only keeps the position between runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sync.feeds.cursors import HubSpotChangeCursor
from sync.ports import ChangePage, HubSpotPort


class HubSpotChangeFeed:
    def __init__(
        self,
        hubspot: HubSpotPort,
        cursor: HubSpotChangeCursor,
        *,
        overlap_ms: int,
    ) -> None:
        self.hubspot = hubspot
        self.cursor = cursor
        self.overlap_ms = overlap_ms

    def pages(self, properties: Sequence[str]) -> Iterator[ChangePage]:
        since = self.cursor.since_ms(self.overlap_ms)
        for page in self.hubspot.changed_pages(since, properties):
            self.cursor.observe(page.high_water_ms)
            yield page

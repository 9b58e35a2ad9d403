"""Where a HubSpot change search stands: the cursor that pages past the 10,000-result window.

HubSpot's search pages through at most 10,000 results of one query (``after`` cannot pass it),
so reading every contact changed since a time takes several queries. :class:`SearchCursor`
decides them; the client only sends what :meth:`SearchCursor.request` returns and hands each
page back to :meth:`SearchCursor.observe`. Nothing here does I/O, so each step of the walk can
be tested with plain values.

The walk: sort by ``lastmodifieddate`` ascending from ``since``; before a page would pass the
cap, restart the query at the newest ``lastmodifieddate`` seen (GTE), dropping contacts already
yielded in the same version (id, lastmodifieddate). If a whole query's worth of contacts share
one ``lastmodifieddate``, page that timestamp by ``hs_object_id`` instead, then carry on after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.domain import HubSpotContact

SEARCH_PAGE = 200
SEARCH_CAP = 10_000  # results one search query can page through


@dataclass
class SearchCursor:
    """The state of one change search; ``done`` once every page has been observed."""

    lower: int  # lastmodifieddate bound of the current query
    page_size: int = SEARCH_PAGE
    result_cap: int = SEARCH_CAP
    operator: str = "GTE"  # GT once a tied timestamp has been paged by id
    tie: tuple[int, int] | None = None  # (lastmodifieddate, last hs_object_id) in tie mode
    after: int = 0  # offset within the current query
    segment_max: int = 0  # newest lastmodifieddate seen since the query started
    seen: dict[str, int] = field(default_factory=dict)  # id -> lastmodifieddate yielded
    done: bool = False

    @classmethod
    def since(
        cls, since_ms: int, *, page_size: int = SEARCH_PAGE, result_cap: int = SEARCH_CAP
    ) -> SearchCursor:
        lower = int(since_ms)
        return cls(lower=lower, page_size=page_size, result_cap=result_cap, segment_max=lower)

    def request(self, properties: Sequence[str]) -> dict[str, Any]:
        """The search body for the next page."""
        if self.tie is None:
            filters = [
                {"propertyName": "lastmodifieddate", "operator": self.operator,
                 "value": str(self.lower)},
            ]  # fmt: skip
            sort = {"propertyName": "lastmodifieddate", "direction": "ASCENDING"}
        else:
            filters = [
                {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(self.tie[0])},
                {"propertyName": "hs_object_id", "operator": "GT", "value": str(self.tie[1])},
            ]
            sort = {"propertyName": "hs_object_id", "direction": "ASCENDING"}
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [sort],
            "properties": list(properties),
            "limit": self.page_size,
            "after": str(self.after),
        }

    def observe(
        self, contacts: Sequence[HubSpotContact], *, next_after: object, total: object
    ) -> list[HubSpotContact]:
        """Record the page answering :meth:`request`; → its contacts not yielded before.

        ``next_after`` is ``paging.next.after`` (None on the last page), ``total`` the
        answer's ``total``: at the cap HubSpot may stop offering a next page although
        ``total`` is larger.
        """
        fresh = [c for c in contacts if self.seen.get(c.id) != c.updated_at_ms]
        for contact in contacts:
            self.seen[contact.id] = contact.updated_at_ms
            self.segment_max = max(self.segment_max, contact.updated_at_ms)
        reached = self.after + len(contacts)
        more = next_after is not None or (isinstance(total, int) and total > reached)
        if not contacts or not more:
            if self.tie is None:
                self.done = True
            else:  # every contact at the tied timestamp is done: carry on after it
                self.lower, self.operator, self.tie, self.after = self.tie[0], "GT", None, 0
                self.seen = {}
            return fresh
        self.after = int(str(next_after)) if next_after is not None else reached
        if self.after + self.page_size <= self.result_cap:
            return fresh
        # The next page would pass the cap: restart the query.
        if self.tie is not None:
            self.tie = (self.tie[0], max(int(c.id) for c in contacts if c.id.isdigit()))
        elif self.segment_max > self.lower or self.operator == "GT":
            self.lower, self.operator = self.segment_max, "GTE"
            self.seen = {k: v for k, v in self.seen.items() if v >= self.lower}
        else:
            self.tie = (self.lower, 0)  # a whole query at one timestamp: page it by id
        self.after = 0
        self.segment_max = self.lower
        return fresh

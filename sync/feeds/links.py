"""The rotating check of linked Sell records: deletions noticed without Sell's Sync API.

Sell's Core API lists no deleted records (``reference/sell-api.md`` §7), and a record deleted
while nothing touches it never shows up in the change feed. So every run re-reads a share of
the links' Sell records with ``ids=`` reads of 100, carrying on where the previous run stopped
(:class:`~sync.feeds.marks.LinkCheckMark`, the id of the last link checked, so a run
reads only its share of the store too). A record missing from the answer is handled by
the planner exactly as in the ``--full`` check (S5: tombstone). Missing means proven gone:
the client reads every id an ``ids=`` read left out on its own, and only Sell's 404
``not_found`` leaves it out (:mod:`sync.clients.absence`; an answer that leaves out records
that exist stops the run instead, so an empty page tombstones nothing).

The share is ``ceil(links / runs_per_day)`` rounded up to whole reads of 100, where
``runs_per_day`` comes from ``SYNC_INTERVAL_MINUTES`` (:func:`runs_per_day`), so every link is
checked at least once a day of runs. At the default 15-minute interval (96 runs a day) 10,000
links cost 2 reads a run, 100,000 links 11 (plus one more when a share mixes leads and contacts);
``bench/link_check.py`` prints the figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from sync.domain import Link
from sync.feeds.marks import LinkCheckMark
from sync.ports import Store

READ = 100  # ids per Sell read
RUNS_PER_DAY = 96  # the default 15-minute interval
MINUTES_PER_DAY = 24 * 60


def runs_per_day(interval_minutes: int) -> int:
    """Scheduled runs in a day at ``interval_minutes`` (at least 1: a longer interval checks
    every link at every run)."""
    return max(1, MINUTES_PER_DAY // max(1, interval_minutes))


def share_size(links: int, *, runs_per_day: int = RUNS_PER_DAY) -> int:
    """Links to check in one run: a day's worth of runs covers every link at least once."""
    if links <= 0:
        return 0
    return min(links, math.ceil(math.ceil(links / runs_per_day) / READ) * READ)


class LinkCheckFeed:
    """This run's share of the stored links, after the mark's link, wrapping round."""

    def __init__(
        self, store: Store, mark: LinkCheckMark, *, total: int, per_day: int = RUNS_PER_DAY
    ) -> None:
        self.store = store
        self.mark = mark
        self.share = share_size(total, runs_per_day=per_day)

    def batches(self) -> Iterator[list[Link]]:
        """The share in batches of :data:`READ`; the mark moves past each batch yielded."""
        batch: list[Link] = []
        for link in self._share():
            batch.append(link)
            if len(batch) == READ:
                yield batch
                self.mark.observe(batch)
                batch = []
        if batch:
            yield batch
            self.mark.observe(batch)

    def _share(self) -> Iterator[Link]:
        """``share`` links after the mark's, going round again from the first after the last
        (but not past where this run started)."""
        start, left = self.mark.after_id, self.share
        for after in (start, 0) if start else (0,):
            for page in self.store.iter_links(batch_size=READ, after_id=after):
                for link in page:
                    if left <= 0 or (after == 0 and start and (link.id or 0) > start):
                        return
                    left -= 1
                    yield link

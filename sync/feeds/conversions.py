"""The Sell lead conversion feed (L1): conversions made since the stored mark, oldest first.

Converting a lead gives it a new id as a contact and takes the lead off the leads list, so to
the change feed and the link check a converted lead looks deleted. ``GET /v2/lead_conversions``
is the only map from the lead to its contact; following it lets the run move a linked lead's
link to the contact instead of laying a tombstone. The mark is the id of the newest conversion
read (:class:`~sync.feeds.marks.ConversionMark`); it is stored only once the batch is
applied, so a run killed half way reads the same conversions again.
"""

from __future__ import annotations

from collections.abc import Iterator

from sync.domain import LeadConversion
from sync.feeds.base import Page, SaveMark
from sync.feeds.marks import LEAD_CONVERSIONS, ConversionMark
from sync.ports import SellPort

BATCH = 100  # conversions planned and applied together


class ConversionFeed:
    """A :class:`~sync.feeds.base.Feed`; the mark moves after every applied batch."""

    stage = "lead conversions"

    def __init__(self, sell: SellPort, mark: ConversionMark, save: SaveMark | None = None) -> None:
        self.sell = sell
        self.mark = mark
        self.save = save
        self._batches: Iterator[list[LeadConversion]] | None = None

    def read(self) -> Page[LeadConversion] | None:
        if self._batches is None:
            self._batches = self.batches()
        batch = next(self._batches, None)
        if batch is None:
            return None
        self.mark.observe(batch)
        return Page(batch, self.mark.close_slice())

    def close(self, page: Page[LeadConversion]) -> None:
        if self.save is not None and page.mark is not None:
            self.save(LEAD_CONVERSIONS, page.mark)

    def batches(self) -> Iterator[list[LeadConversion]]:
        """The new conversions in batches; the run moves the mark past each one it applied."""
        conversions = self.sell.conversions_after(self.mark.after_id)
        for start in range(0, len(conversions), BATCH):
            yield conversions[start : start + BATCH]

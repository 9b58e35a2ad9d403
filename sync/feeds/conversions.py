"""The Sell lead conversion feed (L1): conversions made since the stored mark, oldest first.

Converting a lead gives it a new id as a contact and takes the lead off the leads list, so to
the change feed and the link check a converted lead looks deleted. ``GET /v2/lead_conversions``
is the only map from the lead to its contact; following it lets the run move a linked lead's
link to the contact instead of laying a tombstone. The mark is the id of the newest conversion
read (:class:`~sync.feeds.cursors.ConversionCursor`); it is stored only once the batch is
applied, so a run killed half way reads the same conversions again.
"""

from __future__ import annotations

from collections.abc import Iterator

from sync.domain import LeadConversion
from sync.feeds.cursors import ConversionCursor
from sync.ports import SellPort

BATCH = 100  # conversions planned and applied together


class ConversionFeed:
    def __init__(self, sell: SellPort, cursor: ConversionCursor) -> None:
        self.sell = sell
        self.cursor = cursor

    def batches(self) -> Iterator[list[LeadConversion]]:
        """The new conversions in batches; the run moves the cursor past each one it applied."""
        conversions = self.sell.conversions_after(self.cursor.after_id)
        for start in range(0, len(conversions), BATCH):
            yield conversions[start : start + BATCH]

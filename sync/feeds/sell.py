"""The Sell change feed: leads or contacts updated since the stored mark, page by page.

Every page also refreshes the bulk email index (the run hands it to the index); linked records
are picked out of it by the run, which plans and applies them.

Sell pages by offset, newest first, and offsets shift while records are deleted or updated: the
port's ``changed_pages`` walks overlapping windows checked at the seam
(:mod:`sync.clients.sell_pages`), so every record changed before the run is read by it or, if it
changed again meanwhile, by the next one (L4). The mark moves only once the whole feed is applied.
"""

from __future__ import annotations

from collections.abc import Iterator

from sync.domain import RecordKind, SellRecord
from sync.feeds.cursors import SellChangeCursor
from sync.ports import SellPort


class SellChangeFeed:
    def __init__(self, sell: SellPort, kind: RecordKind, cursor: SellChangeCursor) -> None:
        self.sell = sell
        self.kind = kind
        self.cursor = cursor

    def pages(self) -> Iterator[list[SellRecord]]:
        for page in self.sell.changed_pages(self.kind, self.cursor.since):
            self.cursor.observe(page)
            yield page

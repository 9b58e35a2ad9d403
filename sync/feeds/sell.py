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
from typing import Protocol, runtime_checkable

from sync.domain import RecordKind, SellRecord
from sync.feeds.base import Page, SaveMark
from sync.feeds.marks import SellChangeMark, sell_changes_name
from sync.ports import SellPort


@runtime_checkable
class RemembersWalks(Protocol):
    """A Sell port that can remember a change walk the run applied whole, so the next one
    need not re-read what it settled (:meth:`sync.clients.sell.SellClient.walk_applied`)."""

    def walk_applied(self, kind: RecordKind) -> None: ...


class SellChangeFeed:
    """A :class:`~sync.feeds.base.Feed` whose mark is only on its closing page."""

    def __init__(
        self,
        sell: SellPort,
        kind: RecordKind,
        mark: SellChangeMark,
        save: SaveMark | None = None,
    ) -> None:
        self.sell = sell
        self.kind = kind
        self.mark = mark
        self.save = save
        self.stage = f"sell {kind}s"
        self._pages: Iterator[list[SellRecord]] | None = None
        self._closed = False

    def read(self) -> Page[SellRecord] | None:
        if self._pages is None:
            self._pages = self.pages()
        page = next(self._pages, None)
        if page is not None:
            return Page(page)
        if self._closed:
            return None
        self._closed = True
        mark = self.mark.close_slice()  # newest first: only once the whole feed is applied
        return None if mark is None else Page([], mark, final=True)

    def close(self, page: Page[SellRecord]) -> None:
        if self.save is not None and page.mark is not None:
            self.save(sell_changes_name(self.kind), page.mark)

    def pages(self) -> Iterator[list[SellRecord]]:
        for page in self.sell.changed_pages(self.kind, self.mark.since):
            self.mark.observe(page)
            yield page

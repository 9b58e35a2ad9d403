"""What every feed is, and the one reader that drives any of them.

A feed reads pages from where its stored mark left off and knows how to close a page once the
run applied it (storing the mark the page reaches, acking a queue …). It never plans or writes
records: :func:`read_through` hands each page's items to the run's "what to plan" callable,
then closes the page, then passes the page boundary (the run lease is renewed, progress is
reported, a stop asked for is honoured). This is the split of Airbyte's ``Stream`` (reads
pages) and ``Cursor`` (says how far, once applied): here a feed's *mark* says how far it read,
and :mod:`sync.feeds.marks` holds each feed's typed mark.

A new feed (an inbox of webhook events, say) is a class with ``stage``, ``read`` and ``close``;
the reader does not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sync.domain import FeedMark

Item = TypeVar("Item")

#: Stores a feed's mark under its name (the applier's ``save_mark``; a dry run's keeps none).
SaveMark = Callable[[str, FeedMark], None]


@dataclass(frozen=True)
class Page(Generic[Item]):
    """Items read together, and the mark the feed reaches once they are applied."""

    items: Sequence[Item]
    mark: FeedMark | None = None  # None: this page moves no mark
    #: The closing page of a feed whose mark may move only once every page is applied: it
    #: carries the mark and no items, and is no page boundary of its own.
    final: bool = False


class Feed(Protocol[Item]):
    """A source of pages: read one, and close it once it was applied."""

    #: The stage a run reports at this feed's page boundaries ("sell leads", "link check" …).
    stage: str

    def read(self) -> Page[Item] | None:
        """The next page, or None once the feed is read through."""
        ...

    def close(self, page: Page[Item]) -> None:
        """``page`` was applied: store the mark it reaches (or ack it)."""
        ...


def read_through(
    feed: Feed[Item],
    plan_and_apply: Callable[[Sequence[Item]], None],
    boundary: Callable[[str], None],
) -> None:
    """Drive ``feed`` to its end: read a page, plan and apply its items, close it, then pass
    the page boundary (which may stop the run: the page is applied and closed by then)."""
    while (page := feed.read()) is not None:
        if page.items:
            plan_and_apply(page.items)
        feed.close(page)
        if not page.final:
            boundary(feed.stage)


class BatchFeed(Generic[Item]):
    """A feed over batches already at hand (links to read again, members never evaluated).

    ``keep`` picks, when a batch is read (after the previous one was applied), the items still
    to plan; a batch left empty is no page. ``mark``, if given, is stored under ``name`` once
    every batch was applied."""

    def __init__(
        self,
        stage: str,
        batches: Iterable[Sequence[Item]],
        *,
        keep: Callable[[Item], bool] | None = None,
        name: str | None = None,
        mark: Callable[[], FeedMark] | None = None,
        save: SaveMark | None = None,
    ) -> None:
        self.stage = stage
        self._batches = iter(batches)
        self._keep = keep
        self._name, self._mark, self._save = name, mark, save
        self._closed = False

    def read(self) -> Page[Item] | None:
        for batch in self._batches:
            items = batch if self._keep is None else [i for i in batch if self._keep(i)]
            if items:
                return Page(items)
        if self._mark is None or self._closed:
            return None
        self._closed = True
        return Page([], self._mark(), final=True)

    def close(self, page: Page[Item]) -> None:
        if page.mark is not None and self._name is not None and self._save is not None:
            self._save(self._name, page.mark)

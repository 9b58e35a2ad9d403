"""Deletions from Sell's Sync API, where the account has it; the rotating link check otherwise.

Sell's Core API lists no deleted records (``reference/sell-api.md`` §7). An account with the
Sync API (§6b, a premium add-on) keeps a queue per device of the latest event of every object:
``deleted`` items carry only the id, and an item stays in the queue until it is acked, so a
deletion is reported once and cannot be lost between runs. When it is there, a run:

1. starts a session (``204``: nothing new; a ``403``/``404``: the account has no Sync API);
2. fetches the queue page by page; of each page only ``deleted`` leads and contacts matter: the
   active links among them are read back with one ``ids=`` read (an id still answered is not
   gone: the item was a stale hint) and the missing ones go to the planner exactly as in the link
   check and the ``--full`` check (S5: tombstone);
3. acks the page's keys (all types, even those ignored) only once that plan is applied, so a
   run that stops mid-page leaves its items to be resent in the next session.

Updates keep coming from the change feed (:mod:`sync.feeds.sell`), which also keeps the email
index current; the queue's ``created``/``updated`` items are only acked. With the Sync API the
rotating check (:mod:`sync.feeds.links`) is not needed and is skipped. Without it (a port that
does not offer it, or an account answering 403/404) the run falls back to the rotating check
silently: a missing add-on is the normal case, not an error. The client remembers the answer,
so an account without the add-on costs one refused request now and then, not one a run. A dry
run previews the rotating check too: it must not start sessions (a POST) or consume the queue.

A device's first session lists every lead and contact as ``created`` (acked, nothing else).
Nothing promises a ``deleted`` for a record removed before the device's first session, so a
``--full`` run after the add-on is turned on covers those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from sync.domain import RECORD_KINDS, RecordKind, SellRef
from sync.feeds.base import Page
from sync.ports import SellPort, SellSyncPage, SellSyncPort

_KINDS: dict[str, RecordKind] = {kind: kind for kind in RECORD_KINDS}


class SellSyncFeed:
    """The deletions of one Sync API session, page by page; :meth:`ack` after applying each.

    As a :class:`~sync.feeds.base.Feed`, closing a page acks it, unless applying it left link
    removals waiting for the bulk guard (``waiting`` grew): then the ack waits for the guard's
    settling too (``after_settle``), so a held tombstone's deletion is reported again."""

    stage = "sell sync api"

    def __init__(self, sell: SellSyncPort) -> None:
        self.sell = sell
        self.session: str | None = None
        self.waiting: Callable[[], int] = lambda: 0
        self.after_settle: Callable[[Callable[[], None]], None] = lambda ack: ack()
        self._pages: Iterator[tuple[list[SellRef], SellSyncPage]] | None = None
        self._open: tuple[SellSyncPage, int] | None = None  # read, not closed; waiting then

    def read(self) -> Page[SellRef] | None:
        if self._pages is None:
            self._pages = self.pages()
        read = next(self._pages, None)
        if read is None:
            return None
        gone, page = read
        self._open = (page, self.waiting())
        return Page(gone)

    def close(self, page: Page[SellRef]) -> None:
        assert self._open is not None
        queued, before = self._open
        self._open = None
        if self.waiting() > before:  # tombstones wait for the guard
            self.after_settle(partial(self.ack, queued))
        else:
            self.ack(queued)  # only once applied: unacked items come back in the next session

    @staticmethod
    def of(sell: SellPort) -> SellSyncFeed | None:
        """The feed when the port offers the Sync API and the account has it, else None."""
        if not isinstance(sell, SellSyncPort):
            return None
        start = sell.sync_start()
        if not start.available:
            return None
        feed = SellSyncFeed(sell)
        feed.session = start.session
        return feed

    def pages(self) -> Iterator[tuple[list[SellRef], SellSyncPage]]:
        """Each page with the leads and contacts it reports deleted."""
        if self.session is None:
            return
        for page in self.sell.sync_pages(self.session):
            gone = [
                SellRef(_KINDS[e.type], e.id)
                for e in page.events
                if e.event == "deleted" and e.type in _KINDS
            ]
            yield list(dict.fromkeys(gone)), page

    def ack(self, page: SellSyncPage) -> None:
        if page.ack_keys:
            self.sell.sync_ack(page.ack_keys)

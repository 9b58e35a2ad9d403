"""The webhook inbox as the web process and the health board see it.

A web process stores each verified batch of HubSpot events before it answers HubSpot; the
worker (elsewhere) claims, applies and marks them. What this adds to the inbox role is only the
vocabulary the bot needs: store a batch, and the figures of the queue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sync.events import HubSpotEvent, StoredEvent
from sync.ports import EventInbox

#: Failed applies after which an event is shown in Health.
FAILING_AFTER = 3


@dataclass(frozen=True)
class InboxFigures:
    """The queue at a glance: events waiting, stored in all, since when the oldest waits, when
    the last arrived, and those whose apply keeps failing."""

    depth: int
    received: int
    oldest_unapplied: datetime | None
    last_received_at: datetime | None
    failing: tuple[StoredEvent, ...]


class WebhookInbox:
    def __init__(self, inbox: EventInbox) -> None:
        self.inbox = inbox

    def store(self, events: Sequence[HubSpotEvent]) -> int:
        """Store a verified batch durably (one transaction); how many events were new. Raises
        when the database cannot take it: the request must then not be answered 2xx."""
        return self.inbox.store_batch(events)

    def figures(self) -> InboxFigures:
        return InboxFigures(
            depth=self.inbox.depth(),
            received=self.inbox.received_count(),
            oldest_unapplied=self.inbox.oldest_unapplied(),
            last_received_at=self.inbox.last_received_at(),
            failing=tuple(self.inbox.failing(FAILING_AFTER)),
        )

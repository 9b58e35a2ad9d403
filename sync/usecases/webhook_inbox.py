"""The webhook inbox as the web process sees it: a verified batch of HubSpot events is stored
durably before HubSpot is answered. The worker claims, applies and marks the events
(:mod:`sync.usecases.live`); the health figures are read there too.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.events import HubSpotEvent
from sync.ports import EventInbox


class WebhookInbox:
    def __init__(self, inbox: EventInbox) -> None:
        self.inbox = inbox

    def store(self, events: Sequence[HubSpotEvent]) -> int:
        """Store a verified batch in one transaction; how many events were new. Raises when the
        database cannot take it: the request must then not be answered 2xx."""
        return self.inbox.store_batch(events)

"""The webhook inbox as the web process sees it: a verified batch of HubSpot events is stored
durably before HubSpot is answered. The worker claims, applies and marks the events
(:mod:`sync.usecases.live`); the health figures are read there too. The process that runs the
scheduler purges applied events after a week (:meth:`WebhookInbox.purge_applied`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sync.events import HubSpotEvent
from sync.ports import Clock, EventInbox

#: How long applied events are kept before they are purged (HubSpot redelivers for a day).
RETAIN_APPLIED = timedelta(days=7)
#: Events deleted in one transaction, and the most transactions one purge runs.
PURGE_BATCH = 500
PURGE_MAX_BATCHES = 200


class WebhookInbox:
    def __init__(self, inbox: EventInbox, clock: Clock) -> None:
        self.inbox = inbox
        self.clock = clock

    def store(self, events: Sequence[HubSpotEvent]) -> int:
        """Store a verified batch in one transaction; how many events were new. Raises when the
        database cannot take it: the request must then not be answered 2xx."""
        return self.inbox.store_batch(events)

    def purge_applied(self) -> int:
        """Delete the events applied more than :data:`RETAIN_APPLIED` ago, in batches of
        :data:`PURGE_BATCH` (each its own transaction) and at most :data:`PURGE_MAX_BATCHES` of
        them; how many were deleted. Events not applied (waiting, or failing) are kept, and the
        count of events received is not lowered."""
        before = self.clock.now() - RETAIN_APPLIED
        purged = 0
        for _ in range(PURGE_MAX_BATCHES):
            deleted = self.inbox.purge_applied(before, PURGE_BATCH)
            purged += deleted
            if deleted < PURGE_BATCH:
                break
        return purged

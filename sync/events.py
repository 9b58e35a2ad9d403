"""HubSpot webhook events as frozen values (reading HubSpot's payload into them is
:mod:`sync.event_payload`).

HubSpot POSTs a JSON array of events (at most :data:`MAX_BATCH` in one request), each an object
such as::

    {"eventId": 100, "subscriptionId": 7, "portalId": 62515, "appId": 54321,
     "occurredAt": 1733560000000, "subscriptionType": "contact.propertyChange",
     "attemptNumber": 0, "objectId": 123, "changeSource": "CRM", "sourceId": "userId:1",
     "propertyName": "email", "propertyValue": "a@example.com"}

A ``contact.merge`` event adds ``primaryObjectId``, ``mergedObjectIds`` and ``newObjectId``.
Events are hints: the worker reads each contact's current state before planning, so what an
event says about a value is kept only for the record. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: The most events HubSpot sends in one request.
MAX_BATCH = 100

#: Kinds of contact event sellsync subscribes to (others are stored, and the worker skips them).
CONTACT_CREATION = "contact.creation"
CONTACT_PROPERTY_CHANGE = "contact.propertyChange"
CONTACT_DELETION = "contact.deletion"
CONTACT_RESTORE = "contact.restore"
CONTACT_MERGE = "contact.merge"
CONTACT_PRIVACY_DELETION = "contact.privacyDeletion"
CONTACT_EVENT_TYPES: tuple[str, ...] = (
    CONTACT_CREATION,
    CONTACT_PROPERTY_CHANGE,
    CONTACT_DELETION,
    CONTACT_RESTORE,
    CONTACT_MERGE,
    CONTACT_PRIVACY_DELETION,
)


@dataclass(frozen=True)
class HubSpotEvent:
    """One webhook event as HubSpot sent it. Ids are HubSpot's (``object_id`` as the string the
    rest of sellsync uses for a contact id); ``occurred_at`` is aware UTC."""

    event_id: int
    subscription_type: str
    object_id: str
    occurred_at: datetime
    attempt_number: int = 0
    portal_id: int | None = None
    change_source: str | None = None
    change_flag: str | None = None
    source_id: str | None = None
    property_name: str | None = None
    property_value: str | None = None
    # contact.merge only
    primary_object_id: str | None = None
    merged_ids: tuple[str, ...] = ()
    new_object_id: str | None = None

    @property
    def contact_ids(self) -> tuple[str, ...]:
        """Every HubSpot contact id the event names (a merge names the ids it joined and the
        one that results), each once, the object's own first."""
        ids = [self.object_id, self.primary_object_id, *self.merged_ids]
        ids.append(self.new_object_id)
        return tuple(dict.fromkeys(i for i in ids if i is not None))


@dataclass(frozen=True)
class StoredEvent:
    """An event in the inbox, with its bookkeeping: ``id`` is the inbox's own (arrival order),
    ``attempts`` the failed applies so far, ``last_error`` the classified reason of the last."""

    id: int
    event: HubSpotEvent
    received_at: datetime
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    applied_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None

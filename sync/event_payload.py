"""Reading HubSpot's webhook payload into :class:`sync.events.HubSpotEvent` values.

:func:`parse_events` takes the decoded JSON of a webhook request and returns its events, or
raises :class:`sync.errors.MalformedEvents` saying, in one line and without any of the data,
what is wrong (the receiver answers 400). Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sync.errors import MalformedEvents
from sync.events import MAX_BATCH, HubSpotEvent

#: Longest event type kept (HubSpot's longest is about 30 characters).
MAX_TYPE = 64
#: Longest text kept from an event's short fields (types, sources, property names).
MAX_NAME = 255
#: Longest property value kept (a HubSpot text property holds at most 65,536 characters).
MAX_VALUE = 65_536

_SUBSCRIPTION_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*")
#: occurredAt bounds, in epoch milliseconds: 2000-01-01 to 2200-01-01.
_EARLIEST_MS = 946_684_800_000
_LATEST_MS = 7_258_118_400_000
_MAX_ID = 2**63 - 1


def parse_events(data: object, *, max_batch: int = MAX_BATCH) -> tuple[HubSpotEvent, ...]:
    """The events of a decoded webhook body, each ``eventId`` once (the first kept).

    Raises :class:`MalformedEvents` when ``data`` is not a non-empty array of at most
    ``max_batch`` well-formed events; the message names the first problem and its position,
    never a value."""
    if not isinstance(data, list):
        raise MalformedEvents("the body is not a JSON array of events")
    if not data:
        raise MalformedEvents("the batch holds no events")
    if len(data) > max_batch:
        raise MalformedEvents(f"the batch holds more than {max_batch} events")
    events: dict[int, HubSpotEvent] = {}
    for position, item in enumerate(data):
        event = _event(item, position)
        events.setdefault(event.event_id, event)
    return tuple(events.values())


def _event(item: object, position: int) -> HubSpotEvent:
    if not isinstance(item, Mapping):
        raise MalformedEvents(f"event {position} is not an object")
    read = _Reader(item, position)
    subscription_type = read.text("subscriptionType", required=True)
    assert subscription_type is not None
    if len(subscription_type) > MAX_TYPE or not _SUBSCRIPTION_TYPE.fullmatch(subscription_type):
        raise MalformedEvents(f"event {position}: 'subscriptionType' is not an event type")
    occurred_ms = read.integer("occurredAt", required=True)
    assert occurred_ms is not None
    if not _EARLIEST_MS <= occurred_ms <= _LATEST_MS:
        raise MalformedEvents(f"event {position}: 'occurredAt' is not a time in epoch ms")
    property_name = read.text("propertyName")
    if subscription_type.endswith(".propertyChange") and property_name is None:
        raise MalformedEvents(f"event {position}: a property change without 'propertyName'")
    event_id = read.integer("eventId", required=True)
    object_id = read.object_id("objectId", required=True)
    assert event_id is not None and object_id is not None
    merged = item.get("mergedObjectIds")
    if merged is not None and not isinstance(merged, list):
        raise MalformedEvents(f"event {position}: 'mergedObjectIds' is not an array")
    return HubSpotEvent(
        event_id=event_id,
        subscription_type=subscription_type,
        object_id=object_id,
        occurred_at=datetime.fromtimestamp(occurred_ms / 1000, UTC),
        attempt_number=read.integer("attemptNumber") or 0,
        portal_id=read.integer("portalId"),
        change_source=read.text("changeSource"),
        change_flag=read.text("changeFlag"),
        source_id=read.text("sourceId"),
        property_name=property_name,
        property_value=read.value("propertyValue"),
        primary_object_id=read.object_id("primaryObjectId"),
        merged_ids=tuple(read.id_value(value, "mergedObjectIds") for value in (merged or ())),
        new_object_id=read.object_id("newObjectId"),
    )


class _Reader:
    """Typed reads of one event's fields, each refusal naming the field and the position."""

    def __init__(self, item: Mapping[Any, Any], position: int) -> None:
        self.item = item
        self.position = position

    def _bad(self, name: str, what: str) -> MalformedEvents:
        return MalformedEvents(f"event {self.position}: {name!r} {what}")

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.item.get(name)
        if value is None:
            if required:
                raise self._bad(name, "is missing")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_ID:
            raise self._bad(name, "is not a whole number")
        return value

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.item.get(name)
        if value is None:
            if required:
                raise self._bad(name, "is missing")
            return None
        if not isinstance(value, str) or not value or len(value) > MAX_NAME:
            raise self._bad(name, f"is not a text of 1 to {MAX_NAME} characters")
        return value

    def value(self, name: str) -> str | None:
        """A property value: HubSpot sends a string; a number or a boolean is kept as text."""
        value = self.item.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise self._bad(name, "is not a property value")
        return value

    def object_id(self, name: str, *, required: bool = False) -> str | None:
        value = self.item.get(name)
        if value is None:
            if required:
                raise self._bad(name, "is missing")
            return None
        return self.id_value(value, name)

    def id_value(self, value: object, name: str) -> str:
        """A HubSpot id: a positive whole number, or its digits as a string."""
        if isinstance(value, str) and 0 < len(value) <= 19 and value.isascii() and value.isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_ID:
            raise self._bad(name, "is not a HubSpot id")
        return str(value)

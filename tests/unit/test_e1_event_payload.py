"""Reading HubSpot's webhook payload: well-formed events become values, each eventId once;
anything else is refused with one line that names the problem and carries none of the data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import MalformedEvents
from sync.event_payload import parse_events

SECRET_VALUE = "private-value@example.com"


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventId": 100,
        "subscriptionId": 7,
        "portalId": 62515,
        "appId": 54321,
        "occurredAt": 1_733_560_000_000,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 1,
        "objectId": 123,
        "changeSource": "CRM",
        "sourceId": "userId:1",
        "propertyName": "email",
        "propertyValue": SECRET_VALUE,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def test_e1_a_property_change_reads_into_a_value() -> None:
    (event,) = parse_events([item()])
    assert event.event_id == 100
    assert event.object_id == "123"
    assert event.subscription_type == "contact.propertyChange"
    assert event.occurred_at == datetime(2024, 12, 7, 8, 26, 40, tzinfo=UTC)
    assert (event.attempt_number, event.portal_id) == (1, 62515)
    assert (event.property_name, event.property_value) == ("email", SECRET_VALUE)
    assert (event.change_source, event.source_id) == ("CRM", "userId:1")


def test_e1_a_merge_names_every_contact_it_joined() -> None:
    (event,) = parse_events(
        [
            item(
                subscriptionType="contact.merge",
                propertyName=None,
                propertyValue=None,
                objectId=5,
                primaryObjectId=5,
                mergedObjectIds=[6, "7"],
                newObjectId=8,
            )
        ]
    )
    assert event.merged_ids == ("6", "7")
    assert event.contact_ids == ("5", "6", "7", "8")


def test_e1_a_duplicate_event_in_one_batch_is_kept_once() -> None:
    events = parse_events([item(eventId=1), item(eventId=2), item(eventId=1, objectId=9)])
    assert [(e.event_id, e.object_id) for e in events] == [(1, "123"), (2, "123")]


def test_e1_numbers_as_property_values_are_kept_as_text() -> None:
    (event,) = parse_events([item(propertyName="hubspotscore", propertyValue=42)])
    assert event.property_value == "42"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"eventId": 1}, "not a JSON array"),
        ([], "no events"),
        ([item(eventId=i) for i in range(101)], "more than 100"),
        (["x"], "event 0 is not an object"),
        ([item(eventId=None)], "'eventId' is missing"),
        ([item(eventId="1")], "'eventId' is not a whole number"),
        ([item(eventId=True)], "'eventId' is not a whole number"),
        ([item(eventId=-1)], "'eventId' is not a whole number"),
        ([item(), item(objectId=0, eventId=2)], "event 1: 'objectId' is not a HubSpot id"),
        ([item(objectId="12a")], "'objectId' is not a HubSpot id"),
        ([item(subscriptionType="contact")], "is not an event type"),
        ([item(subscriptionType="c." + "x" * 80)], "is not an event type"),
        ([item(occurredAt=12)], "'occurredAt' is not a time"),
        ([item(occurredAt="2024-12-07")], "'occurredAt' is not a whole number"),
        ([item(propertyName=None)], "a property change without 'propertyName'"),
        ([item(propertyValue={"a": SECRET_VALUE})], "'propertyValue' is not a property value"),
        ([item(mergedObjectIds=SECRET_VALUE)], "'mergedObjectIds' is not an array"),
        ([item(mergedObjectIds=[SECRET_VALUE])], "'mergedObjectIds' is not a HubSpot id"),
        ([item(changeSource=SECRET_VALUE * 20)], "'changeSource' is not a text"),
    ],
)
def test_e1_a_malformed_batch_is_refused_in_one_line_without_data(
    body: object, problem: str
) -> None:
    with pytest.raises(MalformedEvents) as refused:
        parse_events(body)
    message = str(refused.value)
    assert problem in message
    assert "\n" not in message and SECRET_VALUE not in message


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_fields = st.sampled_from(
    ["eventId", "subscriptionType", "objectId", "occurredAt", "attemptNumber", "portalId",
     "changeSource", "sourceId", "propertyName", "propertyValue", "mergedObjectIds",
     "primaryObjectId", "newObjectId", "changeFlag"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(_fields, _json, max_size=8), min_size=1, max_size=3) | _json)
def test_e1_any_json_is_either_events_or_one_refusal(body: object) -> None:
    """Whatever JSON a request carries, reading it ends in events or in MalformedEvents, never
    in another exception (which would be a 500 with a traceback)."""
    try:
        events = parse_events(body)
    except MalformedEvents as refused:
        assert "\n" not in str(refused)
    else:
        assert all(e.object_id.isdigit() and e.event_id >= 0 for e in events)

"""The search cursor that pages HubSpot's change search past the 10,000-result window,
driven with plain pages (no HTTP)."""

from __future__ import annotations

from sync.clients.hubspot_search import SearchCursor
from sync.domain import HubSpotContact


def c(cid: int, lmd: int) -> HubSpotContact:
    return HubSpotContact(id=str(cid), properties={}, updated_at_ms=lmd, url=None)


def filters(body: dict[str, object]) -> list[tuple[str, str, str]]:
    groups = body["filterGroups"]
    assert isinstance(groups, list)
    return [(f["propertyName"], f["operator"], f["value"]) for f in groups[0]["filters"]]


def test_first_request_asks_from_since_in_ascending_order() -> None:
    cursor = SearchCursor.since(1000, page_size=2, result_cap=6)
    body = cursor.request(["email"])
    assert filters(body) == [("lastmodifieddate", "GTE", "1000")]
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert (body["limit"], body["after"], body["properties"]) == (2, "0", ["email"])


def test_pages_follow_after_until_the_last_page() -> None:
    cursor = SearchCursor.since(0, page_size=2, result_cap=6)
    assert cursor.observe([c(1, 10), c(2, 11)], next_after="2", total=3) == [c(1, 10), c(2, 11)]
    assert cursor.request([])["after"] == "2" and not cursor.done
    assert cursor.observe([c(3, 12)], next_after=None, total=3) == [c(3, 12)]
    assert cursor.done


def test_before_the_cap_the_query_restarts_at_the_newest_timestamp_seen() -> None:
    cursor = SearchCursor.since(0, page_size=2, result_cap=4)
    cursor.observe([c(1, 10), c(2, 11)], next_after="2", total=9)
    cursor.observe([c(3, 12), c(4, 13)], next_after="4", total=9)  # page 3 would pass 4
    assert filters(cursor.request([])) == [("lastmodifieddate", "GTE", "13")]
    assert cursor.request([])["after"] == "0"
    # the restarted query returns contact 4 again in the same version: not yielded twice
    assert cursor.observe([c(4, 13), c(5, 14)], next_after=None, total=2) == [c(5, 14)]
    assert cursor.done


def test_a_contact_changed_again_is_yielded_again() -> None:
    cursor = SearchCursor.since(0, page_size=2, result_cap=4)
    cursor.observe([c(1, 10), c(2, 11)], next_after="2", total=9)
    cursor.observe([c(3, 12), c(4, 13)], next_after="4", total=9)
    assert cursor.observe([c(4, 20)], next_after=None, total=1) == [c(4, 20)]


def test_a_whole_window_at_one_timestamp_is_paged_by_id_then_left_behind() -> None:
    cursor = SearchCursor.since(50, page_size=2, result_cap=4)
    cursor.observe([c(1, 50), c(2, 50)], next_after="2", total=9)
    cursor.observe([c(3, 50), c(4, 50)], next_after="4", total=9)
    body = cursor.request([])
    assert filters(body) == [("lastmodifieddate", "EQ", "50"), ("hs_object_id", "GT", "0")]
    assert body["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    cursor.observe([c(1, 50), c(2, 50)], next_after="2", total=9)
    cursor.observe([c(3, 50), c(4, 50)], next_after="4", total=9)
    assert filters(cursor.request([]))[1] == ("hs_object_id", "GT", "4")
    cursor.observe([c(5, 50)], next_after=None, total=1)  # the tie is exhausted
    assert not cursor.done
    assert filters(cursor.request([])) == [("lastmodifieddate", "GT", "50")]
    assert cursor.observe([], next_after=None, total=0) == [] and cursor.done


def test_hubspot_stopping_at_the_cap_without_a_next_page_still_continues() -> None:
    cursor = SearchCursor.since(0, page_size=2, result_cap=100)
    cursor.observe([c(1, 10), c(2, 11)], next_after=None, total=5)
    assert not cursor.done and cursor.request([])["after"] == "2"

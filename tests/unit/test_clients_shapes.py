"""A well-formed but mis-shaped CRM answer is a classified API failure naming the endpoint
(issue 14 item 9), never a TypeError or KeyError deep in a client that the CLI and Slack then
report as "an unexpected error"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sync.clients.errors import SHAPES, shape_error
from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient
from sync.errors import ApiError, UnexpectedShape
from tests.unit.test_clients_hubspot import make as make_hubspot

Handler = Callable[[httpx.Request], httpx.Response]


def answering(body: Any) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    return handler


def make_sell(handler: Handler) -> SellClient:
    return SellClient(
        "https://sell.test",
        "sell-token-0123456789",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        per_s=None,
        retry=RetryPolicy(max_attempts=1, base_delay=0.0, rate_limit_wait=0.0),
        sleep=lambda s: None,
    )


@pytest.mark.parametrize(
    "body",
    [{"results": "nope"}, {"results": [1, 2]}, ["results"], {"status": "COMPLETE"}, "ok"],
    ids=["results a string", "results of numbers", "a list", "no results", "a string"],
)
def test_a_mis_shaped_hubspot_batch_read_is_an_api_error_naming_the_endpoint(body: Any) -> None:
    client = make_hubspot(answering(body))
    with pytest.raises(ApiError) as raised:
        client.read_contacts(["101"], ["email"])
    assert isinstance(raised.value, UnexpectedShape)
    assert str(raised.value).startswith("HubSpot answered batch/read with an unexpected shape")
    assert "\n" not in str(raised.value)


def test_a_mis_shaped_hubspot_search_and_list_read_are_api_errors() -> None:
    with pytest.raises(UnexpectedShape, match="HubSpot answered search with an unexpected shape"):
        list(make_hubspot(answering({"results": {"id": "1"}})).changed_pages(0, ["email"]))
    with pytest.raises(UnexpectedShape, match="HubSpot answered list memberships"):
        list(make_hubspot(answering({"results": "x"})).list_member_pages("7"))
    with pytest.raises(UnexpectedShape, match="HubSpot answered list joins"):
        list(make_hubspot(answering({"results": "x"})).list_join_pages("7"))


@pytest.mark.parametrize(
    "body",
    [{"items": "nope"}, {"items": [1]}, {"items": [], "meta": "x"}, [1, 2]],
    ids=["items a string", "items of numbers", "meta a string", "a list"],
)
def test_a_mis_shaped_sell_read_is_an_api_error_naming_the_endpoint(body: Any) -> None:
    with pytest.raises(UnexpectedShape) as raised:
        make_sell(answering(body)).get_records("lead", [1, 2])
    assert str(raised.value).startswith("Sell answered a record read by ids with an unexpected")


def test_a_sell_record_whose_data_is_not_an_object_is_an_api_error() -> None:
    with pytest.raises(UnexpectedShape, match="Sell answered the token check"):
        make_sell(answering({"data": ["x"]})).check_credentials()


def test_the_answers_the_endpoints_really_give_pass() -> None:
    good = {
        ("HubSpot", "batch_read"): {"status": "COMPLETE", "results": []},
        ("HubSpot", "search"): {"total": 0, "results": [], "paging": {"next": {"after": "1"}}},
        ("HubSpot", "batch_update"): {"status": "COMPLETE", "results": [{"id": "1"}]},
        ("HubSpot", "memberships"): {"results": [{"recordId": "1"}]},
        ("HubSpot", "join_order"): {"results": [{"recordId": "1"}], "total": 1},
        ("Sell", "get_records"): {"items": [{"data": {"id": 1}, "meta": {}}], "meta": {}},
        ("Sell", "users_self"): {"data": {"id": 1}, "meta": {"type": "user"}},
        ("Sell", "sync_fetch"): {"items": [], "meta": {"count": 0}},
    }
    for (service, kind), body in good.items():
        assert shape_error(service, kind, body) is None, (service, kind)
        assert shape_error(service, kind, None) is None  # an empty body is "nothing"
    assert all(shape.endpoint for shape in SHAPES.values())

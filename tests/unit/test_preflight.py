"""The preflight's pieces that need no server: HubSpot's token-info call (over
``httpx.MockTransport``) and which setting an error met during a run points at."""

from __future__ import annotations

import json

import httpx
import pytest

from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.retry import RetryPolicy
from sync.errors import ApiError, AuthError, RateLimited, ServiceUnavailable
from sync.preflight import setup_variable


def client_answering(status: int, body: object) -> tuple[HubSpotClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    http = httpx.Client(transport=httpx.MockTransport(handler), base_url="https://api.test")
    client = HubSpotClient(
        HubSpotSession("https://api.test", "pat-na1-real", http=http),
        HubSpotLimits.unpaced(retry=RetryPolicy(max_attempts=1)),
    )
    return client, seen


def test_token_scopes_posts_the_token_and_returns_its_scopes() -> None:
    client, seen = client_answering(200, {"hubId": 1, "scopes": ["crm.lists.read", "oauth"]})
    assert client.token_scopes() == frozenset({"crm.lists.read", "oauth"})
    assert seen[0].url.path == "/oauth/v2/private-apps/get/access-token-info"
    assert json.loads(seen[0].content) == {"tokenKey": "pat-na1-real"}


@pytest.mark.parametrize("status", [400, 404])
def test_token_scopes_of_a_token_hubspot_does_not_describe_are_unknown(status: int) -> None:
    client, _ = client_answering(status, {"status": "error", "message": "not a private app"})
    assert client.token_scopes() is None


def test_a_refused_token_raises_auth_error() -> None:
    client, _ = client_answering(401, {"status": "error", "category": "INVALID_AUTHENTICATION"})
    with pytest.raises(AuthError):
        client.token_scopes()


@pytest.mark.parametrize(
    ("error", "variable"),
    [
        (AuthError("HubSpot", "bad token", 401), "HUBSPOT_ACCESS_TOKEN"),
        (AuthError("Sell", "unauthorized", 401), "SELL_ACCESS_TOKEN"),
        (ApiError("HubSpot", "HubSpot list 9 not found", 404), "HUBSPOT_LIST_ID"),
        (AuthError("HubSpot", "missing scope", 403), None),  # a scope to grant, not a variable
        (ApiError("HubSpot", "contact 9 not found", 404), None),
        (RateLimited("HubSpot", 10.0), None),
        (ServiceUnavailable("Sell", "server error", 503), None),
        (ValueError("a bug"), None),
        (None, None),
    ],
)
def test_setup_variable_names_the_setting_only_for_setup_errors(
    error: BaseException | None, variable: str | None
) -> None:
    assert setup_variable(error) == variable

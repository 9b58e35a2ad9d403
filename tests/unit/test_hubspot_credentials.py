"""What ``sellsync check`` learns about ``HUBSPOT_ACCESS_TOKEN`` with no server (over
``httpx.MockTransport``): the token info answering for an app's token, not answering for a
service key (never a failure), the probes that name missing scopes without writing anything,
and whether webhooks can reach the bot."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from bot.check import check_hubspot_webhooks
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.hubspot_scopes import (
    HUBSPOT_ENDPOINT_SCOPES,
    TOKEN_INFO_PATH,
    probe_requests,
    required_scopes,
)
from sync.clients.retry import RetryPolicy
from sync.preflight import check_hubspot

Handler = Callable[[httpx.Request], httpx.Response]


def client_with(handler: Handler) -> tuple[HubSpotClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    http = httpx.Client(transport=httpx.MockTransport(record), base_url="https://api.test")
    client = HubSpotClient(
        HubSpotSession("https://api.test", "pat-na1-real", http=http),
        HubSpotLimits.unpaced(retry=RetryPolicy(max_attempts=1)),
    )
    return client, seen


def error(status: int, category: str = "") -> httpx.Response:
    return httpx.Response(status, json={"status": "error", "message": "no", "category": category})


def portal(*, token_info: httpx.Response, refuse: dict[str, int] | None = None) -> Handler:
    """A HubSpot whose token info answers ``token_info`` and whose other endpoints answer 200,
    or the status ``refuse`` gives for a path suffix (403: a missing scope)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN_INFO_PATH:
            return token_info
        for suffix, status in (refuse or {}).items():
            if request.url.path.endswith(suffix):
                return error(status, "MISSING_SCOPES" if status == 403 else "")
        if request.url.path.startswith("/crm/lists/2026-03/0"):
            return error(404, "OBJECT_NOT_FOUND")  # no list 0: still past the scope check
        return httpx.Response(200, json={"results": [], "status": "COMPLETE"})

    return handler


def test_credentials_private_app_token_info_names_the_app_and_its_scopes() -> None:
    info = httpx.Response(200, json={"hubId": 1, "appId": 777, "scopes": ["crm.lists.read"]})
    client, seen = client_with(portal(token_info=info))
    credential = client.credential()
    assert (credential.kind, credential.app_id, credential.scopes) == (
        "app",
        "777",
        frozenset({"crm.lists.read"}),
    )
    assert seen[0].url.path == "/oauth/v2/private-apps/get/access-token-info"
    assert json.loads(seen[0].content) == {"tokenKey": "pat-na1-real"}


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405])
def test_credentials_service_key_token_info_4xx_is_not_told_never_refused(status: int) -> None:
    client, _ = client_with(portal(token_info=error(status)))
    credential = client.credential()
    assert (credential.kind, credential.scopes, credential.status) == ("not_told", None, status)


def test_credentials_token_info_failing_leaves_the_verdict_to_the_endpoints() -> None:
    # a 503 from the token info alone: the product's endpoints answer, the token is good
    client, _ = client_with(portal(token_info=error(503)))
    assert (client.credential().kind, client.credential().status) == ("not_told", 503)
    assert check_hubspot(client, list_id=None, score_property="hubspotscore")[0].ok
    # HubSpot down everywhere: the token check says HubSpot did not answer, not "refused"
    down, _ = client_with(portal(token_info=error(503), refuse={"": 503}))
    token = check_hubspot(down, list_id=None, score_property="hubspotscore")[0]
    assert (token.problem, token.variable, token.fatal) == (
        "unreachable",
        "HUBSPOT_BASE_URL",
        False,
    )


def test_credentials_service_key_with_every_scope_passes_on_the_probes() -> None:
    client, seen = client_with(portal(token_info=error(401, "INVALID_AUTHENTICATION")))
    findings = check_hubspot(client, list_id=None, score_property="hubspotscore")
    token = findings[0]
    assert token.ok and token.facts["kind"] == "not_told" and not token.facts["scopes_known"]
    probed = {r.url.path for r in seen}
    assert "/crm/objects/2026-03/contacts/batch/create" in probed
    assert "/crm/lists/2026-03/0/memberships/add" in probed


def test_credentials_service_key_missing_scopes_are_named_by_the_probes() -> None:
    # writes refused, list reads allowed but list writes not: only the missing ones are named
    refuse = {"/batch/create": 403, "/memberships/add": 403}
    client, _ = client_with(portal(token_info=error(404), refuse=refuse))
    token = check_hubspot(client, list_id="12", score_property="hubspotscore")[0]
    assert token.problem == "missing_scopes" and not token.fatal
    assert token.facts["missing"] == ["crm.lists.write", "crm.objects.contacts.write"]


def test_credentials_service_key_refused_by_the_probes_is_a_refused_token() -> None:
    client, _ = client_with(portal(token_info=error(404), refuse={"": 401}))
    findings = check_hubspot(client, list_id="12", score_property="hubspotscore")
    assert (findings[0].problem, findings[0].fatal) == ("refused", True)
    assert [f.problem for f in findings[1:]] == ["skipped", "skipped"]


def test_credentials_app_token_missing_scopes_come_from_the_token_info_without_probes() -> None:
    granted = [s for s in required_scopes() if s != "crm.lists.write"]
    info = httpx.Response(200, json={"hubId": 1, "appId": 5, "scopes": granted})
    client, seen = client_with(portal(token_info=info))
    token = check_hubspot(client, list_id=None, score_property="hubspotscore")[0]
    assert (token.problem, token.facts["missing"]) == ("missing_scopes", ["crm.lists.write"])
    assert not any(r.method in ("PUT", "PATCH") or "batch" in r.url.path for r in seen)


def test_credentials_probes_write_nothing_and_cover_every_required_scope() -> None:
    probes = probe_requests("2026-03", "12")
    assert {s for p in probes for s in p.scopes} == set(required_scopes())
    for probe in probes:
        if probe.method != "GET":
            inputs = probe.body if isinstance(probe.body, list) else probe.body["inputs"]
            assert inputs == [], probe


def test_credentials_every_endpoint_row_names_a_scope_but_the_token_info() -> None:
    assert all(e.scopes for k, e in HUBSPOT_ENDPOINT_SCOPES.items() if k != "token_info")
    assert not HUBSPOT_ENDPOINT_SCOPES["token_info"].scopes


@pytest.mark.parametrize(
    ("secret", "url", "problem", "variable"),
    [
        (None, None, None, None),
        ("s3cret", None, None, None),  # HubSpot posts to the address the server answers on
        (None, "https://bot.example.com", "not_set", "HUBSPOT_CLIENT_SECRET"),
        ("s3cret", "http://bot.example.com", "not_https", "PUBLIC_URL"),
        ("s3cret", "https://bot.example.com/", None, None),
    ],
)
def test_credentials_webhooks_need_a_client_secret_and_a_public_https_url(
    secret: str | None, url: str | None, problem: str | None, variable: str | None
) -> None:
    found = check_hubspot_webhooks("app", client_secret=secret, public_url=url)
    assert (found.problem, found.variable, found.fatal) == (problem, variable, False)
    if secret and url and problem is None:
        assert found.facts["target"] == "https://bot.example.com/hubspot/webhooks"

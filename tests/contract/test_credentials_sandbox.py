"""``sellsync check`` with each kind of HubSpot credential, over real HTTP to the sandbox: a
legacy private app's token, a project app's static token and a service key, whose token info
HubSpot does not describe. The scopes of the endpoint table are exactly those the clients need.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.check import render, run_check
from sandbox.hubspot_auth import PROJECT_APP_TOKEN, SERVICE_KEY
from sandbox.server import Sandbox
from sync.clients.hubspot_scopes import required_scopes
from sync.errors import AuthError
from sync.preflight import Finding, passed
from tests.contract.check_env import settings_for
from tests.contract.test_hubspot_wire import drive_every_call


def token_line(findings: list[Finding]) -> str:
    return next(line for line in render(findings).splitlines() if "HubSpot token" in line)


def check_with(sb: Sandbox, tmp_path: Path, token: str, **env: str) -> list[Finding]:
    return run_check(settings_for(sb, tmp_path, HUBSPOT_ACCESS_TOKEN=token, **env))


@pytest.mark.parametrize("token_info_status", [400, 401, 403, 404])
def test_credentials_service_key_passes_check_whatever_its_token_info_answers(
    sb: Sandbox, tmp_path: Path, token_info_status: int
) -> None:
    sb.hubspot.credentials[SERVICE_KEY].token_info_status = token_info_status
    findings = check_with(sb, tmp_path, SERVICE_KEY)
    assert passed(findings), render(findings)
    assert token_line(findings) == (
        "✓ HubSpot token: kind not told by HubSpot (its token info does not describe service "
        "keys); scopes probed on the endpoints"
    )
    # the probes reached the endpoints the product calls, and wrote nothing
    probed = {(c.method, c.path) for c in sb.hubspot.calls}
    assert ("POST", "/crm/objects/2026-03/contacts/batch/create") in probed
    webhooks = next(f for f in findings if f.key == "hubspot.webhooks")
    assert webhooks.ok and webhooks.facts["enabled"] is False


def test_credentials_service_key_probes_create_no_record(sb: Sandbox, tmp_path: Path) -> None:
    before = len(sb.hubspot.contacts_by_id)
    members = {i: sorted(sb.hubspot.list_members(i)) for i in sb.hubspot.lists_by_id}
    check_with(sb, tmp_path, SERVICE_KEY)
    assert len(sb.hubspot.contacts_by_id) == before
    assert {i: sorted(sb.hubspot.list_members(i)) for i in sb.hubspot.lists_by_id} == members


def test_credentials_service_key_missing_scopes_are_named_by_the_probes(
    sb: Sandbox, tmp_path: Path
) -> None:
    held = [
        s
        for s in required_scopes()
        if s not in ("crm.objects.contacts.write", "crm.lists.write", "crm.objects.owners.read")
    ]
    sb.hubspot.add_credential("narrow-service-key", "service_key", held)
    findings = check_with(sb, tmp_path, "narrow-service-key")
    token = findings[1]
    assert (token.key, token.problem, token.fatal) == ("hubspot.token", "missing_scopes", False)
    assert token_line(findings) == (
        "✗ HubSpot token: kind not told by HubSpot (its token info does not describe service "
        "keys); scopes probed on the endpoints (leaving Sell would also need "
        "crm.objects.owners.read): missing the scopes crm.lists.write, "
        "crm.objects.contacts.write: add them to the service key (Development → Keys → Service "
        "keys → the key → Add new scope) or to the app the token belongs to"
    )


def test_credentials_project_app_token_is_named_with_its_app(sb: Sandbox, tmp_path: Path) -> None:
    findings = check_with(
        sb,
        tmp_path,
        PROJECT_APP_TOKEN,
        HUBSPOT_CLIENT_SECRET="project-client-secret",
        PUBLIC_URL="https://sellsync.example.com",
    )
    assert passed(findings), render(findings)
    assert token_line(findings) == (
        "✓ HubSpot token: an app's static token (app 888: a legacy private app or a project "
        "app); scopes from HubSpot"
    )
    # HubSpot told the scopes: nothing was probed
    assert not any("batch/create" in c.path for c in sb.hubspot.calls)
    assert (
        "✓ HubSpot webhooks to https://sellsync.example.com/hubspot/webhooks, signed with "
        "HUBSPOT_CLIENT_SECRET"
    ) in render(findings)


def test_credentials_private_app_missing_scopes_come_from_its_token_info(
    sb: Sandbox, tmp_path: Path
) -> None:
    held = [s for s in required_scopes() if s != "crm.lists.read"]
    sb.hubspot.add_credential("pat-sandbox-narrow", "private_app", held)
    findings = check_with(sb, tmp_path, "pat-sandbox-narrow")
    assert findings[1].problem == "missing_scopes"
    assert findings[1].facts["missing"] == ["crm.lists.read"]
    # and the list read itself is refused for that scope, not for the token
    assert next(f for f in findings if f.key == "hubspot.list").problem == "refused"


def test_credentials_an_unknown_token_is_refused_and_stops_serve(
    sb: Sandbox, tmp_path: Path
) -> None:
    token = check_with(sb, tmp_path, "pat-na1-not-a-token")[1]
    assert (token.key, token.problem, token.variable, token.fatal) == (
        "hubspot.token",
        "refused",
        "HUBSPOT_ACCESS_TOKEN",
        True,
    )


def test_credentials_service_key_with_webhook_settings_says_hubspot_did_not_tell(
    sb: Sandbox, tmp_path: Path
) -> None:
    findings = check_with(
        sb,
        tmp_path,
        SERVICE_KEY,
        HUBSPOT_CLIENT_SECRET="project-client-secret",
        PUBLIC_URL="https://sellsync.example.com",
    )
    text = render(findings)
    assert "HubSpot does not say whether this token is the project app's" in text
    # a public URL without the secret: every webhook would be refused
    half = check_with(sb, tmp_path, SERVICE_KEY, PUBLIC_URL="https://sellsync.example.com")
    webhooks = next(f for f in half if f.key == "hubspot.webhooks")
    assert (webhooks.problem, webhooks.variable, webhooks.fatal) == (
        "not_set",
        "HUBSPOT_CLIENT_SECRET",
        False,
    )
    assert (
        "✗ HubSpot webhooks: PUBLIC_URL is set but HUBSPOT_CLIENT_SECRET is not: copy the "
        "project app's client secret"
    ) in render(half)


def test_credentials_the_sync_scopes_of_the_table_are_enough_for_every_client_call(
    sandbox: Sandbox,
) -> None:
    sandbox.hubspot.token_scopes = list(required_scopes(feature="sync"))
    drive_every_call(sandbox)
    assert not [c for c in sandbox.hubspot.calls if c.status == 403]


@pytest.mark.parametrize("scope", required_scopes(feature="sync"))
def test_credentials_every_sync_scope_of_the_table_is_needed_by_some_call(
    sandbox: Sandbox, scope: str
) -> None:
    sandbox.hubspot.token_scopes = [s for s in required_scopes(feature="sync") if s != scope]
    with pytest.raises(AuthError) as refused:
        drive_every_call(sandbox)
    assert refused.value.status == 403

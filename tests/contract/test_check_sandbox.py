"""``sellsync check`` against the sandbox servers: each way a real setup goes wrong gives a ✗
with the exact fix, and ``serve``/``worker`` stop at start only for a setting that is certainly
wrong."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.check import render, run_check, startup_check
from sandbox.server import Sandbox
from storage.db import open_store
from sync.errors import ConfigError
from sync.ports import CustomMapping
from sync.preflight import Finding, passed
from tests.contract.check_env import WRONG_SELL_TOKEN, settings_for


def failed(findings: list[Finding]) -> list[str]:
    return [line for line in render(findings).splitlines() if line.startswith("✗")]


def test_the_sandbox_environment_passes_every_check(sb: Sandbox, tmp_path: Path) -> None:
    findings = run_check(settings_for(sb, tmp_path))
    assert passed(findings), render(findings)
    keys = {f.key for f in findings}
    assert keys >= {"database", "hubspot.token", "hubspot.list", "hubspot.score", "sell.token",
                    "sell.field", "slack.mode", "slack.token", "slack.channel", "slack.managers"}  # fmt: skip
    # every S10 field, for leads and for contacts (HubSpot source: contacts only)
    fields = {(f.facts["kind"], f.facts["name"]) for f in findings if f.key == "sell.field"}
    assert len(fields) == 7 and ("contact", "HubSpot source") in fields


def test_missing_hubspot_scopes_are_named(sb: Sandbox, tmp_path: Path) -> None:
    assert sb.hubspot.token_scopes is not None
    sb.hubspot.token_scopes.remove("crm.lists.write")
    sb.hubspot.token_scopes.remove("crm.objects.owners.read")
    lines = failed(run_check(settings_for(sb, tmp_path)))
    # syncing needs crm.lists.write; only leaving Sell needs crm.objects.owners.read
    assert lines == [
        "✗ HubSpot token: an app's static token (app 777: a legacy private app or a project "
        "app); scopes from HubSpot (leaving Sell would also need crm.objects.owners.read): "
        "missing the scopes crm.lists.write: add them to the app (a legacy private app: "
        "Development → Legacy apps → the app → Scopes, then copy its new token; the project app: "
        "its hubspot/src/app/app-hsmeta.json, then `hs project upload`)"
    ]


def test_missing_and_mistyped_sell_fields_say_what_to_create(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")  # no custom fields at all, except two we get wrong
    sb.sell.add_custom_field("lead", "HubSpot score", "string")
    sb.sell.add_custom_field("contact", "HubSpot score", "number")
    list_id = sb.hubspot.create_list("Sell sync", "DYNAMIC")
    findings = run_check(settings_for(sb, tmp_path, HUBSPOT_LIST_ID=list_id))
    text = render(findings)
    assert (
        '✗ Sell lead field "HubSpot score" (number, for HubSpot score): it has type string: '
        "delete it and create it again in Sell → Settings → Customize → Leads → Fields with type number"
    ) in text
    assert '✓ Sell contact field "HubSpot score"' in text
    assert (
        '✗ Sell contact field "HubSpot public contact URL" (url, for Public contact URL): create it '
        'in Sell → Settings → Customize → Contacts → Fields: name "HubSpot public contact URL", '
        "type url"
    ) in text
    assert "pushed contacts are not added to a DYNAMIC list" in text
    assert len([f for f in findings if f.key == "sell.field" and not f.ok]) == 6


def test_a_stored_custom_mapping_is_checked_with_the_type_to_create(
    sb: Sandbox, tmp_path: Path
) -> None:
    settings = settings_for(sb, tmp_path)
    with open_store(settings.database_url) as store:
        store.update_settings(
            custom_mappings=(
                CustomMapping("annual_revenue_usd", "Annual revenue"),
                CustomMapping("account_notes", "Notes for the account"),
            )
        )
    text = render(run_check(settings))
    assert '✓ mapping annual_revenue_usd → Sell field "Annual revenue"' in text
    assert '✗ mapping account_notes → Sell field "Notes for the account"' in text
    assert 'as "Notes for the account" of type text' in text


def test_slack_bot_outside_its_channel_and_missing_scopes(sb: Sandbox, tmp_path: Path) -> None:
    sb.slack.set_channel("C0SALESOPS", "sales-ops", bot_member=False)
    sb.slack.scopes.remove("usergroups:read")
    lines = failed(run_check(settings_for(sb, tmp_path)))
    assert lines == [
        "✗ Slack auth.test (bot sellsync in Sandbox): add the bot scopes usergroups:read "
        "(OAuth & Permissions), reinstall the app, then copy the new Bot User OAuth Token into "
        "SLACK_BOT_TOKEN",
        "✗ summary channel C0SALESOPS #sales-ops: the bot is not a member: type /invite "
        "@sellsync in #sales-ops",
        "✗ manager group S0MANAGERS: add the bot scope usergroups:read, then reinstall the app",
    ]


def test_unset_slack_settings_are_named(sb: Sandbox, tmp_path: Path) -> None:
    settings = settings_for(sb, tmp_path)
    settings = settings.model_copy(
        update={
            "slack_summary_channel": None,
            "slack_approval_channel": None,
            "slack_manager_group": None,
            "slack_manager_ids": "",
        }
    )
    lines = failed(run_check(settings))
    assert [line.split(":", 1)[1].strip().split(" ")[1] for line in lines] == [
        "SLACK_SUMMARY_CHANNEL",
        "SLACK_MANAGER_IDS",
    ]


def test_startup_check_logs_and_starts_unless_a_setting_is_certainly_wrong(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sellsync.check")
    sb.slack.set_channel("C0SALESOPS", "sales-ops", bot_member=False)
    startup_check(settings_for(sb, tmp_path))  # a fixable ✗: logged, the process starts
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("the bot is not a member" in w for w in warnings)
    assert any("1 item(s) need attention" in w for w in warnings)

    with pytest.raises(ConfigError) as refused:
        startup_check(settings_for(sb, tmp_path, HUBSPOT_LIST_ID="424242"))
    assert refused.value.variable == "HUBSPOT_LIST_ID"
    with pytest.raises(ConfigError) as refused:
        startup_check(settings_for(sb, tmp_path, SELL_ACCESS_TOKEN=WRONG_SELL_TOKEN))
    assert refused.value.variable == "SELL_ACCESS_TOKEN"
    assert WRONG_SELL_TOKEN not in str(refused.value)


def test_socket_mode_checks_the_app_level_token(sb: Sandbox, tmp_path: Path) -> None:
    settings = settings_for(sb, tmp_path, SLACK_APP_TOKEN="xapp-1-A1-123")
    assert passed(run_check(settings))
    assert sb.slack.count("POST", "/api/apps.connections.open") == 1
    sb.slack.inject("401", path_prefix="/api/apps.connections.open")
    findings = run_check(settings)
    refused = [f for f in findings if not f.ok]
    assert [(f.key, f.variable, f.fatal) for f in refused] == [
        ("slack.app_token", "SLACK_APP_TOKEN", True)
    ]
    # a bot token where the app-level token goes is refused before any call
    lines = failed(run_check(settings_for(sb, tmp_path, SLACK_APP_TOKEN="xoxb-123-456")))
    assert lines == ["✗ Slack tokens: SLACK_APP_TOKEN must start with xapp-"]


def test_a_token_without_readable_scopes_is_still_checked_by_the_next_calls(
    sb: Sandbox, tmp_path: Path
) -> None:
    # a service key: HubSpot's token-info does not describe it (404 here), so the scopes are
    # unknown; a refused key is then caught by the list and property reads
    sb.hubspot.token_scopes = None
    findings = run_check(settings_for(sb, tmp_path))
    assert passed(findings)
    assert (
        "✓ HubSpot token: kind not told by HubSpot (its token info does not describe service "
        "keys); scopes probed on the endpoints"
    ) in render(findings)
    sb.hubspot.inject("401", path_prefix="/crm/lists", times=None)
    sb.hubspot.inject("401", path_prefix="/crm/properties", times=None)
    # the probes of the token check call those endpoints: the key is refused there
    refused = [f for f in run_check(settings_for(sb, tmp_path)) if not f.ok and not f.skipped]
    assert [(f.key, f.variable, f.fatal) for f in refused] == [
        ("hubspot.token", "HUBSPOT_ACCESS_TOKEN", True),
    ]


def test_a_service_failing_during_the_check_is_a_fixable_cross_not_a_crash(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.hubspot.inject("503", path_prefix="/crm/properties", times=None)
    findings = run_check(settings_for(sb, tmp_path))
    bad = [f for f in findings if not f.ok]
    assert [(f.key, f.problem, f.variable, f.fatal) for f in bad] == [
        ("hubspot.score", "unreachable", "HUBSPOT_BASE_URL", False)
    ]
    assert "HubSpot did not answer" in render(findings)

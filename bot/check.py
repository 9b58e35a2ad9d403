"""``sellsync check``: run the preflight of :mod:`sync.preflight` and say each result in words.

Every line is ``✓`` or ``✗``, what was checked and, for a ``✗``, the exact fix: the variable to
change, the scope to add, the Sell field to create with its type, the channel to invite the bot
to. ``serve`` and ``worker`` run the same check at start and log it (see :func:`startup_check`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import AppSettings, is_placeholder
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.retry import RetryPolicy
from sync.clients.sell import SellClient
from sync.errors import ConfigError
from sync.preflight import (
    Finding,
    SlackAuth,
    SlackChannel,
    SlackGroup,
    check_hubspot,
    check_sell,
    check_slack,
    check_slack_mode,
)

log = logging.getLogger("sellsync.check")

OK_MARK, FAIL_MARK = "✓", "✗"
#: A preflight should answer within seconds, not sit out a run's retry budget.
CHECK_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0, max_wait=5.0)
CHECK_TIMEOUT = 10.0


# --------------------------------------------------------------------------- Slack adapter


class SlackWebProbe:
    """:class:`sync.preflight.SlackProbe` over a ``slack_sdk`` WebClient."""

    def __init__(self, client: WebClient, app_client: WebClient | None = None) -> None:
        self.client = client
        self.app_client = app_client

    def app_token(self) -> str | None:
        """apps.connections.open with the app-level token: a URL is issued, nothing connects."""
        if self.app_client is None:
            return None
        try:
            self.app_client.apps_connections_open(app_token=self.app_client.token or "")
        except SlackApiError as exc:
            return str(exc.response.get("error") or "invalid_auth")
        except OSError:
            return "unreachable"
        return None

    def auth(self) -> SlackAuth:
        try:
            response = self.client.auth_test()
        except SlackApiError as exc:
            return SlackAuth(error=str(exc.response.get("error") or "invalid_auth"))
        except OSError:  # URLError, refused connections, DNS, timeouts
            return SlackAuth(error="unreachable")
        header = _header(response.headers, "x-oauth-scopes")
        scopes = None if header is None else frozenset(s.strip() for s in header.split(","))
        return SlackAuth(
            error=None,
            scopes=scopes,
            bot=str(response.get("user") or ""),
            team=str(response.get("team") or ""),
        )

    def channel(self, channel_id: str) -> SlackChannel:
        try:
            data = self.client.conversations_info(channel=channel_id).get("channel") or {}
        except SlackApiError as exc:
            return SlackChannel(error=str(exc.response.get("error") or "unknown"))
        except OSError:
            return SlackChannel(error="unreachable")
        return SlackChannel(
            error=None,
            name=str(data.get("name") or ""),
            is_member=bool(data.get("is_member")),
            is_private=bool(data.get("is_private")),
        )

    def usergroup(self, group_id: str) -> SlackGroup:
        try:
            users = self.client.usergroups_users_list(usergroup=group_id).get("users") or []
        except SlackApiError as exc:
            return SlackGroup(error=str(exc.response.get("error") or "unknown"))
        except OSError:
            return SlackGroup(error="unreachable")
        return SlackGroup(error=None, members=len(users))


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


# --------------------------------------------------------------------------- running it


def _secret(settings: AppSettings, name: str) -> str | None:
    value = getattr(settings, name)
    raw = value.get_secret_value() if value is not None else None
    return None if raw is None or is_placeholder(raw) else raw


_READ = (None, "not_found", "wrong_type")  # the score check read the property definitions


def _value(raw: str | None) -> str | None:
    """A setting's value, or None when it is empty or still a placeholder (.env.example)."""
    return None if raw is None or is_placeholder(raw) else raw.strip()


def _database(settings: AppSettings) -> tuple[Finding, list[tuple[str, str]], str | None]:
    """The database answers and is migrated; with it, the stored list id and custom mappings
    (an approved change wins over the environment, S2/S13). Reads only."""
    from storage import tables as t
    from storage.db import current_revision, head_revision, make_engine

    try:
        engine = make_engine(settings.database_url)
    except ConfigError as exc:
        return (
            Finding("database", "invalid", "DATABASE_URL", {"detail": exc.problem}, True),
            [],
            None,
        )
    try:
        current, head = current_revision(engine), head_revision()
        if current != head:  # serve, worker and sync migrate at start: nothing to fix
            return Finding("database", facts={"revision": current, "head": head}), [], None
        with engine.connect() as connection:
            row = connection.execute(sa.select(t.settings)).mappings().first()
    except Exception as exc:  # any driver error: say it and name the variable
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Finding("database", "unreachable", "DATABASE_URL", {"detail": first}), [], None
    finally:
        engine.dispose()
    if row is None:
        return Finding("database", facts={"revision": head}), [], None
    mappings = [(m["hubspot_property"], m["sell_field"]) for m in row["custom_mappings"] or []]
    return Finding("database", facts={"revision": head}), mappings, row["list_id"] or None


def run_check(settings: AppSettings) -> list[Finding]:
    """Every preflight item, in the order they are shown."""
    database, mappings, stored_list = _database(settings)
    findings = [database]
    hubspot_token = _secret(settings, "hubspot_access_token")
    props = None
    if hubspot_token is None:
        findings.append(Finding("hubspot.token", "not_set", "HUBSPOT_ACCESS_TOKEN"))
    else:
        with HubSpotClient(
            HubSpotSession(
                settings.hubspot_base_url,
                hubspot_token,
                timeout=CHECK_TIMEOUT,
                score_property=settings.hubspot_score_property,
            ),
            HubSpotLimits.unpaced(retry=CHECK_RETRY),
        ) as hubspot:
            list_id = stored_list or _value(settings.hubspot_list_id)
            found = check_hubspot(
                hubspot, list_id=list_id, score_property=settings.hubspot_score_property
            )
            findings += found
            if any(f.key == "hubspot.score" and f.problem in _READ for f in found):
                props = hubspot.properties()  # read above and cached: no second call
    sell_token = _secret(settings, "sell_access_token")
    if sell_token is None:
        findings.append(Finding("sell.token", "not_set", "SELL_ACCESS_TOKEN"))
    else:
        with SellClient(
            settings.sell_base_url,
            sell_token,
            per_s=None,
            retry=CHECK_RETRY,
            timeout=CHECK_TIMEOUT,
        ) as sell:
            findings += check_sell(
                sell,
                score_property=settings.hubspot_score_property,
                custom_mappings=mappings,
                hubspot_properties=props,
            )
    bot_token = _secret(settings, "slack_bot_token")
    mode = check_slack_mode(
        app_token=_secret(settings, "slack_app_token"),
        signing_secret=_secret(settings, "slack_signing_secret"),
        bot_token=bot_token,
    )
    findings.append(mode)
    if bot_token is not None and mode.variable != "SLACK_BOT_TOKEN":
        client = WebClient(token=bot_token, base_url=settings.slack_api_url, timeout=10)
        app_token = _secret(settings, "slack_app_token")
        app_client = (
            WebClient(token=app_token, base_url=settings.slack_api_url, timeout=10)
            if app_token and mode.ok
            else None
        )
        findings += check_slack(
            SlackWebProbe(client, app_client),
            socket_mode=app_client is not None,
            summary_channel=_value(settings.slack_summary_channel),
            approval_channel=_value(settings.slack_approval_channel),
            manager_group=_value(settings.slack_manager_group),
            manager_ids=sorted(settings.manager_ids),
        )
    return findings


# --------------------------------------------------------------------------- wording


def describe(f: Finding) -> tuple[str, str]:
    """(what was checked, the fix) for one finding; the fix is empty when it holds."""
    d: dict[str, Any] = dict(f.facts)
    what, fix = _WORDS.get(f.key, _generic)(f, d)
    return what, fix


def _generic(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    return f.key, f"{f.problem}: check {f.variable}" if f.variable else str(f.problem)


def _common(f: Finding, d: dict[str, Any], service: str, base: str) -> str | None:
    """Fixes that read the same for every item of a service."""
    if f.problem == "not_set":
        return f"set {f.variable}"
    if f.problem == "refused" and d.get("status") == 403:
        return f"the token lacks a scope ({d.get('detail', '')}): grant it, see docs/setup.md"
    if f.problem == "refused":
        status = f" ({d['status']})" if d.get("status") else ""
        return f"{service} refused the token{status}: set {f.variable} to a valid token"
    if f.problem == "unreachable":
        detail = f" ({d['detail']})" if d.get("detail") else ""
        return f"{service} did not answer{detail}: check {base} and the network"
    return None


def _hubspot_token(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = "HubSpot token"
    if f.ok and d.get("scopes_known") is False:
        what += " (HubSpot does not show this kind of token's scopes)"
    elif f.ok:
        what += " and its scopes"
    if f.problem == "missing_scopes":
        missing = ", ".join(d["missing"])
        return what, f"add the scopes {missing} to the private app, then copy its new token"
    return what, _common(f, d, "HubSpot", "HUBSPOT_BASE_URL") or ""


def _hubspot_list(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if f.ok:
        note = "" if d["accepts_members"] else "; pushed contacts are not added to a DYNAMIC list"
        return f'HubSpot list {d["id"]} "{d["name"]}" ({d["processing_type"]}{note})', ""
    if f.problem == "not_found":
        return (
            f"HubSpot list {d['id']}",
            "no such list: set HUBSPOT_LIST_ID to the list's ID (Contacts → Lists → the list: "
            "the number in its URL or 'List ID' in its details)",
        )
    return "HubSpot list", _common(f, d, "HubSpot", "HUBSPOT_BASE_URL") or ""


def _hubspot_score(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = f'score property "{d.get("name", "")}"'
    if f.problem == "not_found":
        hint = (
            f" (number properties with 'score': {', '.join(d['candidates'])})"
            if d.get("candidates")
            else ""
        )
        return what, f"HubSpot has no such property: set HUBSPOT_SCORE_PROPERTY{hint}"
    if f.problem == "wrong_type":
        return what, (
            f"it is of type {d['type']}, not number: set HUBSPOT_SCORE_PROPERTY to a number property"
        )
    return what, _common(f, d, "HubSpot", "HUBSPOT_BASE_URL") or ""


def _sell_token(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = "Sell token" + (f" (user {d['user']})" if f.ok and d.get("user") else "")
    return what, _common(f, d, "Sell", "SELL_BASE_URL") or ""


def _sell_field(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if f.key == "sell.fields":  # the field lists could not be read
        return "Sell custom fields", _common(f, d, "Sell", "SELL_BASE_URL") or ""
    what = f'Sell {d["kind"]} field "{d["name"]}" ({d["type"]}, for {d["purpose"]})'
    where = f"Sell → Settings → Customize → {d['kind'].capitalize()}s → Fields"
    if f.problem == "missing":
        return what, f'create it in {where}: name "{d["name"]}", type {d["type"]}'
    if f.problem == "wrong_type":
        return what, (
            f"it has type {d['found_type']}: delete it and create it again in {where} "
            f"with type {d['type']}"
        )
    return what, ""


def _sell_mapping(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = f'mapping {d["property"]} → Sell field "{d["field"]}"'
    return what, "" if f.ok else str(d["message"])


def _slack_mode(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if f.ok:
        return (
            f"Slack {'Socket Mode (SLACK_APP_TOKEN)' if d['mode'] == 'socket' else 'HTTP mode'}",
            "",
        )
    if f.problem == "wrong_token":
        return "Slack tokens", f"{f.variable} must start with {d['expected']}"
    return "Slack tokens", f"set {f.variable}" + (
        " (Basic Information → Signing Secret), or SLACK_APP_TOKEN for Socket Mode"
        if f.variable == "SLACK_SIGNING_SECRET"
        else ""
    )


def _slack_token(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = "Slack auth.test" + (f" (bot {d['bot']} in {d['team']})" if d.get("bot") else "")
    if f.problem == "missing_scopes":
        return what, (
            f"add the bot scopes {', '.join(d['missing'])} (OAuth & Permissions), reinstall the "
            "app, then copy the new Bot User OAuth Token into SLACK_BOT_TOKEN"
        )
    if f.problem == "refused":
        return what, f"Slack refused the token ({d.get('detail')}): set SLACK_BOT_TOKEN"
    if f.problem == "unreachable":
        return what, "Slack did not answer: check SLACK_API_URL and the network"
    return what, ""


def _slack_app_token(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = "Slack app-level token (Socket Mode)"
    if f.problem == "refused":
        return what, (
            f"Slack refused it ({d.get('detail')}): set SLACK_APP_TOKEN to an app-level token "
            "with connections:write (Basic Information → App-Level Tokens)"
        )
    if f.problem == "unreachable":
        return what, "Slack did not answer: check SLACK_API_URL and the network"
    return what, ""


def _slack_channel(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    name = f" #{d['name']}" if d.get("name") else ""
    what = f"{d['role']} channel {d.get('id') or ''}{name}".rstrip()
    if f.problem == "not_set":
        return (
            what,
            f"set {f.variable} to the channel's ID (channel details → About, at the bottom)",
        )
    if f.problem == "not_found":
        return what, (
            f"no such channel for the bot: check {f.variable}, or invite the bot with "
            "/invite @sellsync if the channel is private"
        )
    if f.problem == "not_member":
        return what, f"the bot is not a member: type /invite @sellsync in{name or ' the channel'}"
    if f.problem == "missing_scopes":
        return what, "add the bot scopes channels:read and groups:read, then reinstall the app"
    return what, f"cannot read the channel ({d.get('detail')}): check {f.variable}"


def _slack_managers(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if f.ok:
        if d.get("group"):
            return f"manager group {d['group']} ({d['members']} members)", ""
        return f"managers {', '.join(d['ids'])}", ""
    if f.problem == "not_set":
        return (
            "managers",
            "set SLACK_MANAGER_IDS (user IDs) or SLACK_MANAGER_GROUP: nobody can approve",
        )
    what = f"manager group {d.get('group')}"
    if f.problem == "missing_scopes":
        return what, "add the bot scope usergroups:read, then reinstall the app"
    if f.problem == "empty":
        return what, "the group has no members: add managers to it or set SLACK_MANAGER_IDS"
    return what, f"cannot read the group ({d.get('detail')}): check SLACK_MANAGER_GROUP"


def _database_words(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if f.ok and d.get("head"):
        return f"database (schema {d['revision'] or 'empty'}; migrated to {d['head']} at start)", ""
    if f.ok:
        return f"database (schema {d['revision']})", ""
    return "database", f"{d.get('detail')}: check DATABASE_URL"


_WORDS = {
    "database": _database_words,
    "hubspot.token": _hubspot_token,
    "hubspot.list": _hubspot_list,
    "hubspot.score": _hubspot_score,
    "sell.token": _sell_token,
    "sell.fields": _sell_field,
    "sell.field": _sell_field,
    "sell.mapping": _sell_mapping,
    "slack.mode": _slack_mode,
    "slack.token": _slack_token,
    "slack.app_token": _slack_app_token,
    "slack.channel": _slack_channel,
    "slack.managers": _slack_managers,
}


def render(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        what, fix = describe(f)
        lines.append(f"{OK_MARK} {what}" if f.ok else f"{FAIL_MARK} {what}: {fix}")
    failed = sum(1 for f in findings if not f.ok)
    lines.append(
        "all checks passed" if not failed else f"{failed} of {len(findings)} checks failed"
    )
    return "\n".join(lines)


def startup_check(settings: AppSettings) -> None:
    """Run at the start of ``serve`` and ``worker``: log every line; stop with a ConfigError
    only when a setting is certainly wrong (a refused token, an unknown list, an unusable
    database URL) — every run would fail the same way, so a clear exit beats a bot that starts
    and fails every 15 minutes. Anything else (a missing scope or Sell field, the bot outside a
    channel, a service that does not answer now) is logged as a warning and the process starts:
    those are fixed while it runs, and an outage must not keep the bot down."""
    findings = run_check(settings)
    for f in findings:
        what, fix = describe(f)
        if f.ok:
            log.info("check %s %s", OK_MARK, what)
        else:
            log.warning("check %s %s: %s", FAIL_MARK, what, fix)
    fatal = next((f for f in findings if f.fatal and not f.ok), None)
    if fatal is not None:
        raise ConfigError(fatal.variable or "configuration", f"is wrong: {describe(fatal)[1]}")
    failed = sum(1 for f in findings if not f.ok)
    if failed:
        log.warning("check: %d item(s) need attention; run `sellsync check` for the list", failed)
    else:
        log.info("check: all %d items passed", len(findings))

"""``sellsync check``: run the preflight of :mod:`sync.preflight` and say each result in words.

Every line is ``✓`` or ``✗``, what was checked and, for a ``✗``, the exact fix: the variable to
change, the scope to add, the Sell field to create with its type, the channel to invite the bot
to. ``serve`` and ``worker`` run the same check at start and log it (see :func:`startup_check`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.sell_mode import MODE_WORDS
from bot.settings import AppSettings, is_placeholder
from bot.terminal import outside
from sync.api import (
    SETTINGS,
    ConfigError,
    Finding,
    HubSpotClient,
    HubSpotLimits,
    HubSpotSession,
    RetryPolicy,
    SellClient,
    SellMode,
    SettingName,
    SlackAuth,
    SlackChannel,
    SlackGroup,
    check_hubspot,
    check_published_credentials,
    check_sell,
    check_slack,
    check_slack_mode,
    hubspot_skipped,
    sell_skipped,
)

log = logging.getLogger("sellsync.check")

OK_MARK, FAIL_MARK, SKIP_MARK = "✓", "✗", "–"
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
    """The database answers and is migrated (as every command migrates it at start); with it,
    the stored list id and custom mappings (a stored setting wins over the environment, S2/S13).
    Stores no setting."""
    from storage.db import current_revision, head_revision, make_engine, upgrade
    from storage.repositories import SqlStore

    try:
        engine = make_engine(settings.database_url)
    except ConfigError as exc:
        return (
            Finding("database", "invalid", "DATABASE_URL", {"detail": exc.problem}, True),
            [],
            None,
        )
    try:
        before, head = current_revision(engine), head_revision()
        if before != head:
            upgrade(engine)
        stored = SqlStore(engine).stored_settings()
    except Exception as exc:  # any driver error: say it and name the variable
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return Finding("database", "unreachable", "DATABASE_URL", {"detail": first}), [], None
    finally:
        engine.dispose()
    mode = SETTINGS[SettingName.SELL_MODE].stored(stored) or SellMode.ACTIVE
    facts = {
        "revision": head,
        "migrated_from": before if before != head else head,
        "sell_mode": str(mode),
    }
    if before is None:
        facts["migrated_from"] = "empty"
    mappings = [(m.hubspot_property, m.sell_field) for m in stored.custom_mappings]
    return Finding("database", facts=facts), mappings, stored.list_id


def _webhooks(settings: AppSettings, findings: Sequence[Finding]) -> Finding:
    """Whether HubSpot's webhooks can reach the bot, from the token's kind and the settings
    (``HUBSPOT_CLIENT_SECRET``, ``PUBLIC_URL``; read only if this version has them)."""
    token = next((f for f in findings if f.key == "hubspot.token"), None)
    kind = token.facts.get("kind") if token is not None else None
    raw_secret = getattr(settings, "hubspot_client_secret", None)
    if raw_secret is not None and hasattr(raw_secret, "get_secret_value"):
        raw_secret = raw_secret.get_secret_value()
    raw_url = getattr(settings, "public_url", None)
    secret = _value(None if raw_secret is None else str(raw_secret))
    public_url = _value(None if raw_url is None else str(raw_url))
    return check_hubspot_webhooks(kind, client_secret=secret, public_url=public_url)


def check_hubspot_webhooks(
    credential_kind: str | None, *, client_secret: str | None, public_url: str | None
) -> Finding:
    """Can HubSpot's webhooks reach the bot? They need a project app (a service key receives
    none) and its client secret to verify their signatures; ``PUBLIC_URL`` (when a proxy changes
    the address HubSpot posts to) must be https. Without webhooks changes still arrive by
    polling, so "off" is not a failure; a URL without the secret is.

    ``credential_kind``: :attr:`HubSpotCredential.kind`, or None when the token was not read."""
    facts: dict[str, Any] = {"kind": credential_kind}
    if not client_secret and not public_url:
        return Finding("hubspot.webhooks", facts={**facts, "enabled": False})
    if not client_secret:
        return Finding("hubspot.webhooks", "not_set", "HUBSPOT_CLIENT_SECRET", facts)
    if not public_url:  # the address HubSpot posts to is the one this server answers on
        return Finding("hubspot.webhooks", facts={**facts, "enabled": True, "target": None})
    url = public_url.rstrip("/")
    if not url.lower().startswith("https://"):
        return Finding("hubspot.webhooks", "not_https", "PUBLIC_URL", {**facts, "url": url})
    target = f"{url}/hubspot/webhooks"
    return Finding("hubspot.webhooks", facts={**facts, "enabled": True, "target": target})


def _stored_list(f: Finding) -> Finding:
    if f.key != "hubspot.list":
        return f
    return Finding(f.key, f.problem, f.variable, {**f.facts, "stored": True}, f.fatal)


def run_check(settings: AppSettings) -> list[Finding]:
    """Every preflight item, in the order they are shown."""
    database, mappings, stored_list = _database(settings)
    findings = [database]
    hubspot_token = _secret(settings, "hubspot_access_token")
    props = None
    list_id = stored_list or _value(settings.hubspot_list_id)
    if hubspot_token is None:
        token = Finding("hubspot.token", "not_set", "HUBSPOT_ACCESS_TOKEN")
        findings += [
            token,
            *hubspot_skipped(
                token, list_id=list_id, score_property=settings.hubspot_score_property
            ),
        ]
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
            found = check_hubspot(
                hubspot, list_id=list_id, score_property=settings.hubspot_score_property
            )
            if stored_list is not None:  # the stored list is the one synced, whatever the env
                found = [_stored_list(f) for f in found]
            findings += found
            if any(f.key == "hubspot.score" and f.problem in _READ for f in found):
                props = hubspot.properties()  # read above and cached: no second call
    sell_mode = SellMode(database.facts.get("sell_mode") or SellMode.ACTIVE)
    findings.append(Finding("sell.mode", facts={"mode": sell_mode.value}))
    findings.append(_webhooks(settings, findings))
    sell_token = _secret(settings, "sell_access_token")
    if sell_mode is SellMode.RETIRED:
        pass  # Sell is not called any more: its checks do not run (the line above says why)
    elif sell_token is None:
        token = Finding("sell.token", "not_set", "SELL_ACCESS_TOKEN")
        findings += [token, *sell_skipped(token, mappings=len(mappings))]
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
    published = check_published_credentials(_aimed_at_real_services(settings))
    if published is not None:
        findings.append(published)
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


#: The hosts of the real services; credentials sent elsewhere (the sandbox) are not checked
#: against the sandbox's published ones.
_REAL_HOSTS = {
    "slack_api_url": "slack.com",
    "hubspot_base_url": "hubapi.com",
    "sell_base_url": "getbase.com",
}
_CREDENTIALS = {
    "slack_api_url": ("slack_signing_secret", "slack_bot_token"),
    "hubspot_base_url": ("hubspot_access_token",),
    "sell_base_url": ("sell_access_token",),
}


def _aimed_at_real_services(settings: AppSettings) -> dict[str, str | None]:
    """The credentials (by variable) whose service URL is the real service's."""
    out: dict[str, str | None] = {}
    for url_name, real in _REAL_HOSTS.items():
        host = (urlsplit(getattr(settings, url_name)).hostname or "").lower()
        if host == real or host.endswith("." + real):
            for name in _CREDENTIALS[url_name]:
                out[name.upper()] = _secret(settings, name)
    return out


# --------------------------------------------------------------------------- wording


def describe(f: Finding) -> tuple[str, str]:
    """(what was checked, the fix) for one finding; the fix is empty when it holds."""
    d: dict[str, Any] = dict(f.facts)
    if f.skipped:
        return _SKIPPED_WHAT.get(f.key, lambda d: f.key)(d), f"skipped (needs {d['needs']})"
    what, fix = _WORDS.get(f.key, _generic)(f, d)
    return what, fix


#: What a check that could not run would have checked.
_SKIPPED_WHAT: dict[str, Any] = {
    "hubspot.list": lambda d: f"HubSpot list {d['id']}".rstrip(),
    "hubspot.score": lambda d: f'score property "{d["name"]}"',
    "sell.fields": lambda d: (
        "Sell custom fields"
        + (f" and {d['mappings']} field mapping(s)" if d.get("mappings") else "")
    ),
    "slack.channel": lambda d: f"{d['role']} channel {d['id']}".rstrip(),
    "slack.managers": lambda d: f"manager group {d['group']}" if d.get("group") else "managers",
}


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


#: Where each kind of HubSpot credential gets more scopes.
_SCOPE_FIX = {
    "app": (
        "add them to the app (a legacy private app: Development → Legacy apps → the app → "
        "Scopes, then copy its new token; the project app: its hubspot/src/app/app-hsmeta.json, "
        "then `hs project upload`)"
    ),
    "not_told": (
        "add them to the service key (Development → Keys → Service keys → the key → Add new "
        "scope) or to the app the token belongs to"
    ),
}


def _token_kind(d: dict[str, Any]) -> str:
    """The kind of credential, as far as HubSpot told it."""
    if d.get("kind") == "app":
        app = f" {d['app_id']}" if str(d.get("app_id") or "").isdigit() else ""
        return f"an app's static token (app{app}: a legacy private app or a project app)"
    return "kind not told by HubSpot (its token info does not describe service keys)"


def _hubspot_token(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if "kind" not in d:  # the token was not read: refused, unreachable or not set
        return "HubSpot token", _common(f, d, "HubSpot", "HUBSPOT_BASE_URL") or ""
    how = "scopes from HubSpot" if d.get("scopes_known") else "scopes probed on the endpoints"
    what = f"HubSpot token: {_token_kind(d)}; {how}"
    later = d.get("migration_missing") or []
    if later:  # not needed to sync: only to leave Sell, so no failure of its own
        what += f" (leaving Sell would also need {', '.join(later)})"
    if f.problem == "missing_scopes":
        missing = ", ".join(d["missing"])
        fix = _SCOPE_FIX.get(str(d.get("kind")), _SCOPE_FIX["not_told"])
        return what, f"missing the scopes {missing}: {fix}"
    return what, _common(f, d, "HubSpot", "HUBSPOT_BASE_URL") or ""


def _hubspot_webhooks(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    what = "HubSpot webhooks"
    if f.ok and not d.get("enabled"):
        return (
            what + " off: changes arrive by polling (webhooks need the project app and its "
            "HUBSPOT_CLIENT_SECRET; a service key cannot receive them)",
            "",
        )
    if f.ok:
        target = d["target"] or "/hubspot/webhooks"
        if d.get("kind") == "app":
            return f"{what} to {target}, signed with HUBSPOT_CLIENT_SECRET", ""
        return (
            f"{what} to {target}, signed with HUBSPOT_CLIENT_SECRET (HubSpot does not say "
            "whether this token is the project app's; a service key's account sends none)",
            "",
        )
    if f.problem == "not_set":
        return what, (
            "PUBLIC_URL is set but HUBSPOT_CLIENT_SECRET is not: copy the project app's client "
            "secret (Development → Projects → the project → the app → Auth) into "
            "HUBSPOT_CLIENT_SECRET, or unset PUBLIC_URL to poll"
        )
    if f.problem == "not_https":
        return what, "HubSpot sends webhooks only to https:// addresses: fix PUBLIC_URL"
    return what, f"{f.problem}: check {f.variable}"


def _hubspot_list(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    if f.ok:
        note = "" if d["accepts_members"] else "; pushed contacts are not added to a DYNAMIC list"
        return f'HubSpot list {d["id"]} "{d["name"]}" ({d["processing_type"]}{note})', ""
    if f.problem == "not_found" and d.get("stored"):
        return (
            f"HubSpot list {d['id']} (the stored list; it wins over HUBSPOT_LIST_ID)",
            "no such list: change it with `sellsync settings set list ID --reason …` or "
            "/sellsync list ID (the list's ID: Contacts → Lists → the list, the number in its URL)",
        )
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


def _sell_mode(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    mode = SellMode(d["mode"])
    if mode is SellMode.RETIRED:
        return f"Sell mode {mode}: {MODE_WORDS[mode]}; the Sell checks are not run", ""
    return f"Sell mode {mode}: {MODE_WORDS[mode]}", ""


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


def _published(f: Finding, d: dict[str, Any]) -> tuple[str, str]:
    names = " and ".join(d["names"])
    return "credentials", (
        f"{names} {'is' if len(d['names']) == 1 else 'are'} the sandbox's published value, "
        "which anyone can use: set the real one"
        + (
            " (Slack app → Basic Information → Signing Secret)"
            if "SLACK_SIGNING_SECRET" in d["names"]
            else ""
        )
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
    if f.ok and d.get("migrated_from") == "empty":
        return f"database at {d['revision']} (created)", ""
    if f.ok and d.get("migrated_from") not in (None, d["revision"]):
        return f"database at {d['revision']} (migrated from {d['migrated_from']})", ""
    if f.ok:
        return f"database at {d['revision']}", ""
    return "database", f"{d.get('detail')}: check DATABASE_URL"


_WORDS = {
    "database": _database_words,
    "hubspot.token": _hubspot_token,
    "hubspot.webhooks": _hubspot_webhooks,
    "hubspot.list": _hubspot_list,
    "hubspot.score": _hubspot_score,
    "sell.mode": _sell_mode,
    "sell.token": _sell_token,
    "sell.fields": _sell_field,
    "sell.field": _sell_field,
    "sell.mapping": _sell_mapping,
    "slack.mode": _slack_mode,
    "slack.token": _slack_token,
    "slack.app_token": _slack_app_token,
    "secrets.published": _published,
    "slack.channel": _slack_channel,
    "slack.managers": _slack_managers,
}


def render(findings: Sequence[Finding]) -> str:
    """One line per finding, then the tally. What the CRMs, Slack and the environment said (a
    list's or channel's name, an error's detail) shows with its control characters escaped."""
    lines = []
    for f in findings:
        what, fix = describe(f)
        mark = OK_MARK if f.ok else SKIP_MARK if f.skipped else FAIL_MARK
        lines.append(outside(f"{mark} {what}" if f.ok else f"{mark} {what}: {fix}"))
    lines.append(tally(findings))
    return "\n".join(lines)


def tally(findings: Sequence[Finding]) -> str:
    """``all checks passed``, or how many failed and how many could not run."""
    failed = sum(1 for f in findings if not f.ok and not f.skipped)
    skipped = sum(1 for f in findings if f.skipped)
    if not failed and not skipped:
        return "all checks passed"
    ran = len(findings) - skipped
    text = f"{failed} of {ran} checks failed"
    return text + (f", {skipped} skipped" if skipped else "")


#: Tokens a sync uses: refused at start after runs succeeded, they are a revocation or a
#: rotation half done, which the scheduled runs alert about and recover from by themselves.
CRM_TOKENS = frozenset({"HUBSPOT_ACCESS_TOKEN", "SELL_ACCESS_TOKEN"})


def startup_check(settings: AppSettings, *, ran_before: bool = False) -> None:
    """Run at the start of ``serve`` and ``worker``: log every line; stop with a ConfigError
    only when a setting is certainly wrong (a refused token, an unknown list, an unusable
    database URL) — every run would fail the same way, so a clear exit beats a bot that starts
    and fails every 15 minutes. Anything else (a missing scope or Sell field, the bot outside a
    channel, a service that does not answer now) is logged as a warning and the process starts:
    those are fixed while it runs, and an outage must not keep the bot down.

    ``ran_before``: a sync succeeded on this database before. A CRM token refused now is then
    no setup mistake but a token revoked or rotated: the process starts, each scheduled sync
    tries again (the summary channel is alerted once for the failure streak) and the bot
    recovers by itself once the token is fixed. Only an install that never ran stops."""
    findings = run_check(settings)
    for f in findings:
        what, fix = describe(f)
        if f.ok:
            log.info("check %s %s", OK_MARK, what)
        else:
            log.warning("check %s %s: %s", SKIP_MARK if f.skipped else FAIL_MARK, what, fix)
    revoked = [
        f
        for f in findings
        if ran_before and f.fatal and f.problem == "refused" and f.variable in CRM_TOKENS
    ]
    for f in revoked:
        log.error(
            "check: %s is refused, but syncs succeeded before: starting anyway; each scheduled "
            "sync retries it, the summary channel is alerted once, and the bot recovers by "
            "itself when the token is fixed",
            f.variable,
        )
    fatal = next((f for f in findings if f.fatal and not f.ok and f not in revoked), None)
    if fatal is not None:
        raise ConfigError(fatal.variable or "configuration", f"is wrong: {describe(fatal)[1]}")
    failed = sum(1 for f in findings if not f.ok and not f.skipped)
    skipped = sum(1 for f in findings if f.skipped)
    if failed:
        log.warning(
            "check: %d item(s) need attention%s; run `sellsync check` for the list",
            failed,
            f" ({skipped} could not be checked)" if skipped else "",
        )
    else:
        log.info("check: all %d items passed", len(findings))


def settings_notes(settings: AppSettings) -> list[str]:
    """One line for each stored setting that differs from the environment's (it wins), or
    none when the database cannot be read (the database check says why)."""
    from bot.settings_text import difference_lines
    from bot.wiring import build_database_services

    try:
        services = build_database_services(settings)
    except Exception:
        return []
    try:
        return difference_lines(services.service.settings_differences())
    except Exception:
        return []
    finally:
        services.close()

"""``sellsync check``: what must hold before a team relies on the bot, as values.

Setup mistakes (a wrong token, an unknown list, a missing Sell field, a bot outside its channel)
otherwise surface as run failures at 3 a.m. Each probe here returns :class:`Finding` values —
what was checked, whether it holds, the setting to change and the facts a fix needs — and never
raises for a failed check; the wording of the fixes lives in ``bot/check.py``.

The probes depend only on small protocols (:class:`HubSpotProbe`, :class:`SellProbe`,
:class:`SlackProbe`), which the HubSpot/Sell clients and a Slack ``WebClient`` adapter satisfy.
:func:`setup_variable` tells which setting an error raised during a run points at, so the CLI
can exit 2 (configuration) instead of 1 (the work failed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sync.clients.hubspot_scopes import HubSpotCredential, missing_scopes, required_scopes
from sync.domain import RECORD_KINDS, HubSpotList, PropertyInfo, RecordKind, SellCustomField
from sync.errors import ApiError, AuthError
from sync.mapping import (
    SELL_SCORE_FIELD,
    SELL_SOURCE_FIELD,
    SELL_STAGE_FIELD,
    SELL_URL_FIELD,
    check_custom_mapping,
    hubspot_owned_fields,
)

#: The scopes a sync and a push need, from the endpoint table
#: (:data:`sync.clients.hubspot_scopes.HUBSPOT_ENDPOINT_SCOPES`); leaving Sell needs the rest
#: of the table's (companies, owners, property definitions), which ``check`` names apart.
HUBSPOT_SCOPES = required_scopes(feature="sync")
HUBSPOT_MIGRATION_SCOPES = tuple(s for s in required_scopes() if s not in HUBSPOT_SCOPES)
#: Bot scopes of manifest.yml that the bot cannot work without; ``usergroups:read`` is added
#: when a manager group is configured.
SLACK_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "channels:read",
    "groups:read",
)
#: S10 Sell custom fields: the types that hold the mirrored value, the first one to create.
S10_FIELD_TYPES: dict[str, tuple[str, ...]] = {
    SELL_SCORE_FIELD: ("number",),
    SELL_STAGE_FIELD: ("string", "text"),
    SELL_URL_FIELD: ("url", "string", "text"),
    SELL_SOURCE_FIELD: ("string", "text"),
}


@dataclass(frozen=True)
class Finding:
    """One checked item.

    * ``key``: what was checked (``hubspot.token``, ``sell.field``, ``slack.channel`` ...);
    * ``problem``: None when it holds, else a code (``refused``, ``unreachable``, ``not_set``,
      ``not_found``, ``missing_scopes``, ``wrong_type``, ``missing``, ``not_member``, ...), or
      ``skipped`` for a check that could not run (``facts["needs"]`` says what it needs);
    * ``variable``: the setting to change when it fails (None when the fix is elsewhere);
    * ``facts``: what the wording needs (names, types, missing scopes, details);
    * ``fatal``: the setting is certainly wrong (a refused token, an unknown list), so every
      run would fail: ``serve`` and ``worker`` refuse to start rather than fail every 15 min.
    """

    key: str
    problem: str | None = None
    variable: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    fatal: bool = False

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def skipped(self) -> bool:
        return self.problem == SKIPPED


SKIPPED = "skipped"


def passed(findings: Sequence[Finding]) -> bool:
    return all(f.ok for f in findings)


def skipped(key: str, needs: str, **facts: Any) -> Finding:
    """A check that could not run because an earlier one failed: ``needs`` is what it needs
    (``a valid HUBSPOT_ACCESS_TOKEN``, ``HubSpot to answer``)."""
    return Finding(key, SKIPPED, None, {**facts, "needs": needs})


def _needs(failed: Finding, service: str) -> str:
    """What the checks after a failed token check need, in words."""
    if failed.problem == "unreachable":
        return f"{service} to answer"
    if failed.problem == "not_set":
        return f"{failed.variable} to be set"
    return f"a valid {failed.variable}"


def hubspot_skipped(failed: Finding, *, list_id: str | None, score_property: str) -> list[Finding]:
    """The HubSpot checks that need the token ``failed`` stands for."""
    needs = _needs(failed, "HubSpot")
    return [
        skipped("hubspot.list", needs, id=list_id or ""),
        skipped("hubspot.score", needs, name=score_property),
    ]


def sell_skipped(failed: Finding, *, mappings: int = 0) -> list[Finding]:
    """The Sell checks that need the token ``failed`` stands for."""
    return [skipped("sell.fields", _needs(failed, "Sell"), mappings=mappings)]


# --------------------------------------------------------------------------- protocols


class HubSpotProbe(Protocol):
    def credential(self) -> HubSpotCredential: ...
    def probe_scopes(self, list_id: str | None = None) -> frozenset[str]: ...
    def get_list(self, list_id: str) -> HubSpotList: ...
    def properties(self) -> dict[str, PropertyInfo]: ...


class SellProbe(Protocol):
    def check_credentials(self) -> str: ...
    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]: ...


@dataclass(frozen=True)
class SlackAuth:
    error: str | None  # Slack's error code, or "unreachable"
    scopes: frozenset[str] | None = None  # None: the x-oauth-scopes header was absent
    bot: str = ""
    team: str = ""


@dataclass(frozen=True)
class SlackChannel:
    error: str | None
    name: str = ""
    is_member: bool = False
    is_private: bool = False


@dataclass(frozen=True)
class SlackGroup:
    error: str | None
    members: int = 0


class SlackProbe(Protocol):
    def auth(self) -> SlackAuth: ...
    def app_token(self) -> str | None: ...  # Slack's error for the app-level token, or None
    def channel(self, channel_id: str) -> SlackChannel: ...
    def usergroup(self, group_id: str) -> SlackGroup: ...


# --------------------------------------------------------------------------- HubSpot


def check_hubspot(
    hubspot: HubSpotProbe, *, list_id: str | None, score_property: str
) -> list[Finding]:
    """The token, its kind and scopes, the synced list, the score property.

    The scopes come from HubSpot's token info when it describes the token (an app's static
    token); otherwise (a service key) from probing the endpoints sellsync calls. Only those
    calls can refuse the token: the token info not answering is not a failure."""
    try:
        credential = hubspot.credential()
        if credential.scopes is None:
            lacking = hubspot.probe_scopes(list_id)
        else:
            lacking = frozenset(missing_scopes(credential.scopes, required_scopes()))
        missing = [s for s in HUBSPOT_SCOPES if s in lacking]
    except ApiError as exc:
        token = (
            _refused("hubspot.token", "HUBSPOT_ACCESS_TOKEN", exc)
            if isinstance(exc, AuthError)
            else _unreachable("hubspot.token", "HUBSPOT_BASE_URL", exc)
        )
        return [token, *hubspot_skipped(token, list_id=list_id, score_property=score_property)]
    facts: dict[str, Any] = {
        "kind": credential.kind,
        "app_id": credential.app_id,
        "scopes_known": credential.scopes is not None,
        "token_info_status": credential.status,
        "migration_missing": [s for s in HUBSPOT_MIGRATION_SCOPES if s in lacking],
    }
    if missing:
        token = Finding(
            "hubspot.token", "missing_scopes", "HUBSPOT_ACCESS_TOKEN", {**facts, "missing": missing}
        )
    else:
        token = Finding("hubspot.token", facts=facts)
    findings = [token]
    findings.append(_hubspot_list(hubspot, list_id))
    findings.append(_score_property(hubspot, score_property))
    return findings


def _hubspot_list(hubspot: HubSpotProbe, list_id: str | None) -> Finding:
    if not list_id:
        return Finding("hubspot.list", "not_set", "HUBSPOT_LIST_ID")
    try:
        found = hubspot.get_list(list_id)
    except AuthError as exc:
        return _refused("hubspot.list", "HUBSPOT_ACCESS_TOKEN", exc, id=list_id)
    except ApiError as exc:
        if exc.status == 404:
            return Finding("hubspot.list", "not_found", "HUBSPOT_LIST_ID", {"id": list_id}, True)
        return _unreachable("hubspot.list", "HUBSPOT_BASE_URL", exc)
    return Finding(
        "hubspot.list",
        facts={
            "id": found.id,
            "name": found.name,
            "processing_type": found.processing_type,
            "accepts_members": found.accepts_members,
        },
    )


def _score_property(hubspot: HubSpotProbe, name: str) -> Finding:
    try:
        props = hubspot.properties()
    except AuthError as exc:
        return _refused("hubspot.score", "HUBSPOT_ACCESS_TOKEN", exc, name=name)
    except ApiError as exc:
        return _unreachable("hubspot.score", "HUBSPOT_BASE_URL", exc)
    prop = props.get(name)
    if prop is None:
        numbers = sorted(p.name for p in props.values() if p.type == "number")
        facts = {"name": name, "candidates": [n for n in numbers if "score" in n][:5]}
        return Finding("hubspot.score", "not_found", "HUBSPOT_SCORE_PROPERTY", facts)
    if prop.type != "number":
        facts = {"name": name, "type": prop.type}
        return Finding("hubspot.score", "wrong_type", "HUBSPOT_SCORE_PROPERTY", facts)
    return Finding("hubspot.score", facts={"name": name, "label": prop.label})


# --------------------------------------------------------------------------- Sell


def check_sell(
    sell: SellProbe,
    *,
    score_property: str = "hubspotscore",
    custom_mappings: Sequence[tuple[str, str]] = (),
    hubspot_properties: Mapping[str, PropertyInfo] | None = None,
) -> list[Finding]:
    """The token, every S10 custom field with the type to create, and every S13 mapping
    (checked against ``hubspot_properties`` when they could be read)."""
    try:
        user = sell.check_credentials()
    except ApiError as exc:
        token = (
            _refused("sell.token", "SELL_ACCESS_TOKEN", exc)
            if isinstance(exc, AuthError)
            else _unreachable("sell.token", "SELL_BASE_URL", exc)
        )
        return [token, *sell_skipped(token, mappings=len(custom_mappings))]
    findings = [Finding("sell.token", facts={"user": user})]
    fields: dict[RecordKind, list[SellCustomField]] = {}
    try:
        for kind in RECORD_KINDS:
            fields[kind] = sell.custom_fields(kind)
    except ApiError as exc:
        return [*findings, _unreachable("sell.fields", "SELL_BASE_URL", exc)]
    for kind in RECORD_KINDS:
        for mapping in hubspot_owned_fields(score_property):
            name = mapping.sell_custom_field
            if name is not None and kind in mapping.kinds:
                accepted = S10_FIELD_TYPES[name]
                findings.append(_sell_field(kind, name, accepted, mapping.label, fields[kind]))
    if custom_mappings and hubspot_properties is not None:
        for prop, sell_field in custom_mappings:
            check = check_custom_mapping(prop, sell_field, hubspot_properties, fields)
            facts = {"property": prop, "field": sell_field, "message": check.message}
            findings.append(
                Finding("sell.mapping", None if check.ok else check.status, None, facts)
            )
    return findings


def _sell_field(
    kind: RecordKind,
    name: str,
    accepted: tuple[str, ...],
    purpose: str,
    existing: Sequence[SellCustomField],
) -> Finding:
    facts: dict[str, Any] = {"kind": kind, "name": name, "type": accepted[0], "purpose": purpose}
    found = [f for f in existing if f.name.strip().lower() == name.lower()]
    if not found:
        return Finding("sell.field", "missing", None, facts)
    if found[0].type not in accepted:
        return Finding("sell.field", "wrong_type", None, {**facts, "found_type": found[0].type})
    return Finding("sell.field", facts=facts)


# --------------------------------------------------------------------------- Slack


def check_slack_mode(
    *, app_token: str | None, signing_secret: str | None, bot_token: str | None
) -> Finding:
    """Socket Mode (an app-level ``xapp-`` token) or HTTP (a signing secret): local, no call."""
    if not bot_token:
        return Finding("slack.mode", "not_set", "SLACK_BOT_TOKEN")
    if not bot_token.startswith("xoxb-"):
        return Finding("slack.mode", "wrong_token", "SLACK_BOT_TOKEN", {"expected": "xoxb-"})
    if app_token:
        if not app_token.startswith("xapp-"):
            return Finding("slack.mode", "wrong_token", "SLACK_APP_TOKEN", {"expected": "xapp-"})
        return Finding("slack.mode", facts={"mode": "socket"})
    if not signing_secret:
        return Finding("slack.mode", "not_set", "SLACK_SIGNING_SECRET", {"mode": "http"})
    return Finding("slack.mode", facts={"mode": "http"})


#: The credentials the sandbox publishes (``sandbox/server.py``; a test keeps the two equal):
#: anyone can sign a Slack request with this signing secret, so sellsync must not trust it for
#: Slack itself, nor send these tokens to the real services.
SANDBOX_CREDENTIALS: Mapping[str, str] = {
    "SLACK_SIGNING_SECRET": "sandbox-signing-secret",
    "SLACK_BOT_TOKEN": "xoxb-sandbox-token",
    "HUBSPOT_ACCESS_TOKEN": "sandbox-hubspot-token",
    "SELL_ACCESS_TOKEN": "sandbox-sell-token".ljust(64, "0"),
}


def check_published_credentials(values: Mapping[str, str | None]) -> Finding | None:
    """``values``: the credentials (by variable) aimed at the real services. A finding when any
    is the sandbox's published one (fatal for the signing secret: every forged request would
    verify); None when none is."""
    names = [n for n, v in values.items() if v is not None and SANDBOX_CREDENTIALS.get(n) == v]
    if not names:
        return None
    return Finding(
        "secrets.published",
        "published",
        names[0],
        {"names": names},
        fatal="SLACK_SIGNING_SECRET" in names,
    )


def check_slack(
    slack: SlackProbe,
    *,
    summary_channel: str | None,
    approval_channel: str | None,
    manager_group: str | None,
    manager_ids: Sequence[str] = (),
    socket_mode: bool = False,
) -> list[Finding]:
    """auth.test and the bot's scopes, in Socket Mode the app-level token, the bot in the summary and approval channels, and the
    manager group readable (or at least one manager named)."""
    auth = slack.auth()
    if auth.error is not None:
        token = (
            Finding("slack.token", "unreachable", "SLACK_API_URL")
            if auth.error == "unreachable"
            else Finding("slack.token", "refused", "SLACK_BOT_TOKEN", {"detail": auth.error}, True)
        )
        needs = "Slack to answer" if token.problem == "unreachable" else "a valid SLACK_BOT_TOKEN"
        channels = [("summary", summary_channel)]
        if approval_channel and approval_channel != summary_channel:
            channels.append(("approval", approval_channel))
        return [
            token,
            *(skipped("slack.channel", needs, role=role, id=cid or "") for role, cid in channels),
            skipped("slack.managers", needs, group=manager_group or "", ids=list(manager_ids)),
        ]
    findings = []
    if socket_mode:
        error = slack.app_token()
        if error == "unreachable":
            return [Finding("slack.app_token", "unreachable", "SLACK_API_URL")]
        if error is not None:
            facts = {"detail": error}
            findings.append(Finding("slack.app_token", "refused", "SLACK_APP_TOKEN", facts, True))
        else:
            findings.append(Finding("slack.app_token"))
    required = SLACK_SCOPES + (("usergroups:read",) if manager_group else ())
    token = _scopes("slack.token", "SLACK_BOT_TOKEN", required, auth.scopes)
    facts = {**token.facts, "bot": auth.bot, "team": auth.team}
    findings.insert(0, Finding(token.key, token.problem, token.variable, facts))
    findings.append(_channel(slack, "SLACK_SUMMARY_CHANNEL", summary_channel, "summary"))
    if approval_channel and approval_channel != summary_channel:
        findings.append(_channel(slack, "SLACK_APPROVAL_CHANNEL", approval_channel, "approval"))
    findings.append(_managers(slack, manager_group, manager_ids))
    return findings


def _channel(slack: SlackProbe, variable: str, channel_id: str | None, role: str) -> Finding:
    if not channel_id:
        return Finding("slack.channel", "not_set", variable, {"role": role})
    found = slack.channel(channel_id)
    facts = {"role": role, "id": channel_id, "name": found.name, "private": found.is_private}
    if found.error == "channel_not_found":
        return Finding("slack.channel", "not_found", variable, facts)
    if found.error == "missing_scope":
        return Finding("slack.channel", "missing_scopes", variable, facts)
    if found.error is not None:
        return Finding("slack.channel", "unreadable", variable, {**facts, "detail": found.error})
    if not found.is_member:
        return Finding("slack.channel", "not_member", variable, facts)
    return Finding("slack.channel", facts=facts)


def _managers(slack: SlackProbe, group: str | None, ids: Sequence[str]) -> Finding:
    if not group:
        if ids:
            return Finding("slack.managers", facts={"ids": list(ids)})
        return Finding("slack.managers", "not_set", "SLACK_MANAGER_IDS")
    found = slack.usergroup(group)
    facts = {"group": group, "members": found.members, "ids": list(ids)}
    if found.error is not None:
        problem = "missing_scopes" if found.error == "missing_scope" else "unreadable"
        facts["detail"] = found.error
        return Finding("slack.managers", problem, "SLACK_MANAGER_GROUP", facts)
    if not found.members and not ids:
        return Finding("slack.managers", "empty", "SLACK_MANAGER_GROUP", facts)
    return Finding("slack.managers", facts=facts)


# --------------------------------------------------------------------------- shared


def _scopes(
    key: str, variable: str, required: Sequence[str], granted: frozenset[str] | None
) -> Finding:
    if granted is None:  # the service does not say: nothing to hold against the token
        return Finding(key, facts={"scopes_known": False})
    missing = [s for s in required if s not in granted]
    if missing:
        return Finding(key, "missing_scopes", variable, {"missing": missing})
    return Finding(key, facts={"scopes_known": True})


def _detail(exc: ApiError, **facts: Any) -> dict[str, Any]:
    return {**facts, "detail": exc.detail, "status": exc.status}


def _refused(key: str, variable: str, exc: ApiError, **facts: Any) -> Finding:
    # 401: the token is wrong. 403: it lacks a scope — fixable while the bot runs, not fatal.
    return Finding(key, "refused", variable, _detail(exc, **facts), fatal=exc.status != 403)


def _unreachable(key: str, variable: str, exc: ApiError) -> Finding:
    return Finding(key, "unreachable", variable, _detail(exc))


def setup_variable(exc: BaseException | None) -> str | None:
    """The setting an error met during a run points at, or None for a failure of the work.

    A refused token or an unknown list will fail every run the same way: the operator has to
    change a setting, so the command line exits 2 and names it."""
    if not isinstance(exc, ApiError):
        return None
    service = exc.service.lower()
    if isinstance(exc, AuthError) and exc.status == 401:
        return {"hubspot": "HUBSPOT_ACCESS_TOKEN", "sell": "SELL_ACCESS_TOKEN"}.get(service)
    if service == "hubspot" and exc.status == 404 and "list" in exc.detail.lower():
        return "HUBSPOT_LIST_ID"
    return None

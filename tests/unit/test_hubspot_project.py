"""The HubSpot developer project in ``hubspot/`` stays in step with the code, as
``manifest.yml`` does for Slack: the app asks for every scope of the endpoint table, the table
has a row for every request the HubSpot clients send, and the webhooks follow every field the
default field table reads from HubSpot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sync.clients.hubspot_scopes import HUBSPOT_ENDPOINT_SCOPES, required_scopes
from sync.events import CONTACT_EVENT_TYPES
from sync.mapping import URL_PROPERTY, Direction, field_table

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "hubspot"
CLIENTS = ROOT / "sync" / "clients"
EVENTS = {"contact.creation", "contact.deletion", "contact.restore", "contact.merge"}


def load(relative: str) -> dict[str, Any]:
    data = json.loads((PROJECT / relative).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def app() -> dict[str, Any]:
    return load("src/app/app-hsmeta.json")


@pytest.fixture(scope="module")
def webhooks() -> dict[str, Any]:
    return load("src/app/webhooks/webhooks-hsmeta.json")


def kinds_sent() -> dict[str, str]:
    """Every ``kind="…"`` the HubSpot clients send a request under, with its file."""
    found: dict[str, str] = {}
    for source in sorted(CLIENTS.glob("hubspot*.py")):
        for kind in re.findall(r'\bkind="([a-z_]+)"', source.read_text(encoding="utf-8")):
            found.setdefault(kind, source.name)
    return found


def test_hubspot_project_is_a_private_static_token_app_in_the_current_format(
    app: dict[str, Any],
) -> None:
    project = load("hsproject.json")
    assert project["srcDir"] == "src" and re.fullmatch(r"20\d\d\.\d\d", project["platformVersion"])
    assert app["type"] == "app" and len(app["uid"]) <= 64
    config = app["config"]
    assert config["distribution"] == "private" and config["auth"]["type"] == "static"
    assert "https://api.hubapi.com" in config["permittedUrls"]["fetch"]


def test_hubspot_project_endpoint_table_has_a_row_for_every_request_the_clients_send() -> None:
    sent = kinds_sent()
    assert {"batch_read", "list_add", "properties", "token_info"} <= set(sent)  # the scan works
    missing = {kind: where for kind, where in sent.items() if kind not in HUBSPOT_ENDPOINT_SCOPES}
    assert missing == {}, "add these to sync/clients/hubspot_scopes.py HUBSPOT_ENDPOINT_SCOPES"


def test_hubspot_project_app_asks_for_every_scope_the_code_needs(app: dict[str, Any]) -> None:
    asked = set(app["config"]["auth"]["requiredScopes"])
    assert set(required_scopes()) <= asked
    # and for nothing else than those, "oauth" (every app holds it) and the schema read scopes
    # HubSpot documents for property definitions (its spec accepts the object scopes too)
    assert asked - set(required_scopes()) <= {
        "oauth",
        "crm.schemas.contacts.read",
        "crm.schemas.companies.read",
    }
    assert {"crm.objects.companies.write", "crm.objects.owners.read"} <= asked


def test_hubspot_project_webhooks_follow_every_field_read_from_hubspot(
    webhooks: dict[str, Any],
) -> None:
    config = webhooks["config"]
    assert webhooks["type"] == "webhooks"
    assert config["settings"]["targetUrl"] == "https://YOUR-HOST/hubspot/webhooks"
    legacy = config["subscriptions"]["legacyCrmObjects"]
    assert all(s["active"] for s in legacy)
    followed = {
        s["propertyName"] for s in legacy if s["subscriptionType"] == "contact.propertyChange"
    }
    read = {
        m.hubspot
        for m in field_table(score_property="hubspotscore")
        if m.hubspot != URL_PROPERTY and m.direction in (Direction.BOTH, Direction.TO_SELL)
    }
    assert read - followed == set()
    assert {"email", "hubspotscore", "lifecyclestage", "hs_analytics_source"} <= followed
    assert {s["subscriptionType"] for s in legacy} >= EVENTS
    hub_events = {s["subscriptionType"] for s in config["subscriptions"]["hubEvents"]}
    assert hub_events == {"contact.privacyDeletion"}


def test_hubspot_project_subscribes_to_exactly_the_events_the_receiver_handles(
    webhooks: dict[str, Any],
) -> None:
    subscriptions = webhooks["config"]["subscriptions"]
    types = {s["subscriptionType"] for group in subscriptions.values() for s in group}
    assert types == set(CONTACT_EVENT_TYPES)

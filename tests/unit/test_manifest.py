"""``manifest.yml`` parses, stays within Slack's limits, and declares exactly what the app handles
and the scopes its Web API calls need; ``Procfile`` runs the three processes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import yaml
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot import action_ids as ids
from bot.app import create_app
from bot.parsing import USAGE_HINT
from sandbox.server import Sandbox
from tests.conftest import make_world
from tests.scenario.conftest import (
    SECRET,
    TOKEN,
    TrackingExecutor,
    authorize,
    scenario_settings,
    wait_for,
)

ROOT = Path(__file__).resolve().parents[2]
RESPONSE_URL = ["http://127.0.0.1:9/unset"]

#: The bot scopes each Web API method the app calls needs (views.* need none).
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "chat_postMessage": ("chat:write",),
    "chat_update": ("chat:write",),
    "chat_unfurl": ("links:write",),
    "conversations_open": ("im:write",),
    "files_upload_v2": ("files:write",),  # the charts beside the threshold and the summary
    "conversations_info": ("channels:read", "groups:read"),  # public / private channels
    "usergroups_users_list": ("usergroups:read",),
    "users_lookupByEmail": ("users:read", "users:read.email"),  # Slack asks for both
    "views_open": (),
    "views_publish": (),
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    world = make_world(tmp_path)
    executor = TrackingExecutor()
    with Sandbox(seed="empty") as sb:
        RESPONSE_URL[:] = [sb.slack.response_url("manifest")]
        yield create_app(
            scenario_settings(sb.slack_url),
            world.service,
            client=WebClient(token=TOKEN, base_url=sb.slack_url),
            authorize=authorize,
            executor=executor,
        )
        wait_for(executor.idle, what="listeners")
        executor.shutdown(wait=True)
    world.store.close()


def _dispatch(app: App, body: str, content_type: str) -> int:
    ts = str(int(time.time()))
    headers = {
        "content-type": [content_type],
        "x-slack-signature": [
            SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
        ],
        "x-slack-request-timestamp": [ts],
    }
    return app.dispatch(BoltRequest(body=body, headers=headers)).status


def _shortcut(app: App, callback_id: str, kind: str) -> int:
    payload: dict[str, Any] = {
        "type": "shortcut" if kind == "global" else "message_action",
        "callback_id": callback_id,
        "trigger_id": "t.1",
        "user": {"id": "UREP1"},
        "team": {"id": "T1"},
    }
    if kind == "message":
        payload |= {
            "channel": {"id": "C1"},
            "message_ts": "1.1",
            "message": {"text": "nothing here", "ts": "1.1"},
            "response_url": RESPONSE_URL[0],
        }
    return _dispatch(
        app, "payload=" + quote(json.dumps(payload)), "application/x-www-form-urlencoded"
    )


def test_manifest_parses_and_fits_slack_limits(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert 0 < len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert len(info.get("long_description", "")) <= 4000
    assert re.fullmatch(r"[a-z0-9._-]{1,80}", manifest["features"]["bot_user"]["display_name"])
    for command in manifest["features"]["slash_commands"]:
        assert len(command["command"]) <= 32 and len(command["usage_hint"]) <= 1000
    for shortcut in manifest["features"]["shortcuts"]:
        assert len(shortcut["description"]) <= 150 and shortcut["type"] in ("global", "message")
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True


def test_manifest_declares_the_command_shortcuts_and_events_the_app_registers(
    manifest: dict[str, Any], app: App
) -> None:
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == [ids.COMMAND]
    assert manifest["features"]["slash_commands"][0]["usage_hint"] == USAGE_HINT
    shortcuts = {(s["callback_id"], s["type"]) for s in manifest["features"]["shortcuts"]}
    assert shortcuts == {(ids.ADD_TO_HUBSPOT, "global"), (ids.ADD_MESSAGE_TO_HUBSPOT, "message")}
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "link_shared",
        "function_executed",
    ]

    # ... and the app answers each of them (Bolt answers 404 to what no listener matches)
    command = urlencode(
        {
            "command": ids.COMMAND,
            "text": "help",
            "user_id": "UREP1",
            "team_id": "T1",
            "response_url": RESPONSE_URL[0],
        }
    )
    assert _dispatch(app, command, "application/x-www-form-urlencoded") == 200
    for callback_id, kind in shortcuts:
        assert _shortcut(app, callback_id, kind) == 200, callback_id
    event = {
        "type": "event_callback",
        "team_id": "T1",
        "event": {"type": "app_home_opened", "user": "UREP1", "tab": "home"},
    }
    assert _dispatch(app, json.dumps(event), "application/json") == 200
    # the control: an id nobody registered is not answered
    assert _shortcut(app, "not_registered", "global") == 404
    unknown = urlencode({"command": "/other", "text": "", "user_id": "U1", "team_id": "T1"})
    assert _dispatch(app, unknown, "application/x-www-form-urlencoded") == 404


def test_manifest_asks_only_for_the_scopes_the_code_uses(manifest: dict[str, Any]) -> None:
    called = set()
    for path in (ROOT / "bot").rglob("*.py"):
        called |= set(
            re.findall(
                r"\.(chat_\w+|conversations_\w+|files_\w+|usergroups_\w+|views_\w+|users_\w+)\(",
                path.read_text(),
            )
        )
    assert called <= set(METHOD_SCOPES), f"add {called - set(METHOD_SCOPES)} to METHOD_SCOPES"
    needed = {scope for m in called for scope in METHOD_SCOPES[m]}
    needed |= {"commands", "chat:write.public"}  # the command and shortcuts; posting uninvited
    needed |= {"links:read"}  # link_shared events for the unfurl domains
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == needed


def test_socket_mode_manifest_is_the_same_app_without_urls(manifest: dict[str, Any]) -> None:
    socket = yaml.safe_load((ROOT / "manifest.socket.yml").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "example.com" not in (ROOT / "manifest.socket.yml").read_text()

    def strip(data: Any) -> Any:
        if isinstance(data, dict):
            return {
                k: strip(v)
                for k, v in data.items()
                if k not in ("url", "request_url", "socket_mode_enabled")
            }
        if isinstance(data, list):
            return [strip(v) for v in data]
        return data

    assert strip(socket) == strip(manifest)


def test_procfile_runs_web_worker_and_release() -> None:
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    assert {k: v.strip() for k, v in lines.items()} == {
        "web": "sellsync serve --no-scheduler",
        "worker": "sellsync worker",
        "release": "sellsync db upgrade",
    }


#: Slack's parameter types a step may declare (the built-in ones sellsync could use).
PARAMETER_TYPES = {"string", "integer", "number", "boolean", "slack#/types/user_id"}


def test_manifest_unfurls_the_record_domains_and_declares_the_steps_the_app_runs(
    manifest: dict[str, Any],
) -> None:
    from bot.listeners.functions import STEP_OUTPUTS

    assert manifest["features"]["unfurl_domains"] == list(ids.UNFURL_DOMAINS)
    settings = manifest["settings"]
    # custom steps need an org-ready app whose functions run here, and the execution events
    assert settings["org_deploy_enabled"] is True and settings["function_runtime"] == "remote"
    assert {"link_shared", "function_executed"} <= set(
        settings["event_subscriptions"]["bot_events"]
    )
    functions = manifest["functions"]
    assert set(functions) == set(ids.STEPS)
    for callback_id, step in functions.items():
        assert 0 < len(step["title"]) <= 255 and len(step.get("description", "")) <= 1000
        inputs, outputs = step["input_parameters"], step["output_parameters"]
        assert list(inputs) == ["item"] and inputs["item"]["is_required"] is True
        assert tuple(outputs) == STEP_OUTPUTS[callback_id]
        for name, param in {**inputs, **outputs}.items():
            assert param["name"] == name and param["type"] in PARAMETER_TYPES
            assert param["title"] and isinstance(param["is_required"], bool)
        assert [n for n, p in outputs.items() if p["is_required"]] == [STEP_OUTPUTS[callback_id][0]]


def _event(app: App, event: dict[str, Any]) -> int:
    body = {"type": "event_callback", "team_id": "T1", "event_id": f"Ev{time.time_ns()}"}
    return _dispatch(app, json.dumps({**body, "event": event}), "application/json")


def test_every_declared_event_and_step_has_a_listener_and_nothing_else_is_answered(
    manifest: dict[str, Any], app: App
) -> None:
    samples: dict[str, dict[str, Any]] = {
        "app_home_opened": {"type": "app_home_opened", "user": "UREP1", "tab": "messages"},
        "link_shared": {"type": "link_shared", "channel": "C1", "links": [], "user": "UREP1"},
    }
    declared = manifest["settings"]["event_subscriptions"]["bot_events"]
    for name in declared:
        if name == "function_executed":
            continue  # answered per step, below
        assert _event(app, samples[name]) == 200, name
    for callback_id in manifest["functions"]:
        event = {
            "type": "function_executed",
            "function": {"callback_id": callback_id},
            "inputs": {},
            "function_execution_id": "Fx0MANIFEST",
        }
        assert _event(app, event) == 200, callback_id
    # ... and what the manifest does not declare finds no listener (Bolt answers 404)
    for name in ("message", "app_mention", "reaction_added", "member_joined_channel"):
        assert name not in declared
        assert _event(app, {"type": name, "user": "UREP1", "channel": "C1"}) == 404, name
    undeclared = {"type": "function_executed", "function": {"callback_id": "other_step"}}
    assert _event(app, {**undeclared, "inputs": {}, "function_execution_id": "Fx1"}) == 404

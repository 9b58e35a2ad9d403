"""Scenario tests in the bolt-python style: real signed payloads dispatched to the real app.

The CRM side is in process (``tests/fakes``), the store is SQLite on a temporary file, and every
Slack Web API call and ``response_url`` post lands in the sandbox Slack server, which records it.
Listeners run on the app's executor; :meth:`Bot.settle` waits (bounded) until it is idle.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot.app import authorize_with, create_app
from bot.settings import AppSettings
from demo.slack import TrackingExecutor
from sandbox.server import Sandbox
from sandbox.slack import SlackState
from tests.conftest import World, make_world

SECRET = "scenario-signing-secret"
TOKEN = "xoxb-scenario-token"
REP = "UREP1"
REP2 = "UREP2"
MANAGER = "UMGR1"  # in SLACK_MANAGER_IDS
MANAGER2 = "UMGR2"  # in SLACK_MANAGER_IDS
GROUP = "S0MANAGERS"
GROUP_MANAGER = "UGRP1"  # a manager only through the user group
APPROVALS = "C0APPROVALS"
SUMMARY = "C0SUMMARY"
CHANNEL = "C0GENERAL"

T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], *, timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``probe`` until it returns something truthy (bounded: fails after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.01)


class FakeMonotonic:
    """An injected monotonic clock for progress throttling: each reading moves it by ``step``."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.step = 0.0
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        self.t += self.step
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def sign(body: str, *, secret: str = SECRET, timestamp: int | None = None) -> dict[str, list[str]]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {"x-slack-signature": [signature], "x-slack-request-timestamp": [ts]}


def reads_meet(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two decisions on the app's listener threads each read HubSpot's side and then wait for
    the other (a barrier): both read what they decide while it is still open."""
    together = threading.Barrier(2, timeout=10)
    real_read = world.hubspot.read_contacts

    def read_contacts(ids_: Sequence[str], properties: Sequence[str]) -> Any:
        if threading.current_thread().name.startswith("bolt"):
            together.wait()
        return real_read(ids_, properties)

    monkeypatch.setattr(world.hubspot, "read_contacts", read_contacts)


def decision_writes(world: World) -> int:
    """The writes a conflict decision makes so far: HubSpot batch updates and lead updates."""
    return world.hubspot.calls["batch_update"] + world.sell.calls["lead_update"]


def from_user(user: str) -> dict[str, Any]:
    """Who an interactive payload comes from: ``user`` of the sandbox workspace, in this app."""
    return {
        "team": {"id": "T1", "domain": "sandbox"},
        "user": {"id": user, "username": user.lower(), "team_id": "T1"},
        "api_app_id": "ASANDBOX",
        "token": "legacy",
    }


def button_action(action_id: str, value: str) -> dict[str, Any]:
    """The one action of a block_actions payload: a click on button ``action_id``."""
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": "b",
        "value": value,
        "action_ts": str(time.time()),
    }


@dataclass
class Sent:
    """A request the test sent: the HTTP answer, and where its response_url posts land."""

    response: BoltResponse
    response_url: str | None
    slack: SlackState

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.response.body) if self.response.body else {}

    def replies(self) -> list[dict[str, Any]]:
        """What the app posted to this request's response_url, oldest first."""
        return [
            w["args"]
            for w in self.slack.webhooks
            if self.response_url and self.response_url.endswith("/" + w["name"])
        ]

    def reply(self) -> dict[str, Any]:
        got = wait_for(self.replies, what="a response_url post")
        return got[-1]


@dataclass
class Bot:
    """Drives the app as Slack would."""

    app: App
    sandbox: Sandbox
    world: World
    executor: TrackingExecutor
    monotonic: FakeMonotonic
    settings: AppSettings
    counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def slack(self) -> SlackState:
        return self.sandbox.slack

    def _response_url(self) -> str:
        return self.slack.response_url(f"r{next(self.counter)}")

    def dispatch(
        self, body: str, content_type: str, *, headers: dict[str, list[str]] | None = None
    ) -> BoltResponse:
        all_headers = {
            "content-type": [content_type],
            **(headers if headers is not None else sign(body)),
        }
        response = self.app.dispatch(BoltRequest(body=body, headers=all_headers))
        return response

    def command(
        self, text: str, *, user: str = REP, channel: str = CHANNEL, settle: bool = True
    ) -> Sent:
        url = self._response_url()
        body = urlencode(
            {
                "token": "legacy",
                "team_id": "T1",
                "team_domain": "sandbox",
                "channel_id": channel,
                "channel_name": "general",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/sellsync",
                "text": text,
                "api_app_id": "ASANDBOX",
                "response_url": url,
                "trigger_id": f"trigger.{next(self.counter)}",
            }
        )
        response = self.dispatch(body, "application/x-www-form-urlencoded")
        if settle:
            self.settle()
        return Sent(response, url, self.slack)

    def interactive(self, payload: dict[str, Any], *, settle: bool = True) -> Sent:
        body = "payload=" + json.dumps(payload).replace("%", "%25").replace("&", "%26").replace(
            "+", "%2B"
        )
        from urllib.parse import quote

        body = "payload=" + quote(json.dumps(payload))
        response = self.dispatch(body, "application/x-www-form-urlencoded")
        if settle:
            self.settle()
        return Sent(response, payload.get("response_url"), self.slack)

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = MANAGER,
        message: dict[str, Any] | None = None,
        channel: str | None = None,
        ephemeral: bool = False,
        from_home: bool = False,
        settle: bool = True,
    ) -> Sent:
        """A block_actions click on a button of a channel message (or an ephemeral one, or Home)."""
        url = None if from_home else self._response_url()
        if from_home:
            container: dict[str, Any] = {"type": "view", "view_id": "VHOME"}
        else:
            container = {
                "type": "message",
                "message_ts": (message or {}).get("ts", "1.000001"),
                "channel_id": channel or (message or {}).get("channel", CHANNEL),
                "is_ephemeral": ephemeral,
            }
        payload: dict[str, Any] = {
            "type": "block_actions",
            **from_user(user),
            "container": container,
            "trigger_id": f"trigger.{next(self.counter)}",
            "actions": [button_action(action_id, value)],
        }
        if url:
            payload["response_url"] = url
            payload["channel"] = {"id": container["channel_id"], "name": "c"}
        if from_home:
            payload["view"] = {"id": "VHOME", "type": "home", "hash": "h"}
        return self.interactive(payload, settle=settle)

    def event(
        self, event: dict[str, Any], *, event_id: str | None = None, settle: bool = True
    ) -> BoltResponse:
        """``event`` as the Events API delivers it, signed (``event_id`` made up unless given)."""
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": "T1",
                "api_app_id": "ASANDBOX",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self.counter)}",
                "event_time": int(time.time()),
            }
        )
        response = self.dispatch(body, "application/json")
        if settle:
            self.settle()
        return response

    def settle(self) -> None:
        wait_for(self.executor.idle, what="the app's listeners to finish")

    # ------------------------------------------------------------------ what Slack got

    def sent(self, method: str | None = None, **kwargs: Any) -> list[dict[str, Any]]:
        return self.slack.sent(method, **kwargs)

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages of ``channel`` as a reader sees them now (edits applied)."""
        with self.slack.lock:
            return [dict(m) for m in self.slack.history.get(channel, [])]

    def dms(self, user: str) -> list[dict[str, Any]]:
        return self.channel_messages(f"D{user}")


def block_text(blocks: list[dict[str, Any]] | None) -> str:
    """Every text in ``blocks`` (sections, fields, contexts, buttons), joined by new lines."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                out.append(node["text"])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks or [])
    return "\n".join(out)


def message_text(message: dict[str, Any]) -> str:
    return (message.get("text") or "") + "\n" + block_text(message.get("blocks"))


def action_ids_in(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [
        el["action_id"]
        for b in blocks or []
        if b.get("type") == "actions"
        for el in b.get("elements", [])
    ]


def button_value(blocks: list[dict[str, Any]] | None, action_id: str) -> str:
    for b in blocks or []:
        for el in b.get("elements", []) if b.get("type") == "actions" else []:
            if el.get("action_id") == action_id:
                return str(el["value"])
    raise AssertionError(f"no {action_id} button in the blocks")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """Per module, so no test elsewhere that freezes time can stall its servers' event loops."""
    with Sandbox(seed="empty") as sb:
        yield sb


def scenario_settings(slack_url: str, **overrides: Any) -> AppSettings:
    values: dict[str, Any] = {
        "slack_bot_token": TOKEN,
        "slack_signing_secret": SECRET,
        "slack_api_url": slack_url,
        "slack_summary_channel": SUMMARY,
        "slack_approval_channel": APPROVALS,
        "slack_manager_ids": f"{MANAGER},{MANAGER2}",
        "slack_manager_group": GROUP,
        "slack_app_token": None,
        "hubspot_list_id": "7",
        **overrides,
    }
    return AppSettings(_env_file=None, **values)  # type: ignore[call-arg]


authorize = authorize_with(TOKEN)


@pytest.fixture
def bot(sandbox: Sandbox, tmp_path: Path) -> Iterator[Bot]:
    sandbox.slack.reset()
    sandbox.slack.set_usergroup(GROUP, [GROUP_MANAGER])
    world = make_world(tmp_path)
    settings = scenario_settings(sandbox.slack_url)
    executor = TrackingExecutor()
    monotonic = FakeMonotonic()
    app = create_app(
        settings,
        world.service,
        client=WebClient(token=TOKEN, base_url=sandbox.slack_url),
        authorize=authorize,
        executor=executor,
        monotonic=monotonic,
    )
    driver = Bot(app, sandbox, world, executor, monotonic, settings)
    try:
        yield driver
    finally:
        executor.shutdown(wait=True)
        world.store.close()
    assert not executor.errors, executor.errors


# --------------------------------------------------------------------------- Slack's limits

LIMITS = {
    "section_text": 3000,
    "field": 2000,
    "fields": 10,
    "context": 10,
    "header": 150,
    "button": 75,
    "value": 2000,
}


def limit_problems(blocks: list[dict[str, Any]], max_blocks: int) -> list[str]:
    """What Slack would refuse in ``blocks`` (dicts): the limits ``to_dict()`` does not check."""
    problems = []
    if len(blocks) > max_blocks:
        problems.append(f"{len(blocks)} blocks > {max_blocks}")
    block_ids = [b["block_id"] for b in blocks if b.get("block_id")]
    if len(block_ids) != len(set(block_ids)):
        problems.append(f"duplicate block ids {block_ids}")
    for i, b in enumerate(blocks):
        kind = b.get("type")
        if kind == "section":
            if len((b.get("text") or {}).get("text", "")) > LIMITS["section_text"]:
                problems.append(f"block {i}: section text too long")
            fields = b.get("fields") or []
            if len(fields) > LIMITS["fields"] or any(
                len(f["text"]) > LIMITS["field"] for f in fields
            ):
                problems.append(f"block {i}: fields over the limit")
        elif kind == "context" and len(b.get("elements", [])) > LIMITS["context"]:
            problems.append(f"block {i}: context has too many elements")
        elif kind == "header" and len(b["text"]["text"]) > LIMITS["header"]:
            problems.append(f"block {i}: header too long")
        elif kind == "actions":
            els = b.get("elements", [])
            action_ids = [e.get("action_id") for e in els]
            if len(action_ids) != len(set(action_ids)):
                problems.append(f"block {i}: duplicate action ids")
            for e in els:
                if (
                    len(e["text"]["text"]) > LIMITS["button"]
                    or len(e.get("value", "")) > LIMITS["value"]
                ):
                    problems.append(f"block {i}: button over the limit")
    return problems

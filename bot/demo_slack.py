"""The Slack half of ``sellsync demo``: drive the real app as Slack would, and show the channel.

:func:`run_demo_slack` serves the real Bolt app over HTTP on a loopback port, sends it signed
requests (a rep's push, a threshold request and a manager's approval, a sync, a conflict review),
posts the scheduled summary, and renders every message the sandbox Slack server recorded the way
a reader of the channels would see them: posts, in-place edits, private replies, direct messages.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TextIO
from urllib.parse import quote, urlencode

import httpx
from pydantic import SecretStr
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot import action_ids as ids
from bot.app import authorize_with, create_app
from bot.scheduler import SlackNotifier, post_summary
from bot.settings import AppSettings
from bot.web import SLACK_PATH, BackgroundServer, build_web
from sync.service import SyncService

STEP_TIMEOUT = 180.0  # a sync of the demo data against the rate-limited sandbox takes a while


class TrackingExecutor(ThreadPoolExecutor):
    """A listener executor that knows when no listener is running (the demo and the tests wait
    for it instead of sleeping)."""

    def __init__(self, max_workers: int = 8) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="bolt")
        self._lock = threading.Lock()
        self._in_flight = 0
        self.errors: list[BaseException] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._lock:
            self._in_flight += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, future: Future[Any]) -> None:
        error = future.exception()
        if error is not None:
            self.errors.append(error)
        with self._lock:
            self._in_flight -= 1

    def idle(self) -> bool:
        with self._lock:
            return self._in_flight == 0

    def wait_idle(self, timeout: float = STEP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the app was still busy after {timeout:.0f}s")
            time.sleep(0.02)


# --------------------------------------------------------------------------- rendering

_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<(?:mailto:)?([^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<([@#])([A-Z0-9]+)>")


def plain_text(text: str, names: dict[str, str] | None = None) -> str:
    """Slack mrkdwn as a reader sees it: dates, mentions and links resolved, entities undone."""
    names = names or {}
    text = _DATE.sub(r"\1", text)
    text = _LINK.sub(r"\2", text)
    text = _MENTION.sub(lambda m: m.group(1) + names.get(m.group(2), m.group(2)), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render_blocks(
    blocks: list[dict[str, Any]] | None, names: dict[str, str] | None = None
) -> list[str]:
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind in ("section", "header"):
            text = (block.get("text") or {}).get("text", "")
            if text:
                lines += plain_text(text, names).splitlines()
            fields = [
                plain_text(f.get("text", ""), names).replace("\n", ": ", 1)
                for f in block.get("fields") or []
            ]
            if fields:
                lines.append("  " + " | ".join(fields))
        elif kind == "context":
            parts = [
                plain_text(e.get("text", ""), names)
                for e in block.get("elements", [])
                if e.get("text")
            ]
            lines += ["  " + line for line in " · ".join(parts).splitlines()]
        elif kind == "actions":
            lines.append(
                "  " + " ".join(f"[{e['text']['text']}]" for e in block.get("elements", []))
            )
        elif kind == "divider":
            lines.append("  ----")
        elif kind == "input":
            lines.append(f"  {block['label']['text']}: ____")
    return lines


def render_call(record: dict[str, Any], names: dict[str, str] | None = None) -> list[str]:
    """One recorded Slack call as what a reader sees."""
    method, channel = record.get("method"), str(record.get("channel") or "")
    where = (
        f"DM to @{names.get(channel[1:], channel[1:]) if names else channel[1:]}"
        if channel.startswith("D")
        else f"#{channel}"
    )
    if method == "chat.postMessage":
        head = f"{where} — sellsync:"
    elif method == "chat.update":
        head = f"{where} — sellsync (message edited in place):"
    elif method == "response_url":
        args = record.get("args") or {}
        head = "(only visible to you) sellsync" + (
            " — replacing the previous reply:" if args.get("replace_original") else ":"
        )
    elif method == "views.publish":
        head = f"App Home of @{record.get('user')}:"
    elif method == "views.open":
        head = "A modal opens:"
    else:
        return []
    view = record.get("view") or {}
    body = render_blocks(record.get("blocks") or view.get("blocks"), names)
    if not body and record.get("text"):
        body = plain_text(str(record["text"]), names).splitlines()
    return [head, *("  " + line for line in body), ""]


# --------------------------------------------------------------------------- driving the app


class _Driver:
    def __init__(
        self,
        app_url: str,
        slack_url: str,
        secret: str,
        executor: TrackingExecutor,
        http: httpx.Client,
    ) -> None:
        self.app_url = app_url
        self.control = slack_url.rstrip("/").removesuffix("/api")
        self.secret = secret
        self.executor = executor
        self.http = http
        self.counter = itertools.count(1)
        self.seen = 0

    def _post(self, body: str, content_type: str) -> httpx.Response:
        ts = str(int(time.time()))
        signature = str(SignatureVerifier(self.secret).generate_signature(timestamp=ts, body=body))
        response = self.http.post(
            self.app_url + SLACK_PATH,
            content=body,
            headers={
                "content-type": content_type,
                "x-slack-signature": signature,
                "x-slack-request-timestamp": ts,
            },
        )
        response.raise_for_status()
        self.executor.wait_idle()
        return response

    def response_url(self) -> str:
        return f"{self.control}/webhook/demo-{next(self.counter)}"

    def command(self, text: str, *, user: str, channel: str) -> httpx.Response:
        body = urlencode(
            {
                "command": ids.COMMAND,
                "text": text,
                "user_id": user,
                "team_id": "T1",
                "channel_id": channel,
                "response_url": self.response_url(),
                "trigger_id": f"demo.{next(self.counter)}",
            }
        )
        return self._post(body, "application/x-www-form-urlencoded")

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        channel: str,
        ts: str,
        ephemeral: bool = False,
    ) -> None:
        payload = {
            "type": "block_actions",
            "user": {"id": user},
            "team": {"id": "T1"},
            "container": {
                "type": "message",
                "channel_id": channel,
                "message_ts": ts,
                "is_ephemeral": ephemeral,
            },
            "channel": {"id": channel},
            "response_url": self.response_url(),
            "trigger_id": f"demo.{next(self.counter)}",
            "actions": [
                {"type": "button", "action_id": action_id, "value": value, "block_id": "b"}
            ],
        }
        self._post("payload=" + quote(json.dumps(payload)), "application/x-www-form-urlencoded")

    def recorded(self) -> list[dict[str, Any]]:
        messages = self.http.get(self.control + "/_sandbox/messages").json()["messages"]
        return list(messages)

    def new_records(self) -> list[dict[str, Any]]:
        records = self.recorded()
        fresh, self.seen = records[self.seen :], len(records)
        return fresh


def _button(records: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str] | None:
    for record in reversed(records):
        for block in record.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == action_id:
                    return record, str(element["value"])
    return None


def _pick_push_items(service: SyncService, limit: int = 3) -> list[str]:
    """A few Sell leads with an email and one without, so the result shows a skip reason."""
    with_email: list[str] = []
    without: list[str] = []
    for page in service.sell.changed_pages("lead", None):
        for record in page:
            (with_email if record.email else without).append(str(record.ref))
        if len(with_email) >= limit and without:
            break
    return with_email[:limit] + without[:1]


def run_demo_slack(
    service: SyncService,
    slack_url: str,
    *,
    token: str = "xoxb-sandbox-token",
    rep: str = "UREP00001",
    manager: str = "UMGR00001",
    manager_group: str | None = "S0MANAGERS",
    channel: str = "C0SALESOPS",
    approvals_channel: str = "C0APPROVALS",
    push_items: Sequence[str] | None = None,
    new_threshold: int | None = None,
    run_sync: bool = True,
    names: dict[str, str] | None = None,
    out: TextIO | None = None,
) -> list[str]:
    """Drive the app through a push, a threshold approval, a sync with a conflict review and the
    summary; return (and print to ``out``) the transcript as readers of the channels see it.

    ``slack_url`` is the sandbox Slack Web API base (``…/api/``); its control API supplies the
    recorded messages. ``service`` must already point at the sandbox HubSpot and Sell.
    """
    names = names or {
        "UREP00001": "Riley Rep",
        "UMGR00001": "Morgan Manager",
        "UMGR00002": "Avery Admin",
    }
    secret = secrets.token_hex(16)
    settings = AppSettings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=SecretStr(token),
        slack_signing_secret=SecretStr(secret),
        slack_app_token=None,
        slack_api_url=slack_url,
        slack_summary_channel=channel,
        slack_approval_channel=approvals_channel,
        slack_manager_ids=manager,
        slack_manager_group=manager_group,
    )

    authorize = authorize_with(token)
    executor = TrackingExecutor()
    client = WebClient(base_url=slack_url)  # the token comes from ``authorize``
    app: App = create_app(settings, service, client=client, authorize=authorize, executor=executor)
    transcript: list[str] = []

    def say(line: str) -> None:
        transcript.append(line)
        if out is not None:
            print(line, file=out, flush=True)

    def show(driver: _Driver) -> list[dict[str, Any]]:
        fresh = driver.new_records()
        for record in fresh:
            for line in render_call(record, names):
                say(line)
        return fresh

    def who(user: str) -> str:
        return "@" + names.get(user, user)

    try:
        with (
            BackgroundServer(build_web(app, service)) as server,
            httpx.Client(timeout=STEP_TIMEOUT) as http,
        ):
            driver = _Driver(server.url, slack_url, secret, executor, http)
            driver.new_records()  # what happened before the demo is not ours to show

            say("=== 1. A rep pushes Sell records to HubSpot ===")
            items = list(push_items or _pick_push_items(service))
            say(f"{who(rep)} in #{channel}: /sellsync push {' '.join(items)}")
            driver.command("push " + " ".join(items), user=rep, channel=channel)
            show(driver)

            say("=== 2. A threshold change, approved by a manager ===")
            threshold = (
                new_threshold if new_threshold is not None else service.settings().threshold + 10
            )
            say(
                f"{who(rep)} in #{channel}: /sellsync threshold {threshold} more leads for the spring campaign"
            )
            driver.command(
                f"threshold {threshold} more leads for the spring campaign",
                user=rep,
                channel=channel,
            )
            fresh = show(driver)
            found = _button(fresh, ids.APPROVE)
            if found is not None:
                message, value = found
                say(f"{who(manager)} clicks [Approve] in #{message['channel']}")
                driver.click(
                    ids.APPROVE,
                    value,
                    user=manager,
                    channel=str(message["channel"]),
                    ts=str(message["ts"]),
                )
                show(driver)

            if run_sync:
                say("=== 3. A sync now, then the conflicts it found ===")
                say(f"{who(manager)} in #{channel}: /sellsync run")
                driver.command("run", user=manager, channel=channel)
                show(driver)
            say(f"{who(manager)} in #{channel}: /sellsync conflicts")
            driver.command("conflicts", user=manager, channel=channel)
            fresh = show(driver)
            found = _button(fresh, ids.USE_HUBSPOT)
            if found is not None:
                _, value = found
                say(f"{who(manager)} clicks [Use HubSpot] on the first conflict")
                driver.click(
                    ids.USE_HUBSPOT, value, user=manager, channel=channel, ts="", ephemeral=True
                )
                show(driver)

            say("=== 4. The scheduled summary ===")
            post_summary(
                service, SlackNotifier(WebClient(token=token, base_url=slack_url), channel)
            )
            show(driver)
    finally:
        executor.shutdown(wait=True)
    return transcript

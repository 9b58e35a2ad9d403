"""The Slack half of ``sellsync demo``: drive the real app as Slack would, and show the channel.

:func:`run_demo_slack` serves the real Bolt app over HTTP on a loopback port, sends it signed
requests (a rep's push, a sync, a threshold request and a manager's approval, a conflict review),
posts the scheduled summary, opens a manager's App Home, uses the message shortcut and, when the
caller can convert a Sell lead, shows the next sync following a conversion (L1), and renders
every message and view the sandbox Slack server recorded the way a reader would see them: posts,
in-place edits, private replies, direct messages, modals and the Home tab.

The sync comes before the threshold request on purpose: the impact table of a request counts the
list members a sync has seen, so only after one does it show what the change would do.
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
from bot.app import ManagerDirectory, authorize_with, create_app
from bot.scheduler import SlackNotifier, post_summary
from bot.serve import BackgroundServer
from bot.settings import AppSettings
from bot.web import SLACK_PATH, build_web
from sync.domain import Link, LinkState, SellRecord, SellRef
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
            initial = str((block.get("element") or {}).get("initial_value") or "")
            if initial:
                lines.append(f"  {block['label']['text']}:")
                lines += [f"    | {line}" for line in initial.splitlines()]
            else:
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
        user = str(record.get("user") or "")
        head = f"App Home of @{(names or {}).get(user, user)}:"
    elif method == "views.open":
        head = "A modal opens:"
    elif method == "chat.unfurl":
        return _render_unfurl(record, names)
    elif method in ("functions.completeSuccess", "functions.completeError"):
        return _render_step_end(record)
    elif method == "files.completeUploadExternal":
        return [*_render_file_share(record, where), ""]
    else:
        return []
    view = record.get("view") or {}
    body = render_blocks(record.get("blocks") or view.get("blocks"), names)
    if not body and record.get("text"):
        body = plain_text(str(record["text"]), names).splitlines()
    return [head, *("  " + line for line in body), ""]


def _render_unfurl(record: dict[str, Any], names: dict[str, str] | None) -> list[str]:
    """An unfurl: each link's card, as Slack shows it under the message."""
    cards = (record.get("args") or {}).get("unfurls") or {}
    if isinstance(cards, str):
        cards = json.loads(cards)
    lines: list[str] = []
    for url, card in cards.items():
        lines.append(f"Slack unfurls {url} into sellsync's card:")
        lines += ["  | " + line for line in render_blocks(card.get("blocks"), names)]
        lines.append("")
    return lines


def _render_file_share(record: dict[str, Any], where: str) -> list[str]:
    """A file shared in a channel: one line per file, as the reader sees it there."""
    where += " (in the thread of its message)" if record.get("thread_ts") else ""
    return [
        f"{where} — sellsync shares a chart: {f.get('title')} ({f.get('original_w')}×"
        f"{f.get('original_h')} {str(f.get('filetype', '')).upper()}, "
        f"{'alt text set' if f.get('alt_txt') else 'no alt text'}) — "
        + plain_text(str(record.get("text") or ""))
        for f in record.get("files") or []
    ]


def _render_step_end(record: dict[str, Any]) -> list[str]:
    """How a workflow step ended: its outputs, or its error."""
    args = record.get("args") or {}
    if record.get("method") == "functions.completeError":
        return [f"The workflow step ends in an error: {args.get('error')}", ""]
    outputs = args.get("outputs") or {}
    if isinstance(outputs, str):
        outputs = json.loads(outputs)
    shown = [f"  {name}: {value}" for name, value in outputs.items()]
    return ["The workflow step ends; its outputs, for the next steps:", *shown, ""]


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
        self.interact(payload)

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        """An interaction (a click, a shortcut, a modal submission) as Slack posts it."""
        return self._post(
            "payload=" + quote(json.dumps(payload)), "application/x-www-form-urlencoded"
        )

    def event(self, event: dict[str, Any]) -> httpx.Response:
        body = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "ADEMO",
            "event": event,
            "event_id": f"Ev{next(self.counter)}",
            "event_time": int(time.time()),
        }
        return self._post(json.dumps(body), "application/json")

    def message_shortcut(self, text: str, *, user: str, channel: str) -> httpx.Response:
        ts = f"{int(time.time())}.000100"
        return self.interact(
            {
                "type": "message_action",
                "callback_id": ids.ADD_MESSAGE_TO_HUBSPOT,
                "trigger_id": f"demo.{next(self.counter)}",
                "user": {"id": user},
                "team": {"id": "T1"},
                "channel": {"id": channel},
                "message_ts": ts,
                "message": {"type": "message", "user": "UCUSTOMER", "ts": ts, "text": text},
                "response_url": self.response_url(),
            }
        )

    def submit(self, view: dict[str, Any], *, user: str) -> httpx.Response:
        """Submit a modal as it was opened (its prefilled values unchanged)."""
        values: dict[str, Any] = {}
        for block in view.get("blocks") or []:
            element = block.get("element") or {}
            if block.get("type") == "input" and element.get("action_id"):
                values[str(block.get("block_id"))] = {
                    element["action_id"]: {
                        "type": element.get("type", "plain_text_input"),
                        "value": element.get("initial_value"),
                    }
                }
        return self.interact(
            {
                "type": "view_submission",
                "user": {"id": user},
                "team": {"id": "T1"},
                "trigger_id": f"demo.{next(self.counter)}",
                "view": {
                    "id": f"VDEMO{next(self.counter)}",
                    "type": "modal",
                    "callback_id": view.get("callback_id"),
                    "private_metadata": view.get("private_metadata", ""),
                    "hash": "demo",
                    "state": {"values": values},
                },
            }
        )

    def share_links(self, urls: Sequence[str], *, user: str, channel: str) -> None:
        """A member posts ``urls`` in ``channel``: Slack sends the app ``link_shared``."""
        answer = self.http.post(
            self.control + "/_sandbox/links",
            json={
                "urls": list(urls),
                "user": user,
                "channel": channel,
                "domains": list(ids.UNFURL_DOMAINS),
            },
        )
        answer.raise_for_status()
        event = answer.json()["event"]
        self.event({**event, "is_bot_user_member": True})

    def run_step(self, callback_id: str, inputs: dict[str, Any]) -> None:
        """A workflow reaches one of the app's steps: Slack sends ``function_executed``."""
        answer = self.http.post(
            self.control + "/_sandbox/functions",
            json={"callback_id": callback_id, "inputs": inputs},
        )
        answer.raise_for_status()
        self.event(answer.json()["event"])

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


def _view(records: list[dict[str, Any]], method: str = "views.open") -> dict[str, Any] | None:
    for record in reversed(records):
        if record.get("method") == method and isinstance(record.get("view"), dict):
            return dict(record["view"])
    return None


def _sell_leads(service: SyncService, with_email: int) -> tuple[list[SellRecord], list[SellRecord]]:
    """``with_email`` Sell leads that have an email, and one that has none."""
    found: list[SellRecord] = []
    without: list[SellRecord] = []
    for page in service.engine.sell.changed_pages("lead", None):
        for record in page:
            (found if record.email else without).append(record)
        if len(found) >= with_email and without:
            break
    return found[:with_email], without[:1]


def _pick_push_items(service: SyncService, limit: int = 3) -> list[str]:
    """A few Sell leads with an email and one without, so the result shows a skip reason."""
    with_email, without = _sell_leads(service, limit)
    return [str(r.ref) for r in (*with_email, *without)]


def _unlinked_leads(service: SyncService, count: int) -> list[SellRecord]:
    """``count`` Sell leads with an email that no sync or push has linked yet."""
    found: list[SellRecord] = []
    emails: set[str] = set()
    for page in service.engine.sell.changed_pages("lead", None):
        candidates = [r for r in page if r.email and r.email not in emails]
        linked = service.engine.store.links_by_sell([r.ref for r in candidates])
        for record in candidates:
            if record.ref not in linked and record.email not in emails:
                found.append(record)
                emails.add(str(record.email))
        if len(found) >= count:
            break
    return found[:count]


def _lead_new_to_hubspot(service: SyncService) -> SellRecord | None:
    """An unlinked Sell lead whose email HubSpot does not know yet (a push creates it)."""
    leads = _unlinked_leads(service, 20)
    known = service.engine.hubspot.read_contacts_by_email([str(r.email) for r in leads], ["email"])
    return next((r for r in leads if r.email not in known), None)


def _linked_lead(service: SyncService) -> SellRef | None:
    """A Sell lead with an active link, for the conversion scene."""
    for batch in service.engine.store.iter_links(batch_size=100):
        for link in batch:
            if link.sell.kind == "lead" and link.state is LinkState.ACTIVE:
                return link.sell
    return None


def _merge_pair(service: SyncService) -> tuple[tuple[Link, Link], str] | None:
    """Two active links and a HubSpot list member no Sell record is linked to, for the merge
    scene: the first link's contact is merged into the member, then the second's."""
    store = service.engine.store
    active: list[Link] = []
    for batch in store.iter_links(batch_size=100):
        active += [link for link in batch if link.state is LinkState.ACTIVE]
        if len(active) >= 2:
            break
    if len(active) < 2:
        return None
    members = sorted(store.known_members(service.settings().list_id), key=int)
    linked = store.links_by_hubspot(members)
    free = [m for m in members if m not in linked]
    if not free:
        return None
    return (active[0], active[1]), free[0]


def _shortcut_message(service: SyncService) -> str:
    """A message a rep might get: one Sell lead by its web address, another by its email."""
    leads = _unlinked_leads(service, 2)
    mentions = [leads[0].ref.web_url] if leads else []
    mentions += [f"<mailto:{r.email}|{r.email}>" for r in leads[1:]]
    return (
        f"Met two people at the expo who want a demo: {' and '.join(mentions) or 'no one yet'}"
        " — can someone follow up?"
    )


#: How to go from the demo to a real workspace (printed at the end of ``sellsync demo``).
NEXT_STEPS = (
    "=== What next: your own workspace ===",
    "1. Follow docs/setup.md: create the Slack app from manifest.yml (HTTP or Socket Mode), a "
    "HubSpot service key (or the project app in hubspot/, which adds webhooks) and a Sell token, "
    "and the Sell custom fields sellsync needs.",
    "2. Put the values in .env (.env.example names every setting), then run `sellsync check`: it "
    "lists each token, list, property, custom field and Slack channel with ✓ or ✗ and the fix.",
    "3. When it passes: `sellsync db upgrade`, then `sellsync serve --no-scheduler` (Slack) and "
    "one `sellsync worker` (the schedule), as in the Procfile. To rehearse, `sellsync sandbox` "
    "serves these stand-in APIs and prints a complete environment for them.",
)


def demo_app(
    service: SyncService,
    slack_url: str,
    *,
    token: str,
    channel: str,
    approvals: str,
    managers: str,
    manager_group: str | None = None,
) -> tuple[AppSettings, App, TrackingExecutor]:
    """The real Bolt app for a demo scene, on the sandbox Slack at ``slack_url``: its settings
    (a fresh signing secret), the app, and the executor whose work a scene waits for."""
    settings = AppSettings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=SecretStr(token),
        slack_signing_secret=SecretStr(secrets.token_hex(16)),
        slack_app_token=None,
        slack_api_url=slack_url,
        slack_summary_channel=channel,
        slack_approval_channel=approvals,
        slack_manager_ids=managers,
        slack_manager_group=manager_group,
    )
    executor = TrackingExecutor()
    # the app's client takes its token from ``authorize`` per request; the manager directory
    # reads the user group outside any request, so it gets a client with the token
    app: App = create_app(
        settings,
        service,
        client=WebClient(base_url=slack_url),
        authorize=authorize_with(token),
        is_manager=ManagerDirectory(
            settings.manager_ids, manager_group, WebClient(token=token, base_url=slack_url)
        ),
        executor=executor,
    )
    return settings, app, executor


def signing_secret(settings: AppSettings) -> str:
    """The signing secret a scene's requests are signed with (the app's own)."""
    secret = settings.slack_signing_secret
    assert secret is not None  # demo_app always sets one
    return secret.get_secret_value()


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
    shortcut_message: str | None = None,
    run_sync: bool = True,
    convert_lead: Callable[[int], int | None] | None = None,
    merge_contacts: Callable[[str, str], None] | None = None,
    names: dict[str, str] | None = None,
    out: TextIO | None = None,
) -> list[str]:
    """Drive the app through a push, a sync (with the approval of its bulk of creations, when
    it holds one), a threshold approval, a conflict review, the
    summary, App Home, the message shortcut and, given ``convert_lead`` (converts a Sell lead
    and returns its new individual contact's id), a lead conversion the next sync follows (L1),
    and given ``merge_contacts`` (merges the second HubSpot contact into the first), two merges:
    one the next sync follows, one a link conflict a manager settles (L2);
    return (and print to ``out``) the transcript as readers of the channels see it.

    ``slack_url`` is the sandbox Slack Web API base (``…/api/``); its control API supplies the
    recorded messages. ``service`` must already point at the sandbox HubSpot and Sell.
    """
    names = names or {
        "UREP00001": "Riley Rep",
        "UMGR00001": "Morgan Manager",
        "UMGR00002": "Avery Admin",
    }
    settings, app, executor = demo_app(
        service,
        slack_url,
        token=token,
        channel=channel,
        approvals=approvals_channel,
        managers=manager,
        manager_group=manager_group,
    )
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

    def slash(user: str, text: str) -> list[dict[str, Any]]:
        """``/sellsync TEXT`` typed by ``user`` in the channel; what it posted, shown."""
        say(f"{who(user)} in #{channel}: /sellsync {text}")
        driver.command(text, user=user, channel=channel)
        return show(driver)

    try:
        with (
            BackgroundServer(build_web(app, service)) as server,
            httpx.Client(timeout=STEP_TIMEOUT) as http,
        ):
            driver = _Driver(server.url, slack_url, signing_secret(settings), executor, http)
            driver.new_records()  # what happened before the demo is not ours to show

            say("=== 1. A rep pushes Sell records to HubSpot ===")
            items = list(push_items or _pick_push_items(service))
            slash(rep, "push " + " ".join(items))

            if run_sync:
                say("=== 2. A sync now: the synced HubSpot list flows into Sell ===")
                fresh = slash(manager, "run")
                found = _button(fresh, ids.BULK_APPROVE)
                if found is not None:  # a first sync creating more than SYNC_BULK_LIMIT
                    message, value = found
                    say(
                        "The first sync would create more records in Sell than SYNC_BULK_LIMIT "
                        "allows at once, so it asked first (the bulk guard)."
                    )
                    say(f"{who(manager)} clicks [Approve] in #{message['channel']}")
                    driver.click(
                        ids.BULK_APPROVE,
                        value,
                        user=manager,
                        channel=str(message["channel"]),
                        ts=str(message["ts"]),
                    )
                    show(driver)
                    slash(manager, "run")

            say("=== 3. A threshold change, with its impact, approved by a manager ===")
            slash(rep, "threshold")  # the impact now: the reply in words, the chart in the channel
            threshold = (
                new_threshold
                if new_threshold is not None
                else max(0, service.settings().threshold - 10)
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

            say("=== 4. The conflicts the sync found, reviewed by a manager ===")
            fresh = slash(manager, "conflicts")
            found = _button(fresh, ids.USE_HUBSPOT)
            if found is not None:
                _, value = found
                say(f"{who(manager)} clicks [Use HubSpot] on the first conflict")
                driver.click(
                    ids.USE_HUBSPOT, value, user=manager, channel=channel, ts="", ephemeral=True
                )
                show(driver)

            say("=== 5. The scheduled summary ===")
            post_summary(
                service, SlackNotifier(WebClient(token=token, base_url=slack_url), channel)
            )
            show(driver)

            say("=== 6. App Home: status, approvals, conflicts and the run history ===")
            say(f"{who(manager)} opens the sellsync app's Home tab")
            driver.event(
                {
                    "type": "app_home_opened",
                    "user": manager,
                    "channel": f"D{manager}",
                    "tab": "home",
                    "event_ts": f"{time.time():.6f}",
                }
            )
            show(driver)

            say("=== 7. The message shortcut: Add to HubSpot from a message ===")
            text = shortcut_message or _shortcut_message(service)
            say(f"A message in #{channel}: {plain_text(text, names)}")
            say(f"{who(rep)} picks ⋮ → Add to HubSpot on that message")
            driver.message_shortcut(text, user=rep, channel=channel)
            fresh = show(driver)
            view = _view(fresh)
            if view is not None:
                say(f"{who(rep)} clicks [Push]")
                driver.submit(view, user=rep)
                show(driver)

            lead = _linked_lead(service) if convert_lead is not None else None
            if convert_lead is not None and lead is not None:
                say("=== 8. A linked lead converted in Sell: the sync follows it ===")
                contact_id = convert_lead(lead.id)
                say(
                    f"{who(rep)} converts {lead} in Sell: it becomes contact:{contact_id} and "
                    f"{lead} now answers 404, as a deleted lead does"
                )
                slash(manager, "run")
                slash(manager, f"status contact:{contact_id}")

            pair = _merge_pair(service) if merge_contacts is not None else None
            if merge_contacts is not None and pair is not None:
                (first, second), survivor = pair
                say("=== 9. Contacts merged in HubSpot: the links follow the survivor ===")
                say(
                    f"Someone merges HubSpot contact {first.hubspot_id} (linked to {first.sell}) "
                    f"into contact {survivor}, which no Sell record is linked to"
                )
                merge_contacts(survivor, first.hubspot_id)
                slash(manager, "run")
                say(
                    f"Then contact {second.hubspot_id} (linked to {second.sell}) is merged into "
                    f"{survivor} too: two Sell records on one contact, and sellsync does not guess"
                )
                merge_contacts(survivor, second.hubspot_id)
                slash(manager, "run")
                fresh = slash(manager, "conflicts")
                found = _button(fresh, ids.KEEP_OTHER_LINK)
                if found is not None:
                    _, value = found
                    say(f"{who(manager)} clicks [Keep {first.sell}]")
                    driver.click(
                        ids.KEEP_OTHER_LINK,
                        value,
                        user=manager,
                        channel=channel,
                        ts="",
                        ephemeral=True,
                    )
                    show(driver)

            fresh_lead = _lead_new_to_hubspot(service)
            if fresh_lead is not None:
                lead_url = fresh_lead.ref.web_url
                say("=== 10. A record link unfurls; a Workflow Builder step pushes the record ===")
                say(f"{who(rep)} in #{channel}: can someone call this one? {lead_url}")
                driver.share_links([lead_url], user=rep, channel=channel)
                show(driver)
                say(
                    "A workflow (a form for new trade-show leads) reaches its step "
                    f'"Push to HubSpot" with Record = {lead_url}'
                )
                driver.run_step(ids.PUSH_STEP, {"item": lead_url})
                show(driver)
    finally:
        executor.shutdown(wait=True)
    return transcript

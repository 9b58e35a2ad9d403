"""The Slack edge after the hostile review of issue 14 (item 9): a signed request may only be
answered at Slack's own hooks host; a decision only updates the message stored for its request;
signed payloads of a shape Slack never sends get a short 400, never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.edge import ResponseUrls
from bot.serve import BackgroundServer
from bot.web import build_web
from sync.service import Actor
from tests.scenario.conftest import CHANNEL, MANAGER, REP, TOKEN, Bot, message_text
from tests.scenario.test_slack_edge import FORM, Recorder, command, nothing_happened, signed


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


@pytest.fixture
def server(bot: Bot) -> Iterator[BackgroundServer]:
    with BackgroundServer(build_web(bot.app, bot.world.service)) as srv:
        yield srv


# --------------------------------------------------------------------------- response_url


def test_a_signed_command_whose_response_url_is_not_slacks_is_refused_without_any_call(
    bot: Bot, recorder: Recorder
) -> None:
    body = command("status", recorder.url + "/hooks/steal")
    response = bot.dispatch(body, FORM, headers={k: [v] for k, v in signed(body).items()})
    assert response.status == 400 and "response_url" in response.body
    nothing_happened(bot, recorder)


def test_a_modal_whose_response_urls_point_elsewhere_is_refused_without_any_call(
    bot: Bot, recorder: Recorder
) -> None:
    payload = {
        "type": "view_submission",
        "user": {"id": REP},
        "team": {"id": "T1"},
        "view": {"type": "modal", "callback_id": ids.PUSH_VIEW, "id": "V1", "state": {}},
        "response_urls": [{"response_url": recorder.url + "/steal", "channel_id": CHANNEL}],
    }
    assert bot.interactive(payload).status == 400
    nothing_happened(bot, recorder)


def test_the_sandbox_hook_named_by_slack_api_url_still_gets_its_answer(bot: Bot) -> None:
    assert "No open conflicts" in message_text(bot.command("conflicts", user=MANAGER).reply())


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://hooks.slack.com/commands/T1/1/abc", True),
        ("https://HOOKS.slack.com:443/actions/T1/1/abc", True),
        ("http://hooks.slack.com/commands/T1/1/abc", False),
        ("https://hooks.slack.com.evil.example/commands", False),
        ("https://evil.example/hooks.slack.com", False),
        ("https://hooks.slack.com@evil.example/x", False),
        ("https://hooks.slack.com:8443/x", False),
        ("https://slack.com/api/chat.postMessage", False),
        ("file:///etc/passwd", False),
        ("not a url", False),
    ],
)
def test_only_slacks_hooks_host_is_a_response_url_in_production(url: str, allowed: bool) -> None:
    assert ResponseUrls().allows(url) is allowed


def test_the_sandbox_and_configured_origins_are_response_urls_too() -> None:
    policy = ResponseUrls("http://127.0.0.1:5000/api/", "hooks.internal.example, http://proxy:81")
    assert policy.allows("http://127.0.0.1:5000/webhook/r1")
    assert not policy.allows("http://127.0.0.1:5001/webhook/r1")  # another port, another origin
    assert policy.allows("https://hooks.internal.example/x")
    assert not policy.allows("http://hooks.internal.example/x")
    assert policy.allows("http://proxy:81/x")


# --------------------------------------------------------------------------- chat.update


def test_a_decision_never_updates_a_message_named_in_the_payload(bot: Bot) -> None:
    # a request whose message was never stored (posting failed, or filed from the terminal)
    request = bot.world.service.request_change("threshold", "60", actor=Actor(REP)).request
    assert request.channel is None
    # an unrelated message of the bot's own, somewhere else
    client = WebClient(token=TOKEN, base_url=bot.sandbox.slack_url)
    other = client.chat_postMessage(channel=CHANNEL, text="Weekly digest: 12 new leads")
    sent = bot.click(
        ids.APPROVE,
        ids.encode_request(request.id),
        user=MANAGER,
        message={"ts": other["ts"], "channel": CHANNEL},
    )
    assert sent.status == 200
    assert bot.sent("chat.update") == []
    (kept,) = [m for m in bot.channel_messages(CHANNEL) if m["ts"] == other["ts"]]
    assert kept["text"] == "Weekly digest: 12 new leads"
    assert "approved" in message_text(sent.reply())  # the manager is told in private instead
    assert bot.world.service.settings().threshold == 60


# --------------------------------------------------------------------------- mis-shaped payloads

MIS_SHAPED = {
    "view_submission without view.type": {
        "type": "view_submission",
        "user": {"id": REP},
        "team": {"id": "T1"},
        "view": {"callback_id": ids.PUSH_VIEW, "id": "V1", "state": {}},
    },
    "view_closed without a view": {"type": "view_closed", "user": {"id": REP}},
    "global shortcut without trigger_id": {
        "type": "shortcut",
        "callback_id": ids.ADD_TO_HUBSPOT,
        "user": {"id": REP},
        "team": {"id": "T1"},
    },
    "message shortcut without trigger_id": {
        "type": "message_action",
        "callback_id": ids.ADD_MESSAGE_TO_HUBSPOT,
        "user": {"id": REP},
        "team": {"id": "T1"},
        "message": {"text": "pat@example.com"},
    },
    "block_actions without action_id": {
        "type": "block_actions",
        "user": {"id": MANAGER},
        "team": {"id": "T1"},
        "actions": [{"type": "button", "value": "req:1"}],
    },
    "response_urls holding a non-object": {
        "type": "view_submission",
        "user": {"id": REP},
        "team": {"id": "T1"},
        "view": {"type": "modal", "callback_id": ids.PUSH_VIEW, "id": "V1", "state": {}},
        "response_urls": ["https://hooks.slack.com/x"],
    },
    "trigger_id that is not a string": {
        "type": "shortcut",
        "callback_id": ids.ADD_TO_HUBSPOT,
        "trigger_id": ["t"],
        "user": {"id": REP},
        "team": {"id": "T1"},
    },
}


@pytest.mark.parametrize("kind", list(MIS_SHAPED))
def test_a_signed_mis_shaped_payload_gets_400_with_one_line_and_no_traceback(
    bot: Bot,
    recorder: Recorder,
    server: BackgroundServer,
    caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    body = "payload=" + quote(json.dumps(MIS_SHAPED[kind]))
    headers = {"content-type": FORM, **signed(body)}
    response = httpx.post(server.url + "/slack/events", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"} and "\n" not in response.json()["error"]
    assert "Traceback" not in caplog.text and "KeyError" not in caplog.text
    nothing_happened(bot, recorder)
    if kind != "response_urls holding a non-object":  # Bolt cannot even build that request
        # the same body handed to the app directly
        headers = {k: [v] for k, v in signed(body).items()}
        assert bot.dispatch(body, FORM, headers=headers).status == 400


# --------------------------------------------------------------------------- slow clients


def closed_within(sock: socket.socket, seconds: float, trickle: bytes = b"") -> float | None:
    """Send ``trickle`` every 0.1 s until the server closes ``sock``: the seconds it took (None
    when it was still open after ``seconds``). Whatever the server answered is discarded."""
    started = time.monotonic()
    sock.setblocking(False)
    while time.monotonic() - started < seconds:
        try:
            got = sock.recv(65536)
            if not got:
                return time.monotonic() - started
        except BlockingIOError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
        try:
            if trickle:
                sock.send(trickle)
        except (BlockingIOError, ConnectionResetError, BrokenPipeError):
            pass
        time.sleep(0.1)
    return None


@pytest.fixture
def strict_server(bot: Bot) -> Iterator[BackgroundServer]:
    """The web app with short deadlines (the same code paths, quicker to test)."""
    web = build_web(bot.app, bot.world.service, body_timeout=0.6)
    with BackgroundServer(web, head_timeout=0.6) as srv:
        yield srv


def connect(server: BackgroundServer) -> socket.socket:
    parts = urlsplit(server.url)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def test_connections_that_trickle_their_headers_are_closed_at_the_head_deadline(
    strict_server: BackgroundServer,
) -> None:
    socks = [connect(strict_server) for _ in range(40)]
    try:
        for sock in socks:
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nhost: x\r\n")
        took = [closed_within(sock, 4.0, trickle=b"x-a: b\r\n") for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    assert all(t is not None and t < 3.0 for t in took), took
    # the server still answers
    assert httpx.get(strict_server.url + "/healthz").status_code in (200, 503)


def test_an_idle_connection_that_never_sends_a_byte_is_closed(
    strict_server: BackgroundServer,
) -> None:
    with connect(strict_server) as sock:
        took = closed_within(sock, 4.0)
    assert took is not None and took < 3.0


def test_a_body_trickled_byte_by_byte_gets_408_and_the_connection_is_closed(
    strict_server: BackgroundServer,
) -> None:
    body = command("status", None)
    head = (
        "POST /slack/events HTTP/1.1\r\nhost: x\r\n"
        f"content-type: {FORM}\r\ncontent-length: {len(body)}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed(body).items())
        + "\r\n"
    ).encode()
    with connect(strict_server) as sock:
        sock.sendall(head)
        started = time.monotonic()
        for char in body[:5]:  # a byte every 0.1 s, then nothing: never the whole body
            sock.sendall(char.encode())
            time.sleep(0.1)
        sock.settimeout(4)
        answer = b""
        while got := sock.recv(65536):
            answer += got
    assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
    assert b"connection: close" in answer.lower()
    assert time.monotonic() - started < 3


def test_the_server_runs_with_connection_limits() -> None:
    from starlette.applications import Starlette

    from bot.serve import HEAD_TIMEOUT_SECONDS, TimedH11Protocol, _config

    config = _config(Starlette(), "127.0.0.1", 0)
    assert config.timeout_keep_alive <= 5 and config.limit_concurrency is not None
    assert config.h11_max_incomplete_event_size == 16 * 1024
    assert config.http is TimedH11Protocol and HEAD_TIMEOUT_SECONDS <= 10

"""Property-based tests of ``POST /slack/events`` (issue 7 item 8, the HTTP part).

Random bodies and headers go through the real Starlette app in process, over httpx's ASGI
transport (an exception raised in the app fails the test instead of becoming a 500). Whatever arrives: no exception escapes, no 500, a
short JSON refusal; an unverified request reaches nothing (no outbound request, no Slack call, no
store change); a correctly signed one of any shape is answered without a 500 or a crashed listener.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from bot.web import build_web
from tests.scenario.conftest import SECRET, Bot
from tests.scenario.test_slack_edge import Recorder

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

HEADER_NAMES = [
    "x-slack-request-timestamp",
    "x-slack-signature",
    "content-type",
    "content-length",
    "x-slack-retry-num",
    "x-slack-retry-reason",
    "x-slack-bolt-lazy-only",
    "x-slack-bolt-lazy-function-name",
    "transfer-encoding",
]

header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
header_bytes = st.binary(max_size=80).map(
    lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F)  # no control bytes (no CR/LF)
)


#: A timestamp: an int is an offset from now (resolved when sent), a str is sent as it is.
timestamps = st.one_of(
    st.integers(-400, 400),
    st.integers(-(10**20), 10**20).map(str),
    st.sampled_from(["", "x", " 1", "1e9", "١٢٣", "+1", "1 "]),
    header_text,
)


def resolve(timestamp: int | str) -> str:
    return str(int(time.time()) + timestamp) if isinstance(timestamp, int) else timestamp


signatures = st.one_of(
    st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "v0=" + h),
    st.sampled_from(["", "v0=", "v1=" + "0" * 64, "v0=" + "é" * 64]),
    header_text,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)

SLACK_KEYS = [
    "type", "event", "team", "user", "channel", "actions", "view", "command", "text",
    "response_url", "event_id", "callback_id", "trigger_id", "container", "message",
    "enterprise", "authorizations", "token", "api_app_id", "is_enterprise_install", "team_id",
    "user_id", "channel_id", "enterprise_id", "challenge", "ssl_check",
]  # fmt: skip
SLACK_TYPES = [
    "event_callback", "block_actions", "view_submission", "view_closed", "shortcut",
    "message_action", "url_verification", "block_suggestion", "interactive_message",
]  # fmt: skip


@st.composite
def slack_shaped(draw: st.DrawFn) -> dict[str, Any]:
    """A JSON object with Slack's field names, Slack's or random types, and random values."""
    body: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(SLACK_KEYS), json_values, max_size=8)
    )
    if draw(st.booleans()):
        body["type"] = draw(st.sampled_from(SLACK_TYPES))
    if draw(st.booleans()):
        body["event"] = draw(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["app_home_opened", "message", "app_mention"])},
                optional={"user": json_values, "tab": json_values, "text": json_values},
            )
        )
    return body


@st.composite
def bodies(draw: st.DrawFn) -> tuple[bytes, str]:
    """(raw body, content type): random bytes, random JSON, Slack-shaped JSON or forms."""
    kind = draw(st.sampled_from(["bytes", "json", "slack json", "form", "payload", "command"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600)), draw(
            st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""])
        )
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), "application/json"
    if kind == "slack json":
        return json.dumps(draw(slack_shaped())).encode(), "application/json"
    form = "application/x-www-form-urlencoded"
    if kind == "command":
        words = st.sampled_from(["help", "status", "threshold", "conflicts", "fields", "push", ""])
        text = draw(st.tuples(words, st.text(max_size=30)).map(" ".join))
        fields = {
            "command": draw(st.sampled_from(["/sellsync", "/other"])),
            "text": text,
            "user_id": draw(st.sampled_from(["UREP1", "UMGR1", ""])),
            "team_id": "T1",
            "channel_id": "C0GENERAL",
            "response_url": RESPONSE_URL,
            "trigger_id": "t.1",
        }
        return urlencode(fields).encode(), form
    if kind == "form":
        fields = draw(st.dictionaries(st.sampled_from(SLACK_KEYS), st.text(max_size=30)))
        return urlencode(fields).encode(), form
    payload = draw(st.one_of(slack_shaped().map(json.dumps), st.text(max_size=60)))
    return ("payload=" + quote(payload)).encode(), form


#: Replaced, in a signed command, by a sandbox response_url (which records what it gets).
RESPONSE_URL = "http://response.invalid/hook"


def sign(body: bytes, timestamp: str) -> str:
    digest = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


class Client:
    """POSTs to the ASGI app in process; app exceptions propagate (``raise_app_exceptions``)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    def post(self, path: str, *, content: bytes, headers: dict[str, Any]) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=True)
            async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
                return await client.post(path, content=content, headers=headers)

        return asyncio.run(send())


@pytest.fixture
def client(bot: Bot) -> Client:
    return Client(build_web(bot.app, bot.world.service))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


def assert_refusal(response: Any) -> None:
    assert response.status_code in (400, 401, 413), (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"} and len(response.json()["error"]) < 80


@PROPERTY
@given(
    body=bodies(),
    headers=st.dictionaries(
        st.sampled_from(HEADER_NAMES), st.one_of(header_text, header_bytes), max_size=6
    ),
    timestamp=timestamps,
    signature=signatures,
)
def test_an_unsigned_or_forged_request_of_any_shape_is_refused_and_reaches_nothing(
    bot: Bot,
    client: Client,
    recorder: Recorder,
    body: tuple[bytes, str],
    headers: dict[str, str | bytes],
    timestamp: int | str,
    signature: str,
) -> None:
    raw, content_type = body
    sent_headers: dict[str, str | bytes] = {"content-type": content_type, **headers}
    sent_headers.setdefault("x-slack-request-timestamp", resolve(timestamp))
    sent_headers.setdefault("x-slack-signature", signature)
    if sent_headers.get("x-slack-signature") == sign(
        raw, str(sent_headers["x-slack-request-timestamp"])
    ):
        return  # a random signature that happens to be right is not a forgery
    sent_headers.pop("transfer-encoding", None)  # framing is the server's business, not the app's
    as_bytes = {k: v.encode() if isinstance(v, str) else v for k, v in sent_headers.items()}
    response = client.post("/slack/events", content=raw, headers=as_bytes)
    event(f"HTTP {response.status_code}")
    assert_refusal(response)
    bot.settle()
    assert recorder.hits == []
    assert bot.slack.messages == []
    assert bot.world.store.pending_requests() == []
    assert bot.world.store.recent_runs(1) == []


@PROPERTY
@given(body=bodies(), retry=st.none() | st.sampled_from(["1", "2"]), age=st.integers(-60, 60))
def test_a_signed_request_of_any_shape_gets_an_answer_never_a_500(
    bot: Bot, client: Client, body: tuple[bytes, str], retry: str | None, age: int
) -> None:
    raw, content_type = body
    raw = raw.replace(
        quote(RESPONSE_URL, safe="").encode(), quote(bot.slack.response_url("p"), safe="").encode()
    )
    timestamp = str(int(time.time()) - age)
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": sign(raw, timestamp),
    }
    if retry is not None:
        headers["x-slack-retry-num"] = retry
    response = client.post("/slack/events", content=raw, headers=headers)
    event(f"HTTP {response.status_code}")
    assert response.status_code in (200, 400, 401, 404), (response.status_code, response.text)
    if response.status_code in (400, 401):
        assert_refusal(response)
    bot.settle()
    assert bot.executor.errors == []

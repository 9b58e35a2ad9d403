"""The Slack edge under attack (SPEC §7, issue 7 items 1–4): what an unverified, oversized,
malformed, replayed or retried request gets, and that it has no effect of any kind.

"No effect" is checked where an effect would land: a recording HTTP server that any URL in a body
may point at (a request's ``response_url``), the sandbox Slack API (DMs, messages), the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
import pytest
from freezegun import freeze_time
from slack_bolt import BoltRequest

from bot.edge import MAX_BODY_BYTES
from bot.serve import BackgroundServer
from bot.web import build_web
from tests.scenario.conftest import MANAGER, SECRET, Bot

FORM = "application/x-www-form-urlencoded"


class Recorder:
    """An HTTP server on a loopback port that records every request it gets (any method, path)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                recorder.hits.append(f"{self.command} {self.path}")
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = do_PUT = _any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        yield rec


@pytest.fixture
def server(bot: Bot) -> Iterator[BackgroundServer]:
    with BackgroundServer(build_web(bot.app, bot.world.service)) as srv:
        yield srv


def command(text: str, response_url: str | None, user: str = MANAGER) -> str:
    fields = {
        "command": "/sellsync",
        "text": text,
        "user_id": user,
        "team_id": "T1",
        "channel_id": "C0GENERAL",
        "token": "legacy-verification-token-7f3a",
        "trigger_id": "t.1",
    }
    if response_url:
        fields["response_url"] = response_url
    return urlencode(fields)


def signed(
    body: bytes | str, *, timestamp: int | None = None, secret: str = SECRET
) -> dict[str, str]:
    """Slack's signature over the raw bytes (so invalid UTF-8 can be signed too)."""
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + raw, hashlib.sha256)
    return {"x-slack-request-timestamp": ts, "x-slack-signature": "v0=" + digest.hexdigest()}


def nothing_happened(bot: Bot, recorder: Recorder) -> None:
    bot.settle()
    time.sleep(0.05)  # a stray POST in flight would have landed by now
    assert recorder.hits == []
    assert bot.slack.messages == []
    assert bot.world.store.pending_requests() == []
    assert bot.world.store.recent_runs(1) == []


# --------------------------------------------------------------------------- item 1


BAD_HEADERS = {
    "non-numeric timestamp": lambda body: {
        **signed(body),
        "x-slack-request-timestamp": "x",
    },
    "timestamp with a sign": lambda body: {
        **signed(body),
        "x-slack-request-timestamp": "+" + str(int(time.time())),
    },
    "non-ASCII signature": lambda body: {
        **signed(body),
        "x-slack-signature": "v0=" + "é" * 64,
    },
    "signature without v0=": lambda body: {
        **signed(body),
        "x-slack-signature": signed(body)["x-slack-signature"][3:],
    },
    "missing timestamp": lambda body: {"x-slack-signature": signed(body)["x-slack-signature"]},
    "far-off timestamp": lambda body: signed(body, timestamp=int(time.time()) - 3600),
}


@pytest.mark.parametrize("with_response_url", [True, False], ids=["response_url", "user DM"])
@pytest.mark.parametrize("forgery", list(BAD_HEADERS))
def test_an_unverified_request_gets_401_and_nothing_is_sent_to_its_response_url_or_user(
    bot: Bot, recorder: Recorder, forgery: str, with_response_url: bool
) -> None:
    body = command("status", recorder.url + "/steal" if with_response_url else None)
    headers = {k: [v] for k, v in BAD_HEADERS[forgery](body).items()}
    response = bot.dispatch(body, FORM, headers=headers)
    assert response.status == 401
    nothing_happened(bot, recorder)


def test_an_unverified_request_over_http_gets_401_and_no_post_to_its_response_url(
    bot: Bot, recorder: Recorder, server: BackgroundServer
) -> None:
    body = command("status", recorder.url + "/steal")
    headers = {**signed(body), "x-slack-request-timestamp": "x", "content-type": FORM}
    response = httpx.post(server.url + "/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    nothing_happened(bot, recorder)


def test_the_error_handler_acts_on_nothing_when_a_request_skipped_verification(
    bot: Bot, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from slack_bolt import App

    def boom() -> object:
        raise RuntimeError("status broke")

    monkeypatch.setattr(bot.world.service, "status", boom)
    body = command("status", recorder.url + "/steal")
    request = BoltRequest(body=body, headers={"content-type": [FORM]})
    # Bolt's own dispatch, past SellsyncApp's checks: the error handler still answers nobody
    response = App.dispatch(bot.app, request)
    assert response.status == 401
    nothing_happened(bot, recorder)


def test_a_bolt_internal_header_from_outside_is_refused(bot: Bot, recorder: Recorder) -> None:
    body = command("threshold 10", recorder.url + "/r")
    headers = {k: [v] for k, v in signed(body).items()}
    headers["x-slack-bolt-lazy-only"] = ["1"]
    headers["x-slack-bolt-lazy-function-name"] = ["file_request"]
    assert bot.dispatch(body, FORM, headers=headers).status == 400
    nothing_happened(bot, recorder)


# --------------------------------------------------------------------------- item 2


def raw_exchange(url: str, head: bytes, chunks: Iterator[bytes], timeout: float = 5.0) -> bytes:
    """Send ``head`` then ``chunks`` (stopping when the server answers) and return its answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        deadline = time.monotonic() + timeout
        for chunk in chunks:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.sendall(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            if time.monotonic() > deadline:
                break
        sock.settimeout(timeout)
        while b"\r\n" not in answer:
            got = sock.recv(65536)
            if not got:
                break
            answer += got
    return answer


def test_a_200_mb_body_gets_413_before_it_is_read(server: BackgroundServer) -> None:
    body_size = 200 * 1024 * 1024
    head = (
        "POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        f"content-length: {body_size}\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed("{}").items())
        + "\r\n"
    ).encode()
    sent = 0

    def trickle() -> Iterator[bytes]:
        nonlocal sent
        for _ in range(20):  # 20 KB of 200 MB, then wait: the answer must not need the rest
            sent += 1024
            yield b" " * 1024
            time.sleep(0.01)

    started = time.monotonic()
    answer = raw_exchange(server.url, head, trickle())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]
    assert time.monotonic() - started < 5 and sent <= 20 * 1024


def test_a_chunked_body_gets_413_once_it_passes_the_cap(server: BackgroundServer) -> None:
    head = (
        "POST /slack/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
        "transfer-encoding: chunked\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in signed("{}").items())
        + "\r\n"
    ).encode()
    piece = b"a" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    pieces = (chunk for _ in range(MAX_BODY_BYTES // len(piece) + 16))  # never terminated
    answer = raw_exchange(server.url, head, pieces)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:80]


MALFORMED: dict[str, tuple[bytes, str]] = {
    "invalid JSON": (b'{"type": "event_callback", ', "application/json"),
    "a JSON array": (b'[{"type": "event_callback"}]', "application/json"),
    "a JSON string": (b'"hello"', "application/json"),
    "invalid UTF-8": (b'{"text": "\xff\xfe"}', "application/json"),
    "deep nesting": (b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json"),
    "nesting under the parser's limit": (
        b'{"a": ' + b"[" * 500 + b"]" * 500 + b"}",
        "application/json",
    ),
    "payload= not JSON": (b"payload=%7Bnot-json", FORM),
    "payload= a JSON list": (b"payload=" + quote("[1, 2]").encode(), FORM),
    "event that is not an object": (
        json.dumps({"type": "event_callback", "event": "x", "event_id": "Ev1"}).encode(),
        "application/json",
    ),
    "actions that are not objects": (
        b"payload=" + quote(json.dumps({"type": "block_actions", "actions": [1]})).encode(),
        FORM,
    ),
    "enterprise of the wrong type": (json.dumps({"enterprise": 5}).encode(), "application/json"),
}


@pytest.mark.parametrize("signature", ["signed", "unsigned"])
@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_body_gets_400_or_401_never_500(
    bot: Bot, recorder: Recorder, server: BackgroundServer, kind: str, signature: str
) -> None:
    body, content_type = MALFORMED[kind]
    headers = {"content-type": content_type}
    if signature == "signed":
        headers |= signed(body)
    response = httpx.post(server.url + "/slack/events", content=body, headers=headers)
    assert response.status_code == (400 if signature == "signed" else 401), response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "Traceback" not in response.text
    nothing_happened(bot, recorder)


# --------------------------------------------------------------------------- item 3


def test_a_refused_request_is_logged_with_its_size_and_fingerprint_never_its_body(
    bot: Bot, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = recorder.url + "/hooks/T1/secret-response-path"
    body = command("status", url)
    # a genuine request that failed on clock skew: signed right, 6 minutes late
    headers = {k: [v] for k, v in signed(body, timestamp=int(time.time()) - 360).items()}
    assert bot.dispatch(body, FORM, headers=headers).status == 401
    logged = caplog.text
    assert "secret-response-path" not in logged and "legacy-verification-token" not in logged
    assert "status" not in logged.replace("HTTP", "")  # not even the command text
    fingerprint = hashlib.sha256(body.encode()).hexdigest()[:12]
    refusals = [
        r.getMessage() for r in caplog.records if "refused a Slack request" in r.getMessage()
    ]
    assert refusals == [
        f"refused a Slack request: timestamp outside the 5-minute window "
        f"(HTTP 401, {len(body)} bytes, body {fingerprint})"
    ]
    nothing_happened(bot, recorder)


def test_a_malformed_body_is_not_logged_either(
    bot: Bot, server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b'payload={"response_url": "http://10.0.0.1/private-hook", "x": '
    headers = {"content-type": FORM, **signed(body)}
    assert (
        httpx.post(server.url + "/slack/events", content=body, headers=headers).status_code == 400
    )
    assert "private-hook" not in caplog.text and "refused a Slack request" in caplog.text


# --------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(
    ("skew", "replay_after"),
    [(-180, 380), (+180, 100), (0, 299)],
    ids=["this clock 3 min behind, replay at +380 s", "3 min ahead, +100 s", "no skew, +299 s"],
)
def test_a_replay_is_refused_for_the_whole_window_its_signature_is_valid(
    bot: Bot, skew: int, replay_after: int
) -> None:
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    bot.world.clock.t = start
    slack_time = int(start.timestamp()) - skew  # what Slack's clock read when it signed
    with freeze_time(start, real_asyncio=True) as frozen:
        url = bot.slack.response_url("replay")
        body = command("threshold 55 replayed", url, user="UREP1")
        headers = {k: [v] for k, v in signed(body, timestamp=slack_time).items()}
        assert bot.dispatch(body, FORM, headers=headers).status == 200
        bot.settle()
        assert [r.new_value for r in bot.world.store.pending_requests()] == ["55"]
        frozen.tick(replay_after)
        bot.world.clock.tick(replay_after)
        # the signature still verifies at this moment …
        assert abs(time.time() - slack_time) <= 300
        # … and the request is refused all the same
        assert bot.dispatch(body, FORM, headers=headers).status == 401
        bot.settle()
    assert len(bot.world.store.pending_requests()) == 1


def event_body(event_id: str, user: str = "UREP1") -> str:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T1",
            "api_app_id": "ASANDBOX",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "tab": "home"},
        }
    )


def deliver(bot: Bot, body: str, *, retry: int | None = None, age: int = 0) -> int:
    headers = {k: [v] for k, v in signed(body, timestamp=int(time.time()) - age).items()}
    if retry is not None:
        headers["x-slack-retry-num"] = [str(retry)]
        headers["x-slack-retry-reason"] = ["http_timeout"]
    status = bot.dispatch(body, "application/json", headers=headers).status
    bot.settle()
    return status


def test_slacks_retries_of_an_event_are_acked_and_the_event_runs_once(bot: Bot) -> None:
    body = event_body("Ev0RETRY1")
    assert deliver(bot, body, age=2) == 200
    assert len(bot.sent("views.publish")) == 1
    assert deliver(bot, body, retry=1, age=1) == 200  # freshly signed, same event
    assert deliver(bot, body, retry=2) == 200
    assert len(bot.sent("views.publish")) == 1


def test_a_retry_whose_original_never_arrived_is_processed(bot: Bot) -> None:
    body = event_body("Ev0LOST")
    assert deliver(bot, body, retry=1) == 200
    assert len(bot.sent("views.publish")) == 1
    assert deliver(bot, body, retry=2) == 200
    assert len(bot.sent("views.publish")) == 1


def test_a_retry_whose_original_was_refused_is_processed(bot: Bot) -> None:
    body = event_body("Ev0SKEWED")
    assert deliver(bot, body, age=400) == 401  # the original failed verification (clock skew)
    assert bot.sent("views.publish") == []
    assert deliver(bot, body, retry=1) == 200
    assert len(bot.sent("views.publish")) == 1


def test_a_replayed_event_without_the_retry_header_is_refused(bot: Bot) -> None:
    body = event_body("Ev0REPLAY")
    headers = {k: [v] for k, v in signed(body).items()}
    assert bot.dispatch(body, "application/json", headers=headers).status == 200
    bot.settle()
    assert bot.dispatch(body, "application/json", headers=headers).status == 401
    bot.settle()
    assert len(bot.sent("views.publish")) == 1


def test_a_command_costs_one_small_database_write(bot: Bot) -> None:
    from sqlalchemy import event

    writes: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if (
            not statement.lstrip()
            .upper()
            .startswith(("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE"))
        ):
            writes.append(statement[:60])

    bot.command("status", user=MANAGER)  # the first read of the settings stores their defaults
    store = bot.world.store
    engines = {store.engine, store.markers_engine}  # the markers may have a file of their own
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        sent = bot.command("status", user=MANAGER)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)
    assert sent.status == 200
    # the marker, and nothing else
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO request_markers"), writes


def test_a_retry_of_an_event_whose_dispatch_failed_is_processed(bot: Bot) -> None:
    from slack_sdk import WebClient

    from bot.app import create_app
    from tests.scenario.conftest import TOKEN, authorize

    calls = []

    def flaky_authorize(enterprise_id: Any, team_id: Any, user_id: Any, logger: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("auth.test timed out")
        return authorize(enterprise_id, team_id, user_id, logger)

    app = create_app(
        bot.settings,
        bot.world.service,
        client=WebClient(token=TOKEN, base_url=bot.sandbox.slack_url),
        authorize=flaky_authorize,
        executor=bot.executor,
    )
    body = event_body("Ev0FAILED")

    def deliver_to_app(retry: int | None) -> int:
        headers = {k: [v] for k, v in signed(body).items()}
        if retry is not None:
            headers["x-slack-retry-num"] = [str(retry)]
        status = app.dispatch(
            BoltRequest(body=body, headers={"content-type": ["application/json"], **headers})
        ).status
        bot.settle()
        return status

    assert deliver_to_app(None) == 500  # the listener never ran
    assert bot.sent("views.publish") == []
    assert deliver_to_app(1) == 200
    assert len(bot.sent("views.publish")) == 1
    assert deliver_to_app(2) == 200
    assert len(bot.sent("views.publish")) == 1


def test_a_request_is_refused_with_503_and_no_effect_while_the_database_is_down(
    bot: Bot, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    def down(*args: object, **kwargs: object) -> bool:
        raise OperationalError("INSERT", {}, Exception("postgresql://u:hunter2@db/x refused"))

    monkeypatch.setattr(bot.world.store, "mark_once", down)
    body = command("threshold 10", bot.slack.response_url("r"))  # Slack's (the sandbox's) hook
    headers = {k: [v] for k, v in signed(body).items()}
    response = bot.dispatch(body, FORM, headers=headers)
    assert response.status == 503 and "hunter2" not in response.body
    assert "hunter2" not in caplog.text and "Traceback" not in caplog.text
    nothing_happened(bot, recorder)
    assert bot.slack.webhooks == []

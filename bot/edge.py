"""The Slack HTTP edge: what a request to ``/slack/events`` must be before Bolt sees any of it.

Bolt verifies signatures in a middleware, inside ``App.dispatch``: by then the whole body has been
read into memory and parsed (a malformed one raises in ``BoltRequest``, a 500 with a traceback), a
non-numeric ``X-Slack-Request-Timestamp`` makes slack_sdk raise, which sends the *unverified* body
to the app's error handler (which answers its ``response_url`` or DMs its user), and a failed
check is logged with the whole body. So sellsync checks each request here instead, each step
cheap and bounded before the next, and refuses with a short JSON error:

1. ``Content-Length`` over :data:`MAX_BODY_BYTES` → 413 before a byte of the body is read;
2. the timestamp must be ASCII digits within 5 minutes of this server's clock, the signature
   ``v0=`` and 64 hex digits → 401, still without reading the body;
3. the body is read up to the cap (a chunked body that goes past it → 413) within
   :data:`BODY_TIMEOUT_SECONDS` (a trickled body → 408, connection closed), must be UTF-8 → 400;
4. slack_sdk's :class:`~slack_sdk.signature.SignatureVerifier` checks the HMAC → 401;
5. only a verified body is parsed, the way Bolt parses it, into a JSON object of bounded depth
   whose fields Bolt reads have the types Slack sends → 400.

Refusals are logged with the reason, the size and a short fingerprint (a hash prefix, enough to
match two log lines), never the body or its headers. The same verification runs again in
:class:`bot.app.SellsyncApp` for requests handed to ``dispatch`` directly; Socket Mode requests
are authenticated by their socket and skip it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_sdk.signature import Clock, SignatureVerifier
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("sellsync.edge")

#: Slack's payloads are a few kilobytes; the largest (a view submission) stays well under this.
MAX_BODY_BYTES = 1024 * 1024
#: How far a request's timestamp may be from this server's clock (Slack's rule), in seconds.
SIGNATURE_WINDOW_SECONDS = 300
#: A request's body must arrive within this many seconds of its headers (Slack sends it at once).
BODY_TIMEOUT_SECONDS = 10.0
#: Deeper JSON than Slack ever sends (rich text nests about a dozen levels) is refused.
MAX_DEPTH = 64

TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
RETRY_HEADER = "x-slack-retry-num"
#: Headers Bolt sets for itself (its FaaS lazy-listener re-invocation); never from outside.
INTERNAL_HEADER_PREFIX = "x-slack-bolt-"
#: Where a verified request carries its :class:`Verified` in Bolt's context.
VERIFIED_KEY = "sellsync_verified"

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

# Top-level fields Bolt itself reads while routing, and the JSON type each must have.
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "type": str,
    "event": dict,
    "team": (dict, str),
    "enterprise": (dict, str),
    "user": (dict, str),
    "channel": (dict, str),
    "container": dict,
    "view": dict,
    "message": dict,
    "actions": list,
    "authorizations": list,
    "event_id": str,
    "callback_id": str,
    "command": str,
    "response_url": str,
    "response_urls": list,
    "trigger_id": str,
}

# What Bolt's routing and sellsync's listeners index into, per interactivity payload type: a
# signed payload without them is refused (400) rather than failing inside Bolt (a 500).
_REQUIRED: dict[str, tuple[str, ...]] = {
    "view_submission": ("view", "view.type", "view.callback_id"),
    "view_closed": ("view", "view.type", "view.callback_id"),
    "shortcut": ("callback_id", "trigger_id"),
    "message_action": ("callback_id", "trigger_id"),
    "block_actions": ("actions",),
    "block_suggestion": ("action_id",),
}


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and with which status (400, 401, 413; 503 when the store is down)."""

    status: int
    reason: str

    def body(self) -> str:
        return json.dumps({"error": self.reason})

    def bolt(self) -> BoltResponse:
        return BoltResponse(
            status=self.status,
            body=self.body(),
            headers={"content-type": "application/json"},
        )


def signed_headers(
    timestamp: str | None,
    signature: str | None,
    *,
    timestamp_form: re.Pattern[str],
    signature_form: re.Pattern[str],
) -> Refusal | tuple[int, str]:
    """Signature headers as their provider forms them: (timestamp, signature), or the refusal
    of headers missing or malformed. Their age and the HMAC are the caller's to check."""
    if not timestamp or not signature:
        return Refusal(401, "missing signature headers")
    if not timestamp_form.fullmatch(timestamp):
        return Refusal(401, "malformed timestamp")
    if not signature_form.fullmatch(signature):
        return Refusal(401, "malformed signature")
    return int(timestamp), signature


@dataclass(frozen=True)
class Verified:
    """A request whose signature held: its timestamp (Slack's clock) and signature."""

    timestamp: int
    signature: str


def fingerprint(body: bytes | str) -> str:
    """A short, stable tag for ``body`` in the log (SHA-256 prefix): never the body itself."""
    raw = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    return hashlib.sha256(raw).hexdigest()[:12]


def log_refusal(refusal: Refusal, body: bytes | str = b"", *, size: int | None = None) -> None:
    """One line: the reason, the status, the size (of ``body`` unless given) and a fingerprint."""
    if size is None:
        size = len(body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body)
    log.warning(
        "refused a Slack request: %s (HTTP %s, %d bytes, body %s)",
        refusal.reason,
        refusal.status,
        size,
        fingerprint(body) if body else "-",
    )


def wall_clock() -> float:
    """This server's clock in Unix seconds (looked up on each call, so tests can move it)."""
    return time.time()


class _Clock(Clock):
    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now

    def now(self) -> float:
        return self._now()


class Verifier:
    """Checks Slack's signature headers against ``signing_secret`` on the injected wall clock.

    Without a secret nothing verifies (Socket Mode needs none, and HTTP requests then all get 401).
    """

    def __init__(
        self, signing_secret: str | None, *, now: Callable[[], float] = wall_clock
    ) -> None:
        self.now = now
        self._signatures = (
            SignatureVerifier(signing_secret, _Clock(now)) if signing_secret else None
        )

    def check_headers(self, timestamp: str | None, signature: str | None) -> Refusal | Verified:
        """What the headers alone decide (before the body is read)."""
        if self._signatures is None:
            return Refusal(401, "no signing secret is configured")
        headers = signed_headers(
            timestamp, signature, timestamp_form=_TIMESTAMP, signature_form=_SIGNATURE
        )
        if isinstance(headers, Refusal):
            return headers
        ts, signature = headers
        if abs(self.now() - ts) > SIGNATURE_WINDOW_SECONDS:
            return Refusal(401, "timestamp outside the 5-minute window")
        return Verified(ts, signature)

    def verify(
        self, timestamp: str | None, signature: str | None, body: bytes | str
    ) -> Refusal | Verified:
        """The headers, then the HMAC over ``body`` (which must be UTF-8)."""
        checked = self.check_headers(timestamp, signature)
        if isinstance(checked, Refusal):
            return checked
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return Refusal(400, "body is not UTF-8")
        else:
            text = body
        assert self._signatures is not None  # check_headers refused otherwise
        try:
            # over the timestamp exactly as sent (check_headers allowed only ASCII digits)
            valid = self._signatures.is_valid(text, timestamp, checked.signature)
        except UnicodeEncodeError:  # a str body with lone surrogates (never from the network)
            return Refusal(400, "body is not UTF-8")
        if not valid:
            return Refusal(401, "invalid signature")
        return checked


def _too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return False


def shape_problem(body: Any) -> str | None:
    """Why a parsed body is not something Slack sends (None when it could be)."""
    if not isinstance(body, dict):
        return "body is not an object"
    if _too_deep(body):
        return "body is nested too deeply"
    for name, kind in _FIELD_TYPES.items():
        if name in body and not isinstance(body[name], kind):
            return f"field {name!r} has the wrong type"
    for name in ("actions", "authorizations"):
        items = body.get(name)
        if items is not None and not all(isinstance(item, dict) for item in items):
            return f"field {name!r} holds a non-object"
    if body.get("actions") == []:
        return "field 'actions' is empty"
    for path in _REQUIRED.get(str(body.get("type")), ()):
        node: Any = body
        for name in path.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        if not isinstance(node, dict | list | str):
            return f"a {body['type']} payload without {path!r}"
    if body.get("type") == "block_actions" and not all(
        isinstance(a.get("action_id"), str) for a in body["actions"]
    ):
        return "an action without 'action_id'"
    return None


#: Where Slack's response_url points: requests naming any other place are refused (400).
SLACK_HOOKS_ORIGIN = "https://hooks.slack.com"


def url_origin(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, without a default port (None
    when ``url`` is not one)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


class ResponseUrls:
    """Which ``response_url`` a request may carry: Slack's hooks host over https, the origin of
    a Slack API URL that is not Slack's own (the sandbox), and any ``extra`` origins (a bare
    host means https)."""

    def __init__(self, api_url: str = "https://slack.com/api/", extra: str = "") -> None:
        origins = [SLACK_HOOKS_ORIGIN]
        api_host = (urlsplit(api_url).hostname or "").lower()
        if api_host and api_host != "slack.com" and not api_host.endswith(".slack.com"):
            origins.append(api_url)
        for item in (x.strip() for x in extra.split(",")):
            if item:
                origins.append(item if "://" in item else f"https://{item}")
        self.origins = frozenset(o for o in map(url_origin, origins) if o is not None)

    def allows(self, url: object) -> bool:
        return isinstance(url, str) and url_origin(url) in self.origins

    def problem(self, body: Any) -> str | None:
        """Why ``body`` names a response_url sellsync must not post to (None when it does not)."""
        if not isinstance(body, dict):
            return None
        urls = [body["response_url"]] if "response_url" in body else []
        listed = body.get("response_urls")
        if listed is not None:
            if not isinstance(listed, list) or not all(isinstance(u, dict) for u in listed):
                return "field 'response_urls' has the wrong type"
            urls += [u.get("response_url") for u in listed]
        if any(not self.allows(url) for url in urls):
            return "response_url is not Slack's"
        return None


def bolt_request(
    headers: Mapping[str, list[str]], text: str, verified: Verified | None = None
) -> BoltRequest | Refusal:
    """A :class:`BoltRequest` for a verified body, or why it cannot be one (400)."""
    context = {VERIFIED_KEY: verified} if verified is not None else None
    try:
        request = BoltRequest(body=text, headers=dict(headers), context=context)
    except (ValueError, RecursionError, TypeError, AttributeError, KeyError, IndexError):
        # JSONDecodeError (a ValueError), too-deep nesting, or a shape Bolt trips over
        return Refusal(400, "body does not parse as a Slack payload")
    problem = shape_problem(request.body)
    if problem is not None:
        return Refusal(400, problem)
    return request


async def read_capped(
    request: Request, limit: int = MAX_BODY_BYTES, *, timeout: float = BODY_TIMEOUT_SECONDS
) -> bytes | Refusal:
    """The body, read only while it stays within ``limit`` bytes and arrives within ``timeout``
    seconds (a body trickled byte by byte gets 408 and its connection is closed)."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    return Refusal(413, f"body over {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        return Refusal(408, f"body not received within {timeout:g} seconds")
    return b"".join(chunks)


def _json_response(refusal: Refusal) -> Response:
    return Response(refusal.body(), status_code=refusal.status, media_type="application/json")


@dataclass(frozen=True)
class SignedBody:
    """A request's body, read within its cap, and its two signature headers."""

    body: bytes
    timestamp: str | None
    signature: str | None


@dataclass(frozen=True)
class Refused:
    """Why :func:`read_signed` stopped, the size to log, and whether the connection must close
    (a body left unread)."""

    refusal: Refusal
    size: int
    close: bool = False


async def read_signed(
    request: Request,
    check_headers: Callable[[str | None, str | None], object],
    *,
    headers: tuple[str, str] = (TIMESTAMP_HEADER, SIGNATURE_HEADER),
    limit: int = MAX_BODY_BYTES,
    timeout: float = BODY_TIMEOUT_SECONDS,
) -> SignedBody | Refused:
    """What a signed ``POST`` goes through before its signature is checked: a well-formed
    ``Content-Length`` within ``limit``, the timestamp and signature ``headers`` as
    ``check_headers`` judges them (a :class:`Refusal` stops here), then the body read within
    ``limit`` bytes and ``timeout`` seconds."""
    declared = request.headers.get("content-length")
    size = 0
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            return Refused(Refusal(400, "malformed Content-Length"), size=0)
        size = int(declared) if len(declared) <= 18 else limit + 1
        if size > limit:
            return Refused(Refusal(413, f"body over {limit} bytes"), size=size)
    timestamp = request.headers.get(headers[0])
    signature = request.headers.get(headers[1])
    early = check_headers(timestamp, signature)
    if isinstance(early, Refusal):
        return Refused(early, size=size)
    body = await read_capped(request, limit, timeout=timeout)
    if isinstance(body, Refusal):
        return Refused(body, size=limit + 1 if body.status == 413 else size, close=True)
    return SignedBody(body, timestamp, signature)


def slack_endpoint(
    dispatch: Callable[[BoltRequest], BoltResponse],
    verifier: Verifier,
    *,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
) -> Callable[[Request], Awaitable[Response]]:
    """The ``POST /slack/events`` handler: the checks above, then ``dispatch`` on a worker thread
    (it blocks until the listener acks), never on the event loop."""

    async def events(request: Request) -> Response:
        got = await read_signed(request, verifier.check_headers, timeout=body_timeout)
        if isinstance(got, Refused):
            return _refuse(got.refusal, size=got.size, close=got.close)
        body = got.body
        verified = verifier.verify(got.timestamp, got.signature, body)
        if isinstance(verified, Refusal):
            return _refuse(verified, body)
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            headers.setdefault(name.lower(), []).append(value)
        bolt = bolt_request(headers, body.decode("utf-8"), verified)
        if isinstance(bolt, Refusal):
            return _refuse(bolt, body)
        return to_starlette_response(await run_in_threadpool(dispatch, bolt))

    return events


def _refuse(
    refusal: Refusal, body: bytes = b"", *, size: int | None = None, close: bool = False
) -> Response:
    log_refusal(refusal, body, size=size)
    response = _json_response(refusal)
    if close:  # the rest of the body is never read: the connection cannot serve another request
        response.headers["connection"] = "close"
    return response

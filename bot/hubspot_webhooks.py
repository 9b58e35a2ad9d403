"""``POST /hubspot/webhooks``: HubSpot's webhook batches, verified, stored, then answered.

Enabled when ``HUBSPOT_CLIENT_SECRET`` is set (without it the path answers 404). Each request
goes through these steps, each cheap and bounded before the next:

1. ``Content-Length`` over :data:`MAX_BODY_BYTES` → 413 before a byte of the body is read;
2. ``X-HubSpot-Request-Timestamp`` must be epoch milliseconds within 5 minutes of this server's
   clock and ``X-HubSpot-Signature-v3`` the shape of a base64 HMAC-SHA256 → 401;
3. the body is read up to the cap (past it → 413) within the body timeout (→ 408);
4. the v3 signature: base64 HMAC-SHA256 with the app's client secret over method + URI + raw
   body + timestamp, compared in constant time → 401. The URI is ``PUBLIC_URL`` + the path (and
   query) when ``PUBLIC_URL`` is set (behind a proxy), otherwise the request's own scheme, host,
   path and query; in it the escapes HubSpot decodes (``%3A %2F %3F %40 %21 %24 %27 %28 %29
   %2A %2C %3B``) are decoded;
5. the body must be a JSON array of at most 100 well-formed events → 400;
6. the signature is taken once in the database, so a replay reaching any web process within
   the window is refused → 401;
7. the events are stored in one transaction (each HubSpot ``eventId`` once) and only then is
   the request answered 200; a database that fails or does not answer within
   :data:`STORE_BUDGET_SECONDS` gets 503, so that HubSpot delivers the batch again.

Refusals are logged in one line with the reason, the status, the size and a short fingerprint,
never the body or a header's value. The worker applies stored events on its own schedule, so
the answer never waits for it.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import math
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.edge import (
    BODY_TIMEOUT_SECONDS,
    Refusal,
    Refused,
    fingerprint,
    read_signed,
    signed_headers,
    wall_clock,
)
from bot.settings import AppSettings, is_placeholder
from sync.api import ConfigError, MalformedEvents, Markers, WebhookInbox, parse_events

log = logging.getLogger("sellsync.webhooks")

WEBHOOK_PATH = "/hubspot/webhooks"
#: A batch is at most 100 events of a few hundred bytes each: far under this.
MAX_BODY_BYTES = 256 * 1024
#: How old (or how far ahead) a request's timestamp may be, in milliseconds (HubSpot's rule).
WINDOW_MS = 5 * 60 * 1000
#: Added to a replay marker's life, for the time between verification and the marker's write.
MARGIN_SECONDS = 60
#: How long the store may take before the request is answered 503: HubSpot counts an answer
#: slower than 5 s as failed, so it gets a clear failure in time instead.
STORE_BUDGET_SECONDS = 4.0
#: Stores running at once (HubSpot sends at most 10 requests at a time): a slow database holds
#: these threads, never those that answer Slack.
STORE_SLOTS = 10

SIGNATURE_HEADER = "x-hubspot-signature-v3"
TIMESTAMP_HEADER = "x-hubspot-request-timestamp"

_TIMESTAMP = re.compile(r"[0-9]{1,15}")
_SIGNATURE = re.compile(r"[A-Za-z0-9+/]{43}=")
#: The escapes HubSpot decodes in the URI before signing it.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
_ESCAPE = re.compile("|".join(_DECODED), re.IGNORECASE)


def decode_uri(uri: str) -> str:
    """``uri`` with the escapes HubSpot decodes before signing decoded (and only those)."""
    return _ESCAPE.sub(lambda m: _DECODED[m.group(0).upper()], uri)


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """HubSpot's v3 signature of a request: base64 of HMAC-SHA256 with the client secret over
    method + URI (decoded as HubSpot does) + raw body + timestamp."""
    message = method.upper().encode() + decode_uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def request_uri(request: Request, public_url: str | None) -> str:
    """The URI HubSpot signed: ``public_url`` + path when set (a proxy in front changes scheme
    and host), else this request's own scheme, host and path; the query as sent."""
    scope = request.scope
    raw_path = scope.get("raw_path")
    path = raw_path.decode("latin-1") if isinstance(raw_path, bytes) else request.url.path
    path = path.split("?", 1)[0]
    query = scope.get("query_string", b"").decode("latin-1")
    tail = path + (f"?{query}" if query else "")
    if public_url:
        return public_url.rstrip("/") + tail
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{tail}"


@dataclass(frozen=True)
class Signed:
    """A request whose v3 signature held: its timestamp (ms, HubSpot's clock) and signature."""

    timestamp_ms: int
    signature: str


class HubSpotVerifier:
    """Checks the v3 signature headers against the app's client secret on an injected clock
    (Unix seconds, as :func:`bot.edge.wall_clock`)."""

    def __init__(self, client_secret: str, *, now: Callable[[], float] = wall_clock) -> None:
        self._secret = client_secret
        self.now = now

    def check_headers(self, timestamp: str | None, signature: str | None) -> Refusal | Signed:
        headers = signed_headers(
            timestamp, signature, timestamp_form=_TIMESTAMP, signature_form=_SIGNATURE
        )
        if isinstance(headers, Refusal):
            return headers
        ts, signature = headers
        if abs(self.now() * 1000 - ts) > WINDOW_MS:
            return Refusal(401, "timestamp outside the 5-minute window")
        return Signed(ts, signature)

    def verify(
        self, method: str, uri: str, body: bytes, timestamp: str | None, signature: str | None
    ) -> Refusal | Signed:
        checked = self.check_headers(timestamp, signature)
        if isinstance(checked, Refusal):
            return checked
        assert timestamp is not None
        expected = signature_v3(self._secret, method, uri, body, timestamp)
        if not hmac.compare_digest(expected.encode(), checked.signature.encode()):
            return Refusal(401, "invalid signature")
        return checked


def marker_ttl(timestamp_ms: int, now: float) -> int:
    """Seconds a marker of a signature must live: as long as any reading of this server's clock
    could still accept the signature, plus a margin."""
    valid_until = max(now, timestamp_ms / 1000) + WINDOW_MS / 1000 + MARGIN_SECONDS
    return max(1, math.ceil(valid_until - now))


def _log_refusal(refusal: Refusal, body: bytes = b"", *, size: int | None = None) -> None:
    log.warning(
        "refused a HubSpot webhook request: %s (HTTP %s, %d bytes, body %s)",
        refusal.reason,
        refusal.status,
        len(body) if size is None else size,
        fingerprint(body) if body else "-",
    )


def _refuse(
    refusal: Refusal, body: bytes = b"", *, size: int | None = None, close: bool = False
) -> Response:
    _log_refusal(refusal, body, size=size)
    response = Response(refusal.body(), status_code=refusal.status, media_type="application/json")
    if close:
        response.headers["connection"] = "close"
    return response


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedEvents("the body is not JSON") from None


def webhook_endpoint(
    inbox: WebhookInbox,
    markers: Markers,
    verifier: HubSpotVerifier,
    *,
    public_url: str | None = None,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    store_budget: float = STORE_BUDGET_SECONDS,
) -> Callable[[Request], Awaitable[Response]]:
    """The ``POST /hubspot/webhooks`` handler (the steps of the module's docstring)."""
    slots: anyio.CapacityLimiter | None = None

    async def receive(request: Request) -> Response:
        got = await read_signed(
            request,
            verifier.check_headers,
            headers=(TIMESTAMP_HEADER, SIGNATURE_HEADER),
            limit=MAX_BODY_BYTES,
            timeout=body_timeout,
        )
        if isinstance(got, Refused):
            return _refuse(got.refusal, size=got.size, close=got.close)
        body = got.body
        uri = request_uri(request, public_url)
        signed = verifier.verify(request.method, uri, body, got.timestamp, got.signature)
        if isinstance(signed, Refusal):
            return _refuse(signed, body)
        try:
            events = parse_events(_decode(body))
        except MalformedEvents as exc:
            return _refuse(Refusal(400, str(exc)), body)
        nonlocal slots
        if slots is None:  # made on the server's event loop
            slots = anyio.CapacityLimiter(STORE_SLOTS)
        work = functools.partial(_admit_and_store, inbox, markers, signed, events, verifier)
        try:
            # a store still running when the budget is spent goes on in its thread (and may
            # store the events: HubSpot's next try then finds them stored once)
            with anyio.move_on_after(store_budget) as budget:
                stored = await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=slots)
        except Exception as exc:  # the database is down: HubSpot must deliver again
            return _unavailable(body, f"the database failed ({type(exc).__name__})")
        if budget.cancelled_caught:
            return _unavailable(body, "the database did not answer in time")
        if stored is None:
            return _refuse(Refusal(401, "replayed request"), body)
        log.info(
            "stored a HubSpot webhook batch: %d events, %d new (body %s)",
            len(events),
            stored,
            fingerprint(body),
        )
        return JSONResponse({"received": len(events), "stored": stored})

    return receive


def _admit_and_store(
    inbox: WebhookInbox,
    markers: Markers,
    signed: Signed,
    events: Any,
    verifier: HubSpotVerifier,
) -> int | None:
    """Take the signature once, then store the events; None for a replay. A store that fails
    gives the marker back (when it still can) and raises."""
    now = verifier.now()
    name = f"hubspot-signature:{signed.signature}"
    owner = uuid.uuid4().hex
    if not markers.take(
        name,
        owner=owner,
        at=datetime.fromtimestamp(now, UTC),
        ttl_seconds=marker_ttl(signed.timestamp_ms, now),
    ):
        return None
    try:
        return inbox.store(events)
    except BaseException:
        # the database may be down: the marker then expires on its own
        with contextlib.suppress(Exception):
            markers.give_back(name, owner=owner)
        raise


def _unavailable(body: bytes, reason: str) -> Response:
    log.error(
        "could not store a HubSpot webhook batch: %s; answered 503 so HubSpot sends it again "
        "(body %s)",
        reason,
        fingerprint(body),
    )
    return JSONResponse(
        {"error": "the events could not be stored; deliver them again"},
        status_code=503,
        headers={"retry-after": "5"},
    )


def webhook_route(
    inbox: WebhookInbox,
    markers: Markers,
    client_secret: str,
    *,
    public_url: str | None = None,
    body_timeout: float = BODY_TIMEOUT_SECONDS,
    now: Callable[[], float] = wall_clock,
) -> Route:
    """The route of ``POST /hubspot/webhooks`` for :func:`bot.web.build_web`."""
    verifier = HubSpotVerifier(client_secret, now=now)
    endpoint = webhook_endpoint(
        inbox, markers, verifier, public_url=public_url, body_timeout=body_timeout
    )
    return Route(WEBHOOK_PATH, endpoint, methods=["POST"])


def webhook_options(settings: AppSettings) -> str | None:
    """The client secret that turns ``POST /hubspot/webhooks`` on (None: off, 404). A
    placeholder is a setting error (exit 2)."""
    secret = settings.hubspot_client_secret
    raw = secret.get_secret_value().strip() if secret is not None else ""
    if not raw:
        return None
    if is_placeholder(raw):
        raise ConfigError(
            "HUBSPOT_CLIENT_SECRET", "is a placeholder: set the app's client secret, or unset it"
        )
    log.info(
        "accepting HubSpot webhooks at %s",
        (settings.public_url or "this server") + WEBHOOK_PATH,
    )
    return raw

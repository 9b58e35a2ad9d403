"""Error classification: every failed exchange maps to one closed :class:`Remedy`.

The decision (a :class:`Resolution`) is separate from the effect: :mod:`sync.clients.retry`
retries, waits or raises, and the CRM clients turn ``SKIP_RECORD`` / ``NOT_FOUND`` into per-record
results. The tables below are the whole policy::

    status / exception            HubSpot                     Sell
    ----------------------------  --------------------------  ---------------------------------
    401, 403                      FAIL (AuthError)            FAIL (AuthError)
    400                           SKIP_RECORD if VALIDATION   SKIP_RECORD for payload errors,
                                  _ERROR, else FAIL           else FAIL (bad header, param ...)
    404                           NOT_FOUND                   NOT_FOUND; RATE_LIMITED when the
                                                              body names ``/429.json``
    409, 422                      SKIP_RECORD                 SKIP_RECORD
    408                           RETRY                       RETRY
    423                           RETRY after 2 s             RETRY after 2 s
    429                           RATE_LIMITED; FAIL          RATE_LIMITED (any body, even empty)
                                  (DailyLimitReached) when
                                  ``policyName`` is DAILY
    477                           RATE_LIMITED                -
    500, 502-504, 52x (most)      RETRY                       RETRY
    501, 505, 522, 525, 526       FAIL                        FAIL
    other 4xx                     FAIL                        FAIL
    timeouts, dropped / refused   RETRY                       RETRY
    connections
    other httpx errors            FAIL                        FAIL
    2xx not of its endpoint's     FAIL (UnexpectedShape)      FAIL (UnexpectedShape)
    shape (see SHAPES)

``ambiguous`` marks failures after which the request may have been applied (a read timeout,
a connection dropped mid-exchange, 500/502/504): a non-idempotent create is not blindly
retried after those (see ``SellClient.create_record``).

Messages are built from the service's error bodies, never from request headers, and
:class:`~sync.clients.http.ApiSession` passes every one through :func:`sync.scrub.scrub` before
it leaves the client.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sync.errors import (
    ApiError,
    AuthError,
    DailyLimitReached,
    RateLimited,
    RecordNotFound,
    RecordRejected,
    ServiceUnavailable,
    SyncError,
    UnexpectedShape,
)

HUBSPOT = "HubSpot"
SELL = "Sell"

EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


class Remedy(enum.Enum):
    RETRY = "retry"  # transient: back off and try again
    RATE_LIMITED = "rate_limited"  # wait (``Resolution.wait`` or backoff) and try again
    FAIL = "fail"  # the whole request failed for good: raise
    SKIP_RECORD = "skip_record"  # the service refused the values: report, go on (S14)
    NOT_FOUND = "not_found"  # the resource is gone (S5 / S6)


@dataclass(frozen=True)
class Resolution:
    """What to do about one failed exchange, and the error to raise if it comes to that."""

    action: Remedy
    service: str
    message: str
    status: int | None = None
    wait: float | None = None  # seconds the service asked for (Retry-After, 423 ...)
    ambiguous: bool = False  # the request may have been applied
    daily: bool = False  # HubSpot's DAILY policy
    auth: bool = False
    body: Any = None  # the parsed JSON error body, when there was one

    def error(self, item: str | None = None) -> SyncError:
        """The exception for this resolution. ``item`` names the record for record errors."""
        if self.auth:
            return AuthError(self.service, self.message, self.status)
        if self.daily:
            return DailyLimitReached(self.service, self.wait if self.wait else 3600.0)
        if self.action is Remedy.RATE_LIMITED:
            return RateLimited(self.service, self.wait or 0.0, self.message)
        if self.action is Remedy.RETRY:
            return ServiceUnavailable(self.service, self.message, self.status)
        if self.action is Remedy.NOT_FOUND and item is not None:
            return RecordNotFound(item, self.message)
        if self.action is Remedy.SKIP_RECORD and item is not None:
            return RecordRejected(item, self.message)
        return ApiError(self.service, self.message, self.status)


Classifier = Callable[[httpx.Response], Resolution]

# --------------------------------------------------------------------------- helpers


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (HTTP-date forms are ignored), or None."""
    raw = response.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return max(value, 0.0)


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or None when empty or not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _short_text(response: httpx.Response, limit: int = 200) -> str:
    try:
        text = response.text.strip()
    except UnicodeDecodeError:  # pragma: no cover - binary garbage
        return ""
    return text[:limit]


_EXCEPTION_ACTIONS: tuple[tuple[type[BaseException], Remedy, bool, str], ...] = (
    # (exception type, action, ambiguous, message); the first matching row wins.
    (httpx.ConnectTimeout, Remedy.RETRY, False, "connection timed out"),
    (httpx.PoolTimeout, Remedy.RETRY, False, "no free connection in the pool"),
    (httpx.TimeoutException, Remedy.RETRY, True, "request timed out"),
    (httpx.ConnectError, Remedy.RETRY, False, "could not connect"),
    (httpx.RemoteProtocolError, Remedy.RETRY, True, "connection dropped"),
    (httpx.NetworkError, Remedy.RETRY, True, "network error"),
    (httpx.HTTPError, Remedy.FAIL, False, "HTTP error"),
)

# HTTP statuses whose meaning is the same for both services.
_RETRY_STATUSES = frozenset({408, 500, 502, 503, 504, 520, 521, 523, 524, 527, 529})
_AMBIGUOUS_STATUSES = frozenset({500, 502, 504, 520, 524})
_FAIL_5XX = frozenset({501, 505, 522, 525, 526})


def classify_exception(exc: BaseException, service: str) -> Resolution:
    """A transport failure (no response) → RETRY or FAIL."""
    for exc_type, action, ambiguous, label in _EXCEPTION_ACTIONS:
        if isinstance(exc, exc_type):
            return Resolution(
                action, service, f"{label} ({type(exc).__name__})", None, ambiguous=ambiguous
            )
    return Resolution(Remedy.FAIL, service, type(exc).__name__)


def _generic(response: httpx.Response, service: str, message: str, body: Any) -> Resolution:
    """The rows both services share, for statuses the service-specific tables leave open."""
    status = response.status_code
    wait = retry_after(response)
    if status in (401, 403):
        return Resolution(
            Remedy.FAIL, service, message or "not authorised", status, auth=True, body=body
        )
    if status == 423:
        return Resolution(
            Remedy.RETRY,
            service,
            message or "locked",
            status,
            wait=wait if wait is not None else 2.0,
            body=body,
        )
    if status in _RETRY_STATUSES or (status >= 500 and status not in _FAIL_5XX):
        return Resolution(
            Remedy.RETRY,
            service,
            message or "server error",
            status,
            wait=wait,
            ambiguous=status in _AMBIGUOUS_STATUSES,
            body=body,
        )
    if status == 404:
        return Resolution(Remedy.NOT_FOUND, service, message or "not found", status, body=body)
    if status in (409, 422):
        return Resolution(Remedy.SKIP_RECORD, service, message or "rejected", status, body=body)
    return Resolution(Remedy.FAIL, service, message or f"HTTP {status}", status, body=body)


# --------------------------------------------------------------------------- HubSpot


def hubspot_message(body: Any) -> str:
    """The human message of a HubSpot error body, with per-item detail when present."""
    if not isinstance(body, dict):
        return ""
    message = str(body.get("message") or "")
    details = [
        str(err.get("message"))
        for err in body.get("errors") or []
        if isinstance(err, dict) and err.get("message") and str(err.get("message")) != message
    ]
    if details:
        message = f"{message} ({'; '.join(details)})" if message else "; ".join(details)
    return message


def classify_hubspot(response: httpx.Response) -> Resolution:
    """HubSpot's table (see the module docstring)."""
    status = response.status_code
    body = json_body(response)
    message = hubspot_message(body) or _short_text(response)
    category = str(body.get("category") or "") if isinstance(body, dict) else ""
    policy = str(body.get("policyName") or "").upper() if isinstance(body, dict) else ""
    wait = retry_after(response)
    if status == 429:
        if policy == "DAILY":
            return Resolution(
                Remedy.FAIL,
                HUBSPOT,
                message or "daily limit reached",
                status,
                wait=wait,
                daily=True,
                body=body,
            )
        return Resolution(
            Remedy.RATE_LIMITED, HUBSPOT, message or "rate limited", status, wait=wait, body=body
        )
    if status == 477:
        return Resolution(
            Remedy.RATE_LIMITED,
            HUBSPOT,
            message or "migration in progress",
            status,
            wait=wait,
            body=body,
        )
    if status == 400:
        action = Remedy.SKIP_RECORD if category == "VALIDATION_ERROR" else Remedy.FAIL
        return Resolution(action, HUBSPOT, message or "bad request", status, body=body)
    return _generic(response, HUBSPOT, message, body)


def existing_id(text: str) -> str | None:
    """The id in HubSpot's "Contact already exists. Existing ID: N", or None."""
    match = EXISTING_ID.search(text)
    return match.group(1) if match else None


# --------------------------------------------------------------------------- Sell

# 400 codes caused by the record's values (the rest are request bugs: headers, params).
_SELL_PAYLOAD_CODES = frozenset({"invalid_payload", "incorrect_payload"})


def sell_errors(body: Any) -> list[dict[str, Any]]:
    """The ``error`` objects of a Sell error envelope."""
    if not isinstance(body, dict):
        return []
    found: list[dict[str, Any]] = []
    for entry in body.get("errors") or []:
        if isinstance(entry, dict):
            error = entry.get("error", entry)
            if isinstance(error, dict):
                found.append(error)
    return found


def sell_message(body: Any) -> str:
    """ "field: details" for each error of a Sell error body, joined with "; "."""
    parts: list[str] = []
    for error in sell_errors(body):
        text = str(error.get("details") or error.get("message") or error.get("code") or "")
        field = str(error.get("field") or "")
        field = field.removeprefix("/data/").replace("/", ".")
        parts.append(f"{field}: {text}" if field and text else text or field)
    return "; ".join(part for part in parts if part)


def classify_sell(response: httpx.Response) -> Resolution:
    """Sell's table (see the module docstring)."""
    status = response.status_code
    body = json_body(response)
    message = sell_message(body) or _short_text(response)
    codes = {str(err.get("code") or "") for err in sell_errors(body)}
    wait = retry_after(response)
    if status == 429:
        return Resolution(
            Remedy.RATE_LIMITED, SELL, message or "rate limited", status, wait=wait, body=body
        )
    if status == 404 and "429.json" in response.text:
        # Throttled calls sometimes surface as 404 incorrect_path naming /429.json.
        return Resolution(
            Remedy.RATE_LIMITED, SELL, "rate limited (404 /429.json)", status, wait=wait, body=body
        )
    if status == 400:
        action = Remedy.SKIP_RECORD if codes & _SELL_PAYLOAD_CODES else Remedy.FAIL
        return Resolution(action, SELL, message or "bad request", status, body=body)
    return _generic(response, SELL, message, body)


# --------------------------------------------------------------------------- answer shapes


@dataclass(frozen=True)
class Shape:
    """What a successful answer of one endpoint holds: a JSON object whose ``lists`` (when
    present, or always for ``required`` ones) are lists of objects and whose ``objects`` (when
    present) are objects. An empty body passes: the clients treat it as "nothing"."""

    endpoint: str
    lists: tuple[str, ...] = ()
    objects: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    #: Sell pages may hold ``null`` items: the clients read them as absent records (never as a
    #: deletion: absence is confirmed record by record), so they are no shape error.
    null_items: bool = False

    def problem(self, body: Any) -> str | None:
        if body is None:
            return None
        if not isinstance(body, dict):
            return f"a JSON {type(body).__name__} where an object goes"
        for key in self.required:
            if key not in body:
                return f"no {key!r}"
        for key in self.lists:
            value = body.get(key)
            if value is None and key not in self.required:
                continue
            if not isinstance(value, list):
                return f"{key!r} is not a list"
            if not all(
                isinstance(item, dict) or (item is None and self.null_items) for item in value
            ):
                return f"{key!r} holds a non-object"
        for key in self.objects:
            value = body.get(key)
            if value is not None and not isinstance(value, dict):
                return f"{key!r} is not an object"
        return None


_RESULTS: dict[str, Any] = {"lists": ("results",), "required": ("results",)}
_ITEMS: dict[str, Any] = {"lists": ("items",), "objects": ("meta",), "null_items": True}
_ONE: dict[str, Any] = {"objects": ("data", "meta")}

#: The shape of each endpoint's successful answer, by service and the ``kind`` a client sends the
#: request with. A kind not listed is only parsed.
SHAPES: dict[tuple[str, str], Shape] = {
    (HUBSPOT, "batch_read"): Shape("batch/read", **_RESULTS),
    (HUBSPOT, "search"): Shape("search", objects=("paging",), **_RESULTS),
    (HUBSPOT, "batch_create"): Shape("batch/create", lists=("results", "errors")),
    (HUBSPOT, "batch_update"): Shape("batch/update", lists=("results", "errors")),
    (HUBSPOT, "properties"): Shape("properties", **_RESULTS),
    (HUBSPOT, "get_one"): Shape("a contact read", objects=("properties",)),
    (HUBSPOT, "token_info"): Shape("the token check"),
    (HUBSPOT, "get_list"): Shape("the list read", objects=("list",)),
    (HUBSPOT, "memberships"): Shape("list memberships", objects=("paging",), **_RESULTS),
    (HUBSPOT, "join_order"): Shape("list joins", objects=("paging",), **_RESULTS),
    (HUBSPOT, "record_memberships"): Shape("a contact's lists", lists=("results",)),
    (SELL, "list"): Shape("a record list", **_ITEMS),
    (SELL, "get_records"): Shape("a record read by ids", required=("items",), **_ITEMS),
    (SELL, "lead_sources"): Shape("lead sources", **_ITEMS),
    (SELL, "custom_fields"): Shape("custom fields", **_ITEMS),
    (SELL, "lead_conversions"): Shape("lead conversions", **_ITEMS),
    (SELL, "find_created"): Shape("a record search", **_ITEMS),
    (SELL, "archive"): Shape("a list read for the archive", **_ITEMS),
    (SELL, "sync_fetch"): Shape("the sync queue", **_ITEMS),
    (SELL, "get_one"): Shape("a record read", **_ONE),
    (SELL, "get"): Shape("a record read", **_ONE),
    (SELL, "update"): Shape("a record update", **_ONE),
    (SELL, "create"): Shape("a record create", **_ONE),
    (SELL, "lead_source_create"): Shape("a lead source create", **_ONE),
    (SELL, "users_self"): Shape("the token check", **_ONE),
    (SELL, "sync_start"): Shape("the sync start", **_ONE),
}


def shape_error(service: str, kind: str, body: Any, status: int | None = None) -> ApiError | None:
    """The error for a successful answer ``body`` of ``kind`` that lacks its shape (None when it
    has it, or the kind has no shape on record)."""
    shape = SHAPES.get((service, kind))
    if shape is None:
        return None
    why = shape.problem(body)
    return None if why is None else UnexpectedShape(service, shape.endpoint, why, status)

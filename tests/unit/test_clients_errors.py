"""The error classification tables of sync.clients.errors, row by row."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from sync.clients.errors import (
    Remedy,
    classify_exception,
    classify_hubspot,
    classify_sell,
    existing_id,
    sell_message,
)
from sync.errors import (
    ApiError,
    AuthError,
    DailyLimitReached,
    RateLimited,
    RecordNotFound,
    RecordRejected,
    ServiceUnavailable,
)


def response(
    status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("GET", "https://api.example.test/x")
    if text is not None:
        return httpx.Response(status, content=text.encode(), headers=headers, request=request)
    if body is None:
        return httpx.Response(status, content=b"", headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def hs_error(category: str, message: str, **extra: Any) -> dict[str, Any]:
    return {
        "status": "error",
        "message": message,
        "correlationId": "c-1",
        "category": category,
        **extra,
    }


def sell_error(status: str, code: str, details: str, field: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": details, "details": details}
    if field:
        error["field"] = field
    return {
        "errors": [{"error": error, "meta": {"type": "error"}}],
        "meta": {"type": "errors", "http_status": status, "logref": "r-1"},
    }


HUBSPOT_TABLE = [
    (
        response(400, hs_error("VALIDATION_ERROR", "Property values were not valid")),
        Remedy.SKIP_RECORD,
    ),
    (response(400, hs_error("BAD_REQUEST", "paging beyond 10000")), Remedy.FAIL),
    (response(401, hs_error("INVALID_AUTHENTICATION", "bad token")), Remedy.FAIL),
    (response(403, hs_error("MISSING_SCOPES", "missing scope")), Remedy.FAIL),
    (response(404, hs_error("OBJECT_NOT_FOUND", "not found")), Remedy.NOT_FOUND),
    (
        response(409, hs_error("CONFLICT", "Contact already exists. Existing ID: 12")),
        Remedy.SKIP_RECORD,
    ),
    (response(414, text="too long"), Remedy.FAIL),
    (response(423, hs_error("LOCKED", "locked")), Remedy.RETRY),
    (
        response(
            429,
            {
                "status": "error",
                "message": "You have reached your ten_secondly_rolling limit.",
                "errorType": "RATE_LIMIT",
                "policyName": "TEN_SECONDLY_ROLLING",
            },
        ),
        Remedy.RATE_LIMITED,
    ),
    (
        response(
            429,
            {
                "status": "error",
                "message": "You have reached your secondly limit.",
                "policyName": "SECONDLY",
            },
        ),
        Remedy.RATE_LIMITED,
    ),
    (response(429), Remedy.RATE_LIMITED),
    (
        response(
            429,
            {
                "status": "error",
                "message": "You have reached your daily limit.",
                "policyName": "DAILY",
            },
        ),
        Remedy.FAIL,
    ),
    (response(477, text="", headers={"Retry-After": "30"}), Remedy.RATE_LIMITED),
    (response(500, text="oops"), Remedy.RETRY),
    (response(502, text="<html>bad gateway</html>"), Remedy.RETRY),
    (response(503, text=""), Remedy.RETRY),
    (response(504, text=""), Remedy.RETRY),
    (response(501, text=""), Remedy.FAIL),
    (response(522, text=""), Remedy.FAIL),
]


@pytest.mark.parametrize(
    ("reply", "action"),
    HUBSPOT_TABLE,
    ids=[f"{r.status_code}-{i}" for i, (r, _) in enumerate(HUBSPOT_TABLE)],
)
def test_hubspot_table(reply: httpx.Response, action: Remedy) -> None:
    assert classify_hubspot(reply).action is action


SELL_TABLE = [
    (
        response(400, sell_error("400 Bad Request", "invalid_user_agent", "no User-Agent")),
        Remedy.FAIL,
    ),
    (response(400, sell_error("400 Bad Request", "invalid_param", "malformed")), Remedy.FAIL),
    (
        response(400, sell_error("400 Bad Request", "invalid_payload", "bad json")),
        Remedy.SKIP_RECORD,
    ),
    (response(401, sell_error("401 Unauthorized", "unauthorized", "bad token")), Remedy.FAIL),
    (response(403, sell_error("403 Forbidden", "insufficient_scope", "scope")), Remedy.FAIL),
    (response(404, sell_error("404 Not Found", "not_found", "no such lead")), Remedy.NOT_FOUND),
    (
        response(
            404, sell_error("404 Not Found", "incorrect_path", "The path /429.json does not exist")
        ),
        Remedy.RATE_LIMITED,
    ),
    (response(409, sell_error("409 Conflict", "conflict", "many matches")), Remedy.SKIP_RECORD),
    (
        response(
            422,
            sell_error("422 Unprocessable Entity", "blank", "can't be blank", "/data/last_name"),
        ),
        Remedy.SKIP_RECORD,
    ),
    (response(429), Remedy.RATE_LIMITED),
    (response(429, text="Too Many Requests"), Remedy.RATE_LIMITED),
    (response(500, sell_error("500", "server_error", "boom")), Remedy.RETRY),
    (response(503, sell_error("503", "temporarily_unavailable", "later")), Remedy.RETRY),
]


@pytest.mark.parametrize(
    ("reply", "action"),
    SELL_TABLE,
    ids=[f"{r.status_code}-{i}" for i, (r, _) in enumerate(SELL_TABLE)],
)
def test_sell_table(reply: httpx.Response, action: Remedy) -> None:
    assert classify_sell(reply).action is action


EXCEPTIONS = [
    (httpx.ConnectTimeout("t"), Remedy.RETRY, False),
    (httpx.ReadTimeout("t"), Remedy.RETRY, True),
    (httpx.WriteTimeout("t"), Remedy.RETRY, True),
    (httpx.PoolTimeout("t"), Remedy.RETRY, False),
    (httpx.ConnectError("refused"), Remedy.RETRY, False),
    (
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        Remedy.RETRY,
        True,
    ),
    (httpx.ReadError("reset"), Remedy.RETRY, True),
    (httpx.UnsupportedProtocol("ftp"), Remedy.FAIL, False),
    (httpx.LocalProtocolError("bad"), Remedy.FAIL, False),
]


@pytest.mark.parametrize(
    ("exc", "action", "ambiguous"), EXCEPTIONS, ids=[type(e).__name__ for e, _, _ in EXCEPTIONS]
)
def test_exception_table(exc: Exception, action: Remedy, ambiguous: bool) -> None:
    resolution = classify_exception(exc, "HubSpot")
    assert resolution.action is action
    assert resolution.ambiguous is ambiguous


def test_ambiguous_statuses() -> None:
    assert classify_sell(response(500, text="")).ambiguous
    assert classify_sell(response(504, text="")).ambiguous
    assert not classify_sell(response(503, text="")).ambiguous
    assert not classify_sell(response(429)).ambiguous


def test_errors_raised_for_each_resolution() -> None:
    auth = classify_hubspot(response(401, hs_error("INVALID_AUTHENTICATION", "expired")))
    assert isinstance(auth.error(), AuthError)
    assert auth.error().status == 401  # type: ignore[attr-defined]

    daily = classify_hubspot(
        response(429, {"policyName": "DAILY", "message": "daily"}, headers={"Retry-After": "7200"})
    )
    error = daily.error()
    assert isinstance(error, DailyLimitReached)
    assert error.wait_seconds == 7200

    limited = classify_hubspot(
        response(429, {"policyName": "TEN_SECONDLY_ROLLING"}, headers={"Retry-After": "3"})
    )
    assert limited.wait == 3
    assert isinstance(limited.error(), RateLimited)
    assert not isinstance(limited.error(), DailyLimitReached)

    server = classify_sell(response(503, text=""))
    assert isinstance(server.error(), ServiceUnavailable)

    missing = classify_sell(response(404, sell_error("404", "not_found", "gone")))
    assert isinstance(missing.error("lead:1"), RecordNotFound)
    assert type(missing.error()) is ApiError  # without an item it is a request error

    rejected = classify_sell(
        response(422, sell_error("422", "blank", "can't be blank", "/data/last_name"))
    )
    err = rejected.error("lead:2")
    assert isinstance(err, RecordRejected)
    assert err.reason == "last_name: can't be blank"


def test_locked_waits_two_seconds() -> None:
    assert classify_hubspot(response(423, hs_error("LOCKED", "locked"))).wait == 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Contact already exists. Existing ID: 37765128953", "37765128953"),
        ("Contact already exists. Existing ID:12", "12"),
        ("Contact already exists.", None),
        ("", None),
    ],
)
def test_existing_id(text: str, expected: str | None) -> None:
    assert existing_id(text) == expected


def test_hubspot_message_includes_item_details() -> None:
    body = hs_error(
        "VALIDATION_ERROR",
        "Property values were not valid",
        errors=[{"message": "Email address x@ is invalid", "code": "INVALID_EMAIL"}],
    )
    assert classify_hubspot(response(400, body)).message == (
        "Property values were not valid (Email address x@ is invalid)"
    )


def test_non_json_bodies_are_tolerated() -> None:
    reply = response(502, text="<html><body>Bad gateway</body></html>")
    resolution = classify_hubspot(reply)
    assert resolution.action is Remedy.RETRY
    assert resolution.body is None
    assert sell_message(json.loads('{"errors": "weird"}')) == ""

"""RetryPolicy arithmetic and the ApiSession retry loop (httpx.MockTransport, no real sleeps)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from sync.clients.errors import Remedy, Resolution, classify_hubspot, classify_sell
from sync.clients.http import ApiSession, build_http_client, loggable_url
from sync.clients.pacing import RollingWindowPacer, Unpaced
from sync.clients.retry import RetryPolicy
from sync.errors import (
    AmbiguousWrite,
    AuthError,
    DailyLimitReached,
    RateLimited,
    ServiceUnavailable,
)

TOKEN = "pat-na1-SECRET-0123456789abcdef"


def res(action: Remedy, wait: float | None = None) -> Resolution:
    return Resolution(action, "HubSpot", "m", 500, wait=wait)


# --------------------------------------------------------------------------- policy


def test_full_jitter_bounds() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        assert policy.backoff(attempt, lambda: 0.0) == 0.0
        assert policy.backoff(attempt, lambda: 0.999999) == pytest.approx(ceiling, rel=1e-5)
        assert policy.backoff(attempt, lambda: 0.5) == pytest.approx(ceiling / 2)


def test_retry_after_is_honoured_plus_a_little_jitter() -> None:
    policy = RetryPolicy(base_delay=0.5)
    assert policy.delay(1, res(Remedy.RATE_LIMITED, wait=7.0), lambda: 0.0) == 7.0
    assert policy.delay(1, res(Remedy.RATE_LIMITED, wait=7.0), lambda: 1.0) == 7.5


def test_rate_limited_without_retry_after_waits_at_least_the_floor() -> None:
    policy = RetryPolicy(base_delay=0.5, rate_limit_wait=1.0)
    assert policy.delay(1, res(Remedy.RATE_LIMITED), lambda: 0.0) == 1.0
    assert policy.delay(2, res(Remedy.RATE_LIMITED), lambda: 0.5) == 1.5


def test_should_retry() -> None:
    policy = RetryPolicy(max_attempts=3, max_wait=60)
    assert policy.should_retry(1, res(Remedy.RETRY))
    assert policy.should_retry(2, res(Remedy.RATE_LIMITED))
    assert not policy.should_retry(3, res(Remedy.RETRY))
    assert not policy.should_retry(1, res(Remedy.FAIL))
    assert not policy.should_retry(1, res(Remedy.SKIP_RECORD))
    assert not policy.should_retry(1, res(Remedy.RATE_LIMITED, wait=3600))
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)


# --------------------------------------------------------------------------- session


def session(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    classifier: Callable[[httpx.Response], Resolution] = classify_hubspot,
    attempts: int = 4,
    sleeps: list[float] | None = None,
) -> ApiSession:
    recorded = sleeps if sleeps is not None else []
    return ApiSession(
        service="HubSpot",
        base_url="https://api.example.test/",
        token=TOKEN,
        classifier=classifier,
        http=build_http_client(transport=httpx.MockTransport(handler)),
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.1, rate_limit_wait=1.0),
        sleep=recorded.append,
        rand=lambda: 0.5,
    )


def scripted(*replies: httpx.Response | Exception) -> Callable[[httpx.Request], httpx.Response]:
    queue = list(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def test_success_sends_token_user_agent_and_counts() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    s = session(handler)
    assert s.send_ok("GET", "/thing", kind="thing", pacer=Unpaced(), params={"a": 1}) == {
        "ok": True
    }
    assert str(seen[0].url) == "https://api.example.test/thing?a=1"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["User-Agent"] == "sellsync/0.1"
    assert s.stats == {"requests": 1, "thing": 1}


def test_retry_after_then_success() -> None:
    sleeps: list[float] = []
    s = session(
        scripted(
            httpx.Response(
                429, json={"policyName": "TEN_SECONDLY_ROLLING"}, headers={"Retry-After": "2"}
            ),
            httpx.Response(200, json={}),
        ),
        sleeps=sleeps,
    )
    s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert sleeps == [2.0 + 0.5 * 0.1]
    assert s.stats["retries"] == 1
    assert s.stats["rate_limited"] == 1
    assert s.stats["x"] == 2


def test_rate_limit_pauses_the_shared_pacer() -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    pacer = RollingWindowPacer(100, 10.0, clock=lambda: now[0], sleep=sleep, safety=0.0)
    s = session(
        scripted(
            httpx.Response(
                429, json={"policyName": "TEN_SECONDLY_ROLLING"}, headers={"Retry-After": "3"}
            ),
            httpx.Response(200, json={}),
        )
    )
    s._sleep = sleep  # the session and the pacer share one fake clock here
    s.send_ok("GET", "/x", kind="x", pacer=pacer)
    assert now[0] == pytest.approx(3.05)
    assert pacer.delay() == 0.0


def test_retries_5xx_timeouts_and_drops_then_gives_up() -> None:
    sleeps: list[float] = []
    s = session(
        scripted(
            httpx.Response(503, text=""),
            httpx.ReadTimeout("slow"),
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            httpx.Response(502, text="<html>"),
        ),
        sleeps=sleeps,
    )
    with pytest.raises(ServiceUnavailable) as caught:
        s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert caught.value.status == 502
    assert len(sleeps) == 3
    # full jitter with rand=0.5: half of 0.1, 0.2, 0.4
    assert sleeps == pytest.approx([0.05, 0.1, 0.2])


def test_rate_limit_exhausted_raises_rate_limited_with_wait() -> None:
    s = session(scripted(httpx.Response(429, content=b"")), attempts=2, classifier=classify_sell)
    with pytest.raises(RateLimited) as caught:
        s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert caught.value.wait_seconds == 1.0
    assert s.stats["x"] == 2


def test_daily_limit_is_never_retried() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(
            429,
            json={
                "status": "error",
                "policyName": "DAILY",
                "message": "You have reached your daily limit.",
            },
        )

    s = session(handler)
    with pytest.raises(DailyLimitReached):
        s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert len(calls) == 1


def test_long_retry_after_is_not_waited_for() -> None:
    sleeps: list[float] = []
    s = session(
        scripted(httpx.Response(429, json={}, headers={"Retry-After": "86400"})), sleeps=sleeps
    )
    with pytest.raises(RateLimited) as caught:
        s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert caught.value.wait_seconds == 86400
    assert sleeps == []


def test_401_is_an_auth_error_at_once() -> None:
    s = session(
        scripted(
            httpx.Response(
                401,
                json={
                    "category": "INVALID_AUTHENTICATION",
                    "message": "Authentication credentials not found.",
                },
            )
        )
    )
    with pytest.raises(AuthError):
        s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert s.stats["requests"] == 1


def test_ambiguous_failures_are_not_retried_for_unsafe_writes() -> None:
    s = session(scripted(httpx.ReadTimeout("slow"), httpx.Response(200, json={})))
    with pytest.raises(AmbiguousWrite):
        s.send("POST", "/create", kind="create", pacer=Unpaced(), retry_ambiguous=False)
    # a refused connection never reached the server: retried even for unsafe writes
    s = session(scripted(httpx.ConnectError("refused"), httpx.Response(200, json={})))
    assert s.send("POST", "/create", kind="create", pacer=Unpaced(), retry_ambiguous=False).ok


def test_token_never_logged_nor_in_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        # a hostile service echoing the credentials back in its error body
        return httpx.Response(
            401, json={"message": f"bad token {TOKEN}", "category": "INVALID_AUTHENTICATION"}
        )

    s = session(handler)
    with pytest.raises(AuthError) as caught:
        s.send_ok("GET", "/x", kind="x", pacer=Unpaced(), params={"email": "a@b.c"})
    assert TOKEN not in str(caught.value)
    assert "***" in str(caught.value)
    assert "GET https://api.example.test/x?email=%2A%2A%2A -> 401" in caplog.text
    assert TOKEN not in caplog.text
    assert "a@b.c" not in caplog.text

    caplog.clear()
    s = session(scripted(httpx.Response(503, text=f"down {TOKEN}"), httpx.Response(200, json={})))
    s.send_ok("GET", "/x", kind="x", pacer=Unpaced())
    assert "retry 1/3" in caplog.text
    assert TOKEN not in caplog.text


def test_loggable_url_drops_userinfo() -> None:
    assert loggable_url(httpx.URL("https://u:p@h.test/p?x=1")) == "https://h.test/p?x=1"

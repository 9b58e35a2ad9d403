"""The one secrets scrubber (sync.scrub) and the places that must use it."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from bot.listeners import report_error
from bot.settings import AppSettings
from bot.wiring import configure_logging
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.retry import RetryPolicy
from sync.errors import ApiError
from sync.scrub import scrub

SLACK = "xoxb-1111-2222-abcdefABCDEF"


def test_configured_secrets_are_masked_longest_first() -> None:
    assert scrub("Bearer abc123 in text", ["abc123"]) == "Bearer *** in text"
    assert scrub("key=secret-value-long", ["secret-value", "secret-value-long"]) == "key=***"


def test_short_or_empty_values_are_not_treated_as_secrets() -> None:
    assert scrub("nothing to hide here", ["", "zzz", "to"]) == "nothing to hide here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {SLACK} refused", "token *** refused"),
        ("xapp-1-A0-123-abc in a log", "*** in a log"),
        ("HubSpot pat-na1-11111111-2222 was refused", "HubSpot *** was refused"),
        ("Authorization: Bearer sk_live_abc", "Authorization: Bearer ***"),
        (
            "cannot reach postgresql://app:s3cr3t@db:5432/x",
            "cannot reach postgresql://app:***@db:5432/x",
        ),
        ("compat-layer, https://example.test/a@b", "compat-layer, https://example.test/a@b"),
    ],
)
def test_anything_shaped_like_a_secret_is_masked_unconfigured(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_the_log_handler_masks_token_shapes_it_was_not_told_about(
    monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(AppSettings(_env_file=None), "INFO")  # type: ignore[call-arg]
    logging.getLogger("sellsync.test").warning("Slack said no to %s", SLACK)
    assert SLACK not in stream.getvalue()
    assert "Slack said no to ***" in stream.getvalue()


def test_the_slack_error_path_masks_configured_secrets(caplog: pytest.LogCaptureFixture) -> None:
    secret = "sell-token-0123456789"
    error = RuntimeError(f"boom with {secret}")
    text = report_error(error, body={}, client=None, respond=None, secrets=[secret])
    assert secret not in text
    assert secret not in caplog.text and "boom with ***" in caplog.text


def test_api_errors_never_carry_the_token() -> None:
    token = "pat-na1-99999999-8888-7777"

    def echo(request: httpx.Request) -> httpx.Response:  # an API that echoes what it refused
        return httpx.Response(400, json={"status": "error", "message": f"bad token {token}"})

    client = HubSpotClient(
        HubSpotSession(
            "https://hubspot.test", token, http=httpx.Client(transport=httpx.MockTransport(echo))
        ),
        HubSpotLimits.unpaced(retry=RetryPolicy(max_attempts=1)),
    )
    with pytest.raises(ApiError) as raised:
        client.get_list("1")
    assert token not in str(raised.value) and "***" in str(raised.value)

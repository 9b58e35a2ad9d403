"""The Slack stand-in's ``users.lookupByEmail``: the member with that e-mail, ``users_not_found``
otherwise, and ``missing_scope`` without ``users:read.email``."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox import Sandbox


def _client(sandbox: Sandbox) -> WebClient:
    return WebClient(token=sandbox.slack_token, base_url=sandbox.slack_url)


def _error(exc: pytest.ExceptionInfo[SlackApiError]) -> str:
    return str(exc.value.response["error"])


def test_e6_sandbox_lookup_by_email_finds_the_member(sandbox: Sandbox) -> None:
    sandbox.slack.set_user("U0SANDRA1", profile={"email": "Sandra.Box@example.com"})
    answer = _client(sandbox).users_lookupByEmail(email="sandra.box@example.com")
    assert answer["user"]["id"] == "U0SANDRA1"


def test_e6_sandbox_lookup_by_email_of_nobody_is_users_not_found(sandbox: Sandbox) -> None:
    with pytest.raises(SlackApiError) as exc:
        _client(sandbox).users_lookupByEmail(email="nobody@example.com")
    assert _error(exc) == "users_not_found"


def test_e6_sandbox_lookup_by_email_needs_its_scope(sandbox: Sandbox) -> None:
    sandbox.slack.set_user("U0SANDRA1", profile={"email": "sandra@example.com"})
    sandbox.slack.scopes.remove("users:read.email")
    with pytest.raises(SlackApiError) as exc:
        _client(sandbox).users_lookupByEmail(email="sandra@example.com")
    assert _error(exc) == "missing_scope"

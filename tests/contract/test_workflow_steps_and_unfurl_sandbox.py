"""The Slack stand-in's ``chat.unfurl`` and ``functions.completeSuccess`` /
``functions.completeError``, driven by slack_sdk's own WebClient: what Slack accepts, and the
``ok: false`` errors it answers for what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import action_ids as ids
from sandbox import Sandbox

URL = "https://app.futuresimple.com/leads/12"
CARD = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Ann Lee"}}]}


@pytest.fixture
def slack(sandbox: Sandbox) -> WebClient:
    return WebClient(token=sandbox.slack_token, base_url=sandbox.slack_url)


def refused(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return str(caught.value.response["error"])


def shared(sandbox: Sandbox, *urls: str, **kwargs: Any) -> dict[str, Any]:
    return sandbox.slack.surface.share_links(urls or (URL,), user="U1", channel="C1", **kwargs)


def test_unfurl_by_unfurl_id_or_by_channel_and_ts_is_kept(
    slack: WebClient, sandbox: Sandbox
) -> None:
    event = shared(sandbox)
    assert slack.chat_unfurl(
        unfurl_id=event["unfurl_id"], source=event["source"], unfurls={URL: CARD}
    )["ok"]
    again = shared(sandbox)
    slack.chat_unfurl(channel="C1", ts=again["message_ts"], unfurls={URL: CARD})
    assert [m["ok"] for m in sandbox.slack.messages if m["method"] == "chat.unfurl"] == [True, True]
    assert sandbox.slack.surface.shared[("C1", again["message_ts"])].unfurls[URL] == CARD


def test_link_shared_names_only_links_on_the_unfurl_domains(sandbox: Sandbox) -> None:
    event = shared(sandbox, URL, "https://evil.example/leads/1", domains=ids.UNFURL_DOMAINS)
    assert [link["url"] for link in event["links"]] == [URL]
    assert event["links"][0]["domain"] == "app.futuresimple.com"


def test_unfurl_refusals(slack: WebClient, sandbox: Sandbox) -> None:
    event = shared(sandbox)
    where = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
    assert refused(lambda: slack.chat_unfurl(unfurls={URL: CARD})) == "invalid_arguments"
    assert refused(lambda: slack.chat_unfurl(**where)) == "invalid_arguments"
    assert (
        refused(lambda: slack.chat_unfurl(unfurl_id=event["unfurl_id"], unfurls={URL: CARD}))
        == "missing_source"
    )
    assert (
        refused(lambda: slack.chat_unfurl(unfurl_id="nope", source="composer", unfurls={URL: CARD}))
        == "invalid_unfurl_id"
    )
    assert (
        refused(lambda: slack.chat_unfurl(**{**where, "source": "x"}, unfurls={URL: CARD}))
        == "invalid_source"
    )
    other = "https://app.futuresimple.com/leads/13"
    assert refused(lambda: slack.chat_unfurl(**where, unfurls={other: CARD})) == "cannot_unfurl_url"
    not_a_card: dict[str, Any] = {URL: "card"}
    assert refused(lambda: slack.chat_unfurl(**where, unfurls=not_a_card)) == (
        "invalid_unfurls_format"
    )
    too_many = {"blocks": [{"type": "divider"}] * 51}
    assert (
        refused(lambda: slack.chat_unfurl(**where, unfurls={URL: too_many}))
        == "invalid_unfurls_format"
    )
    assert (
        refused(lambda: slack.chat_unfurl(channel="C1", ts="1.000009", unfurls={URL: CARD}))
        == "cannot_find_message"
    )
    sandbox.slack.scopes.remove("links:write")
    assert refused(lambda: slack.chat_unfurl(**where, unfurls={URL: CARD})) == "missing_scope"
    recorded = [m for m in sandbox.slack.messages if m["method"] == "chat.unfurl"]
    assert recorded and not any(m["ok"] for m in recorded)  # refused calls are recorded too


def test_a_step_completes_once_with_its_own_token(sandbox: Sandbox) -> None:
    event = sandbox.slack.surface.start_function(ids.STATUS_STEP, {"item": "lead:1"})
    assert event["bot_access_token"].startswith("xwfp-")
    assert [p["name"] for p in event["function"]["input_parameters"]] == ["item"]
    step = WebClient(token=event["bot_access_token"], base_url=sandbox.slack_url)
    outputs = {"verdict": "not_found", "reason": "not found", "sell_id": "", "hubspot_id": ""}
    assert step.functions_completeSuccess(
        function_execution_id=event["function_execution_id"], outputs=outputs
    )["ok"]
    execution = sandbox.slack.surface.execution(event["function_execution_id"])
    assert (execution.state, execution.outputs, execution.token_kind) == (
        "completed",
        outputs,
        "xwfp",
    )
    again = lambda: step.functions_completeError(  # noqa: E731
        function_execution_id=event["function_execution_id"], error="late"
    )
    assert refused(again) == "execution_not_in_running_state"


def test_step_completion_refusals(slack: WebClient, sandbox: Sandbox) -> None:
    event = sandbox.slack.surface.start_function(ids.PUSH_STEP, {"item": "lead:1"})
    fx = event["function_execution_id"]
    other = sandbox.slack.surface.start_function(ids.PUSH_STEP, {"item": "lead:2"})
    stranger = WebClient(token=other["bot_access_token"], base_url=sandbox.slack_url)
    assert refused(
        lambda: stranger.functions_completeError(function_execution_id=fx, error="x")
    ) == ("access_denied")
    assert (
        refused(lambda: slack.functions_completeError(function_execution_id="Fx0", error="x"))
        == "function_execution_not_found"
    )
    assert refused(lambda: slack.functions_completeError(function_execution_id=fx, error=" ")) == (
        "invalid_arguments"
    )
    bad_outputs = [
        {"outcome": "created", "surprise": "x"},  # not declared
        {"hubspot_id": "1"},  # the required outcome missing
        {"outcome": 3},  # not a string
    ]
    for outputs in bad_outputs:
        assert (
            refused(
                lambda o=outputs: slack.functions_completeSuccess(
                    function_execution_id=fx, outputs=o
                )
            )
            == "parameter_validation_failed"
        ), outputs
    assert sandbox.slack.surface.execution(fx).state == "running"
    assert slack.functions_completeError(function_execution_id=fx, error="CRM down")["ok"]
    done = sandbox.slack.surface.execution(fx)
    assert (done.state, done.error, done.token_kind) == ("failed", "CRM down", "xoxb")

"""The Slack Web API stand-in, driven by slack_sdk's own WebClient and WebhookClient."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.models.views import View
from slack_sdk.webhook import WebhookClient

from sandbox import Sandbox


@pytest.fixture
def slack(sandbox: Sandbox) -> WebClient:
    return WebClient(token=sandbox.slack_token, base_url=sandbox.slack_url)


def modal(title: str = "Add to HubSpot", blocks: int = 1) -> View:
    return View(
        type="modal",
        title=title,
        blocks=[SectionBlock(text=f"line {i}") for i in range(blocks)],
    )


def test_auth_test_is_canned(slack: WebClient) -> None:
    response = slack.auth_test()
    assert (response["user_id"], response["bot_id"], response["team_id"]) == ("UBOT", "BBOT", "T1")


def test_post_update_delete_are_recorded(slack: WebClient, sandbox: Sandbox) -> None:
    blocks = [
        SectionBlock(text="Threshold change requested"),
        ActionsBlock(elements=[ButtonElement(text="Approve", action_id="approve", value="1")]),
    ]
    first = slack.chat_postMessage(channel="C1", text="fallback", blocks=blocks)
    second = slack.chat_postMessage(channel="C1", text="another")
    assert first["ok"] and float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"][1]["elements"][0]["action_id"] == "approve"

    slack.chat_update(
        channel="C1", ts=first["ts"], text="approved", blocks=[SectionBlock(text="done")]
    )
    with pytest.raises(SlackApiError) as missing:
        slack.chat_update(channel="C1", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"
    slack.chat_postEphemeral(channel="C1", user="U1", text="only you")
    slack.chat_delete(channel="C1", ts=second["ts"])

    sent = sandbox.slack.sent()
    assert [m["method"] for m in sent] == [
        "chat.postMessage",
        "chat.postMessage",
        "chat.update",
        "chat.postEphemeral",
        "chat.delete",
    ]
    assert sent[0]["blocks"][0]["text"]["text"] == "Threshold change requested"
    assert sent[2]["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": "done"}}]
    assert [m["text"] for m in sandbox.slack.history["C1"]] == ["approved"]
    failed = [m for m in sandbox.slack.messages if not m["ok"]]
    assert [m["error"] for m in failed] == ["message_not_found"]


def test_message_validation(slack: WebClient) -> None:
    too_many = [{"type": "section", "text": {"type": "plain_text", "text": "x"}}] * 51
    with pytest.raises(SlackApiError) as blocks:
        slack.chat_postMessage(channel="C1", text="x", blocks=too_many)
    assert blocks.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as empty:
        slack.api_call("chat.postMessage", json={"channel": "C1"})
    assert empty.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as no_channel:
        slack.chat_postMessage(channel="", text="x")
    assert no_channel.value.response["error"] == "channel_not_found"


def test_form_encoded_blocks_are_parsed(sandbox: Sandbox) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    response = httpx.post(
        sandbox.slack_url + "chat.postMessage",
        data={"token": sandbox.slack_token, "channel": "UREP1", "blocks": json.dumps(blocks)},
    ).json()
    assert response["ok"] and response["channel"] == "DUREP1"  # a user id posts to their DM
    assert sandbox.slack.sent("chat.postMessage")[0]["blocks"] == blocks


def test_views(slack: WebClient, sandbox: Sandbox) -> None:
    opened = slack.views_open(trigger_id="123.456", view=modal())["view"]
    assert opened["id"].startswith("V") and opened["hash"]
    updated = slack.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Done"))
    assert updated["view"]["title"]["text"] == "Done"
    with pytest.raises(SlackApiError) as stale:
        slack.views_update(view_id=opened["id"], hash=opened["hash"], view=modal())
    assert stale.value.response["error"] == "hash_conflict"
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    first = slack.views_publish(user_id="U1", view=home)["view"]["id"]
    assert slack.views_publish(user_id="U1", view=home)["view"]["id"] == first
    assert [m["method"] for m in sandbox.slack.sent()] == [
        "views.open",
        "views.update",
        "views.publish",
        "views.publish",
    ]
    assert sandbox.slack.sent("views.open")[0]["view"]["title"]["text"] == "Add to HubSpot"


def test_view_validation(slack: WebClient) -> None:
    raw: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "x" * 25},
        "blocks": [],
    }
    with pytest.raises(SlackApiError) as title:
        slack.views_open(trigger_id="1", view=raw)
    assert title.value.response["error"] == "invalid_arguments"
    raw["title"]["text"] = "ok"
    raw["blocks"] = [{"type": "divider"}] * 101
    with pytest.raises(SlackApiError) as blocks:
        slack.views_open(trigger_id="1", view=raw)
    assert "100" in blocks.value.response["response_metadata"]["messages"][0]
    raw["blocks"] = [{"type": "divider"}] * 100
    assert slack.views_open(trigger_id="1", view=raw)["ok"]


def test_conversations_usergroups_users(slack: WebClient, sandbox: Sandbox) -> None:
    assert slack.conversations_open(users="U123")["channel"]["id"] == "DU123"
    sandbox.slack.set_usergroup("S1", ["U1", "U2"])
    assert slack.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    with pytest.raises(SlackApiError) as unknown_group:
        slack.usergroups_users_list(usergroup="S9")
    assert unknown_group.value.response["error"] == "no_such_subteam"
    sandbox.slack.set_user("U1", real_name="Morgan", is_admin=True)
    user = slack.users_info(user="U1")["user"]
    assert (user["real_name"], user["is_admin"]) == ("Morgan", True)
    assert slack.users_info(user="U777")["user"]["is_admin"] is False


def test_auth_and_unknown_methods(sandbox: Sandbox) -> None:
    assert httpx.post(sandbox.slack_url + "auth.test").json() == {
        "ok": False,
        "error": "not_authed",
    }
    wrong = httpx.post(sandbox.slack_url + "auth.test", headers={"Authorization": "Bearer abc"})
    assert wrong.json()["error"] == "invalid_auth"
    slack = WebClient(token=sandbox.slack_token, base_url=sandbox.slack_url)
    with pytest.raises(SlackApiError) as unknown:
        slack.api_call("chat.scheduleMessage", json={"channel": "C1"})
    assert unknown.value.response["error"] == "unknown_method"


def test_response_url_receiver(sandbox: Sandbox) -> None:
    url = sandbox.slack.response_url("cmd-1")
    assert url.startswith(sandbox.slack_url.removesuffix("/api/") + "/webhook/")
    hook = WebhookClient(url)
    assert hook.send(text="working on it", response_type="ephemeral").status_code == 200
    assert hook.send(blocks=[SectionBlock(text="done")], replace_original=True).body == "ok"
    bodies = [m["args"] for m in sandbox.slack.webhooks]
    assert bodies[0]["text"] == "working on it"
    assert bodies[1]["replace_original"] is True
    assert sandbox.slack.webhooks[1]["name"] == "cmd-1"
    for _ in range(3):
        assert hook.send(text="again").status_code == 200
    assert hook.send(text="one too many").status_code == 404  # 5 uses per response_url
    too_many = [{"type": "divider"}] * 51
    assert WebhookClient(sandbox.slack.response_url("x")).send(blocks=too_many).status_code == 400

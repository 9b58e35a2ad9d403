"""Charts in Slack: ``/sellsync threshold`` and the summary upload a PNG beside their text, through
the real ``files_upload_v2`` flow (get an upload URL, POST the bytes, complete the upload) to the
sandbox Slack; a failed upload costs one log line and never the text."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.charts import PIXELS, png_size
from bot.scheduler import SlackNotifier, post_summary
from sandbox.server import Sandbox
from tests.scenario.conftest import APPROVALS, CHANNEL, REP, SUMMARY, TOKEN, Bot, message_text

PNG = b"\x89PNG\r\n\x1a\n"


def synced(bot: Bot) -> None:
    for score in (10, 45, 55, 90):
        bot.world.member(score=score, email=f"m{score}@example.com", lastname="M")
    bot.world.sync()


def uploads(bot: Bot) -> list[tuple[dict[str, Any], bytes]]:
    return bot.slack.files.uploaded()


def calls(bot: Bot) -> list[str]:
    """The order Slack saw things in: replies, posts and file shares."""
    return [m["method"] for m in bot.slack.messages if m["ok"]]


def test_threshold_answers_in_text_then_uploads_its_chart_in_the_channel(bot: Bot) -> None:
    synced(bot)
    sent = bot.command("threshold", user=REP, channel=CHANNEL)
    text = message_text(sent.reply())
    assert "threshold is *50*" in text and "4 list members" in text  # the text stays whole
    [(file, data)] = uploads(bot)
    assert data.startswith(PNG) and png_size(data) == PIXELS
    assert file["channels"] == [CHANNEL] and file["filetype"] == "png"
    assert file["size"] == len(data)
    assert "would enter Sell at each threshold" in file["alt_txt"]
    assert "50 (current)" in file["alt_txt"]
    assert "threshold is 50" in file["initial_comment"]
    # the text first, the picture after it; the share is a message of the channel
    assert calls(bot)[-2:] == ["response_url", "files.completeUploadExternal"]
    [share] = [m for m in bot.channel_messages(CHANNEL) if m.get("subtype") == "file_share"]
    assert share["files"] == [file["id"]]


def test_threshold_before_any_sync_uploads_nothing(bot: Bot) -> None:
    reply = bot.command("threshold").reply()
    assert "No sync has run yet" in message_text(reply)
    assert uploads(bot) == []


def test_threshold_upload_refused_costs_one_log_line_not_the_answer(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    synced(bot)
    bot.slack.scopes.remove("files:write")  # an install from before the scope was added
    with caplog.at_level(logging.WARNING, logger="sellsync.bot.charts"):
        reply = bot.command("threshold").reply()
    assert "threshold is *50*" in message_text(reply)
    assert uploads(bot) == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "sellsync.bot.charts"]
    assert "not uploaded" in line and "missing_scope" in line
    assert TOKEN not in line


def test_threshold_chart_refused_in_a_private_channel_the_bot_is_not_in(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    synced(bot)
    bot.slack.set_channel("GSECRET", "secret", private=True, bot_member=False)
    with caplog.at_level(logging.WARNING, logger="sellsync.bot.charts"):
        reply = bot.command("threshold", channel="GSECRET").reply()
    assert "threshold is *50*" in message_text(reply)
    assert uploads(bot) == []
    assert any("not_in_channel" in r.getMessage() for r in caplog.records)


def test_threshold_chart_upload_url_failing_costs_one_log_line_without_the_url(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    synced(bot)
    bot.slack.inject("500", method="POST", path_prefix="/upload/v1")  # step 2 fails
    with caplog.at_level(logging.WARNING, logger="sellsync.bot.charts"):
        reply = bot.command("threshold").reply()
    assert "threshold is *50*" in message_text(reply)
    assert uploads(bot) == []
    [line] = [r.getMessage() for r in caplog.records if r.name == "sellsync.bot.charts"]
    assert "not uploaded" in line and "/upload/" not in line  # the upload URL is a secret
    assert not [r for r in caplog.records if r.exc_info]


def test_a_threshold_request_charts_its_proposal_in_the_thread_of_the_approvals_message(
    bot: Bot,
) -> None:
    synced(bot)
    preview = bot.command("threshold 40 more leads", user=REP).reply()
    assert "proposed" in message_text(preview)
    [request] = bot.sent("chat.postMessage", channel=APPROVALS)
    [(file, data)] = uploads(bot)
    assert png_size(data) == PIXELS
    assert file["channels"] == [APPROVALS] and file["thread_ts"] == request["ts"]
    assert "40 (proposed)" in file["alt_txt"] and "50 (current)" in file["alt_txt"]
    assert "proposed threshold 40" in file["initial_comment"]
    assert file["title"] == "Threshold impact (40 proposed, now 50)"


def summary_notifier(sandbox: Sandbox) -> SlackNotifier:
    return SlackNotifier(WebClient(token=TOKEN, base_url=sandbox.slack_url), SUMMARY)


def test_summary_posts_its_text_then_the_trend_chart(bot: Bot) -> None:
    synced(bot)
    bot.world.clock.tick(3600)
    bot.world.sync()
    assert post_summary(bot.world.service, summary_notifier(bot.sandbox)) is True
    [post] = bot.sent("chat.postMessage", channel=SUMMARY)
    assert "summary" in message_text(post).lower()
    [(file, data)] = uploads(bot)
    assert data.startswith(PNG) and png_size(data) == PIXELS
    assert file["channels"] == [SUMMARY]
    assert "Bar charts of the last 14 days" in file["alt_txt"]
    runs = len(bot.world.service.runs(100))
    assert f"{runs} runs" in file["initial_comment"]
    assert calls(bot)[-2:] == ["chat.postMessage", "files.completeUploadExternal"]


def test_summary_with_nothing_run_uploads_no_chart(bot: Bot) -> None:
    assert post_summary(bot.world.service, summary_notifier(bot.sandbox)) is True
    assert len(bot.sent("chat.postMessage", channel=SUMMARY)) == 1
    assert uploads(bot) == []


def test_summary_upload_failure_keeps_the_summary_and_its_watermark(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    synced(bot)
    bot.slack.scopes.remove("files:write")
    with caplog.at_level(logging.WARNING, logger="sellsync.bot.charts"):
        assert post_summary(bot.world.service, summary_notifier(bot.sandbox)) is True
    assert len(bot.sent("chat.postMessage", channel=SUMMARY)) == 1
    assert uploads(bot) == []
    assert bot.world.store.summary_watermark() is not None  # this period was told
    assert len([r for r in caplog.records if r.name == "sellsync.bot.charts"]) == 1


# --------------------------------------------------------------------------- the sandbox's files


def client(sandbox: Sandbox) -> WebClient:
    return WebClient(token=TOKEN, base_url=sandbox.slack_url)


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        call()
    return str(info.value.response["error"])


def test_sandbox_upload_steps_check_their_arguments_as_slack_does(sandbox: Sandbox) -> None:
    sandbox.slack.reset()
    web = client(sandbox)
    get = web.files_getUploadURLExternal
    assert (
        error_of(lambda: web.api_call("files.getUploadURLExternal", params={"filename": "a.png"}))
        == "invalid_arguments"
    )
    assert error_of(lambda: get(filename="a.png", length=0)) == "missing_argument"
    assert (
        error_of(lambda: get(filename="a.png", length=3, alt_txt="x" * 1001)) == "alt_txt_too_large"
    )
    step = get(filename="a.png", length=3, alt_txt="three bytes")
    url, file_id = str(step["upload_url"]), str(step["file_id"])
    assert url.startswith(sandbox.slack_url.split("/api")[0]) and file_id.startswith("F")
    complete = web.files_completeUploadExternal
    # not uploaded yet: Slack has no such file to share
    assert (
        error_of(lambda: complete(files=[{"id": file_id}], channel_id=CHANNEL)) == "file_not_found"
    )
    with httpx.Client() as http:
        assert http.post(url, content=b"toolong").status_code == 400  # not the length announced
        assert http.post(url, content=b"abc").status_code == 200
        assert http.post(url, content=b"abc").status_code == 404  # an upload URL is used once
        assert http.post(url.rsplit("/", 1)[0] + "/nope", content=b"abc").status_code == 404
    assert (
        error_of(lambda: web.api_call("files.completeUploadExternal", params={"files": "[oops"}))
        == "invalid_arguments"
    )
    assert (
        error_of(lambda: complete(files=[{"id": file_id}], thread_ts="1.000001"))
        == "invalid_arguments"
    )
    assert (
        error_of(lambda: complete(files=[{"id": "F999"}], channel_id=CHANNEL)) == "file_not_found"
    )
    done = complete(
        files=[{"id": file_id, "title": "Three"}], channel_id=CHANNEL, initial_comment="hi"
    )
    assert done["files"] == [{"id": file_id, "title": "Three"}]
    assert (
        error_of(lambda: complete(files=[{"id": file_id}], channel_id=CHANNEL)) == "file_not_found"
    )
    [(file, data)] = sandbox.slack.files.uploaded()
    assert data == b"abc" and file["title"] == "Three" and file["alt_txt"] == "three bytes"
    with httpx.Client() as http:
        base = sandbox.slack_url.split("/api")[0]
        listed = http.get(f"{base}/_sandbox/files").json()["files"]
        assert [f["id"] for f in listed] == [file_id]
        assert http.get(f"{base}/_sandbox/files/{file_id}").content == b"abc"


def test_sandbox_files_upload_v2_shares_in_a_thread_and_needs_files_write(sandbox: Sandbox) -> None:
    sandbox.slack.reset()
    web = client(sandbox)
    parent = web.chat_postMessage(channel=SUMMARY, text="the summary")
    done = web.files_upload_v2(
        channel=SUMMARY,
        file=PNG + b"rest",
        filename="c.png",
        title="C",
        alt_txt="a chart",
        thread_ts=str(parent["ts"]),
    )
    [(file, data)] = sandbox.slack.files.uploaded()
    assert done["file"]["id"] == file["id"] and data == PNG + b"rest"
    assert file["thread_ts"] == parent["ts"]
    sandbox.slack.scopes.remove("files:write")
    assert (
        error_of(lambda: web.files_upload_v2(channel=SUMMARY, content="x", filename="x.txt"))
        == "missing_scope"
    )

"""The bulk guard in Slack: a run holding more than SYNC_BULK_LIMIT creations posts one request
to the approvals channel (counts, a sample, Approve / Reject); only managers decide, a second
click changes nothing, the message is updated in place, and the next run carries out exactly
what was approved. The scheduler posts a hold a run filed, once."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot import action_ids as ids
from bot.scheduler import SlackNotifier, run_scheduled_sync
from tests.scenario.conftest import (
    APPROVALS,
    CHANNEL,
    MANAGER,
    MANAGER2,
    REP,
    SUMMARY,
    TOKEN,
    Bot,
    action_ids_in,
    button_value,
    message_text,
)


def _members(bot: Bot, n: int) -> None:
    for i in range(n):
        bot.world.member(score=80, email=f"bulk{i}@example.com", lastname=f"B{i}")


def _current(bot: Bot, message: dict[str, Any]) -> dict[str, Any]:
    return next(m for m in bot.channel_messages(APPROVALS) if m["ts"] == message["ts"])


def _click(bot: Bot, message: dict[str, Any], action_id: str, user: str) -> Any:
    value = button_value(message["blocks"], action_id)
    return bot.click(
        action_id, value, user=user, message={"ts": message["ts"], "channel": APPROVALS}
    )


def test_a_held_run_asks_managers_and_an_approval_is_carried_out_once(bot: Bot) -> None:
    _members(bot, 120)
    bot.command("run", user=MANAGER)
    final = message_text(bot.channel_messages(CHANNEL)[-1])
    assert "held for a manager's approval (bulk guard) *120*" in final
    assert "Held 120 creations in Sell" in final and "--yes-bulk" in final
    assert bot.world.store.count_links()["active"] == 0  # nothing created
    posted = bot.sent("chat.postMessage", channel=APPROVALS)
    assert len(posted) == 1
    request = posted[0]
    text = message_text(request)
    assert "120 creations in Sell" in text and "more than 100 creations" in text
    assert "…and 110 more" in text and "bulk0@example.com" in text
    assert action_ids_in(request["blocks"]) == [ids.BULK_APPROVE, ids.BULK_REJECT]

    _click(bot, request, ids.BULK_APPROVE, REP)  # not a manager: refused, still pending
    hold = bot.world.service.bulk_hold()
    assert hold is not None and hold.status == "pending"

    _click(bot, request, ids.BULK_APPROVE, MANAGER2)
    now = _current(bot, request)
    assert "Approved by <@UMGR2>" in message_text(now) and action_ids_in(now["blocks"]) == []
    _click(bot, request, ids.BULK_REJECT, MANAGER)  # too late: already approved
    assert bot.world.store.get_hold(hold.id).status == "approved"
    kinds = [e.kind for e in bot.world.store.audit_since(None)]
    assert kinds.count("bulk_approved") == 1 and "bulk_rejected" not in kinds

    bot.command("run", user=MANAGER)
    final = message_text(bot.channel_messages(CHANNEL)[-1])
    assert "created in Sell *120*" in final
    assert len(bot.world.store.links_by_hubspot(bot.world.store.known_members("7"))) == 120
    assert "carried out" in message_text(_current(bot, request))
    assert len(bot.sent("chat.postMessage", channel=APPROVALS)) == 1  # asked once

    bot.command("run", user=MANAGER)
    assert "created in Sell" not in message_text(bot.channel_messages(CHANNEL)[-1])


def test_a_rejection_in_slack_leaves_them_alone_and_the_scheduler_posts_a_hold_once(
    bot: Bot,
) -> None:
    _members(bot, 101)
    notifier = SlackNotifier(
        WebClient(token=TOKEN, base_url=bot.sandbox.slack_url), SUMMARY, APPROVALS
    )
    bot.world.clock.tick(60)
    run_scheduled_sync(bot.world.service, notifier)
    run_scheduled_sync(bot.world.service, notifier)
    posted = bot.sent("chat.postMessage", channel=APPROVALS)
    assert len(posted) == 1 and "101 creations in Sell" in message_text(posted[0])
    _click(bot, posted[0], ids.BULK_REJECT, MANAGER)
    assert "Rejected by <@UMGR1>" in message_text(_current(bot, posted[0]))
    report = run_scheduled_sync(bot.world.service, notifier)
    assert report is not None and report.counts().get("created_in_sell", 0) == 0
    assert report.bulk is not None and report.bulk.rejected == 101
    assert len(bot.sent("chat.postMessage", channel=APPROVALS)) == 1  # not asked again

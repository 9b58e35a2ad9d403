"""The approval flow of SPEC §3: a threshold request goes to the approvals channel with Approve /
Reject; only managers decide, never on their own request; clicks are idempotent; the message is
updated in place; the requester is told; requests expire after 7 days; a newer one supersedes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import action_ids as ids
from bot.scheduler import expire_requests
from tests.scenario.conftest import (
    APPROVALS,
    GROUP,
    GROUP_MANAGER,
    MANAGER,
    MANAGER2,
    REP,
    REP2,
    Bot,
    action_ids_in,
    button_value,
    message_text,
)


def file_request(
    bot: Bot, value: int = 60, *, user: str = REP, reason: str = "more leads please"
) -> dict[str, Any]:
    """File a threshold request; return its approvals-channel message as posted."""
    bot.command(f"threshold {value} {reason}", user=user).reply()
    posted = [m for m in bot.sent("chat.postMessage", channel=APPROVALS)]
    assert posted, "the request was not posted to the approvals channel"
    return posted[-1]


def current(bot: Bot, message: dict[str, Any]) -> dict[str, Any]:
    """The approvals-channel message as a reader sees it now."""
    return next(m for m in bot.channel_messages(APPROVALS) if m["ts"] == message["ts"])


def click(bot: Bot, message: dict[str, Any], action_id: str, user: str) -> Any:
    value = button_value(message["blocks"], action_id)
    return bot.click(
        action_id, value, user=user, message={"ts": message["ts"], "channel": APPROVALS}
    )


def test_a_threshold_request_is_previewed_to_the_requester_and_posted_with_buttons(
    bot: Bot,
) -> None:
    for score in (40, 55, 65, 90):
        bot.world.member(score=score, email=f"m{score}@example.com", lastname="M")
    sent = bot.command("threshold 60 more leads please", user=REP)
    assert "Filing a request" in sent.body["text"]
    preview = message_text(sent.reply())
    assert "Request #1" in preview and f"<#{APPROVALS}>" in preview and "proposed" in preview
    message = bot.sent("chat.postMessage", channel=APPROVALS)[0]
    assert action_ids_in(message["blocks"]) == [ids.APPROVE, ids.REJECT]
    assert "more leads please" in message_text(message) and "<@UREP1>" in message_text(message)
    request = bot.world.store.get_request(1)
    assert request is not None and (request.channel, request.message_ts) == (
        APPROVALS,
        message["ts"],
    )
    assert bot.world.service.settings().threshold == 50  # nothing changes before approval


def test_a_manager_approves_the_message_is_updated_in_place_and_the_requester_told(
    bot: Bot,
) -> None:
    message = file_request(bot)
    sent = click(bot, message, ids.APPROVE, MANAGER)
    assert sent.status == 200
    now = current(bot, message)
    assert "Approved by <@UMGR1>" in message_text(now) and "<!date^" in message_text(now)
    assert action_ids_in(now["blocks"]) == []  # buttons removed
    assert len(bot.channel_messages(APPROVALS)) == 1  # updated, not re-posted
    dm = bot.dms(REP)
    assert len(dm) == 1 and "approved" in message_text(dm[0]) and "<@UMGR1>" in message_text(dm[0])
    assert bot.world.service.settings().threshold == 60


def test_a_manager_rejects_and_nothing_changes(bot: Bot) -> None:
    message = file_request(bot)
    click(bot, message, ids.REJECT, MANAGER2)
    assert "Rejected by <@UMGR2>" in message_text(current(bot, message))
    assert "rejected" in message_text(bot.dms(REP)[0])
    assert bot.world.service.settings().threshold == 50


def test_a_non_manager_cannot_decide(bot: Bot) -> None:
    message = file_request(bot)
    sent = click(bot, message, ids.APPROVE, REP2)
    reply = sent.reply()
    assert "only managers can approve" in reply["text"]
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert action_ids_in(current(bot, message)["blocks"]) == [ids.APPROVE, ids.REJECT]
    assert bot.world.store.get_request(1).status == "pending"  # type: ignore[union-attr]
    assert bot.dms(REP) == []


def test_nobody_approves_their_own_request(bot: Bot) -> None:
    message = file_request(bot, user=MANAGER)
    reply = click(bot, message, ids.APPROVE, MANAGER).reply()
    assert "can't approve or reject your own request" in reply["text"]
    assert bot.world.store.get_request(1).status == "pending"  # type: ignore[union-attr]
    click(bot, message, ids.APPROVE, MANAGER2)
    assert bot.world.store.get_request(1).status == "approved"  # type: ignore[union-attr]


def test_a_double_click_is_answered_privately_and_changes_nothing_more(bot: Bot) -> None:
    message = file_request(bot)
    click(bot, message, ids.APPROVE, MANAGER)
    updates = len(bot.sent("chat.update"))
    second = click(bot, message, ids.APPROVE, MANAGER2).reply()
    assert "already approved" in second["text"] and second["replace_original"] is False
    third = click(bot, message, ids.REJECT, MANAGER).reply()
    assert "already approved" in third["text"]
    assert len(bot.sent("chat.update")) == updates  # not updated again
    assert len(bot.sent("chat.postMessage", channel=APPROVALS)) == 1  # not re-posted
    assert len(bot.dms(REP)) == 1  # told once
    assert bot.world.service.settings().threshold == 60


def test_two_clicks_at_once_decide_once(bot: Bot) -> None:
    message = file_request(bot)
    value = button_value(message["blocks"], ids.APPROVE)
    where = {"ts": message["ts"], "channel": APPROVALS}
    a = bot.click(ids.APPROVE, value, user=MANAGER, message=where, settle=False)
    b = bot.click(ids.REJECT, value, user=MANAGER2, message=where, settle=False)
    bot.settle()
    assert {a.status, b.status} == {200}
    decided = bot.world.store.get_request(1)
    assert decided is not None and decided.status in ("approved", "rejected")
    assert len(bot.dms(REP)) == 1
    audit = [e.kind for e in bot.world.store.audit_since(None)]
    assert audit.count("change_approved") + audit.count("change_rejected") == 1


def test_a_request_expires_after_seven_days(bot: Bot) -> None:
    message = file_request(bot)
    bot.world.clock.tick(timedelta(days=7).total_seconds())
    reply = click(bot, message, ids.APPROVE, MANAGER).reply()
    assert "expired" in reply["text"]
    now = current(bot, message)
    assert "Expired" in message_text(now) and action_ids_in(now["blocks"]) == []
    assert bot.world.service.settings().threshold == 50


def test_the_hourly_sweep_marks_expired_requests_in_place(bot: Bot) -> None:
    from bot.scheduler import SlackNotifier

    message = file_request(bot)
    bot.world.clock.tick(timedelta(days=8).total_seconds())
    notifier = SlackNotifier(bot.app.client, None)
    assert expire_requests(bot.world.service, notifier) == [1]
    assert "Expired" in message_text(current(bot, message))
    assert expire_requests(bot.world.service, notifier) == []


def test_a_newer_request_supersedes_the_older_one_in_place(bot: Bot) -> None:
    first = file_request(bot, 60)
    second = file_request(bot, 70, user=REP2)
    old = current(bot, first)
    assert "Superseded by request #2" in message_text(old) and action_ids_in(old["blocks"]) == []
    assert action_ids_in(current(bot, second)["blocks"]) == [ids.APPROVE, ids.REJECT]
    reply = click(bot, first, ids.APPROVE, MANAGER).reply()
    assert "superseded" in reply["text"]
    click(bot, second, ids.APPROVE, MANAGER)
    assert bot.world.service.settings().threshold == 70


def test_a_member_of_the_manager_group_may_approve_and_the_group_is_cached(bot: Bot) -> None:
    bot.sandbox.slack.set_usergroup(GROUP, [GROUP_MANAGER])
    message = file_request(bot)
    click(bot, message, ids.APPROVE, GROUP_MANAGER)
    assert bot.world.store.get_request(1).status == "approved"  # type: ignore[union-attr]
    file_request(bot, 80)
    bot.command("conflicts", user=GROUP_MANAGER).reply()
    assert bot.sandbox.slack.count(endpoint="usergroups.users.list") == 1


def test_an_unreadable_manager_group_makes_nobody_a_manager_through_it(bot: Bot) -> None:
    bot.sandbox.slack.usergroups.clear()  # the group is gone: no_such_subteam
    message = file_request(bot)
    reply = click(bot, message, ids.APPROVE, GROUP_MANAGER).reply()
    assert "only managers" in reply["text"]
    click(bot, message, ids.APPROVE, MANAGER)  # SLACK_MANAGER_IDS still work
    assert bot.world.store.get_request(1).status == "approved"  # type: ignore[union-attr]


def test_a_forged_button_value_is_answered_as_out_of_date(bot: Bot) -> None:
    reply = bot.click(ids.APPROVE, "req:abc", user=MANAGER).reply()
    assert "out of date" in reply["text"]
    reply = bot.click(ids.APPROVE, ids.encode_request(99), user=MANAGER).reply()
    assert "no change request #99" in reply["text"]


def test_approving_from_the_app_home_updates_the_message_and_the_home(bot: Bot) -> None:
    message = file_request(bot)
    bot.click(ids.APPROVE, ids.encode_request(1), user=MANAGER, from_home=True)
    assert "Approved by <@UMGR1>" in message_text(current(bot, message))
    published = bot.sent("views.publish")
    assert published and published[-1]["user"] == MANAGER
    assert "Pending approvals* (0)" in message_text({"blocks": published[-1]["view"]["blocks"]})
    assert any("approved" in message_text(m) for m in bot.dms(MANAGER))  # the clicker is told


def test_the_manager_group_is_read_again_after_five_minutes(bot: Bot) -> None:
    from slack_sdk import WebClient

    from bot.app import ManagerDirectory
    from tests.scenario.conftest import TOKEN, FakeMonotonic

    clock = FakeMonotonic()
    directory = ManagerDirectory(
        [MANAGER], GROUP, WebClient(token=TOKEN, base_url=bot.sandbox.slack_url), monotonic=clock
    )
    assert directory(GROUP_MANAGER) and directory(MANAGER) and not directory(REP)
    bot.sandbox.slack.set_usergroup(GROUP, [REP])
    clock.advance(299)
    assert directory(GROUP_MANAGER) and not directory(REP)  # still cached
    clock.advance(2)
    assert directory(REP) and not directory(GROUP_MANAGER)
    assert bot.sandbox.slack.count(endpoint="usergroups.users.list") == 2
    assert not directory("")


def test_s2_the_synced_list_changes_only_through_an_approved_request(bot: Bot) -> None:
    shown = message_text(bot.command("list", user=REP).reply())
    assert "id `7`" in shown and "manual" in shown
    bad = bot.command("list abc", user=REP).body
    assert "not a HubSpot list id" in bad["text"] and bad["response_type"] == "ephemeral"
    missing = bot.command("list 4242", user=REP).reply()
    assert "not found" in message_text(missing)  # no such list: nothing filed
    assert bot.world.store.pending_requests() == []
    bot.world.hubspot.make_list("99", "DYNAMIC")
    bot.command("list 99 the spring campaign list", user=REP).reply()
    message = bot.sent("chat.postMessage", channel=APPROVALS)[-1]
    assert "synced HubSpot list" in message_text(message)
    assert bot.world.service.settings().list_id == "7"
    click(bot, message, ids.APPROVE, MANAGER)
    bot.settle()
    assert bot.world.service.settings().list_id == "99"
    assert "Approved by" in message_text(current(bot, message))

"""The Sell mode in Slack: ``/sellsync sell-mode MODE [reason]`` files a request a manager
approves; retiring Sell before the migration is verified asks the approving manager a second
confirmation that names what is unverified; the status board, the App Home and the summary say
which mode holds; bad input gets one line with the usage."""

from __future__ import annotations

from datetime import UTC, datetime

from bot import action_ids as ids
from bot.blocks.runs import summary_message
from sync.domain import SellMode
from sync.ports import MigrationStanding
from tests.scenario.conftest import (
    APPROVALS,
    MANAGER,
    MANAGER2,
    REP,
    Bot,
    Sent,
    action_ids_in,
    block_text,
    button_value,
    message_text,
)


def _approve(bot: Bot, user: str = MANAGER) -> Sent:
    """The newest request in the approvals channel, approved by ``user``: the click."""
    message = bot.sent("chat.postMessage", channel=APPROVALS)[-1]
    value = button_value(message["blocks"], ids.APPROVE)
    where = {"ts": message["ts"], "channel": APPROVALS}
    return bot.click(ids.APPROVE, value, user=user, message=where)


def test_m5_sell_mode_in_slack_is_a_request_a_manager_approves(bot: Bot) -> None:
    sent = bot.command("sell-mode read_only HubSpot is the CRM from today", user=REP)
    assert "Filing a request to switch Sell to read_only" in sent.body["text"]
    assert "switch Sell from `active` to `read_only`" in message_text(sent.reply())
    message = bot.sent("chat.postMessage", channel=APPROVALS)[-1]
    assert action_ids_in(message["blocks"]) == [ids.APPROVE, ids.REJECT]
    assert "nothing is written to Sell" in str(message["blocks"])  # the confirm dialog
    assert bot.world.service.sell_mode() is SellMode.ACTIVE  # nothing before approval
    _approve(bot)
    assert bot.world.service.sell_mode() is SellMode.READ_ONLY
    status = message_text(bot.command("status", user=REP).body)
    assert "*Sell:* read-only" in status and "*Sell read-only*" in status
    assert "HubSpot is the CRM from today" in status and "/sellsync sell-mode active" in status
    bot.event({"type": "app_home_opened", "user": MANAGER, "channel": "D0HOME", "tab": "home"})
    home = block_text(bot.sent("views.publish")[-1]["view"]["blocks"])
    assert "*Sell:* read-only" in home


def test_m5_retiring_sell_unverified_asks_a_second_confirmation_naming_it(bot: Bot) -> None:
    bot.command("sell-mode retired Sell shuts down", user=REP).reply()
    clicked = _approve(bot)
    assert bot.world.service.sell_mode() is SellMode.ACTIVE  # the first click changes nothing
    [pending] = bot.world.service.pending_requests()
    confirm = clicked.reply()
    text = message_text(confirm)
    assert "No migration to HubSpot was run and verified" in text
    assert action_ids_in(confirm["blocks"]) == [ids.APPROVE_UNVERIFIED]
    value = button_value(confirm["blocks"], ids.APPROVE_UNVERIFIED)
    assert value == ids.encode_request(pending.id)
    bot.click(ids.APPROVE_UNVERIFIED, value, user=MANAGER2, ephemeral=True)
    assert bot.world.service.sell_mode() is SellMode.RETIRED
    assert bot.world.service.pending_requests() == []
    status = message_text(bot.command("status", user=REP).body)
    assert "*Sell:* retired" in status
    refused = message_text(bot.command("run", user=MANAGER).reply())
    assert "Sell is retired" in refused and "/sellsync sell-mode read_only" in refused


def test_m5_the_second_confirmation_names_the_unverified_count(bot: Bot) -> None:
    standing = MigrationStanding(datetime(2027, 8, 1, tzinfo=UTC), 120, 3, 7, moved=127)
    bot.world.store.migration_standing = lambda: standing  # type: ignore[method-assign]
    bot.command("sell-mode retired", user=REP).reply()
    confirm = _approve(bot).reply()
    assert "7 moved items no verification vouches for" in message_text(confirm)
    assert bot.world.service.sell_mode() is SellMode.ACTIVE
    verified = MigrationStanding(datetime(2027, 8, 2, tzinfo=UTC), 127, 0, 0, moved=127)
    bot.world.store.migration_standing = lambda: verified  # type: ignore[method-assign]
    _approve(bot, user=MANAGER2)  # verified since: one approval is enough
    assert bot.world.service.sell_mode() is SellMode.RETIRED


def test_m5_a_mode_that_does_not_exist_gets_one_line_and_the_usage(bot: Bot) -> None:
    answer = bot.command("sell-mode sideways", user=REP).body
    text = message_text(answer)
    assert "the Sell mode is active, read_only or retired, not 'sideways'" in text
    assert "sell-mode active|read_only|retired [reason]" in text
    assert bot.world.service.pending_requests() == []
    assert "takes a mode" in message_text(bot.command("sell-mode", user=REP).body)


def test_m5_the_summary_says_which_mode_holds(bot: Bot) -> None:
    summary = bot.world.service.summary_since(None)
    assert "*Sell:* active" in block_text(summary_message(summary).to_dict()["blocks"])

"""Both "Add to HubSpot" shortcuts (modal, validation in the modal, result by DM) and App Home."""

from __future__ import annotations

from typing import Any

from bot import action_ids as ids
from sync.domain import SellRef
from tests.scenario.conftest import (
    CHANNEL,
    MANAGER,
    REP,
    Bot,
    Sent,
    block_text,
    from_user,
    limit_problems,
    message_text,
)


def global_shortcut(bot: Bot, *, user: str = REP) -> Sent:
    return bot.interactive(
        {
            "type": "shortcut",
            "callback_id": ids.ADD_TO_HUBSPOT,
            "trigger_id": "trigger.global",
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "team": {"id": "T1", "domain": "sandbox"},
            "action_ts": "1700000000.1",
        }
    )


def message_shortcut(bot: Bot, text: str, *, user: str = REP) -> Sent:
    return bot.interactive(
        {
            "type": "message_action",
            "callback_id": ids.ADD_MESSAGE_TO_HUBSPOT,
            "trigger_id": "trigger.message",
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "team": {"id": "T1", "domain": "sandbox"},
            "channel": {"id": CHANNEL, "name": "general"},
            "message_ts": "1700000000.000200",
            "message": {
                "type": "message",
                "user": "U0OTHER",
                "ts": "1700000000.000200",
                "text": text,
            },
            "response_url": bot.slack.response_url("shortcut"),
        }
    )


def submit(
    bot: Bot, view: dict[str, Any], items: str | None, tag: str | None = None, *, user: str = REP
) -> Sent:
    return bot.interactive(
        {
            "type": "view_submission",
            **from_user(user),
            "trigger_id": "trigger.submit",
            "view": {
                "id": view["id"],
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view.get("private_metadata", ""),
                "hash": view.get("hash", "h"),
                "state": {
                    "values": {
                        ids.ITEMS_BLOCK: {
                            ids.ITEMS_INPUT: {"type": "plain_text_input", "value": items}
                        },
                        ids.TAG_BLOCK: {ids.TAG_INPUT: {"type": "plain_text_input", "value": tag}},
                    }
                },
            },
        }
    )


def opened_view(bot: Bot) -> dict[str, Any]:
    assert bot.sent("views.open"), "no modal was opened"
    return bot.slack.views[max(bot.slack.views)]  # the newest (ids count up)


def test_the_global_shortcut_opens_the_push_modal(bot: Bot) -> None:
    sent = global_shortcut(bot)
    assert sent.status == 200
    view = opened_view(bot)
    assert view["callback_id"] == ids.PUSH_VIEW and view["title"]["text"] == "Add to HubSpot"
    blocks = {b.get("block_id") for b in view["blocks"]}
    assert {ids.ITEMS_BLOCK, ids.TAG_BLOCK} <= blocks
    assert limit_problems(view["blocks"], 100) == []


def test_invalid_items_are_refused_in_the_modal_and_nothing_is_pushed(bot: Bot) -> None:
    global_shortcut(bot)
    view = opened_view(bot)
    sent = submit(bot, view, "good@example.com\nnot-an-item")
    assert sent.status == 200
    assert sent.body["response_action"] == "errors"
    assert "“not-an-item”" in sent.body["errors"][ids.ITEMS_BLOCK]
    empty = submit(bot, view, "  ", "")
    assert "nothing to push" in empty.body["errors"][ids.ITEMS_BLOCK]
    assert bot.world.hubspot.total_calls() == 0 and bot.dms(REP) == []


def test_a_valid_modal_closes_pushes_and_reports_by_dm(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="modal@example.com", last_name="Modal", tags=["expo"])
    no_email = bot.world.sell.add("lead", last_name="Nomail", tags=["expo"])
    global_shortcut(bot)
    sent = submit(bot, opened_view(bot), "modal@example.com", "expo")
    assert sent.status == 200 and sent.response.body == ""  # closes the modal
    dm = bot.dms(REP)
    assert len(dm) == 1
    text = message_text(dm[0])
    assert f"lead:{lead}" in text and f"lead:{no_email}" in text and "no email" in text
    assert bot.world.hubspot.by_email("modal@example.com") is not None


def test_the_message_shortcut_collects_emails_and_sell_urls_into_the_modal(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="jane@example.com", last_name="Jane")
    other = bot.world.sell.add("lead", email="bob@example.com", last_name="Bob")
    text = (
        "New signups: <mailto:jane@example.com|jane@example.com> and "
        f"<https://app.futuresimple.com/sales/leads/{other}|Bob's lead>. Thanks <@U0BOSS>!"
    )
    message_shortcut(bot, text)
    view = opened_view(bot)
    items_input = next(b for b in view["blocks"] if b.get("block_id") == ids.ITEMS_BLOCK)
    assert items_input["element"]["initial_value"] == f"jane@example.com\nlead:{other}"
    assert "found 2 items" in block_text(view["blocks"])
    origin = ids.decode_push_origin(view["private_metadata"])
    assert origin.source == "message" and origin.channel == CHANNEL
    submit(bot, view, items_input["element"]["initial_value"])
    dm = message_text(bot.dms(REP)[0])
    assert "Pushed to HubSpot" in dm and f"<#{CHANNEL}>" in dm
    assert bot.world.hubspot.by_email("jane@example.com") and bot.world.hubspot.by_email(
        "bob@example.com"
    )
    assert bot.world.store.links_by_sell([SellRef("lead", lead)])


def test_the_message_shortcut_explains_when_the_message_has_nothing_to_push(bot: Bot) -> None:
    sent = message_shortcut(bot, "lunch at noon? <#C1|general>")
    assert sent.status == 200
    reply = sent.reply()
    assert "found no email address or Sell record URL" in reply["text"]
    assert reply["response_type"] == "ephemeral"
    assert bot.sent("views.open") == []


def test_app_home_shows_status_threshold_approvals_conflicts_and_runs(bot: Bot) -> None:
    bot.world.sell.add("lead", email="pat@example.com", last_name="Pat", phone="1")
    bot.world.member(score=80, email="pat@example.com", lastname="Pat", phone="2")
    bot.world.sync()
    bot.command("threshold 70 please", user=REP).reply()
    bot.event(
        {
            "type": "app_home_opened",
            "user": MANAGER,
            "channel": "D0HOME",
            "tab": "home",
            "event_ts": "1.2",
        }
    )
    published = bot.sent("views.publish")
    assert len(published) == 1 and published[0]["user"] == MANAGER
    view = published[0]["view"]
    assert view["type"] == "home"
    text = block_text(view["blocks"])
    assert "Threshold *50*" in text
    assert "Pending approvals* (1)" in text and "change the engagement-score threshold" in text
    assert "Open conflicts* (1)" in text and "Phone" in text
    # the run history: status, when, what started it, its counts and how long it took
    assert "*Run history* (1 recent run)" in text
    history = [line for line in text.splitlines() if line.startswith("• :white_check_mark: ok")]
    assert len(history) == 1, text
    assert "<!date^" in history[0] and "· test ·" in history[0]
    assert "merged *1*" in history[0] and "conflicts opened *1*" in history[0]
    assert "took " in history[0]
    buttons = [
        e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [ids.APPROVE, ids.REJECT]  # a manager, and not the requester
    assert limit_problems(view["blocks"], 100) == []


def test_app_home_shows_no_approval_buttons_to_reps(bot: Bot) -> None:
    bot.command("threshold 70", user=REP).reply()
    bot.event({"type": "app_home_opened", "user": REP, "tab": "home"})
    view = bot.sent("views.publish")[0]["view"]
    assert not [b for b in view["blocks"] if b["type"] == "actions"]


def test_opening_the_messages_tab_publishes_nothing(bot: Bot) -> None:
    bot.event({"type": "app_home_opened", "user": REP, "tab": "messages"})
    assert bot.sent("views.publish") == []

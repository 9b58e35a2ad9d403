"""Record links unfurl into a card over signed HTTP: ``link_shared`` → ``chat.unfurl`` with what
``status ITEM`` says; the card's Why and Push buttons; foreign domains, forged events, slow and
failing CRMs, and hostile record text."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from bot import action_ids as ids
from sync.api import ServiceUnavailable
from sync.domain import SellRef
from tests.scenario.conftest import (
    CHANNEL,
    REP,
    Bot,
    action_ids_in,
    block_text,
    button_action,
    button_value,
    from_user,
    limit_problems,
    message_text,
    sign,
)

SELL = "https://app.futuresimple.com"
PORTAL = "https://app.hubspot.com/contacts/62515"


def share(bot: Bot, *urls: str, member: bool = True, **kwargs: Any) -> dict[str, Any]:
    """A rep posts ``urls`` in the channel; the app gets Slack's ``link_shared`` event."""
    event = bot.slack.surface.share_links(
        urls, user=REP, channel=CHANNEL, domains=ids.UNFURL_DOMAINS, **kwargs
    )
    event["is_bot_user_member"] = member
    response = bot.event(event)
    assert response.status == 200
    return event


def unfurls(bot: Bot) -> dict[str, dict[str, Any]]:
    """The cards of every successful chat.unfurl call, by URL."""
    out: dict[str, dict[str, Any]] = {}
    for call in bot.sent("chat.unfurl"):
        cards = call["args"]["unfurls"]
        out.update(json.loads(cards) if isinstance(cards, str) else cards)
    return out


def card_of(bot: Bot, url: str) -> list[dict[str, Any]]:
    cards = unfurls(bot)
    assert url in cards, f"{url} was not unfurled: {list(cards)}"
    blocks: list[dict[str, Any]] = cards[url]["blocks"]
    assert limit_problems(blocks, 50) == []
    return blocks


def click_card(
    bot: Bot, action_id: str, value: str, *, user: str = REP, shared: dict[str, Any] | None = None
) -> Any:
    """A click on a button of an unfurled card (a message attachment of the rep's message
    ``shared``, the link_shared event of it)."""
    url = bot.slack.response_url(f"unfurl{time.monotonic_ns()}")
    under = {} if shared is None else {"app_unfurl_url": shared["links"][0]["url"]}
    payload = {
        "type": "block_actions",
        **from_user(user),
        "container": {
            "type": "message_attachment",
            "message_ts": "1.000001" if shared is None else shared["message_ts"],
            "attachment_id": 1,
            "channel_id": CHANNEL,
            "is_ephemeral": False,
            "is_app_unfurl": True,
            **under,
        },
        "trigger_id": "trigger.unfurl",
        "channel": {"id": CHANNEL, "name": "general"},
        "response_url": url,
        "actions": [button_action(action_id, value)],
    }
    return bot.interactive(payload)


def linked_pair(bot: Bot) -> tuple[int, str]:
    lead = bot.world.sell.add("lead", email="ann@example.com", first_name="Ann", last_name="Lee")
    contact = bot.world.member(score=80, email="ann@example.com", lastname="Lee")
    bot.world.sync()
    assert bot.world.store.links_by_sell([SellRef("lead", lead)])
    return lead, contact


def test_a_linked_sell_lead_unfurls_with_its_hubspot_contact_and_last_sync(bot: Bot) -> None:
    lead, contact = linked_pair(bot)
    url = f"{SELL}/leads/{lead}"
    share(bot, url)
    blocks = card_of(bot, url)
    text = block_text(blocks)
    assert "*Ann Lee*" in text and "ann@example.com" in text
    assert ":link: *Linked* to HubSpot contact" in text and contact in text
    assert "synced: linked pairs keep syncing" in text  # status ITEM's own verdict
    assert "Last sync: <!date^" in text and "no open conflicts" in text
    assert action_ids_in(blocks) == [ids.UNFURL_WHY]  # a linked record has nothing to push


def test_a_hubspot_contact_link_in_either_form_unfurls_linked_to_its_sell_record(
    bot: Bot,
) -> None:
    lead, contact = linked_pair(bot)
    new_form = f"{PORTAL}/record/0-1/{contact}"
    old_form = f"{PORTAL}/contact/{contact}/"
    share(bot, new_form, old_form)
    for url in (new_form, old_form):
        text = block_text(card_of(bot, url))
        assert "HubSpot contact" in text and ":link: *Linked* to Sell" in text
        assert f"lead:{lead}" in text


def test_an_unlinked_sell_record_says_why_and_offers_a_push(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="new@example.com", last_name="New")
    url = f"{SELL}/crm/leads/{lead}"
    share(bot, url)
    blocks = card_of(bot, url)
    text = block_text(blocks)
    assert (
        "*Not linked*" in text
        and f"not linked yet: push it with /sellsync push lead:{lead}" in text
    )
    assert "Never synced" in text
    assert action_ids_in(blocks) == [ids.UNFURL_PUSH, ids.UNFURL_WHY]
    assert ids.decode_record(button_value(blocks, ids.UNFURL_PUSH)) == f"lead:{lead}"


def test_a_sell_record_without_email_says_so_and_offers_no_push(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", last_name="Nomail")
    url = f"{SELL}/leads/{lead}"
    share(bot, url)
    blocks = card_of(bot, url)
    assert "it has no email" in block_text(blocks)
    assert action_ids_in(blocks) == [ids.UNFURL_WHY]


def test_a_tombstoned_record_unfurls_as_a_tombstone(bot: Bot) -> None:
    lead, contact = linked_pair(bot)
    bot.world.sell.delete("lead", lead)
    bot.world.sync()
    url = f"{PORTAL}/record/0-1/{contact}"
    share(bot, url)
    text = block_text(card_of(bot, url))
    assert ":headstone: *Tombstone*" in text
    assert "is never created in Sell again" in text


def test_an_unknown_record_says_so(bot: Bot) -> None:
    url = f"{SELL}/contacts/987654"
    share(bot, url)
    blocks = card_of(bot, url)
    assert "sellsync knows no such record" in block_text(blocks)
    assert action_ids_in(blocks) == []


def test_links_outside_the_unfurl_domains_or_naming_no_record_are_ignored(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="x@example.com", last_name="X")
    # Slack would not even send these: the event is forged to carry them anyway
    event = bot.slack.surface.share_links(
        [
            f"https://evil.example/leads/{lead}",
            f"https://app.futuresimple.com.evil.example/leads/{lead}",
            f"{SELL}/leads/not-a-number",
            f"{SELL}/leads/99999999999999999999",
            f"{SELL}/settings",
            f"{PORTAL}/deals/1",
        ],
        user=REP,
        channel=CHANNEL,
    )
    assert bot.event(event).status == 200
    assert bot.sent("chat.unfurl") == []
    assert bot.world.sell.total_calls() == 0  # not even looked up


def test_a_link_where_the_bot_is_no_member_is_not_unfurled(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="x@example.com", last_name="X")
    share(bot, f"{SELL}/leads/{lead}", member=False)
    assert bot.sent("chat.unfurl") == []


def test_links_in_sellsync_s_own_messages_are_not_unfurled(bot: Bot) -> None:
    """Its own messages name records already (Bolt drops the app's own events)."""
    lead = bot.world.sell.add("lead", email="x@example.com", last_name="X")
    event = bot.slack.surface.share_links([f"{SELL}/leads/{lead}"], user="UBOT", channel=CHANNEL)
    assert bot.event({**event, "is_bot_user_member": True}).status == 200
    assert bot.sent("chat.unfurl") == [] and bot.world.sell.total_calls() == 0


def test_a_forged_link_shared_event_is_refused_by_the_signature_check(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="x@example.com", last_name="X")
    event = bot.slack.surface.share_links([f"{SELL}/leads/{lead}"], user=REP, channel=CHANNEL)
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": event})
    response = bot.dispatch(body, "application/json", headers=sign(body, secret="not-the-secret"))
    bot.settle()
    assert response.status == 401
    assert bot.sent("chat.unfurl") == [] and bot.world.sell.total_calls() == 0


def test_a_slow_crm_never_delays_the_event_answer(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="slow@example.com", last_name="Slow")
    gate = threading.Event()
    reads = bot.world.sell.get_records

    def slow(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(10)
        return reads(*args, **kwargs)

    bot.world.sell.get_records = slow  # type: ignore[method-assign]
    event = bot.slack.surface.share_links([f"{SELL}/leads/{lead}"], user=REP, channel=CHANNEL)
    event["is_bot_user_member"] = True
    body = json.dumps(
        {"type": "event_callback", "team_id": "T1", "event_id": "EvSlow", "event": event}
    )
    response = bot.dispatch(body, "application/json")
    assert response.status == 200  # answered while the CRM still holds the lookup
    assert bot.sent("chat.unfurl") == []
    gate.set()
    bot.settle()
    assert f"{SELL}/leads/{lead}" in unfurls(bot)


def test_a_crm_down_unfurls_a_card_that_says_so(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="down@example.com", last_name="Down")

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("Sell", "service unavailable", 503)

    bot.world.sell.get_records = down  # type: ignore[method-assign]
    url = f"{SELL}/leads/{lead}"
    share(bot, url)
    text = block_text(card_of(bot, url))
    assert "could not look this record up just now" in text and "Sell 503" in text


def test_hostile_record_text_is_escaped_and_bounded(bot: Bot) -> None:
    lead = bot.world.sell.add(
        "lead",
        email="evil@example.com",
        first_name="<!channel> *bold* <https://evil.example|click>",
        last_name="x" * 40_000,
    )
    url = f"{SELL}/leads/{lead}"
    share(bot, url)
    blocks = card_of(bot, url)
    text = block_text(blocks)
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt;" in text
    assert len(json.dumps(blocks)) < 5000


def test_a_message_with_many_links_unfurls_a_bounded_number(bot: Bot) -> None:
    leads = [bot.world.sell.add("lead", email=f"m{i}@example.com", last_name="M") for i in range(8)]
    share(bot, *(f"{SELL}/leads/{lead}" for lead in leads))
    assert len(unfurls(bot)) == 5


def test_the_why_button_answers_privately_with_the_status_text(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="why@example.com", last_name="Why")
    url = f"{SELL}/leads/{lead}"
    share(bot, url)
    value = button_value(card_of(bot, url), ids.UNFURL_WHY)
    sent = click_card(bot, ids.UNFURL_WHY, value)
    assert sent.status == 200
    reply = sent.reply()
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert f"not linked yet: push it with /sellsync push lead:{lead}" in message_text(reply)
    assert "Sell: lead:" in message_text(reply)  # the facts of status ITEM


def test_the_push_button_pushes_the_record_and_reports_privately(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="push@example.com", last_name="Push")
    url = f"{SELL}/leads/{lead}"
    shared = share(bot, url)
    value = button_value(card_of(bot, url), ids.UNFURL_PUSH)
    sent = click_card(bot, ids.UNFURL_PUSH, value, shared=shared)
    reply = sent.reply()
    assert reply["response_type"] == "ephemeral"
    assert "Pushed to HubSpot" in message_text(reply)
    contact = bot.world.hubspot.by_email("push@example.com")
    assert contact is not None
    assert bot.world.store.links_by_sell([SellRef("lead", lead)])
    # the card under the link is unfurled again: linked now, and no Push button any more
    calls = bot.sent("chat.unfurl")
    assert len(calls) == 2 and calls[1]["args"]["ts"] == shared["message_ts"]
    card = card_of(bot, url)
    assert ":link: *Linked* to HubSpot contact" in block_text(card) and contact.id in block_text(
        card
    )
    assert action_ids_in(card) == [ids.UNFURL_WHY]


def test_a_push_from_a_card_slack_does_not_place_refreshes_nothing(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="nowhere@example.com", last_name="Nowhere")
    click_card(bot, ids.UNFURL_PUSH, ids.encode_record(f"lead:{lead}")).reply()
    assert bot.world.hubspot.by_email("nowhere@example.com") is not None
    assert bot.sent("chat.unfurl") == []


@pytest.mark.parametrize("value", ["record:lead:abc", "lead:1", "record:hubspot:1", "x" * 3000])
def test_a_forged_button_value_is_out_of_date_and_does_nothing(bot: Bot, value: str) -> None:
    sent = click_card(bot, ids.UNFURL_PUSH, value)
    assert "out of date" in message_text(sent.reply())
    assert bot.world.hubspot.total_calls() == 0

"""Through signed requests: messages link to the records in Sell and HubSpot, and conflict pages
never lead past the last page."""

from __future__ import annotations

from datetime import timedelta

from bot import action_ids as ids
from sync.domain import Conflict, SellRef
from tests.scenario.conftest import MANAGER, REP, Bot, action_ids_in, message_text


def hubspot_url(bot: Bot, contact_id: str) -> str:
    url = bot.world.hubspot.contact_url(contact_id)
    assert url is not None
    return url


def test_a_push_links_each_created_contact_and_its_sell_record(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="new@example.com", last_name="New")
    reply = bot.command(f"push lead:{lead}", user=REP).reply()
    contact = bot.world.hubspot.by_email("new@example.com")
    assert contact is not None
    sell = SellRef("lead", lead)
    assert (
        f"<{sell.web_url}|{sell}> → HubSpot <{hubspot_url(bot, contact.id)}|{contact.id}>"
        in message_text(reply)
    )


def test_conflicts_and_status_link_both_records(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="pat@example.com", last_name="Pat", phone="1")
    cid = bot.world.member(score=80, email="pat@example.com", lastname="Pat", phone="2")
    bot.world.sync()
    sell = SellRef("lead", lead)
    both = f"<{sell.web_url}|{sell}> ↔ HubSpot <{hubspot_url(bot, cid)}|{cid}>"
    assert both in message_text(bot.command("conflicts", user=MANAGER).reply())
    status = message_text(bot.command("status pat@example.com", user=REP).reply())
    assert f"Sell {both}" in status


def open_conflicts(bot: Bot, n: int) -> None:
    store, now = bot.world.store, bot.world.clock.now()
    for i in range(1, n + 1):
        store.open_conflict(
            Conflict(
                SellRef("lead", i), f"9{i}", "phone", "a", "b", opened_at=now + timedelta(seconds=i)
            )
        )


def test_a_page_past_the_end_shows_the_last_page_without_next(bot: Bot) -> None:
    open_conflicts(bot, 25)
    reply = bot.command("conflicts 999", user=MANAGER).reply()
    text = message_text(reply)
    assert "21–25 of 25" in text and "none on this page" not in text
    buttons = action_ids_in(reply["blocks"])
    assert ids.CONFLICTS_NEXT not in buttons
    pager = next(b for b in reply["blocks"] if b.get("block_id") == ids.PAGER_BLOCK)
    assert [ids.decode_page(e["value"]) for e in pager["elements"]] == [10]
    # an old "Next" button pointing past the end lands on the last page too
    later = bot.click(ids.CONFLICTS_NEXT, ids.encode_page(990), user=MANAGER, ephemeral=True)
    assert "21–25 of 25" in message_text(later.reply())

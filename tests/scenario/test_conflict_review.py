"""A conflict button writes only the value the manager reviewed (issue 14 item 2).

Keep Sell and Use HubSpot read the chosen side again before writing: when its value is no longer
the one the conflict showed, nothing is written, the conflict shows the fresh value and the
manager is asked to review again. A button also carries a tag of the two values it showed, so a
sync that refreshed the conflict between the look and the click is caught too. The audit says
what was written.
"""

from __future__ import annotations

from bot import action_ids as ids
from sync.domain import ConflictStatus
from tests.scenario.conftest import MANAGER, Bot, button_value, message_text
from tests.scenario.test_conflicts import make_conflict


def shown_button(bot: Bot, action_id: str) -> str:
    """The value of ``action_id``'s button on the conflicts page as a manager sees it now."""
    page = bot.command("conflicts", user=MANAGER).reply()
    return button_value(page["blocks"], action_id)


def audit_of(bot: Bot, kind: str) -> list[dict[str, object]]:
    return [e.detail for e in bot.world.store.audit_since(None) if e.kind == kind]


def test_use_hubspot_refuses_a_hubspot_value_changed_since_it_was_shown(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    button = shown_button(bot, ids.USE_HUBSPOT)
    bot.world.hubspot.set(cid, phone="+1 555 0777")  # a public form, after the manager looked

    reply = bot.click(ids.USE_HUBSPOT, button, user=MANAGER, ephemeral=True).reply()
    text = message_text(reply)
    assert "HubSpot's value changed to '+1 555 0777' since you looked" in text
    assert "review again" in text and "+1 555 0777" in text  # the page shows the fresh value
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"  # nothing written
    (conflict,) = bot.world.store.list_conflicts()
    assert conflict.status is ConflictStatus.OPEN and conflict.hubspot_value == "+1 555 0777"
    assert audit_of(bot, "conflict_resolved") == []
    assert audit_of(bot, "conflict_changed")[0]["now"] == "+1 555 0777"

    # the fresh page's button writes the fresh value, and the audit says so
    again = bot.click(ids.USE_HUBSPOT, button_value(reply["blocks"], ids.USE_HUBSPOT))
    assert "used HubSpot's value" in message_text(again.reply())
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0777"
    (resolved,) = audit_of(bot, "conflict_resolved")
    assert resolved["written"] == "+1 555 0777" and resolved["to"] == "sell"


def test_keep_sell_refuses_a_sell_value_changed_since_it_was_shown(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    button = shown_button(bot, ids.KEEP_SELL)
    bot.world.sell.edit("lead", lead, phone="+1 555 0333")

    reply = bot.click(ids.KEEP_SELL, button, user=MANAGER, ephemeral=True).reply()
    assert "Sell's value changed to '+1 555 0333' since you looked" in message_text(reply)
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0199"  # nothing written
    (conflict,) = bot.world.store.list_conflicts()
    assert conflict.sell_value == "+1 555 0333" and audit_of(bot, "conflict_resolved") == []


def test_a_conflict_a_sync_refreshed_after_it_was_shown_is_not_resolved_unseen(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    button = shown_button(bot, ids.USE_HUBSPOT)
    bot.world.hubspot.set(cid, phone="+1 555 0888")
    bot.world.sync()  # refreshes the open conflict to HubSpot's new value
    (conflict,) = bot.world.store.list_conflicts()
    assert conflict.hubspot_value == "+1 555 0888"

    reply = bot.click(ids.USE_HUBSPOT, button, user=MANAGER, ephemeral=True).reply()
    assert "changed since you looked" in message_text(reply)
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"
    assert bot.world.store.count_conflicts() == 1 and audit_of(bot, "conflict_resolved") == []


def test_the_audit_of_keep_sell_names_the_value_written_and_where(bot: Bot) -> None:
    _, cid = make_conflict(bot)
    bot.click(ids.KEEP_SELL, shown_button(bot, ids.KEEP_SELL), user=MANAGER).reply()
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0100"
    (resolved,) = audit_of(bot, "conflict_resolved")
    assert resolved == {
        "field": "phone",
        "action": "keep_sell",
        "written": "+1 555 0100",
        "to": "hubspot",
    }

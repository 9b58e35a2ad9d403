"""``/sellsync conflicts``: paged per-field diffs; Keep Sell / Use HubSpot / Dismiss write the
chosen value to the right side; anyone views, only managers resolve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from bot import action_ids as ids
from sync.domain import Conflict, ConflictStatus, SellRef
from sync.errors import ServiceUnavailable
from sync.ports import ContactWrite, WriteResult
from tests.scenario.conftest import (
    MANAGER,
    MANAGER2,
    REP,
    Bot,
    action_ids_in,
    button_value,
    decision_writes,
    limit_problems,
    message_text,
    reads_meet,
)


def make_conflict(
    bot: Bot, *, sell_phone: str = "+1 555 0100", hub_phone: str = "+1 555 0199"
) -> tuple[int, str]:
    """A Sell lead and a HubSpot list member with one email and different phones, merged by a
    sync: one open conflict on ``phone``. Returns (lead id, HubSpot id)."""
    lead = bot.world.sell.add("lead", email="pat@example.com", last_name="Pat", phone=sell_phone)
    cid = bot.world.member(score=80, email="pat@example.com", lastname="Pat", phone=hub_phone)
    bot.world.sync()
    assert bot.world.store.count_conflicts() == 1
    return lead, cid


def test_conflicts_show_a_per_field_diff_with_buttons_for_managers(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    reply = bot.command("conflicts", user=MANAGER).reply()
    text = message_text(reply)
    assert "Open conflicts* 1–1 of 1" in text
    assert f"lead:{lead}" in text and cid in text and "Phone" in text
    assert "+1 555 0100" in text and "+1 555 0199" in text
    assert action_ids_in(reply["blocks"]) == [ids.KEEP_SELL, ids.USE_HUBSPOT, ids.DISMISS]
    assert reply["response_type"] == "ephemeral"


def test_anyone_views_conflicts_but_only_managers_resolve(bot: Bot) -> None:
    lead, _ = make_conflict(bot)
    reply = bot.command("conflicts", user=REP).reply()
    assert "+1 555 0100" in message_text(reply) and "Only managers" in message_text(reply)
    assert action_ids_in(reply["blocks"]) == []
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None
    refused = bot.click(
        ids.KEEP_SELL, ids.encode_conflict(conflict_id), user=REP, ephemeral=True
    ).reply()
    assert (
        "only managers can resolve conflicts" in refused["text"]
        and refused["replace_original"] is False
    )
    assert bot.world.store.count_conflicts() == 1
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"


def test_keep_sell_writes_sells_value_to_hubspot(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None
    reply = bot.click(
        ids.KEEP_SELL, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True
    ).reply()
    assert reply["replace_original"] is True
    assert "kept Sell's value" in message_text(reply) and "No open conflicts" in message_text(reply)
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0100"
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"
    assert bot.world.store.count_conflicts() == 0


def test_use_hubspot_writes_hubspots_value_to_sell(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None
    reply = bot.click(
        ids.USE_HUBSPOT, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True
    ).reply()
    assert "used HubSpot's value" in message_text(reply)
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0199"
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0199"


def test_dismiss_leaves_both_values_and_a_second_click_says_it_is_done(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None
    bot.click(ids.DISMISS, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True).reply()
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0199"
    again = bot.click(
        ids.USE_HUBSPOT, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True
    ).reply()
    assert "already resolved" in message_text(again)
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"


def test_a_list_of_500_conflicts_is_paged_within_slack_limits(bot: Bot) -> None:
    store, now = bot.world.store, bot.world.clock.now()
    for i in range(1, 501):
        store.open_conflict(
            Conflict(
                SellRef("lead", i),
                f"9{i}",
                "phone",
                f"s{i}",
                f"h{i}",
                opened_at=now + timedelta(seconds=i),
            )
        )
    first = bot.command("conflicts", user=MANAGER).reply()
    assert "1–10 of 500" in message_text(first)
    assert limit_problems(first["blocks"], 50) == []
    assert ids.CONFLICTS_PREV not in action_ids_in(first["blocks"])
    sent = bot.click(ids.CONFLICTS_NEXT, ids.encode_page(10), user=MANAGER, ephemeral=True)
    second = sent.reply()
    assert second["replace_original"] is True and "11–20 of 500" in message_text(second)
    assert "`s11`" in message_text(second)
    last = bot.command("conflicts 50", user=MANAGER).reply()
    assert "491–500 of 500" in message_text(last) and ids.CONFLICTS_NEXT not in action_ids_in(
        last["blocks"]
    )
    for reply in (first, second, last):
        assert len(reply["blocks"]) <= 50


def test_resolving_the_last_conflict_of_a_page_shows_the_previous_page(bot: Bot) -> None:
    store, now = bot.world.store, bot.world.clock.now()
    for i in range(1, 12):
        store.open_conflict(
            Conflict(
                SellRef("lead", i), f"9{i}", "phone", "a", "b", opened_at=now + timedelta(seconds=i)
            )
        )
    eleventh = store.list_conflicts(offset=10, limit=10)[0]
    assert eleventh.id is not None
    # lead:11 is not linked, so only Dismiss can close it
    reply = bot.click(
        ids.DISMISS, ids.encode_conflict(eleventh.id, 10), user=MANAGER, ephemeral=True
    ).reply()
    assert "1–10 of 10" in message_text(reply)


def test_two_managers_clicking_keep_sell_and_use_hubspot_at_once_write_one_value(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both clicks read the conflict while it is open and meet (a barrier) right after reading
    both sides: only one decision may write, the other is told who decided."""
    lead, cid = make_conflict(bot)
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None
    world = bot.world
    reads_meet(world, monkeypatch)
    writes_before = decision_writes(world)
    value = ids.encode_conflict(conflict_id)
    keep = bot.click(ids.KEEP_SELL, value, user=MANAGER, ephemeral=True, settle=False)
    use = bot.click(ids.USE_HUBSPOT, value, user=MANAGER2, ephemeral=True, settle=False)
    bot.settle()

    writes = decision_writes(world) - writes_before
    assert writes == 1  # one CRM write, for the winner only
    resolved = world.store.get_conflict(conflict_id)
    assert resolved is not None and resolved.status is not ConflictStatus.OPEN
    winner, loser = (keep, use) if resolved.status is ConflictStatus.KEPT_SELL else (use, keep)
    expected = "+1 555 0100" if resolved.status is ConflictStatus.KEPT_SELL else "+1 555 0199"
    assert world.sell.value("lead", lead, "phone") == expected
    assert world.hubspot.value(cid, "phone") == expected  # the same value on both sides
    assert "already resolved" not in message_text(winner.reply())
    told = message_text(loser.reply())
    assert f"already resolved by <@{resolved.resolved_by}>" in told
    audit = [e.kind for e in world.store.audit_since(None)]
    assert audit.count("conflict_resolved") == 1


def test_a_refused_write_leaves_the_conflict_open_and_says_why(bot: Bot) -> None:
    lead, cid = make_conflict(bot)
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None
    bot.world.sell.fail_updates[("lead", lead)] = "phone is locked by a workflow"
    reply = bot.click(
        ids.USE_HUBSPOT, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True
    ).reply()
    text = message_text(reply)
    assert "Sell refused the value" in text and "phone is locked by a workflow" in text
    assert f"conflict #{conflict_id} was not resolved, it is open again" in text
    still = bot.world.store.get_conflict(conflict_id)
    assert still is not None and still.status is ConflictStatus.OPEN and still.resolved_by is None
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0199"
    audit = [e.kind for e in bot.world.store.audit_since(None)]
    assert "conflict_resolution_failed" in audit and "conflict_resolved" not in audit
    # once the cause is gone, the same button resolves it
    del bot.world.sell.fail_updates[("lead", lead)]
    again = bot.click(
        ids.USE_HUBSPOT, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True
    ).reply()
    assert "used HubSpot's value" in message_text(again)
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0199"


def test_a_crm_outage_during_the_write_reopens_the_conflict(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead, cid = make_conflict(bot)
    conflict_id = bot.world.store.list_conflicts()[0].id
    assert conflict_id is not None

    def down(writes: Sequence[ContactWrite]) -> list[WriteResult]:
        raise ServiceUnavailable("HubSpot", "503 after 5 attempts")

    monkeypatch.setattr(bot.world.hubspot, "update_contacts", down)
    reply = bot.click(
        ids.KEEP_SELL, ids.encode_conflict(conflict_id), user=MANAGER, ephemeral=True
    ).reply()
    assert "503 after 5 attempts" in message_text(reply) and "open again" in message_text(reply)
    assert bot.world.store.count_conflicts() == 1
    assert bot.world.hubspot.value(cid, "phone") == "+1 555 0199"
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"
    listed = bot.command("conflicts", user=MANAGER).reply()
    assert "+1 555 0100" in message_text(listed) and "+1 555 0199" in message_text(listed)


def make_held_link(bot: Bot) -> tuple[SellRef, SellRef, str]:
    """Two linked pairs, then HubSpot merges the first contact into the second (L2): the first
    link is held. Returns (held, the survivor's record, the survivor's id)."""
    world = bot.world
    held = world.sell.add("lead", email="ada@example.com", last_name="Lovelace")
    first = world.member(score=80, email="ada@example.com", lastname="Lovelace")
    owner = world.sell.add("contact", email="ada.l@example.com", last_name="Lovelace")
    survivor = world.member(score=80, email="ada.l@example.com", lastname="Lovelace")
    world.sync()
    world.hubspot.merge(survivor, first)
    world.sync()
    return SellRef("lead", held), SellRef("contact", owner), survivor


def test_l2_a_link_conflict_is_listed_and_a_manager_keeps_one_link_with_a_click(
    bot: Bot,
) -> None:
    held, owner, survivor = make_held_link(bot)
    rep_view = bot.command("conflicts", user=REP).reply()
    assert "Link conflicts* (1)" in message_text(rep_view)
    assert action_ids_in(rep_view["blocks"]) == []
    reply = bot.command("conflicts", user=MANAGER).reply()
    assert action_ids_in(reply["blocks"]) == [ids.KEEP_HELD_LINK, ids.KEEP_OTHER_LINK]
    refused = bot.click(
        ids.KEEP_HELD_LINK, ids.encode_link_choice(held, held), user=REP, ephemeral=True
    ).reply()
    assert "only managers can resolve link conflicts" in refused["text"]
    value = button_value(reply["blocks"], ids.KEEP_HELD_LINK)
    done = bot.click(ids.KEEP_HELD_LINK, value, user=MANAGER, ephemeral=True).reply()
    assert done["replace_original"] is True
    assert f"kept the link of {held}; {owner} is no longer linked" in message_text(done)
    assert "Link conflicts" not in message_text(done)
    assert bot.world.store.links_by_hubspot([survivor])[survivor].sell == held
    again = bot.click(ids.KEEP_OTHER_LINK, ids.encode_link_choice(held, owner), user=MANAGER2)
    assert "already resolved" in message_text(again.reply())
    assert bot.world.store.links_by_hubspot([survivor])[survivor].sell == held


def test_l2_a_forged_link_choice_is_out_of_date_and_changes_nothing(bot: Bot) -> None:
    held, _owner, survivor = make_held_link(bot)
    for value in ("link:lead:x:-", f"link:{held.kind}:{held.id}:contact:99999"):
        reply = bot.click(ids.KEEP_OTHER_LINK, value, user=MANAGER, ephemeral=True).reply()
        assert "out of date" in reply["text"] or "not one of the two" in reply["text"]
    assert bot.world.store.links_by_sell([held])[held].hubspot_id == survivor
    assert bot.world.service.held_links().total == 1

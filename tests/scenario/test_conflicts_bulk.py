"""Deciding every open conflict of one field at once, over signed HTTP: the field's button opens a
confirmation modal naming the count; its submission decides exactly those conflicts, each
audited on its own; concurrent decisions apply one decision per conflict; non-managers are
refused and nothing changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot import action_ids as ids
from sync.domain import ConflictStatus
from tests.scenario.conftest import (
    MANAGER,
    MANAGER2,
    REP,
    Bot,
    Sent,
    action_ids_in,
    block_text,
    button_value,
    decision_writes,
    from_user,
    message_text,
    reads_meet,
)


def phone_conflicts(bot: Bot, n: int) -> list[tuple[int, str]]:
    """``n`` linked pairs whose phones differ: ``n`` open phone conflicts. (lead, contact) ids."""
    pairs = []
    for i in range(n):
        email = f"p{i}@example.com"
        lead = bot.world.sell.add("lead", email=email, last_name=f"P{i}", phone=f"+1 555 01{i:02}")
        cid = bot.world.member(score=80, email=email, lastname=f"P{i}", phone=f"+1 555 09{i:02}")
        pairs.append((lead, cid))
    bot.world.sync()
    assert bot.world.store.count_conflicts() == n
    return pairs


def open_modal(bot: Bot, *, user: str = MANAGER) -> dict[str, Any]:
    listed = bot.command("conflicts", user=user).reply()
    value = button_value(listed["blocks"], ids.CONFLICTS_OF_FIELD)
    bot.click(ids.CONFLICTS_OF_FIELD, value, user=user, ephemeral=True)
    opened = bot.sent("views.open")
    assert opened, "no modal was opened"
    view = opened[-1]["view"]
    return view if isinstance(view, dict) else json.loads(view)


def submit(
    bot: Bot, view: dict[str, Any], choice: str | None, *, user: str = MANAGER, settle: bool = True
) -> Sent:
    selected = {"selected_option": {"value": choice}} if choice else {"selected_option": None}
    payload = {
        "type": "view_submission",
        **from_user(user),
        "trigger_id": "trigger.submit",
        "view": {
            "id": "VFIELD",
            "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "hash": "h",
            "state": {
                "values": {
                    ids.FIELD_ACTION_BLOCK: {
                        ids.FIELD_ACTION_INPUT: {"type": "radio_buttons", **selected}
                    }
                }
            },
        },
    }
    return bot.interactive(payload, settle=settle)


def resolutions(bot: Bot) -> list[str]:
    return [e.subject for e in bot.world.store.audit_since(None) if e.kind == "conflict_resolved"]


def test_conflicts_bulk_the_modal_names_the_count_and_each_decision_is_audited(bot: Bot) -> None:
    pairs = phone_conflicts(bot, 3)
    listed = bot.command("conflicts", user=MANAGER).reply()
    assert "All Phone (3)…" in message_text(listed)
    view = open_modal(bot)
    assert view["callback_id"] == ids.FIELD_DECISION_VIEW
    assert view["title"]["text"] == "Decide 3 conflicts" and view["submit"]["text"] == "Decide 3"
    assert "Decide all *3 open conflicts* of *Phone* at once" in block_text(view["blocks"])
    sent = submit(bot, view, "keep_sell")
    assert sent.status == 200 and not sent.body  # the modal closes
    for i, (lead, cid) in enumerate(pairs):
        assert bot.world.hubspot.value(cid, "phone") == f"+1 555 01{i:02}"
        assert bot.world.sell.value("lead", lead, "phone") == f"+1 555 01{i:02}"
    assert bot.world.store.count_conflicts() == 0
    assert sorted(resolutions(bot)) == sorted(f"lead:{lead}|{cid}" for lead, cid in pairs)
    dm = message_text(bot.dms(MANAGER)[-1])
    assert "*Phone*: 3 conflicts decided with *Keep Sell*" in dm


def test_conflicts_bulk_conflicts_opened_after_the_confirmation_stay_open(bot: Bot) -> None:
    phone_conflicts(bot, 2)
    view = open_modal(bot)
    lead = bot.world.sell.add("lead", email="late@example.com", last_name="L", phone="+1 555 0177")
    bot.world.member(score=80, email="late@example.com", lastname="L", phone="+1 555 0988")
    bot.world.sync()
    assert bot.world.store.count_conflicts() == 3
    submit(bot, view, "dismiss")
    [left] = bot.world.store.list_conflicts()
    assert left.sell.id == lead and left.status is ConflictStatus.OPEN
    assert "2 conflicts decided with *Dismiss*" in message_text(bot.dms(MANAGER)[-1])


def test_conflicts_bulk_non_managers_get_no_button_and_are_refused(bot: Bot) -> None:
    pairs = phone_conflicts(bot, 2)
    listed = bot.command("conflicts", user=REP).reply()
    assert ids.CONFLICTS_OF_FIELD not in action_ids_in(listed["blocks"])
    forged = bot.click(
        ids.CONFLICTS_OF_FIELD, ids.encode_field("phone"), user=REP, ephemeral=True
    ).reply()
    assert "Only managers can resolve conflicts" in message_text(forged)
    assert bot.sent("views.open") == []
    view = open_modal(bot, user=MANAGER)
    submit(bot, view, "use_hubspot", user=REP)  # a forged submission
    assert "only managers can resolve conflicts" in message_text(bot.dms(REP)[-1])
    assert bot.world.store.count_conflicts() == 2 and resolutions(bot) == []
    lead, _ = pairs[0]
    assert bot.world.sell.value("lead", lead, "phone") == "+1 555 0100"


def test_conflicts_bulk_a_submission_without_a_decision_is_refused_in_the_modal(bot: Bot) -> None:
    phone_conflicts(bot, 2)
    view = open_modal(bot)
    sent = submit(bot, view, None)
    assert sent.body["response_action"] == "errors"
    assert ids.FIELD_ACTION_BLOCK in sent.body["errors"]
    assert bot.world.store.count_conflicts() == 2


def test_conflicts_bulk_two_managers_deciding_at_once_apply_one_decision_per_conflict(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both decisions read each conflict while it is open and meet (a barrier) right after
    reading both sides: for each conflict only one decision may write."""
    pairs = phone_conflicts(bot, 3)
    view = open_modal(bot)
    world = bot.world
    reads_meet(world, monkeypatch)
    writes_before = decision_writes(world)
    submit(bot, view, "keep_sell", user=MANAGER, settle=False)
    submit(bot, view, "use_hubspot", user=MANAGER2, settle=False)
    bot.settle()
    writes = decision_writes(world) - writes_before
    assert writes == 3  # one write per conflict, by whichever decision closed it
    assert world.store.count_conflicts() == 0
    assert sorted(resolutions(bot)) == sorted(f"lead:{lead}|{cid}" for lead, cid in pairs)
    for lead, cid in pairs:  # both sides agree, on one decision's value
        assert world.sell.value("lead", lead, "phone") == world.hubspot.value(cid, "phone")
    told = message_text(bot.dms(MANAGER)[-1]) + message_text(bot.dms(MANAGER2)[-1])
    assert "another manager decided first" in told

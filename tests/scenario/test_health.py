"""The Health inbox over signed HTTP: a record whose write failed on two runs in a row (or an
event that failed three times) is listed with its reason in words; managers retry or ignore
it (audited), anyone else is told why nothing changed; App Home and the summary show it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bot import action_ids as ids
from bot.blocks.runs import summary_message
from sync.events import HubSpotEvent
from sync.ports import ContactWrite, WriteResult
from tests.scenario.conftest import (
    MANAGER,
    MANAGER2,
    REP,
    Bot,
    action_ids_in,
    block_text,
    button_value,
    limit_problems,
    message_text,
)

REFUSAL = "A contact with email sam@example.com already exists"


def failing_lead(bot: Bot, *, runs: int = 2) -> tuple[int, str]:
    """A linked lead whose new email HubSpot refuses (another contact has it), on ``runs``
    runs in a row. Returns (lead id, its HubSpot contact id)."""
    world = bot.world
    lead = world.sell.add("lead", email="pat@example.com", last_name="Pat")
    cid = world.member(score=80, email="pat@example.com", lastname="Pat")
    world.hubspot.add_contact(email="sam@example.com", lastname="Sam")
    world.sync()
    world.sell.edit("lead", lead, email="sam@example.com")
    for _ in range(runs):
        report = world.sync()
        assert [e.item for e in report.errors] == [f"lead:{lead}"]
    return lead, cid


def audit_kinds(bot: Bot) -> list[str]:
    return [e.kind for e in bot.world.store.audit_since(None)]


def test_health_lists_a_record_after_two_failed_runs_with_hubspots_own_message(bot: Bot) -> None:
    world = bot.world
    lead = world.sell.add("lead", email="pat@example.com", last_name="Pat")
    world.member(score=80, email="pat@example.com", lastname="Pat")
    world.hubspot.add_contact(email="sam@example.com", lastname="Sam")
    world.sync()
    world.sell.edit("lead", lead, email="sam@example.com")
    world.sync()
    once = bot.command("health", user=REP).reply()
    assert "Nothing keeps failing" in message_text(once)  # one failed run is not a streak
    world.sync()
    reply = bot.command("health", user=REP).reply()
    text = message_text(reply)
    assert f"lead:{lead}" in text
    assert f"Refused by HubSpot: {REFUSAL}" in text
    assert "Failed 2 times · first <!date^" in text and "· last <!date^" in text
    assert "Only managers can retry or ignore." in text
    assert action_ids_in(reply["blocks"]) == []  # a rep sees no buttons
    manager = bot.command("health", user=MANAGER).reply()
    assert action_ids_in(manager["blocks"]) == [ids.HEALTH_RETRY, ids.HEALTH_IGNORE]
    assert button_value(manager["blocks"], ids.HEALTH_RETRY) == f"health:lead:{lead}"


def test_health_retry_now_runs_the_fixed_record_through_the_sync_and_clears_it(
    bot: Bot,
) -> None:
    lead, cid = failing_lead(bot)
    bot.world.sell.edit("lead", lead, email="pat.new@example.com")  # fixed in Sell
    listed = bot.command("health", user=MANAGER).reply()
    value = button_value(listed["blocks"], ids.HEALTH_RETRY)
    reply = bot.click(ids.HEALTH_RETRY, value, user=MANAGER, ephemeral=True).reply()
    text = message_text(reply)
    assert "went through the sync" in text and "Nothing keeps failing" in text
    assert bot.world.hubspot.value(cid, "email") == "pat.new@example.com"
    assert bot.world.store.health_record(f"lead:{lead}") is None
    assert audit_kinds(bot).count("health_retry") == 1


def test_health_a_retry_that_fails_again_says_why_and_keeps_the_entry(bot: Bot) -> None:
    lead, _ = failing_lead(bot)
    value = ids.encode_health(f"lead:{lead}")
    reply = bot.click(ids.HEALTH_RETRY, value, user=MANAGER, ephemeral=True).reply()
    text = message_text(reply)
    assert f"failed again: Refused by HubSpot: {REFUSAL}" in text
    entry = bot.world.store.health_record(f"lead:{lead}")
    assert entry is not None and entry.failures == 3  # the retry was a run like any other
    assert "Failed 3 times" in text


def test_health_a_non_managers_clicks_change_nothing_and_say_why(bot: Bot) -> None:
    lead, _ = failing_lead(bot)
    runs_before = len(bot.world.store.recent_runs(100))
    value = ids.encode_health(f"lead:{lead}")
    retry = bot.click(ids.HEALTH_RETRY, value, user=REP, ephemeral=True).reply()
    assert "only managers can retry a failing record" in message_text(retry)
    ignore = bot.click(ids.HEALTH_IGNORE, value, user=REP, ephemeral=True).reply()
    assert "only managers can ignore a failing record" in message_text(ignore)
    entry = bot.world.store.health_record(f"lead:{lead}")
    assert entry is not None and entry.ignored_at is None and entry.failures == 2
    assert len(bot.world.store.recent_runs(100)) == runs_before  # no retry ran
    assert "health_retry" not in audit_kinds(bot) and "health_ignored" not in audit_kinds(bot)


def test_health_ignore_is_audited_once_and_kept_while_the_record_keeps_failing(
    bot: Bot,
) -> None:
    lead, cid = failing_lead(bot)
    value = ids.encode_health(f"lead:{lead}")
    first = bot.click(ids.HEALTH_IGNORE, value, user=MANAGER, ephemeral=True).reply()
    assert "is ignored until it syncs again" in message_text(first)
    assert "Nothing keeps failing" in message_text(first)
    assert "1 ignored record not listed" in message_text(first)
    second = bot.click(ids.HEALTH_IGNORE, value, user=MANAGER2, ephemeral=True).reply()
    assert f"was already ignored by <@{MANAGER}>" in message_text(second)
    assert audit_kinds(bot).count("health_ignored") == 1
    bot.world.sync()  # fails again: still ignored
    assert "Nothing keeps failing" in message_text(bot.command("health", user=REP).reply())
    # once it syncs, the entry (and its Ignore) is gone; failing again starts afresh
    bot.world.sell.edit("lead", lead, email="pat.new@example.com")
    bot.world.sync()
    assert bot.world.store.health_record(f"lead:{lead}") is None
    assert bot.world.hubspot.value(cid, "email") == "pat.new@example.com"


def test_health_hostile_crm_text_is_escaped_and_bounded(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = "<!channel> <https://evil.example|click here> *bold* `tick` " + "x" * 5000

    def refuse(writes: Sequence[ContactWrite]) -> list[WriteResult]:
        return [WriteResult(w.key, id=w.id, error=hostile) for w in writes]

    world = bot.world
    lead = world.sell.add("lead", email="pat@example.com", last_name="Pat", phone="1")
    world.member(score=80, email="pat@example.com", lastname="Pat", phone="1")
    world.sync()
    world.sell.edit("lead", lead, phone="2")
    monkeypatch.setattr(world.hubspot, "update_contacts", refuse)
    world.sync()
    world.sync()
    reply = bot.command("health", user=MANAGER).reply()
    text = message_text(reply)
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "<https://evil.example|" not in text
    assert limit_problems(reply["blocks"], 50) == []
    assert len(text) < 3000


def test_health_lists_an_event_that_failed_three_times_and_retries_it(bot: Bot) -> None:
    world = bot.world
    lead = world.sell.add("lead", email="pat@example.com", last_name="Pat")
    cid = world.member(score=80, email="pat@example.com", lastname="Pat")
    world.sync()
    store = world.store
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    store.store_batch(
        [HubSpotEvent(77, "contact.propertyChange", cid, at, property_name="lastname")]
    )
    for _ in range(3):  # a worker claims it and fails it, three times
        [event] = store.claim_due(10, owner="w", until=at + timedelta(minutes=1))
        store.mark_failed([event.id], owner="w", reason="refused by Sell", next_attempt_at=at)
    reply = bot.command("health", user=MANAGER).reply()
    text = message_text(reply)
    assert f"HubSpot event #{event.id}" in text and f"lead:{lead}" in text
    assert "Refused by Sell" in text and "Failed 3 times" in text
    value = button_value(reply["blocks"], ids.HEALTH_RETRY)
    assert value == f"health:event:{event.id}"
    reads = world.hubspot.calls["batch_read"]
    retried = bot.click(ids.HEALTH_RETRY, value, user=MANAGER, ephemeral=True).reply()
    assert "went through the sync" in message_text(retried)
    assert world.hubspot.calls["batch_read"] > reads  # the contact it names was read again
    assert store.failing(3) == [] and store.depth() == 0  # the event is applied
    assert "health_retry" in audit_kinds(bot)


def test_health_app_home_and_the_summary_count_what_keeps_failing(bot: Bot) -> None:
    lead, _ = failing_lead(bot)
    bot.event({"type": "app_home_opened", "user": MANAGER, "tab": "home"})
    view = bot.sent("views.publish")[-1]["view"]
    text = block_text(view["blocks"])
    assert "*Records that keep failing* (1)" in text and f"lead:{lead}" in text
    assert ids.HEALTH_RETRY in action_ids_in(view["blocks"])
    assert limit_problems(view["blocks"], 100) == []
    summary = bot.world.service.summary_since(None)
    assert summary.failing == 1
    assert "1 record keeps failing" in message_text(summary_message(summary).to_dict())


def test_health_an_events_failing_record_is_listed_once_and_its_retry_says_why(bot: Bot) -> None:
    lead, cid = failing_lead(bot)
    store = bot.world.store
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    store.store_batch([HubSpotEvent(78, "contact.propertyChange", cid, at, property_name="email")])
    for _ in range(3):  # a worker claims it and fails it, three times
        [event] = store.claim_due(10, owner="w", until=at + timedelta(minutes=1))
        store.mark_failed([event.id], owner="w", reason="refused by HubSpot", next_attempt_at=at)
    reply = bot.command("health", user=MANAGER).reply()
    text = message_text(reply)
    assert "1 record keeps failing" in text  # the event stands for its record
    assert f"HubSpot event #{event.id}" in text and f"Refused by HubSpot: {REFUSAL}" in text
    value = ids.encode_health(f"event:{event.id}")
    again = bot.click(ids.HEALTH_RETRY, value, user=MANAGER, ephemeral=True).reply()
    assert f"failed again: Refused by HubSpot: {REFUSAL}" in message_text(again)
    [still] = store.failing(3)
    assert still.id == event.id and still.attempts == 4
    bot.world.sell.edit("lead", lead, email="pat.new@example.com")
    done = bot.click(ids.HEALTH_RETRY, value, user=MANAGER, ephemeral=True).reply()
    assert "went through the sync" in message_text(done)
    assert store.failing(1) == [] and store.health_record(f"lead:{lead}") is None
    assert bot.world.hubspot.value(cid, "email") == "pat.new@example.com"


def test_health_ignore_from_app_home_tells_by_dm_and_republishes_the_tab(bot: Bot) -> None:
    lead, _ = failing_lead(bot)
    published = len(bot.sent("views.publish"))
    bot.click(ids.HEALTH_IGNORE, ids.encode_health(f"lead:{lead}"), user=MANAGER, from_home=True)
    assert "is ignored until it syncs again" in message_text(bot.dms(MANAGER)[-1])
    views = bot.sent("views.publish")
    assert len(views) == published + 1
    assert "*Records that keep failing* (0)" in block_text(views[-1]["view"]["blocks"])

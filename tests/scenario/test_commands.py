"""Every ``/sellsync`` subcommand through the real app: ack at once, work after the ack, answers
through response_url; bad input answered in the ack with one line and the usage, nothing run."""

from __future__ import annotations

import time

import pytest

from sync.domain import Link, LinkOrigin, LinkState, PropertyInfo, SellCustomField, SellRef
from sync.push import MAX_ITEMS
from tests.scenario.conftest import (
    CHANNEL,
    MANAGER,
    REP,
    Bot,
    block_text,
    limit_problems,
    message_text,
)

BAD_INPUT = {
    "unknown subcommand": "frobnicate everything",
    "threshold abc": "threshold abc",
    "threshold -": "threshold -",
    "threshold 10**9": "threshold 10**9",
    "empty push": "push",
    "5,000 items": "push " + " ".join(f"lead:{i}" for i in range(1, 5001)),
}


def _ack_text(sent: object) -> str:
    body = sent.body  # type: ignore[attr-defined]
    return str(body.get("text", "")) + "\n" + block_text(body.get("blocks"))


@pytest.mark.parametrize("text", list(BAD_INPUT.values()), ids=list(BAD_INPUT))
def test_bad_input_gets_an_ephemeral_one_line_reason_and_usage_and_runs_nothing(
    bot: Bot, text: str
) -> None:
    sent = bot.command(text, user=MANAGER)
    assert sent.status == 200
    body = sent.body
    assert body["response_type"] == "ephemeral"
    assert "\n" not in body["text"] and 0 < len(body["text"]) < 200
    assert "Usage" in _ack_text(sent) and "/sellsync" in _ack_text(sent)
    assert "Traceback" not in _ack_text(sent)
    bot.settle()
    assert bot.sent() == []  # no message, no response_url post
    assert bot.world.store.pending_requests() == []
    assert bot.world.store.audit_since(None) == []
    assert bot.world.hubspot.total_calls() == 0 and bot.world.sell.total_calls() == 0


def test_more_than_max_items_names_the_limit(bot: Bot) -> None:
    sent = bot.command(BAD_INPUT["5,000 items"])
    assert f"{MAX_ITEMS:,}" in sent.body["text"] and "5,000" in sent.body["text"]


def test_help_and_bare_command_answer_usage_in_the_ack(bot: Bot) -> None:
    for text in ("help", ""):
        sent = bot.command(text)
        assert sent.body["response_type"] == "ephemeral"
        for sub in ("push", "status", "threshold", "conflicts", "run", "restore", "fields"):
            assert f"/sellsync {sub}" in _ack_text(sent)
    assert bot.sent() == []


def test_every_command_is_acked_within_three_seconds(bot: Bot) -> None:
    bot.world.member(score=80, email="slow@example.com", lastname="Slow")
    for text in (
        "status",
        "threshold",
        "threshold 70 why not",
        "conflicts",
        "fields",
        "push a@b.com",
        "run",
        "help",
    ):
        started = time.monotonic()
        sent = bot.command(text, user=MANAGER, settle=False)
        assert sent.status == 200
        assert time.monotonic() - started < 3.0, text
        bot.settle()


def test_status_shows_threshold_runs_conflicts_and_pending_approvals(bot: Bot) -> None:
    bot.world.member(score=80, email="a@example.com", lastname="A")
    bot.world.sync()
    sent = bot.command("status")
    text = _ack_text(sent)
    assert "Threshold *50*" in text and "Last run" in text and "Pending approvals" in text
    assert "active *1*" in text


def test_status_item_says_why_a_record_did_not_sync(bot: Bot) -> None:
    bot.world.member(score=20, email="low@example.com", lastname="Low")
    bot.world.sync()
    reply = bot.command("status low@example.com").reply()
    assert reply["response_type"] == "ephemeral"
    assert "below the threshold 50" in message_text(reply)


def test_push_reports_created_records_and_names_every_record_not_pushed(bot: Bot) -> None:
    sell = bot.world.sell
    good = sell.add("lead", email="new@example.com", last_name="New")
    no_email = sell.add("lead", last_name="Nomail")
    org = sell.add(
        "contact", is_organization=True, email="org@example.com", name="Org Inc", last_name="Org"
    )
    dup_old = sell.add("lead", email="dup@example.com", last_name="Old")
    dup_new = sell.add("lead", email="dup@example.com", last_name="Newer")
    items = f"lead:{good} lead:{no_email} contact:{org} lead:{dup_old} lead:{dup_new}"
    sent = bot.command(f"push {items}")
    assert "Pushing 5 items" in sent.body["text"]
    reply = sent.reply()
    text = message_text(reply)
    assert f"lead:{no_email}" in text and "no email" in text
    assert f"contact:{org}" in text and "company contacts can't be added" in text
    assert f"lead:{dup_old}" in text and "duplicate email" in text
    assert bot.world.hubspot.by_email("new@example.com") is not None
    assert bot.world.hubspot.by_email("dup@example.com").properties["lastname"] == "Newer"  # type: ignore[union-attr]
    assert limit_problems(reply["blocks"], 50) == []


def test_threshold_shows_the_current_value_and_its_impact(bot: Bot) -> None:
    before = message_text(bot.command("threshold").reply())
    assert "No sync has run yet" in before
    for score in (10, 45, 55, 90):
        bot.world.member(score=score, email=f"m{score}@example.com", lastname="M")
    bot.world.sync()
    calls = bot.world.hubspot.total_calls()
    reply = bot.command("threshold").reply()
    text = message_text(reply)
    assert "threshold is *50*" in text
    assert "current" in text and "4 list members" in text and "2 already linked" in text
    assert bot.world.hubspot.total_calls() == calls  # answered from the database


def test_run_is_refused_for_non_managers_and_posts_nothing(bot: Bot) -> None:
    reply = bot.command("run", user=REP).reply()
    assert "only managers can start a sync" in reply["text"]
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert bot.sent("chat.postMessage") == []
    assert bot.world.store.recent_runs(5) == []


def test_run_posts_a_progress_message_and_updates_it_in_place_with_final_counts(bot: Bot) -> None:
    for i in range(3):
        bot.world.member(score=80, email=f"r{i}@example.com", lastname=f"R{i}")
    bot.monotonic.step = 1.0  # each reading a second later: every progress report may update
    bot.command("run", user=MANAGER)
    posted = bot.sent("chat.postMessage", channel=CHANNEL)
    assert len(posted) == 1
    final = bot.channel_messages(CHANNEL)
    assert len(final) == 1 and "Sync finished (started by <@UMGR1>)" in message_text(final[0])
    assert "created in Sell *3*" in message_text(final[0])
    updates = bot.sent("chat.update")
    assert len(updates) >= 2 and {u["ts"] for u in updates} == {posted[0]["ts"]}
    assert "Sync running" in message_text(updates[0])  # a progress update before the final one
    assert bot.world.store.recent_runs(1)[0].status == "ok"


def test_run_progress_updates_are_throttled_to_one_a_second(bot: Bot) -> None:
    for i in range(3):
        bot.world.member(score=80, email=f"t{i}@example.com", lastname=f"T{i}")
    bot.monotonic.step = 0.4  # progress reports 0.4 s apart: at most one update in 2.5 reports
    bot.command("run", user=MANAGER)
    readings = bot.monotonic.readings
    assert 1 + (readings - 1) * 0.4 // 1 + 1 >= len(bot.sent("chat.update")) >= 1

    bot.sandbox.slack.reset()
    bot.monotonic.step = 0.0  # the clock stands still: no update but the final one
    bot.command("run", user=MANAGER)
    assert len(bot.sent("chat.postMessage")) == 1
    assert len(bot.sent("chat.update")) == 1
    assert "finished" in message_text(bot.sent("chat.update")[0])


def test_run_while_another_sync_runs_says_so(bot: Bot) -> None:
    store = bot.world.store
    assert store.try_lock("sync", owner="elsewhere", at=bot.world.clock.now(), ttl_seconds=600)
    reply = bot.command("run", user=MANAGER).reply()
    assert "already running" in reply["text"]
    assert bot.sent("chat.postMessage") == []


def test_restore_lifts_a_tombstone_for_managers_only(bot: Bot) -> None:
    store = bot.world.store
    store.save_link(
        Link(
            SellRef("lead", 5),
            "51005",
            LinkState.TOMBSTONED,
            LinkOrigin.LIST,
            email="t@example.com",
        )
    )
    refused = bot.command("restore lead:5", user=REP).reply()
    assert "only managers can restore" in refused["text"]
    assert store.links_by_sell([SellRef("lead", 5)])
    done = bot.command("restore lead:5", user=MANAGER).reply()
    assert "Restored" in message_text(done)
    assert store.links_by_sell([SellRef("lead", 5)]) == {}
    nothing = bot.command("restore lead:6", user=MANAGER).reply()
    assert "no tombstone" in nothing["text"]


def test_fields_lists_the_synced_fields(bot: Bot) -> None:
    text = message_text(bot.command("fields").reply())
    assert "`firstname`" in text and "`first_name`" in text and "Custom fields" in text


def test_fields_map_takes_quoted_names_and_is_for_managers(bot: Bot) -> None:
    bot.world.hubspot.props["sales_region"] = PropertyInfo(
        "sales_region", "Sales region", "string", "text"
    )
    for kind in ("lead", "contact"):
        bot.world.sell.fields[kind].append(SellCustomField("Sales region", "string"))  # type: ignore[index]
    refused = bot.command('fields map sales_region "Sales region"', user=REP).reply()
    assert "only managers can map fields" in refused["text"]
    done = bot.command("fields map sales_region “Sales region”", user=MANAGER).reply()
    assert "Mapped" in message_text(done)
    mappings = bot.world.service.settings().custom_mappings
    assert [(m.hubspot_property, m.sell_field) for m in mappings] == [
        ("sales_region", "Sales region")
    ]


def test_an_unexpected_error_answers_briefly_without_traceback_or_token(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError(
            "database exploded while using xoxb-scenario-token and scenario-signing-secret"
        )

    monkeypatch.setattr(bot.world.service, "fields", boom)
    reply = bot.command("fields").reply()
    text = message_text(reply)
    assert "Something went wrong" in text and "reference" in text
    assert "xoxb" not in text and "scenario-signing-secret" not in text and "Traceback" not in text
    assert "exploded" not in text


def test_an_error_in_the_ack_still_answers_the_command(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom() -> object:
        raise RuntimeError("status broke")

    monkeypatch.setattr(bot.world.service, "status", boom)
    sent = bot.command("status")
    assert sent.status == 200
    assert sent.body["response_type"] == "ephemeral" and "Something went wrong" in sent.body["text"]

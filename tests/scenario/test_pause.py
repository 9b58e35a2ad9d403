"""A paused sync (an approvable setting of the registry; ``/sellsync pause`` and ``resume`` are
requests a manager approves): no scheduled run starts while it holds (the job logs why and skips, no alert), a run asked for is refused in one line naming who
paused it, why and how to resume, the status board says so, and a resume lets runs start
again. The bulk limit is a setting too: a limit set from the command line is the guard's."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot import action_ids as ids
from bot.scheduler import run_scheduled_sync
from bot.settings_text import refusal_text
from bot.terminal import render_status
from sync.errors import RunsHeld
from sync.service import CLI_ACTOR, Actor, Refused
from tests.conftest import make_world
from tests.scenario.conftest import (
    APPROVALS,
    REP,
    Bot,
    action_ids_in,
    button_value,
    message_text,
)
from tests.scenario.conftest import MANAGER as MANAGER_ID
from tests.scenario.conftest import MANAGER2 as MANAGER2_ID
from tests.scenario.test_scheduler import RecordingNotifier

MANAGER = Actor("UMGR1", is_manager=True)


def test_the_scheduler_skips_while_paused_and_runs_again_after_a_resume(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    w = make_world(tmp_path)
    w.member(80, email="a@x.com", lastname="A")
    notifier = RecordingNotifier()
    w.service.change_setting("pause", "on", actor=CLI_ACTOR, reason="CRM migration tonight")
    w.clock.tick(60)
    with caplog.at_level(logging.INFO, logger="sellsync.scheduler"):
        assert run_scheduled_sync(w.service, notifier) is None
    assert w.store.recent_runs(5) == []  # not even recorded: it never started
    assert notifier.posted == []  # skipped, not failed: no alert
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "paused" in skipped[0]
    assert "by cli" in skipped[0] and "CRM migration tonight" in skipped[0]
    w.service.change_setting("pause", "off", actor=CLI_ACTOR, reason="migration done")
    w.clock.tick(60)
    report = run_scheduled_sync(w.service, notifier)
    assert report is not None and report.status == "ok"
    assert w.store.count_links()["active"] == 1
    w.store.close()


def test_a_run_asked_for_while_paused_is_refused_in_one_line_and_a_dry_run_is_not(
    tmp_path: Path,
) -> None:
    w = make_world(tmp_path)
    w.service.change_setting("pause", "on", actor=CLI_ACTOR, reason="maintenance")
    with pytest.raises(Refused) as refused:
        w.service.run(actor=MANAGER, trigger="slack")
    assert isinstance(refused.value, RunsHeld)
    line = refusal_text(refused.value)
    assert "\n" not in line
    assert line.startswith("the sync is paused (by cli at ")
    assert ": maintenance)" in line and "/sellsync resume" in line
    assert "sellsync settings set pause off" in line
    assert w.store.recent_runs(5) == []
    report = w.service.run(actor=MANAGER, trigger="slack", dry_run=True)
    assert report.failure is None
    w.store.close()


def test_status_says_who_paused_and_why_and_a_pause_changes_no_version(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    before = w.service.settings().version
    change = w.service.change_setting("pause", "on", actor=CLI_ACTOR, reason="maintenance")
    assert (change.old, change.new, change.version) == ("off", "on", before)
    view = w.service.status()
    assert [(n.label, n.by, n.reason) for n in view.notes] == [("Paused", "cli", "maintenance")]
    board = render_status(view)
    assert "Paused:             by the command line since " in board
    assert (
        ": maintenance; `sellsync settings set pause off --reason …` or /sellsync resume" in board
    )
    assert view.to_dict()["notes"] == [
        {
            "label": "Paused",
            "by": "cli",
            "at": view.notes[0].at.isoformat(),
            "reason": "maintenance",
            "undo": {"setting": "pause", "value": "off"},
        }
    ]
    with pytest.raises(Refused, match="pause is already on"):
        w.service.change_setting("pause", "on", actor=CLI_ACTOR, reason="again")
    w.service.change_setting("pause", "off", actor=CLI_ACTOR, reason="done")
    assert w.service.status().notes == ()
    assert "Paused" not in render_status(w.service.status())
    w.store.close()


def test_a_bulk_limit_set_from_the_command_line_is_the_guards(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    for i in range(3):
        w.member(80, email=f"m{i}@x.com", lastname=f"M{i}")
    change = w.service.change_setting("bulk_limit", "2", actor=CLI_ACTOR, reason="go slow")
    assert (change.old, change.new, change.version) == ("100", "2", 1)
    report = w.sync()
    assert report.bulk is not None and report.bulk.limit == 2
    assert report.bulk.held == {"create_in_sell": 3}
    assert w.store.count_links()["active"] == 0
    w.service.change_setting("bulk_limit", "100", actor=CLI_ACTOR, reason="back to normal")
    w.sync()
    assert w.store.count_links()["active"] == 3
    w.store.close()


def _approve(bot: Bot, user: str = MANAGER_ID) -> dict[str, Any]:
    """The newest request in the approvals channel, approved by ``user``."""
    message = bot.sent("chat.postMessage", channel=APPROVALS)[-1]
    value = button_value(message["blocks"], ids.APPROVE)
    bot.click(ids.APPROVE, value, user=user, message={"ts": message["ts"], "channel": APPROVALS})
    return message


def test_pause_and_resume_in_slack_are_requests_a_manager_approves(bot: Bot) -> None:
    bot.world.member(80, email="a@x.com", lastname="A")
    sent = bot.command("pause CRM migration tonight", user=REP)
    assert "Filing a request to pause the sync" in sent.body["text"]
    preview = message_text(sent.reply())
    assert "Request #1" in preview and "pause the sync" in preview
    message = bot.sent("chat.postMessage", channel=APPROVALS)[-1]
    assert action_ids_in(message["blocks"]) == [ids.APPROVE, ids.REJECT]
    assert "pause the sync" in message_text(message) and "CRM migration tonight" in (
        message_text(message)
    )
    assert bot.world.service.runs_held() is None  # nothing changes before approval
    _approve(bot)
    assert "Your request #1 to pause the sync was *approved*" in message_text(bot.dms(REP)[-1])
    held = bot.world.service.runs_held()
    assert held is not None and "by UREP1" in held.why and ": CRM migration tonight)" in held.why

    status = message_text(bot.command("status", user=REP).body)
    assert "*Paused*" in status and "by <@UREP1>" in status and "CRM migration tonight" in status
    refused = message_text(bot.command("run", user=MANAGER_ID).reply())
    assert "the sync is paused (by UREP1 at " in refused and "/sellsync resume" in refused
    assert bot.world.store.recent_runs(5) == []
    assert run_scheduled_sync(bot.world.service, RecordingNotifier()) is None
    assert bot.world.store.recent_runs(5) == []

    assert "Filing a request to resume the sync" in bot.command("resume", user=REP).body["text"]
    _approve(bot, MANAGER2_ID)
    assert bot.world.service.runs_held() is None
    assert "Paused" not in message_text(bot.command("status", user=REP).body)
    report = run_scheduled_sync(bot.world.service, RecordingNotifier())
    assert report is not None and report.status == "ok"
    assert bot.world.store.count_links()["active"] == 1


def test_a_pause_needs_no_reason_and_a_resume_of_a_running_sync_is_refused(bot: Bot) -> None:
    bot.command("pause", user=REP).reply()
    pending = bot.world.service.pending_requests()
    assert [(r.setting, r.new_value, r.reason) for r in pending] == [("pause", "on", "")]
    refused = bot.command("resume", user=REP).reply()  # not paused: nothing to resume
    assert "pause is already off" in message_text(refused)
    assert refused["response_type"] == "ephemeral"
    assert len(bot.world.service.pending_requests()) == 1


def test_a_bulk_limit_can_be_asked_for_and_approved_like_the_threshold(tmp_path: Path) -> None:
    w = make_world(tmp_path)
    rep, manager = Actor("UREP1"), Actor("UMGR1", is_manager=True)
    filed = w.service.request_change("bulk_limit", "500", actor=rep, reason="spring import")
    assert (filed.request.setting, filed.request.old_value, filed.impact) == (
        "bulk_limit",
        "100",
        None,
    )
    before = w.service.settings().version
    assert w.service.decide(filed.request.id, approve=True, actor=manager).changed
    settings = w.service.settings()
    assert settings.values == {"bulk_limit": "500"} and settings.version == before + 1
    w.store.close()

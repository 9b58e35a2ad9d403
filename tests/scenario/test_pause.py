"""A paused sync (an approvable setting of the registry): no scheduled run starts while it
holds (the job logs why and skips, no alert), a run asked for is refused in one line naming who
paused it, why and how to resume, the status board says so, and a resume lets runs start
again. The bulk limit is a setting too: a limit set from the command line is the guard's."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.scheduler import run_scheduled_sync
from bot.terminal import render_status
from sync.service import CLI_ACTOR, Actor, Refused
from tests.conftest import make_world
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
    line = str(refused.value)
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
            "undo": "`sellsync settings set pause off --reason …` or /sellsync resume",
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

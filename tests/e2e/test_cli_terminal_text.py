"""What the command line prints of text from outside, of a run going on, of a run's trigger and
of a sync's progress: CRM and user text is never markup or escape codes on a terminal; status
during a run says what is known; one wording of what started a run, here and in Slack."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

import bot.cli as cli
import bot.cli_services as cli_services
from bot.blocks.home import history_line, home_view
from bot.blocks.status import status_message
from bot.metrics import health
from bot.terminal import SyncProgress
from bot.wiring import build_database_services
from storage.db import open_store
from sync.domain import Conflict, SellRef
from sync.ports import AuditEvent, RunRecord
from sync.report import SyncReport
from tests.e2e.conftest import cli_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ESC = "\x1b[31m"
LINK = "[link=https://evil.example/]click me[/link]"


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    return cli_database(monkeypatch, tmp_path, "text.db")


def _out(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, ""), captured.err
    return captured.out


# --------------------------------------------------------------------------- item 8


def test_markup_in_audited_text_is_printed_literally_and_never_breaks_audit(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(database) as store:
        store.audit(AuditEvent(T0, "push", "[/x]@a.co", {"counts": {}}, actor="U1"))
        store.audit(AuditEvent(T0, "merged", "lead:7|511", {"summary": LINK}, actor="[bold]x"))
    out = _out(capsys, "audit")  # rich raised MarkupError on "[/x]" for every reader
    assert "[/x]@a.co" in out and LINK in out and "[bold]x" in out


def test_control_characters_from_outside_are_shown_escaped_everywhere(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(database) as store:
        run = store.start_run(trigger=f"push:U1{ESC}", at=T0)
        store.finish_run(
            run,
            at=T0 + timedelta(seconds=3),
            status="errors",
            counts={"skipped": 1, f"skipped:bad{ESC}": 1, f"odd\x07{ESC}": 2},
            error=f"Bad\r{ESC}x",
        )
        store.audit(AuditEvent(T0, "merged", f"lead:7|511{ESC}", {"summary": "a\x07b\x85c"}))
        store.open_conflict(Conflict(SellRef("lead", 7), "511", "email", f"a{ESC}@x.com", "b"))
    for argv in (["status"], ["runs"], ["audit"], ["conflicts"]):
        out = _out(capsys, *argv)
        assert "\x1b" not in out and "\r" not in out and "\x07" not in out, argv
        assert "\\x1b[31m" in out, argv
    assert "a\\x07b\\x85c" in _out(capsys, "audit")


def test_outside_escapes_every_control_and_keeps_the_rest() -> None:
    from bot.terminal import outside

    assert outside("Zoë \u202eevil\x00\x7f\x9b") == "Zoë \\u202eevil\\x00\\x7f\\x9b"
    assert outside("one\ntwo") == "one\\ntwo"
    assert outside("one\ntwo\x1b", lines=True) == "one\ntwo\\x1b"


def test_an_error_line_escapes_what_the_user_typed(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["audit", f"bad{ESC}item"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31m" in err


# --------------------------------------------------------------------------- item 12


def _running_database(database: str) -> int:
    """A finished run, then one still running that has opened conflicts and linked nothing."""
    with open_store(database) as store:
        done = store.start_run(trigger="schedule", at=T0)
        store.finish_run(done, at=T0 + timedelta(seconds=5), status="ok", counts={})
        running = store.start_run(trigger="cli", at=T0 + timedelta(hours=1))
        for i in range(7):
            store.open_conflict(Conflict(SellRef("lead", i + 1), str(500 + i), "title", "a", "b"))
    return running


def test_status_during_a_run_says_it_runs_and_that_the_figures_are_so_far(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    running = _running_database(database)
    out = _out(capsys, "status")
    assert (
        f"Running now:        run #{running}, from the command line, since 2026-03-02 10:00" in out
    )
    assert "Last run:           #1 2026-03-02 09:00 UTC, on schedule, ok" in out
    assert "Open conflicts:     7 so far" in out
    assert f"Links:              none so far (run #{running} is running)" in out
    assert "none yet" not in out
    data = json.loads(_out(capsys, "status", "--json"))
    assert data["running_run"]["id"] == running and data["last_finished_run"]["id"] == 1


def test_slack_status_and_app_home_during_a_run_say_the_same(database: str) -> None:
    running = _running_database(database)
    services = build_database_services(cli_services.settings())
    try:
        view = services.service.status()
        text = json.dumps(status_message(view).to_dict())
        home = json.dumps(
            home_view(
                view, [], services.service.conflicts(), viewer="U1", viewer_is_manager=False
            ).to_dict()
        )
    finally:
        services.close()
    for shown in (text, home):
        assert f"run #{running}" in shown and "from the command line" in shown
        assert "7 so far" in shown and f"none so far (run #{running} is running)" in shown
        assert "none yet" not in shown


def test_a_run_trigger_is_one_word_stored_and_one_wording_shown(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(database) as store:
        for i, trigger in enumerate(["manual", "slack", "schedule", "cli", "push:U0123ABCD"]):
            rid = store.start_run(trigger=trigger, at=T0 + timedelta(minutes=i))
            store.finish_run(rid, at=T0 + timedelta(minutes=i, seconds=1), status="ok", counts={})
    runs = json.loads(_out(capsys, "runs", "--json"))["runs"]
    assert [r["trigger"] for r in runs] == ["push:U0123ABCD", "cli", "schedule", "slack", "slack"]
    table = _out(capsys, "runs")
    assert table.count("from Slack") == 2 and "manual" not in table
    assert "on schedule" in table and "from the command line" in table
    assert "push by U0123ABCD" in table
    slack = [
        history_line(RunRecord(1, T0, T0, trigger, "ok", {}))
        for trigger in ("manual", "slack", "cli", "schedule", "push:U0123ABCD")
    ]
    assert [line.split(" · ")[2] for line in slack] == [
        "from Slack",
        "from Slack",
        "from the command line",
        "on schedule",
        "push by <@U0123ABCD>",
    ]
    _, body = health(lambda: RunRecord(1, T0, None, "manual", "running", {}))
    assert body["last_run"]["trigger"] == "slack"  # /healthz speaks today's words too


def test_the_progress_knows_its_total_and_gives_a_percentage() -> None:
    from bot.terminal import STEPS

    report = SyncReport(trigger="cli", dry_run=False, started_at=T0)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with SyncProgress(console=console) as progress:
        progress("members", report)
        progress("sell leads", report)
        assert progress.bar is not None
        task = progress.bar.tasks[0]
        assert (task.total, task.completed) == (len(STEPS), 2)
    assert "29%" in screen.getvalue()  # 2 of 7 steps done
    lines = io.StringIO()
    plain = SyncProgress(stream=lines, interactive=False)
    with plain:
        for stage in ("start", "members", "sell contacts", "hubspot changes", "members"):
            plain(stage, report)
        plain("link check", report)
    text = lines.getvalue().splitlines()
    assert text[1].startswith("sync: going through the synced list (step 1 of 7, 0%)")
    assert "reading Sell contacts (step 4 of 7, 42%)" in text[2]
    assert "importing new list members (step 6 of 7, 71%)" in text[4]
    assert "checking for deletions (step 7 of 7, 85%)" in text[5]

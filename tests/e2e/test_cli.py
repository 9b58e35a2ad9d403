"""The command line's configuration errors and exit codes (SPEC §4), without any API call."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.cli as cli
import bot.cli_services as cli_services
from sandbox import Sandbox, SandboxLimits
from storage.db import open_store
from sync.domain import Conflict, Hold, HoldReason, Link, LinkState, SellRef
from sync.ports import AuditEvent

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

SYNC_ENV = {
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-0123456789",
    "HUBSPOT_LIST_ID": "7",
    "SELL_ACCESS_TOKEN": "s" * 64,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (*SYNC_ENV, "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                 "SLACK_APP_TOKEN", "SELL_IMPORT_AS", "LOG_LEVEL", "LOG_FORMAT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env, no sellsync.db left behind
    monkeypatch.setattr(cli_services, "_SETTINGS", None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "HUBSPOT_ACCESS_TOKEN is not set"),
        ({**SYNC_ENV, "HUBSPOT_LIST_ID": ""}, "HUBSPOT_LIST_ID is not set"),
        ({**SYNC_ENV, "SELL_ACCESS_TOKEN": "changeme"}, "SELL_ACCESS_TOKEN is a placeholder"),
        (
            {**SYNC_ENV, "HUBSPOT_ACCESS_TOKEN": "your-token"},
            "HUBSPOT_ACCESS_TOKEN is a placeholder",
        ),
        ({**SYNC_ENV, "SELL_ACCESS_TOKEN": "<sell token>"}, "SELL_ACCESS_TOKEN is a placeholder"),
        ({**SYNC_ENV, "SELL_IMPORT_AS": "deal"}, "SELL_IMPORT_AS is invalid"),
        ({**SYNC_ENV, "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL names a mysql database"),
        ({**SYNC_ENV, "DATABASE_URL": "postgresql://u@h:54x2/db"}, "DATABASE_URL is invalid"),
        ({**SYNC_ENV, "HUBSPOT_BASE_URL": "api.hubapi.com"}, "HUBSPOT_BASE_URL is invalid"),
        ({**SYNC_ENV, "SELL_BASE_URL": "http://:8102"}, "SELL_BASE_URL is invalid"),
        ({**SYNC_ENV, "SYNC_THRESHOLD": "-5"}, "SYNC_THRESHOLD is invalid"),
        (
            {**SYNC_ENV, "HUBSPOT_ACCESS_TOKEN": "pat-na1-your-token"},
            "HUBSPOT_ACCESS_TOKEN is a placeholder",
        ),
    ],
)
def test_configuration_errors_exit_2_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str],
    message: str,
) -> None:  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, err = run(capsys, "sync")
    assert code == 2
    assert err.startswith("sellsync: configuration error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for secret in SYNC_ENV.values():
        assert secret not in err


def test_serve_needs_slack_settings_but_sync_does_not(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in SYNC_ENV.items():
        monkeypatch.setenv(key, value)
    code, err = run(capsys, "serve")
    assert code == 2 and "SLACK_BOT_TOKEN is not set" in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-your-token")
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    code, err = run(capsys, "serve")
    assert code == 2 and "SLACK_BOT_TOKEN is a placeholder" in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123456789")
    monkeypatch.setattr(
        cli_services, "_SETTINGS", None
    )  # a new process reads the environment again
    code, err = run(capsys, "serve")
    assert code == 2 and "SLACK_SIGNING_SECRET is not set" in err


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["sync", "--nope"], ["push"], ["fields", "map", "only-one"], ["db", "down"]],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        code, _ = run(capsys, *argv)
        raise SystemExit(code)
    assert exited.value.code == 2


def test_db_upgrade_on_the_default_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    assert "database at revision" in capsys.readouterr().out


# --------------------------------------------------------------------------- a CLI people enjoy

SUBCOMMANDS = sorted(
    name
    for action in cli.build_parser()._subparsers._group_actions  # type: ignore[union-attr]
    for name in getattr(action, "choices", {}) or {}
)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert re.fullmatch(r"sellsync \S+\n", capsys.readouterr().out)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help_with_a_description_and_an_example(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    description = text.split("\n\n")[1]
    assert not description.startswith(("positional", "options")) and len(description) > 10
    examples = text.split("examples:\n", 1)[1]
    assert f"sellsync {command}" in examples


def seeded_database(tmp_path: Path) -> str:
    """A database with what the issue saw: a run stopped by Ctrl-C with skip reasons, a
    scheduled run long ago (no scheduler since), and a conflict on a nested field."""
    url = f"sqlite:///{tmp_path}/seeded.db"
    with open_store(url) as store:
        old = store.start_run(trigger="schedule", at=T0)
        store.finish_run(old, at=T0 + timedelta(seconds=30), status="ok", counts={"merged": 1})
        run = store.start_run(trigger="cli", at=T0 + timedelta(hours=1))
        store.finish_run(
            run,
            at=T0 + timedelta(hours=1, seconds=12),
            status="failed",
            counts={"created_in_sell": 3, "skipped": 4, "skipped:no email": 4},
            error="KeyboardInterrupt: ",
        )
        store.open_conflict(Conflict(SellRef("lead", 7), "511", "address.city", "Paris", "Lyon"))
        store.audit(AuditEvent(T0, "merged", "lead:7|511", {"summary": "matched by email"}))
        store.audit(AuditEvent(T0, "created_in_sell", "lead:8|512", {"summary": "new lead"}))
    return url


def test_status_conflicts_runs_and_audit_need_only_the_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded_database(tmp_path))  # and no API token at all
    for argv in (["status"], ["conflicts"], ["runs"], ["audit"], ["status", "--json"]):
        code, err = run(capsys, *argv)
        assert (code, err) == (0, ""), argv
    code, err = run(capsys, "status", "lead:7")  # explaining a record does need the APIs
    assert code == 2 and "HUBSPOT_ACCESS_TOKEN is not set" in err


def test_status_is_readable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded_database(tmp_path))
    assert cli.main(["status"]) == 0
    out = capsys.readouterr().out
    assert "{" not in out and "skipped:" not in out
    assert "created in Sell 3, skipped 4 (no email 4)" in out
    assert "KeyboardInterrupt" not in out and "interrupted before it finished" in out
    next_run = next(line for line in out.splitlines() if line.startswith("Next run:"))
    assert "no scheduler has run yet" in next_run and "UTC" not in next_run  # nothing invented
    assert cli.main(["conflicts"]) == 0
    out = capsys.readouterr().out
    assert "City on lead:7" in out and "address.city" not in out


def test_runs_and_audit_export(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", seeded_database(tmp_path))
    assert cli.main(["runs", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    assert [(r["trigger"], r["status"]) for r in runs] == [("cli", "failed"), ("schedule", "ok")]
    assert cli.main(["runs"]) == 0
    table = capsys.readouterr().out
    assert "#2" in table and "interrupted" in table
    assert cli.main(["audit", "511", "--csv"]) == 0  # a HubSpot id finds its linked record
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["kind"], r["subject"]) for r in rows] == [("merged", "lead:7|511")]
    assert rows[0]["summary"] == "matched by email" and rows[0]["detail"] == ""
    assert cli.main(["audit", "lead:8", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["subject"] for e in events] == ["lead:8|512"]
    assert cli.main(["audit"]) == 0
    assert "matched by email" in capsys.readouterr().out
    code, err = run(capsys, "audit", "no such thing")
    assert code == 2 and err.startswith("sellsync: not an item: 'no such thing'")


# --------------------------------------------------------------------------- against the sandbox


@pytest.fixture(scope="module")
def running_sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed="empty", limits=SandboxLimits(enabled=False)) as sandbox:
        yield sandbox


@pytest.fixture
def crm(running_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Sandbox:
    """The sandbox, empty, with the Sell fields S10 needs and a synced list of 30 members."""
    sb = running_sandbox
    sb.reset("empty")
    for kind in ("lead", "contact"):
        sb.sell.add_custom_field(kind, "HubSpot score", "number")
        sb.sell.add_custom_field(kind, "HubSpot lifecycle stage", "string")
        sb.sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    sb.sell.add_custom_field("contact", "HubSpot source", "string")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    ids = [
        sb.hubspot.add_contact({"hubspotscore": 80, "email": f"m{i}@x.com", "lastname": f"M{i}"})
        for i in range(30)
    ]
    sb.hubspot.add_to_list(list_id, ids)
    env = {**sb.env(), "HUBSPOT_LIST_ID": list_id, "DATABASE_URL": f"sqlite:///{tmp_path}/c.db"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SYNC_THRESHOLD", "50")
    return sb


def test_a_dry_run_prints_a_summary_and_the_full_plan_only_when_asked(
    crm: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sync", "--dry-run"]) == 0
    summary = capsys.readouterr().out
    assert "would be: created in Sell 30" in summary
    assert "--verbose" in summary and "Sell last_name ←" not in summary
    assert len(summary.splitlines()) < 10
    assert cli.main(["sync", "--dry-run", "--verbose"]) == 0
    full = capsys.readouterr().out
    assert full.count("Sell last_name ←") == 30
    assert cli.main(["sync", "--dry-run", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["plan"]["actions"]) == 30


def test_a_sync_shows_plain_progress_lines_when_not_on_a_terminal(
    crm: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["sync"]) == 0
    captured = capsys.readouterr()
    progress = captured.err.splitlines()
    assert progress and all(line.startswith("sync: ") for line in progress)
    assert any("going through the synced list" in line for line in progress)
    assert "\x1b[" not in captured.err  # no terminal control codes in a log
    assert "done: created in Sell 30" in captured.out


def test_on_a_terminal_the_progress_is_a_live_bar() -> None:
    from rich.console import Console

    from bot.terminal import SyncProgress
    from sync.report import SyncReport

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    report = SyncReport(trigger="cli", dry_run=False, started_at=T0)
    with SyncProgress(console=console) as progress:
        assert progress.interactive
        progress("sell leads", report)
    assert "Sync: reading Sell leads" in screen.getvalue() and "\x1b[" in screen.getvalue()


def test_push_names_each_created_or_merged_hubspot_contact_with_its_url(
    crm: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    new = crm.sell.add_record("lead", {"email": "new@y.com", "last_name": "New"})
    known = crm.hubspot.add_contact({"email": "known@y.com", "lastname": "Known"})
    old = crm.sell.add_record("lead", {"email": "known@y.com", "last_name": "Known"})
    assert cli.main(["push", f"lead:{new}", f"lead:{old}"]) == 0
    out = capsys.readouterr().out
    portal = crm.hubspot.portal_id
    created = re.search(rf"lead:{new} created HubSpot contact (\d+)  (\S+)", out)
    assert created is not None
    assert (
        created.group(2)
        == f"https://app.hubspot.com/contacts/{portal}/record/0-1/{created.group(1)}"
    )
    url = f"https://app.hubspot.com/contacts/{portal}/record/0-1/{known}"
    assert f"lead:{old} merged into HubSpot contact {known}  {url}" in out


def test_a_push_where_every_item_was_refused_exits_1_with_the_reasons(
    crm: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = crm.sell.add_record("lead", {"last_name": "No Email"})
    company = crm.sell.add_record(
        "contact", {"is_organization": True, "name": "Acme", "email": "hq@acme.com"}
    )
    assert cli.main(["push", f"lead:{bare}", f"contact:{company}"]) == 1
    captured = capsys.readouterr()
    assert f"lead:{bare}: no email" in captured.out
    assert f"contact:{company}: company contacts can't be added" in captured.out
    assert "Push ok" not in captured.out
    assert (
        captured.err.strip()
        == "sellsync: nothing was pushed: no item could be (the reasons are above)"
    )


def test_push_of_something_that_is_not_an_item_is_bad_usage_and_calls_nothing(
    crm: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    before = len(crm.hubspot.calls) + len(crm.sell.calls)
    code, err = run(capsys, "push", "not-an-item", "ann@example.com")
    assert code == 2
    assert err == (
        "sellsync: not an item: 'not-an-item' (use an email, lead:ID, contact:ID, a Sell URL "
        "or tag:NAME); nothing was pushed"
    )
    assert len(crm.hubspot.calls) + len(crm.sell.calls) == before


def test_status_of_a_record_names_fields_as_people_do(
    crm: Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    lead = crm.sell.add_record(
        "lead", {"email": "city@y.com", "last_name": "City", "address": {"city": "Paris"}}
    )
    contact = crm.hubspot.add_contact(
        {"hubspotscore": 80, "email": "city@y.com", "lastname": "City", "city": "Lyon"}
    )
    crm.hubspot.add_to_list(os.environ["HUBSPOT_LIST_ID"], [contact])
    assert cli.main(["sync"]) == 0
    capsys.readouterr()
    assert cli.main(["status", f"lead:{lead}"]) == 0
    out = capsys.readouterr().out
    assert "Open conflict on City: Sell 'Paris' vs HubSpot 'Lyon'" in out
    assert "address.city" not in out


@pytest.mark.parametrize("command", ["status", "audit"])
def test_a_reader_that_goes_away_is_not_an_error(tmp_path: Path, command: str) -> None:
    """`sellsync status | head`: the pipe closes before sellsync writes; it stops quietly
    (plain text and rich tables alike), with no "unexpected error" and no traceback."""
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": seeded_database(tmp_path)}
    code = f"import sys; from bot.cli import main; sys.exit(main([{command!r}]))"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before the child has imported anything, let alone written
    err = child.stderr.read().decode()
    child.stderr.close()
    assert child.wait(timeout=60) in (0, 1), err
    assert err == ""


def test_l2_conflicts_lists_link_conflicts_held_by_a_merge(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = seeded_database(tmp_path)
    store = open_store(url)
    try:
        store.save_link(Link(SellRef("contact", 9), "600"))
        hold = Hold(HoldReason.CONTACT_MERGE, SellRef("contact", 9))
        store.save_link(Link(SellRef("lead", 10), "600", state=LinkState.HELD, hold=hold))
    finally:
        store.close()
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["conflicts"]) == 0
    out = capsys.readouterr().out
    assert (
        "1 link conflict" in out and "lead:10 held on HubSpot 600, also linked to contact:9" in out
    )
    assert cli.main(["conflicts", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["link_conflicts"] == [
        {"held": "lead:10", "hubspot_id": "600", "linked": "contact:9"}
    ]

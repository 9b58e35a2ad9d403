"""``sellsync audit --csv``/``--json``: every matching event, streamed, filtered by run and date,
in flat columns, with no cell a spreadsheet would run as a formula; and a formula is no email."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.cli as cli
from bot.parsing import parse_command
from storage.db import open_store
from sync.ports import AuditEvent
from sync.push import parse_items
from tests.e2e.conftest import cli_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://evil.example/x@a.co")'


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    return cli_database(monkeypatch, tmp_path, "audit.db")


def _csv(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, str]]:
    assert cli.main(["audit", "--csv", *argv]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_the_audit_csv_neutralises_cells_a_spreadsheet_would_run_as_formulas(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(database) as store:
        store.audit(AuditEvent(T0, "push", FORMULA, {"counts": {}}, actor="U1"))
        store.audit(
            AuditEvent(
                T0 + timedelta(seconds=1),
                "conflict_resolved",
                "lead:7|511",
                {"field": "title", "old": "+1 555", "new": "-cmd|' /C calc'!A0", "reason": "\tx"},
                actor="@evil",
            )
        )
        store.audit(AuditEvent(T0 + timedelta(seconds=2), "merged", "lead:8|512", {"x": "\rz"}))
    rows = _csv(capsys)
    assert rows[0]["subject"] == "'" + FORMULA
    assert rows[1]["old"] == "'+1 555" and rows[1]["new"] == "'-cmd|' /C calc'!A0"
    assert rows[1]["actor"] == "'@evil" and rows[1]["reason"] == "'\tx"
    assert rows[1]["field"] == "title"  # an ordinary cell is left as it is
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row


def test_the_audit_csv_exports_every_event_in_flat_columns(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(database) as store:
        store.audit_many(
            [
                AuditEvent(
                    T0 + timedelta(minutes=i),
                    "conflict_resolved",
                    f"lead:{i}|{500 + i}",
                    {"field": "title", "old": f"a{i}", "new": f"b{i}", "action": "keep_sell"},
                )
                for i in range(250)
            ]
        )
    rows = _csv(capsys)
    assert len(rows) == 250  # no silent cap at 100
    assert [r["subject"] for r in rows[:2]] == ["lead:0|500", "lead:1|501"]  # oldest first
    assert list(rows[0]) == [
        "at", "kind", "subject", "actor", "run_id",
        "field", "old", "new", "reason", "summary", "detail",
    ]  # fmt: skip
    assert (rows[3]["field"], rows[3]["old"], rows[3]["new"]) == ("title", "a3", "b3")
    assert json.loads(rows[3]["detail"]) == {"action": "keep_sell"}  # the rest, as JSON
    assert len(_csv(capsys, "--limit", "30")) == 30
    assert cli.main(["audit", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["events"]) == 250
    assert cli.main(["audit"]) == 0  # the table stays at the newest 100
    table = capsys.readouterr().out
    assert "lead:249" in table and "lead:149 " not in table and "lead:150" in table
    assert "Older events are not shown: the newest 100 are." in table  # never a silent cap
    assert cli.main(["audit", "--limit", "250"]) == 0
    assert "Older events" not in capsys.readouterr().out


def test_the_audit_exports_filter_by_run_and_date(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(database) as store:
        first = store.start_run(trigger="cli", at=T0)
        second = store.start_run(trigger="cli", at=T0 + timedelta(days=2))
        store.audit_many(
            [
                AuditEvent(T0, "merged", "lead:1|501", {}, run_id=first),
                AuditEvent(T0 + timedelta(hours=1), "merged", "lead:2|502", {}, run_id=first),
                AuditEvent(T0 + timedelta(days=2), "merged", "lead:3|503", {}, run_id=second),
                AuditEvent(T0 + timedelta(days=3), "restored", "lead:1|501", {}),
            ]
        )
    assert [r["subject"] for r in _csv(capsys, "--run", str(first))] == [
        "lead:1|501",
        "lead:2|502",
    ]
    assert [r["subject"] for r in _csv(capsys, "--run", str(second))] == ["lead:3|503"]
    since = (T0 + timedelta(days=1)).date().isoformat()
    assert [r["subject"] for r in _csv(capsys, "--since", since)] == ["lead:3|503", "lead:1|501"]
    assert [r["kind"] for r in _csv(capsys, "lead:1", "--since", since)] == ["restored"]
    assert cli.main(["audit", "--json", "--run", str(first), "--since", "2026-03-02T09:30"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert [e["subject"] for e in events] == ["lead:2|502"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--since", "last tuesday"], "not a date"),
        (["--run", "abc"], "not a run number"),
        (["--run", str(2**63)], "not a run number"),
        (["--limit", "0"], "not a number from 1"),
        (["--limit", "9223372036854775808"], "not a number from 1"),
    ],
)
def test_bad_audit_filters_are_bad_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str], words: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["audit", "--csv", *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_a_formula_is_not_an_email_anywhere_an_item_is_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert parse_items([FORMULA]).invalid and not parse_items([FORMULA]).emails
    for text in ("[/x]@a.co", "a\x1b[31m@x.com", 'x"@a.co', "a@b.co)", "a b@c.co"):
        assert not parse_items([text]).emails, text
    assert parse_items(["o'neil+vip@mail.example.co"]).emails == ("o'neil+vip@mail.example.co",)
    command = parse_command(f"push {FORMULA}")
    assert type(command).__name__ == "Invalid"
    assert cli.main(["push", FORMULA]) == 2  # refused before any API call: no token needed
    assert "not an item" in capsys.readouterr().err

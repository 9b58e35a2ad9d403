"""``sellsync health [--json]`` and ``sellsync conflicts decide …`` as the command line runs them:
in process over a SQLite file for listing and bad usage, and as subprocesses against the
sandbox HubSpot and Sell servers for decisions that write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import bot.cli as cli
from sandbox.server import Sandbox
from storage.db import open_store
from sync.domain import Conflict, SellRef
from sync.ports import RecordFailure
from tests.e2e.conftest import cli_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    unset = ("HUBSPOT_ACCESS_TOKEN", "SELL_ACCESS_TOKEN", "SLACK_BOT_TOKEN", "LOG_LEVEL")
    return cli_database(monkeypatch, tmp_path, "cli.db", unset)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_health_cli_lists_failing_records_with_reasons_and_control_characters_escaped(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "HubSpot refused: Property \x1b[31mphone\x1b[0m is not valid"
    with open_store(db) as store:
        for run_id in (1, 2):
            store.record_failures(
                [RecordFailure("lead:12", SellRef("lead", 12), "901", hostile)],
                run_id=run_id,
                at=T0 + timedelta(hours=run_id),
            )
        store.record_failures(
            [RecordFailure("HubSpot 77", None, "77", "invalid email 'bob@'")], run_id=2, at=T0
        )
    code, out, err = run(capsys, "health")
    assert code == 0 and err == ""
    assert "1 record keep failing" in out or "1 record keeps failing" in out
    assert "lead:12 ↔ HubSpot 901" in out and "[lead:12]" in out
    assert "Refused by HubSpot: Property \\x1b[31mphone\\x1b[0m is not valid" in out
    assert "\x1b" not in out
    assert "failed 2 times, first 2026-03-02 10:00 UTC, last 2026-03-02 11:00 UTC" in out
    assert "HubSpot 77" not in out  # failed on one run only
    code, out, _ = run(capsys, "health", "--json")
    data = json.loads(out)
    assert code == 0 and data["failing"] == 1
    [entry] = data["entries"]
    assert entry["key"] == "lead:12" and entry["reason"] == "hubspot_refused"
    assert entry["failures"] == 2 and entry["first_failed_at"].startswith("2026-03-02T10:00")
    assert entry["what_to_do"]


def test_health_cli_says_when_nothing_keeps_failing(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "health")
    assert code == 0 and out.strip() == "Nothing keeps failing."


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["conflicts", "decide"], "give a conflict number and a decision"),
        (["conflicts", "decide", "abc", "dismiss"], "'abc' is not a conflict number"),
        (["conflicts", "decide", "5", "maybe"], "'maybe' is not keep-sell, use-hubspot or dismiss"),
        (["conflicts", "decide", "5", "dismiss", "extra"], "give a conflict number and a decision"),
        (["conflicts", "decide", "--field", "phone"], "give --field FIELD and one decision"),
        (["conflicts", "decide", "--field", " ", "dismiss"], "--field needs a field name"),
        (["conflicts", "settle", "5"], "unknown conflicts action"),
        (["conflicts", "--field", "phone", "dismiss"], "unknown conflicts action"),
    ],
)
def test_conflicts_bulk_cli_bad_usage_is_one_line_and_exit_2(
    db: str, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and reason in err and "usage: sellsync conflicts decide" in err


def test_conflicts_bulk_cli_dismisses_one_conflict_or_every_one_of_a_field(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(db) as store:
        ids = [
            store.open_conflict(
                Conflict(SellRef("lead", i), str(900 + i), field, "s", "h", opened_at=T0)
            )[0].id
            for i, field in ((1, "phone"), (2, "phone"), (3, "phone"), (4, "email"))
        ]
    code, out, _ = run(capsys, "conflicts", "decide", str(ids[0]), "dismiss")
    assert (
        code == 0
        and out.strip() == f"Conflict #{ids[0]}: dismissed (both sides keep their values)."
    )
    code, out, _ = run(capsys, "conflicts", "decide", str(ids[0]), "dismiss")
    assert code == 0 and "was already decided" in out
    code, out, _ = run(capsys, "conflicts", "decide", "--field", "phone", "dismiss", "--json")
    assert code == 0 and json.loads(out)["decided"] == ids[1:3]
    with open_store(db) as store:
        assert [c.field for c in store.list_conflicts()] == ["email"]
        resolved = [e for e in store.audit_since(None) if e.kind == "conflict_resolved"]
        assert len(resolved) == 3 and {e.actor for e in resolved} == {"cli"}
    code, _, err = run(capsys, "conflicts", "decide", "--field", "phone", "dismiss")
    assert code == 2 and "there are no open conflicts of field 'phone'" in err
    code, _, err = run(capsys, "conflicts", "decide", "99999", "dismiss")
    assert code == 2 and "there is no conflict #99999" in err


# --------------------------------------------------------------------------- against the sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(seed="empty") as sb:
        yield sb


def cli_run(env: dict[str, str], *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == expect, proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    return proc


@pytest.mark.slow
def test_conflicts_bulk_cli_keep_sell_writes_each_sell_value_to_hubspot(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.reset("empty")
    hs, sell = sandbox.hubspot, sandbox.sell
    for kind in ("lead", "contact"):
        sell.add_custom_field(kind, "HubSpot score", "number")
        sell.add_custom_field(kind, "HubSpot lifecycle stage", "string")
        sell.add_custom_field(kind, "HubSpot public contact URL", "url")
    sell.add_custom_field("contact", "HubSpot source", "string")
    list_id = hs.create_list("Sell sync", "MANUAL")
    env: dict[str, Any] = {
        **os.environ,
        **sandbox.env(),
        "HUBSPOT_LIST_ID": list_id,
        "DATABASE_URL": f"sqlite:///{tmp_path}/e2e.db",
        "SYNC_THRESHOLD": "50",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        env.pop(name, None)
    contacts = []
    for i in range(3):
        email = f"p{i}@example.com"
        sell.add_record("lead", {"email": email, "last_name": f"P{i}", "phone": f"+1 555 01{i}"})
        cid = hs.add_contact({"hubspotscore": 80, "email": email, "phone": f"+1 555 09{i}"})
        hs.add_to_list(list_id, [cid])
        contacts.append(cid)
    cli_run(env, "sync")
    listed = json.loads(cli_run(env, "conflicts", "--json").stdout)
    assert [c["field"] for c in listed["conflicts"]] == ["phone"] * 3
    done = cli_run(env, "conflicts", "decide", "--field", "phone", "keep-sell")
    assert "Phone: 3 conflicts kept Sell's value (written to HubSpot)." in done.stdout
    for i, cid in enumerate(contacts):
        assert (hs.get_contact(cid) or {})["properties"]["phone"] == f"+1 555 01{i}"
    assert json.loads(cli_run(env, "conflicts", "--json").stdout)["total"] == 0

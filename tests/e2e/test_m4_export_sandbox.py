"""``sellsync export PATH`` over the Sell sandbox: every Sell lead, contact, organization, note
and user and sellsync's own records as JSON Lines and CSV, with a manifest whose counts and
checksums match what was written; read back and checked against the source, for a folder and
for a zip."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import bot.cli as cli
from sandbox import Sandbox
from storage.db import open_store
from sync.domain import Link, LinkState, SellRef, SettingName
from sync.ports import AuditEvent
from tests.e2e.conftest import cli_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FORMULA = '=HYPERLINK("http://evil.example")'
SELL_TABLES = ("sell_leads", "sell_contacts", "sell_organizations", "sell_notes", "sell_users")
OWN_TABLES = (
    "sellsync_links",
    "sellsync_tombstones",
    "sellsync_conflicts",
    "sellsync_settings_history",
    "sellsync_audit",
)

Reader = Callable[[str], bytes]


@pytest.fixture
def env(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = cli_database(
        monkeypatch, tmp_path, "export.db", ("HUBSPOT_ACCESS_TOKEN", "HUBSPOT_LIST_ID")
    )
    monkeypatch.setenv("SELL_ACCESS_TOKEN", sb.sell_token)
    monkeypatch.setenv("SELL_BASE_URL", sb.sell_url)
    return url


def seed(sb: Sandbox, database_url: str) -> None:
    """Sell records of every kind (one a formula, one not ASCII), and a link, a tombstone, a
    conflict, a settings change and audit events in the store."""
    sb.reset("empty")
    for i in range(130):  # more than one page of leads
        sb.sell.add_record("lead", {"last_name": f"L{i}", "email": f"l{i}@example.com"})
    lead = sb.sell.add_record("lead", {"last_name": FORMULA, "address": {"city": "Zürich"}})
    person = sb.sell.add_record("contact", {"name": "Ann Lee", "email": "ann@example.com"})
    sb.sell.add_record("contact", {"name": "Acme GmbH", "is_organization": True})
    sb.sell.add_note("lead", lead, "Called: wants a demo.\n— next week")
    sb.sell.add_note("contact", person, "+1 555 0100 is her direct line")
    sb.sell.add_user("Marco Ruiz", "marco@example.com", user_id=9002)
    with open_store(database_url) as store:
        store.save_link(Link(SellRef("lead", lead), "501", email="x@example.com"))
        store.save_link(
            Link(SellRef("contact", person), "502", state=LinkState.TOMBSTONED, email=None)
        )
        store.store_setting(SettingName.SELL_MODE, "read_only", replans=False)
        store.audit(AuditEvent(T0, "setting_changed", "sell_mode=read_only", {"old": "active"}))
        store.audit(AuditEvent(T0, "push", "lead:1", {"counts": {}}, actor="U1"))


def sell_source(sb: Sandbox) -> dict[str, list[dict[str, object]]]:
    """What the sandbox holds, as ``/v2`` answers it, by table, keyed for comparison."""
    contacts = sb.sell.records("contact")
    return {
        "sell_leads": sb.sell.records("lead"),
        "sell_contacts": [c for c in contacts if not c.get("is_organization")],
        "sell_organizations": [c for c in contacts if c.get("is_organization")],
        "sell_notes": sb.sell.notes(),
        "sell_users": sb.sell.users,
    }


def check_export(read: Reader, sb: Sandbox) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads(read("manifest.json"))
    tables = {t["name"]: t for t in manifest["tables"]}
    assert list(tables) == [*SELL_TABLES, *OWN_TABLES]
    for table in manifest["tables"]:
        for f in table["files"]:
            data = read(f["path"])
            assert hashlib.sha256(data).hexdigest() == f["sha256"] and len(data) == f["bytes"]
        lines = read(f"{table['name']}.jsonl").decode().splitlines()
        rows = list(csv.DictReader(io.StringIO(read(f"{table['name']}.csv").decode())))
        assert len(lines) == len(rows) == table["records"]
    for name, source in sell_source(sb).items():
        exported = [json.loads(line) for line in read(f"{name}.jsonl").decode().splitlines()]
        assert sorted(exported, key=lambda r: int(r["id"])) == sorted(
            source, key=lambda r: int(str(r["id"]))
        )
    assert tables["sell_leads"]["records"] == 131
    assert tables["sellsync_links"]["records"] == 2
    assert tables["sellsync_tombstones"]["records"] == 1
    assert tables["sellsync_settings_history"]["records"] == 1
    assert tables["sellsync_audit"]["records"] == 2
    leads = list(csv.DictReader(io.StringIO(read("sell_leads.csv").decode())))
    formula = next(r for r in leads if "HYPERLINK" in r["last_name"])
    assert formula["last_name"] == "'" + FORMULA  # shown by a spreadsheet, never run
    assert formula["address.city"] == "Zürich"
    notes = list(csv.DictReader(io.StringIO(read("sell_notes.csv").decode())))
    assert "'+1 555 0100 is her direct line" in {n["content"] for n in notes}
    return manifest


def test_m4_export_to_a_folder_reads_back_equal_to_the_source(
    sb: Sandbox, env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(sb, env)
    target = tmp_path / "archive"
    sb.sell.reset_calls()
    assert cli.main(["export", str(target)]) == 0
    manifest = check_export(lambda name: (target / name).read_bytes(), sb)
    assert manifest["sell_mode"] == "read_only"
    assert "Exported" in capsys.readouterr().out
    assert all(int(str(c.query.get("per_page", 0))) <= 100 for c in sb.sell.calls_matching("GET"))
    assert not [c for c in sb.sell.calls if c.method != "GET"]  # an export only reads
    # a folder that is not empty is refused in one line, and nothing is lost
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    assert cli.main(["export", str(target)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert cli.main(["export", str(target), "--force"]) == 0


def test_m4_export_to_a_zip_reads_back_equal_to_the_source(
    sb: Sandbox, env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(sb, env)
    target = tmp_path / "out" / "sell-archive.zip"
    assert cli.main(["export", str(target)]) == 0
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        check_export(archive.read, sb)
    assert [p.name for p in target.parent.iterdir()] == ["sell-archive.zip"]  # no leftovers
    assert cli.main(["export", str(target)]) == 2
    assert "--force" in capsys.readouterr().err


def test_m4_export_under_retired_says_why_in_one_line_and_calls_nothing(
    sb: Sandbox, env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(sb, env)
    with open_store(env) as store:
        store.store_setting(SettingName.SELL_MODE, "retired", replans=False)
    sb.sell.reset_calls()
    assert cli.main(["export", str(tmp_path / "archive")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Sell is retired" in err
    assert sb.sell.calls == []
    assert not (tmp_path / "archive").exists()

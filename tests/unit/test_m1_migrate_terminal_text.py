"""What ``sellsync migrate`` prints of CRM values is shown, never run by the terminal."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.migrate_cli import render_plan, render_verify
from sync.api import MigrationDifference, MigrationReport, VerifyReport
from sync.migration.rules import Conflict
from sync.ports import MigrationRefusal

HOSTILE = "Evil\x1b[2J\rCorp\u202e"


def test_m1_plan_text_escapes_crm_values() -> None:
    report = MigrationReport(dry_run=True)
    report.count("contacts.create", 2, sample=f"lead:1 {HOSTILE}")
    report.conflicts.append(Conflict("lead:1", "company", HOSTILE, "Acme"))
    report.refusals.append(MigrationRefusal("lead:2", f"invalid email '{HOSTILE}'"))
    report.count("refused")
    text = render_plan(report)
    assert "\x1b" not in text and "\r" not in text and "\u202e" not in text
    assert "\\x1b[2J\\rCorp\\u202e" in text
    assert "2 to create" in text


def test_m3_verify_text_escapes_crm_values_and_names_missing_records() -> None:
    report = VerifyReport(verified_at=datetime(2026, 12, 7, tzinfo=UTC), checked=2, verified=0)
    found = [
        MigrationDifference("lead:1", "lastname", HOSTILE, "Lee"),
        MigrationDifference("lead:2", "record", "present", None),
    ]
    report.differences = 2
    text = render_verify(report, found, csv_path=None)
    assert "\x1b" not in text and "\u202e" not in text
    assert 'lead:2 record: Sell "present", HubSpot missing' in text

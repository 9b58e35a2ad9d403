"""The Sell mode from a terminal: ``sellsync settings set sell_mode …``, the second
confirmation to retire Sell before the migration is verified (exit 2 naming it), and the
status board in text and JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bot.cli as cli
from tests.e2e.conftest import cli_database


@pytest.fixture(autouse=True)
def database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    return cli_database(monkeypatch, tmp_path, "m5.db")


def test_m5_retiring_sell_unverified_from_a_terminal_needs_confirm_unverified(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["settings", "set", "sell_mode", "read_only", "--reason", "cutover"]) == 0
    out = capsys.readouterr().out
    assert "sell_mode: active → read_only (settings version 1; every list member is" in out
    assert cli.main(["settings", "set", "sell_mode", "retired", "--reason", "gone"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [
        "sellsync: retiring Sell needs a second confirmation: no migration to HubSpot was run and "
        "verified; verify it with `sellsync migrate --verify`, or repeat with "
        "--confirm-unverified"
    ]
    assert cli.main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sell_mode"] == "read_only"  # unchanged
    argv = ["settings", "set", "sell_mode", "retired", "--reason", "gone", "--confirm-unverified"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(["status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sell_mode"] == "retired"
    assert cli.main(["status"]) == 0
    board = capsys.readouterr().out
    assert "Sell:               retired: Sell is not called; HubSpot is the system of record" in (
        board
    )
    assert "Sell retired:" in board and "sellsync settings set sell_mode read_only" in board


def test_m5_a_sell_mode_that_does_not_exist_exits_2_in_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["settings", "set", "sell_mode", "off", "--reason", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["sellsync: the Sell mode is active, read_only or retired, not 'off'"]

"""``sellsync check`` and the Sell mode, against the sandbox: it always says which mode holds,
and under ``retired`` it skips every Sell check, says why, and sends Sell no request."""

from __future__ import annotations

from pathlib import Path

from bot.check import render, run_check
from sandbox.server import Sandbox
from storage.db import open_store
from sync.domain import SettingName
from sync.preflight import passed
from tests.contract.check_env import settings_for


def test_m5_check_says_which_mode_holds(sb: Sandbox, tmp_path: Path) -> None:
    findings = run_check(settings_for(sb, tmp_path))
    assert passed(findings), render(findings)
    assert "✓ Sell mode active: active: sellsync reads and writes Sell" in render(findings)


def test_m5_check_under_retired_skips_the_sell_checks_and_calls_sell_not(
    sb: Sandbox, tmp_path: Path
) -> None:
    settings = settings_for(sb, tmp_path)
    run_check(settings)  # migrates the database
    with open_store(settings.database_url) as store:
        store.store_setting(SettingName.SELL_MODE, "retired", replans=False)
    sb.sell.reset_calls()
    findings = run_check(settings)
    text = render(findings)
    assert passed(findings), text  # nothing to fix: Sell is simply not used any more
    assert not [f for f in findings if f.key.startswith("sell.") and f.key != "sell.mode"]
    assert (
        "✓ Sell mode retired: retired: Sell is not called; HubSpot is the system of record; "
        "the Sell checks are not run"
    ) in text
    assert sb.sell.calls == []

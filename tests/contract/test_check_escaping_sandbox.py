"""``sellsync check`` prints what the CRMs and Slack say (a list's name, a channel's, a user's)
with every control character written as its escape, so no value can move the cursor, clear the
screen or hide text in the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import cli, cli_services
from bot.settings import AppSettings
from sandbox.server import Sandbox

CLEAR = "\x1b[2J"


def test_check_escapes_a_control_character_in_a_list_name(
    sb: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    list_id = sb.hubspot.create_list(f"Sell{CLEAR} sync\rgone", "MANUAL")
    for name in AppSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    env = sb.settings_env(f"sqlite:///{tmp_path}/check.db") | {"HUBSPOT_LIST_ID": list_id}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)  # no .env of the repository's
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert f'✓ HubSpot list {list_id} "Sell\\x1b[2J sync\\rgone" (MANUAL)' in out
    assert "\x1b" not in out and "\r" not in out
    assert out.endswith("all checks passed\n")

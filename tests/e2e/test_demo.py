"""``sellsync demo`` runs on its embedded defaults and shows the four scenes of SPEC §4."""

from __future__ import annotations

import pytest

from bot.cli import main

pytestmark = pytest.mark.slow


def test_demo_shows_a_push_an_approval_a_conflict_review_and_a_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HUBSPOT_ACCESS_TOKEN", "SELL_ACCESS_TOKEN", "SLACK_BOT_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "/sellsync push" in out and "created in HubSpot" in out
    assert "[Approve] [Reject]" in out and "Approved by @Morgan Manager" in out
    assert "[Keep Sell] [Use HubSpot] [Dismiss]" in out and "used HubSpot's value" in out
    assert "sellsync summary" in out
    assert "Traceback" not in out

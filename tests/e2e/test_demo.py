"""``sellsync demo`` runs on its embedded defaults, shows the scenes of SPEC §4 plus App Home and
the message shortcut, and ends with the way to a real workspace."""

from __future__ import annotations

import pytest

from bot.cli import main

pytestmark = pytest.mark.slow


def test_demo_shows_a_push_a_sync_a_real_impact_an_approval_home_a_shortcut_and_next_steps(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("HUBSPOT_ACCESS_TOKEN", "SELL_ACCESS_TOKEN", "SLACK_BOT_TOKEN", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "/sellsync push" in out and "created in HubSpot" in out
    assert "[Approve] [Reject]" in out and "Approved by @Morgan Manager" in out
    assert "[Keep Sell] [Use HubSpot] [Dismiss]" in out and "used HubSpot's value" in out
    assert "sellsync summary" in out
    # the sync comes first, so the threshold request's impact table is not all zeros
    assert out.index("Sync finished") < out.index("/sellsync threshold")
    assert "No sync has run yet" not in out
    table = out[out.index("threshold   qualify") :].split("```")[0]
    qualify = [
        int(line.split()[1].replace(",", "")) for line in table.splitlines()[1:] if line.strip()
    ]
    assert qualify and any(qualify)
    assert "App Home of @Morgan Manager:" in out and "*Run history*" in out
    assert "A modal opens:" in out and "from a message in #C0SALESOPS" in out
    # L1: a linked lead converted in Sell; the next sync moves its link instead of a tombstone
    scene = out[out.index("=== 8. A linked lead converted in Sell") : out.index("=== 9.")]
    assert "leads converted (links moved) *1*" in scene and "tombstoned" not in scene
    assert "Linked: contact:" in scene
    # L2: contacts merged in HubSpot; the second merge is a link conflict a manager settles
    merges = out[out.index("=== 9. Contacts merged in HubSpot") : out.index("=== What next")]
    assert "merged in HubSpot (links moved) *1*" in merges and "link conflicts *1*" in merges
    assert "[Keep lead:" in merges or "[Keep contact:" in merges
    assert ":white_check_mark: Link conflict of" in merges
    # leaving Sell: the plan's counts approved, one message moved in place, verify, export,
    # and Sell read-only, in that order
    leaving = out[out.index("=== 12. Leaving Sell") : out.index("=== What next")]
    steps = [
        "/sellsync migrate",
        "move everything out of Sell into HubSpot (`run: ",
        "Approved by @Avery Admin",
        "*Moving everything out of Sell into HubSpot*",
        "(message edited in place):\n  :white_check_mark: *Everything is moved out of Sell",
        "$ sellsync migrate --verify",
        "Exported ",
        "@Riley Rep in #C0SALESOPS: /sellsync sell-mode read_only",
        "Sell is now read_only",
    ]
    where = [leaving.find(step) for step in steps]
    assert -1 not in where and where == sorted(where), list(zip(steps, where, strict=True))
    # it ends with what to do next, toward a real workspace
    tail = out[out.index("=== What next") :]
    assert "docs/setup.md" in tail and "sellsync check" in tail
    assert "Traceback" not in out
    # the manager group is read with the bot token: no "unreadable (not_authed)" warning
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]

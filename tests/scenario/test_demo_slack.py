"""``run_demo_slack`` drives the real app over HTTP through the demo's stories and shows the
channels, App Home and the modal as a reader sees them."""

from __future__ import annotations

import io
import re

import pytest

from demo.slack import plain_text, render_blocks, run_demo_slack
from sandbox.server import Sandbox
from sync.domain import SellRef
from tests.conftest import World


def impact_rows(text: str) -> dict[int, tuple[int, int]]:
    """The first impact table of the transcript: threshold → (qualify, enter Sell)."""
    rows: dict[int, tuple[int, int]] = {}
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "threshold   qualify" in line)
    for line in lines[start + 1 :]:
        numbers = re.match(r"^\s*([\d,]+)\s+([\d,]+)\s+([\d,]+)", line)
        if not numbers:
            break
        threshold, qualify, enter = (int(n.replace(",", "")) for n in numbers.groups())
        rows[threshold] = (qualify, enter)
    return rows


def test_the_demo_walks_from_a_push_through_a_sync_and_approval_to_home_and_the_shortcut(
    sandbox: Sandbox, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.slack.reset()
    sandbox.slack.set_usergroup("S0MANAGERS", ["UMGR00002"])
    sell = world.sell
    pushed = [
        f"lead:{sell.add('lead', email=f'p{i}@example.com', last_name=f'P{i}')}" for i in range(2)
    ]
    pushed.append(f"lead:{sell.add('lead', last_name='Nomail')}")
    pat = sell.add("lead", email="pat@example.com", last_name="Pat", phone="+1 555 0100")
    world.member(score=80, email="pat@example.com", lastname="Pat", phone="+1 555 0199")
    world.member(score=45, email="almost@example.com", lastname="Almost")  # qualifies at 40
    world.member(score=5, email="low@example.com", lastname="Low")  # the merge survivor (L2)
    by_url = sell.add("lead", email="expo1@example.com", last_name="Expo")
    sell.add("lead", email="expo2@example.com", last_name="Expo")
    shortcut = (
        f"Met them at the expo: {SellRef('lead', by_url).web_url} and "
        "<mailto:expo2@example.com|expo2@example.com>"
    )
    out = io.StringIO()
    converted: list[int] = []

    def convert(lead_id: int) -> int | None:
        conversion = sell.convert(lead_id)
        converted.append(lead_id)
        return conversion.individual_id

    def merge(survivor: str, absorbed: str) -> None:
        world.hubspot.merge(survivor, absorbed)

    lines = run_demo_slack(
        world.service,
        sandbox.slack_url,
        push_items=pushed,
        shortcut_message=shortcut,
        convert_lead=convert,
        merge_contacts=merge,
        out=out,
    )
    text = "\n".join(lines)
    assert out.getvalue().strip() == text.strip()
    assert "Pushed to HubSpot, except 1 record" in text and "no email" in text
    # the sync runs before the threshold request, so the request shows a real impact
    assert text.index("Sync finished (started by @Morgan Manager)") < text.index(
        "/sellsync threshold 40"
    )
    assert "No sync has run yet" not in text
    rows = impact_rows(text)
    assert rows[40] == (1, 1) and rows[50] == (0, 0)
    assert "#C0APPROVALS — sellsync:" in text and "[Approve] [Reject]" in text
    assert "Approved by @Morgan Manager" in text and "DM to @Riley Rep" in text
    assert "used HubSpot's value (written to Sell)" in text
    assert "sellsync summary" in text and "threshold=40 (approved by @Morgan Manager)" in text
    # the threshold's impact and the summary's trend are shared as charts beside their text
    assert "sellsync shares a chart: Threshold impact (now 50) (960×540 PNG, alt text set)" in text
    assert "sellsync shares a chart: Syncs over the last 14 days (960×540 PNG" in text
    assert world.sell.value("lead", pat, "phone") == "+1 555 0199"  # the conflict was resolved
    # App Home, with its run history
    home = text[text.index("App Home of @Morgan Manager:") :]
    assert "*Run history* (1 recent run)" in home and "· from Slack ·" in home
    # the message shortcut: the modal opens filled from the message, and the push is sent by DM
    shortcut_part = text[text.index("=== 7.") :]
    assert "A modal opens:" in shortcut_part and "I found 2 items in the message" in shortcut_part
    assert f"| lead:{by_url}" in shortcut_part and "| expo2@example.com" in shortcut_part
    assert (
        "Pushed to HubSpot." in shortcut_part and "from a message in #C0SALESOPS" in shortcut_part
    )
    assert world.hubspot.by_email("expo1@example.com") is not None
    assert world.hubspot.by_email("expo2@example.com") is not None
    # L1: a linked lead converted in Sell; the next sync moves its link to the new contact
    scene = text[text.index("=== 8.") : text.index("=== 9.")]
    assert len(converted) == 1 and f"converts lead:{converted[0]} in Sell" in scene
    contact = next(r.id for r in sell.of_kind("contact") if f"contact:{r.id}" in scene)
    link = world.store.links_by_sell([SellRef("contact", contact)])[SellRef("contact", contact)]
    assert link.state.value == "active"
    assert "leads converted (links moved)" in scene and "tombstoned" not in scene
    # L2: a merge the next sync follows, then a merge onto a linked contact a manager settles
    merges = text[text.index("=== 9.") :]
    assert "merged in HubSpot (links moved) *1*" in merges and "link conflicts *1*" in merges
    assert "*Link conflicts* (1)" in merges and "Link conflict of" in merges
    low = world.hubspot.by_email("low@example.com")
    assert low is not None
    assert world.store.links_by_hubspot([low.id])[low.id].state.value == "active"
    assert world.service.held_links().total == 0
    assert world.hubspot.writes_to_merged_ids == []
    # the manager group is read with the bot token (no "not_authed" warning)
    assert not [r for r in caplog.records if "unreadable" in r.getMessage()]
    assert "<@" not in text and "<!date" not in text  # rendered for people, not raw mrkdwn


def test_mrkdwn_is_rendered_for_readers() -> None:
    names = {"U1": "Riley"}
    assert plain_text(
        "<@U1> at <!date^1^{date}|2026-01-01 09:00 UTC> in <#C9> &amp; <mailto:a@b.c|a@b.c>", names
    ) == ("@Riley at 2026-01-01 09:00 UTC in #C9 & a@b.c")
    blocks = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "hi"},
            "fields": [{"type": "mrkdwn", "text": "*A*\n1"}],
        },
        {
            "type": "actions",
            "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}],
        },
    ]
    assert render_blocks(blocks) == ["hi", "  *A*: 1", "  [Go]"]

"""``run_demo_slack`` drives the real app over HTTP through the four demo stories and shows the
channels as a reader sees them."""

from __future__ import annotations

import io

from bot.demo_slack import plain_text, render_blocks, run_demo_slack
from sandbox.server import Sandbox
from tests.conftest import World


def test_the_demo_shows_a_push_an_approval_a_conflict_review_and_a_summary(
    sandbox: Sandbox, world: World
) -> None:
    sandbox.slack.reset()
    sell = world.sell
    pushed = [
        f"lead:{sell.add('lead', email=f'p{i}@example.com', last_name=f'P{i}')}" for i in range(2)
    ]
    pushed.append(f"lead:{sell.add('lead', last_name='Nomail')}")
    pat = sell.add("lead", email="pat@example.com", last_name="Pat", phone="+1 555 0100")
    world.member(score=80, email="pat@example.com", lastname="Pat", phone="+1 555 0199")
    out = io.StringIO()
    lines = run_demo_slack(world.service, sandbox.slack_url, push_items=pushed, out=out)
    text = "\n".join(lines)
    assert out.getvalue().strip() == text.strip()
    assert "Pushed to HubSpot, except 1 record" in text and "no email" in text
    assert "#C0APPROVALS — sellsync:" in text and "[Approve] [Reject]" in text
    assert "Approved by @Morgan Manager" in text and "DM to @Riley Rep" in text
    assert "Sync finished (started by @Morgan Manager)" in text
    assert "used HubSpot's value (written to Sell)" in text
    assert "sellsync summary" in text and "threshold=60 (approved by @Morgan Manager)" in text
    assert world.sell.value("lead", pat, "phone") == "+1 555 0199"  # the conflict was resolved
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

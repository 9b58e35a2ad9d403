"""The demo's last scene: a rep's record link unfurls into its card, and a Workflow Builder
step pushes that record, ending with its outputs — driven over HTTP like the rest of the demo."""

from __future__ import annotations

from demo.slack import run_demo_slack
from sandbox.server import Sandbox
from sync.domain import SellRef
from tests.conftest import World


def test_the_demo_unfurls_a_record_link_and_runs_the_push_step(
    sandbox: Sandbox, world: World
) -> None:
    sandbox.slack.reset()
    known = world.sell.add("lead", email="known@example.com", last_name="Known")
    world.hubspot.add_contact(email="known@example.com", lastname="Known")  # a push merges it
    fresh = world.sell.add("lead", email="fresh@example.com", first_name="Fay", last_name="Fresh")
    lines = run_demo_slack(
        world.service,
        sandbox.slack_url,
        push_items=[f"lead:{known}"],
        shortcut_message="nothing to push here",
        run_sync=False,
    )
    text = "\n".join(lines)
    scene = text[text.index("=== 10.") :]
    url = SellRef("lead", fresh).web_url
    assert f"Slack unfurls {url} into sellsync's card:" in scene
    assert "| *Fay Fresh* · Sell lead" in scene and "fresh@example.com" in scene
    assert "*Not linked*" in scene and "[Push to HubSpot] [Why]" in scene
    assert "The workflow step ends; its outputs, for the next steps:" in scene
    contact = world.hubspot.by_email("fresh@example.com")
    assert contact is not None
    assert "outcome: created" in scene and f"hubspot_id: {contact.id}" in scene
    assert world.store.links_by_sell([SellRef("lead", fresh)])

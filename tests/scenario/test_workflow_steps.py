"""The Workflow Builder steps over signed HTTP: a workflow reaches ``push_to_hubspot`` or
``sync_status`` (Slack's ``function_executed`` event) and the step always ends — with
``functions.completeSuccess`` and its outputs, or ``functions.completeError`` and one line —
checked by the sandbox Slack against the manifest's output parameters."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from bot import action_ids as ids
from bot.listeners import functions
from sandbox.slack_surface_methods import Execution
from sync.api import ServiceUnavailable
from sync.domain import SellRef
from tests.scenario.conftest import Bot, sign

SELL = "https://app.futuresimple.com"


def run_step(bot: Bot, step: str, inputs: dict[str, Any], *, settle: bool = True) -> Execution:
    """A workflow reaches ``step`` with ``inputs``; the execution as Slack holds it after."""
    event = bot.slack.surface.start_function(step, inputs)
    event_id = f"Ev{event['function_execution_id']}"
    response = bot.event(event, event_id=event_id, settle=settle)
    assert response.status == 200
    return bot.slack.surface.execution(event["function_execution_id"])


def completions(bot: Bot) -> list[dict[str, Any]]:
    return [m for m in bot.slack.messages if m["method"].startswith("functions.complete")]


def test_push_step_creates_the_contact_and_outputs_its_id_and_url(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="wf@example.com", last_name="Flow")
    done = run_step(bot, ids.PUSH_STEP, {"item": f"{SELL}/leads/{lead}"})
    assert done.state == "completed", done.error
    assert done.outputs is not None
    contact = bot.world.hubspot.by_email("wf@example.com")
    assert contact is not None
    assert done.outputs["outcome"] == "created"
    assert done.outputs["hubspot_id"] == contact.id
    assert done.outputs["hubspot_url"].endswith(f"/record/0-1/{contact.id}")
    assert set(done.outputs) == set(functions.STEP_OUTPUTS[ids.PUSH_STEP])
    assert bot.world.store.links_by_sell([SellRef("lead", lead)])
    # completed with the execution's own token, exactly once
    calls = completions(bot)
    assert [c["method"] for c in calls] == ["functions.completeSuccess"]
    assert done.token_kind == "xwfp"


def test_push_step_merges_with_an_existing_contact_by_email(bot: Bot) -> None:
    bot.world.sell.add("lead", email="both@example.com", last_name="Both")
    existing = bot.world.hubspot.add_contact(email="both@example.com", lastname="Both")
    done = run_step(bot, ids.PUSH_STEP, {"item": "both@example.com"})
    assert done.state == "completed", done.error
    assert done.outputs == {
        "outcome": "merged",
        "hubspot_id": existing,
        "hubspot_url": done.outputs["hubspot_url"] if done.outputs else "",
        "reason": done.outputs["reason"] if done.outputs else "",
    }


def test_push_step_of_a_record_without_email_completes_as_skipped_with_the_reason(
    bot: Bot,
) -> None:
    lead = bot.world.sell.add("lead", last_name="Nomail")
    done = run_step(bot, ids.PUSH_STEP, {"item": f"lead:{lead}"})
    assert done.state == "completed", done.error
    assert done.outputs == {
        "outcome": "skipped",
        "hubspot_id": "",
        "hubspot_url": "",
        "reason": "no email",
    }
    assert bot.world.hubspot.total_calls() == 0 or not bot.world.hubspot.live()


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({}, "No item given"),
        ({"item": ""}, "No item given"),
        ({"item": 42}, "No item given"),
        ({"item": "tag:expo"}, "is a tag"),
        ({"item": "lead:abc"}, "lead:ID takes a whole number"),
        ({"item": "https://evil.example/leads/1"}, "not a Sell record URL"),
        ({"item": "a@example.com b@example.com"}, "one item, not several"),
        ({"item": "x" * 40_000}, "40,000 characters long"),
    ],
)
def test_push_step_with_a_bad_item_ends_in_an_error_with_one_line(
    bot: Bot, inputs: dict[str, Any], words: str
) -> None:
    done = run_step(bot, ids.PUSH_STEP, inputs)
    assert done.state == "failed"
    assert done.error is not None and words in done.error
    assert "\n" not in done.error and len(done.error) <= functions.ERROR_LIMIT
    assert bot.world.sell.total_calls() == 0 and bot.world.hubspot.total_calls() == 0


def test_push_step_with_a_crm_down_ends_in_an_error(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="down@example.com", last_name="Down")

    def down(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailable("Sell", "service unavailable", 503)

    bot.world.sell.get_records = down  # type: ignore[method-assign]
    done = run_step(bot, ids.PUSH_STEP, {"item": f"lead:{lead}"})
    assert done.state == "failed"
    assert done.error is not None and done.error.startswith("The push stopped")


def test_a_step_that_gets_no_answer_in_time_ends_in_an_error(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    lead = bot.world.sell.add("lead", email="slow@example.com", last_name="Slow")
    gate = threading.Event()
    reads = bot.world.sell.get_records

    def stuck(*args: Any, **kwargs: Any) -> Any:
        gate.wait(10)
        return reads(*args, **kwargs)

    bot.world.sell.get_records = stuck  # type: ignore[method-assign]
    monkeypatch.setattr(functions, "STEP_TIMEOUT", 0.3)
    try:
        done = run_step(bot, ids.STATUS_STEP, {"item": f"lead:{lead}"})
    finally:
        gate.set()
    assert done.state == "failed"
    assert done.error is not None and "no answer from the CRMs within 0 seconds" in done.error


def test_status_step_outputs_the_verdict_of_status_item(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="ann@example.com", last_name="Lee")
    contact = bot.world.member(score=80, email="ann@example.com", lastname="Lee")
    bot.world.sync()
    done = run_step(bot, ids.STATUS_STEP, {"item": f"{SELL}/leads/{lead}"})
    assert done.state == "completed", done.error
    assert done.outputs is not None
    assert done.outputs["verdict"] == "synced"
    assert done.outputs["sell_id"] == f"lead:{lead}" and done.outputs["hubspot_id"] == contact
    assert done.outputs["reason"].startswith("synced: linked pairs keep syncing")
    by_contact = run_step(
        bot,
        ids.STATUS_STEP,
        {"item": f"https://app.hubspot.com/contacts/1/record/0-1/{contact}"},
    )
    assert by_contact.outputs is not None and by_contact.outputs["sell_id"] == f"lead:{lead}"


def test_status_step_of_an_unlinked_or_unknown_record(bot: Bot) -> None:
    lead = bot.world.sell.add("lead", email="new@example.com", last_name="New")
    unlinked = run_step(bot, ids.STATUS_STEP, {"item": f"lead:{lead}"})
    assert unlinked.outputs is not None
    assert unlinked.outputs["verdict"] == "not_linked" and unlinked.outputs["hubspot_id"] == ""
    unknown = run_step(bot, ids.STATUS_STEP, {"item": "contact:424242"})
    assert unknown.state == "completed"
    assert unknown.outputs is not None and unknown.outputs["verdict"] == "not_found"


def test_status_step_with_hostile_input_ends_in_a_one_line_error(bot: Bot) -> None:
    done = run_step(bot, ids.STATUS_STEP, {"item": "<!channel>\n*boom*"})
    assert done.state == "failed"
    assert done.error is not None and "\n" not in done.error
    assert bot.world.sell.total_calls() == 0


def test_an_unexpected_error_ends_the_step_with_a_reference_not_a_traceback(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(item: str) -> Any:
        raise RuntimeError("secret-ish internals")

    monkeypatch.setattr(bot.world.service, "explain", broken)
    done = run_step(bot, ids.STATUS_STEP, {"item": "lead:1"})
    assert done.state == "failed"
    assert done.error is not None and "reference" in done.error
    assert "internals" not in done.error and "Traceback" not in done.error


def test_a_forged_function_event_is_refused_and_no_step_runs(bot: Bot) -> None:
    event = bot.slack.surface.start_function(ids.PUSH_STEP, {"item": "a@example.com"})
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": event})
    response = bot.dispatch(body, "application/json", headers=sign(body, secret="forged"))
    bot.settle()
    assert response.status == 401
    assert completions(bot) == []
    assert bot.slack.surface.execution(event["function_execution_id"]).state == "running"


def test_an_undeclared_step_is_not_answered(bot: Bot) -> None:
    event = bot.slack.surface.start_function("not_a_step", {"item": "a@example.com"})
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": event})
    assert bot.dispatch(body, "application/json").status == 404

"""Workflow Builder steps: ``push_to_hubspot`` and ``sync_status`` (``functions`` in the
manifests, ``function_executed`` events here).

Each step takes one ``item`` (a Sell record URL, ``lead:ID``, ``contact:ID`` or an email;
``sync_status`` also a HubSpot contact link or ``hubspot:ID``) and always ends: with
``functions.completeSuccess`` and every output the manifest declares (strings, empty when there
is nothing to say), or with ``functions.completeError`` and one line saying why (a bad item, a
CRM down, no answer within :data:`STEP_TIMEOUT` seconds, anything unexpected). Never a hang,
never a traceback. The event is acknowledged at once; the step runs on the work lane.

A push whose record the rules keep out (no email, a company contact, not found) completes
successfully with ``outcome`` ``skipped`` and the reason: a workflow can branch on it.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from slack_bolt import Ack, App
from slack_bolt.context.complete import Complete
from slack_bolt.context.fail import Fail
from slack_sdk.errors import SlackApiError

from bot import action_ids as ids
from bot.blocks.common import clip
from bot.blocks.push import not_pushed
from bot.blocks.runs import failure_reason
from bot.blocks.status import verdict_text
from bot.listeners.common import Body, Deps
from bot.listeners.unfurls import record_item
from bot.settings_text import refusal_text
from sync.api import (
    Actor,
    Explanation,
    Outcome,
    Refused,
    SyncError,
    SyncReport,
    parse_id,
    parse_items,
    scrub,
)

log = logging.getLogger("sellsync.bot.steps")

#: Seconds a step may take before it ends in an error (Slack shows the step running till then).
STEP_TIMEOUT = 45.0
#: The longest item a step reads (a Sell URL or an email is far shorter).
MAX_ITEM = 500
ERROR_LIMIT = 400
OUTPUT_LIMIT = 1000
STEP_THREADS = 4

#: Who a workflow's push is recorded as (the audit trail and the run's trigger).
WORKFLOW_ACTOR = Actor(id="workflow", is_manager=False)

PUSH_ITEMS = "a Sell record URL, lead:ID, contact:ID or an email"
STATUS_ITEMS = "a Sell or HubSpot record URL, lead:ID, contact:ID, hubspot:ID or an email"

#: The outputs each step completes with (the manifests declare the same, all strings).
STEP_OUTPUTS = {
    ids.PUSH_STEP: ("outcome", "hubspot_id", "hubspot_url", "reason"),
    ids.STATUS_STEP: ("verdict", "reason", "sell_id", "hubspot_id"),
}

#: ``outcome`` of a push, from what it did to the record.
OUTCOMES = (
    (Outcome.CREATED_IN_HUBSPOT, "created"),
    (Outcome.MERGED, "merged"),
    (Outcome.UPDATED_HUBSPOT, "updated"),
)


class StepFailed(Exception):
    """The step ends in ``functions.completeError`` with this one-line reason."""


def _one_line(text: object, limit: int) -> str:
    return clip(" ".join(str(text).split()), limit)


def _item_text(inputs: object, accepted: str) -> str:
    raw = inputs.get("item") if isinstance(inputs, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise StepFailed(f"No item given: the step needs {accepted}.")
    text = raw.strip()
    if len(text) > MAX_ITEM:
        raise StepFailed(f"The item is {len(text):,} characters long: give {accepted}.")
    if len(text.split()) > 1:
        raise StepFailed(f"The step takes one item, not several: give {accepted}.")
    return text


def push_item(inputs: object) -> str:
    """The one Sell record (or email) a push step names; :class:`StepFailed` otherwise."""
    text = _item_text(inputs, PUSH_ITEMS)
    shown = _one_line(text, 80)
    if text.lower().startswith("tag:"):
        raise StepFailed(f"“{shown}” is a tag: the step pushes one record, give {PUSH_ITEMS}.")
    parsed = parse_items([text])
    if parsed.invalid:
        raise StepFailed(f"“{shown}” is {parsed.invalid[0].reason}: give {PUSH_ITEMS}.")
    if parsed.refs:
        return str(parsed.refs[0])
    if parsed.emails:
        return parsed.emails[0]
    raise StepFailed(f"“{shown}” names no record: give {PUSH_ITEMS}.")


def status_item(inputs: object) -> str:
    """The record a status step asks about: anything a push takes, or a HubSpot contact."""
    text = _item_text(inputs, STATUS_ITEMS)
    if text.lower().startswith("hubspot:"):
        contact = parse_id(text.split(":", 1)[1])
        if contact is None:
            raise StepFailed(f"“{_one_line(text, 80)}” is no HubSpot contact id.")
        return f"hubspot:{contact}"
    if text.lower().startswith(("http://", "https://")):
        linked = record_item(text)
        if linked is not None:
            return linked
    try:
        return push_item(inputs)
    except StepFailed as exc:
        raise StepFailed(str(exc).replace(PUSH_ITEMS, STATUS_ITEMS)) from None


def push_outputs(report: SyncReport, hubspot_url: Callable[[str], str | None]) -> dict[str, str]:
    """``outcome``, ``hubspot_id``, ``hubspot_url``, ``reason`` of a one-record push."""
    if report.failure:
        raise StepFailed(f"The push stopped: {failure_reason(report.failure_kind)}.")
    done = [a for a in report.applied.actions if a.hubspot_id]
    left_out = not_pushed(report)
    if done:
        action = done[0]
        outcome = next((word for o, word in OUTCOMES if o in action.outcomes), "linked")
        contact = action.hubspot_id or ""
        return {
            "outcome": outcome,
            "hubspot_id": contact,
            "hubspot_url": hubspot_url(contact) or "",
            "reason": _one_line(action.summary, OUTPUT_LIMIT),
        }
    if left_out:
        return {
            "outcome": "skipped",
            "hubspot_id": "",
            "hubspot_url": "",
            "reason": _one_line(left_out[0].reason, OUTPUT_LIMIT),
        }
    return {
        "outcome": "unchanged",
        "hubspot_id": "",
        "hubspot_url": "",
        "reason": "nothing to send: HubSpot already holds what Sell holds",
    }


def status_outputs(exp: Explanation) -> dict[str, str]:
    """``verdict``, ``reason``, ``sell_id``, ``hubspot_id`` of ``status ITEM``'s answer."""
    link = exp.link
    sell = link.sell if link is not None else (exp.record.ref if exp.record else exp.missing)
    contact = link.hubspot_id if link is not None else (exp.contact.id if exp.contact else "")
    return {
        "verdict": exp.kind.value,
        "reason": _one_line(verdict_text(exp), OUTPUT_LIMIT),
        "sell_id": str(sell) if sell is not None else "",
        "hubspot_id": contact or "",
    }


def register(app: App, deps: Deps) -> None:
    service = deps.service
    pool: list[ThreadPoolExecutor] = []
    pool_lock = threading.Lock()

    def executor() -> ThreadPoolExecutor:
        with pool_lock:
            if not pool:
                pool.append(ThreadPoolExecutor(STEP_THREADS, thread_name_prefix="step"))
            return pool[0]

    def run_push(inputs: object) -> dict[str, str]:
        item = push_item(inputs)
        return push_outputs(service.push([item], actor=WORKFLOW_ACTOR), service.hubspot_url)

    def run_status(inputs: object) -> dict[str, str]:
        return status_outputs(service.explain(status_item(inputs)))

    def step(name: str, run: Callable[[object], dict[str, str]]) -> Callable[..., None]:
        def work(body: Body, complete: Complete, fail: Fail) -> None:
            event = body.get("event") if isinstance(body.get("event"), dict) else {}
            inputs = (event or {}).get("inputs")
            timeout = STEP_TIMEOUT
            try:
                outputs = executor().submit(run, inputs).result(timeout=timeout)
            except StepFailed as exc:
                error = str(exc)
            except FutureTimeout:
                error = (
                    f"sellsync got no answer from the CRMs within {timeout:.0f} seconds; the "
                    "record may still be pushed. Ask `/sellsync status ITEM` later."
                    if name == ids.PUSH_STEP
                    else f"sellsync got no answer from the CRMs within {timeout:.0f} seconds."
                )
                log.warning("step %s timed out after %.0f s", name, timeout)
            except Refused as exc:
                error = refusal_text(exc)
            except SyncError as exc:  # a CRM down or refusing: words built without secrets
                error = str(exc)
                log.info("step %s failed: %s", name, deps.scrub(error))
            except Exception as exc:
                ref = uuid.uuid4().hex[:8]
                details = scrub("".join(traceback.format_exception(exc)), deps.secrets)
                log.error("step %s failed (%s):\n%s", name, ref, details)
                error = (
                    f"Something went wrong (reference {ref}); the details are in sellsync's log."
                )
            else:
                try:
                    complete(outputs=outputs)
                    return
                except SlackApiError as exc:
                    code = exc.response.get("error") if exc.response is not None else None
                    log.warning("Slack refused step %s's outputs: %s", name, code)
                    error = f"Slack refused the step's outputs ({code or 'unknown error'})."
                except Exception as exc:  # Slack unreachable: try to end it all the same
                    log.warning("could not complete step %s: %s", name, type(exc).__name__)
                    error = "sellsync could not hand the step's outputs to Slack."
            try:
                fail(error=_one_line(scrub(error, deps.secrets), ERROR_LIMIT) or "failed")
            except Exception as exc:  # Slack unreachable: the log is all that is left
                log.warning("could not end step %s: %s", name, type(exc).__name__)

        work.__name__ = work.__qualname__ = f"step_{name}"
        return work

    def _ack(ack: Ack) -> None:
        ack()

    app.function(ids.PUSH_STEP)(ack=_ack, lazy=[step(ids.PUSH_STEP, run_push)])
    app.function(ids.STATUS_STEP)(ack=_ack, lazy=[step(ids.STATUS_STEP, run_status)])

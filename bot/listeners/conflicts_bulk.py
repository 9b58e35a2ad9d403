"""Deciding every open conflict of one field at once, from ``/sellsync conflicts``.

The field's button opens a confirmation modal right after the ack (a trigger_id lives for 3
seconds) naming how many open conflicts it decides; its submission decides exactly those (the
ones opened later stay open), each through the per-conflict decision, audited on its own, and
the result comes by direct message. Only managers: a non-manager's click opens nothing and is
told why, and a forged submission is refused by the service the same way.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.blocks.common import escape, notice
from bot.blocks.conflicts import field_label
from bot.blocks.conflicts_bulk import (
    field_decision_message,
    field_decision_modal,
    unchosen_error,
)
from bot.listeners.common import Body, Deps, dm, first_action, guarded, tell, user_id
from sync.api import ConflictAction

OUT_OF_DATE = ":warning: That button is out of date; run `/sellsync conflicts` again."
NOT_MANAGER = ":no_entry: Only managers can resolve conflicts."


def chosen_action(view: dict[str, Any]) -> ConflictAction | None:
    values = (view.get("state") or {}).get("values") or {}
    picked = (values.get(ids.FIELD_ACTION_BLOCK) or {}).get(ids.FIELD_ACTION_INPUT) or {}
    value = (picked.get("selected_option") or {}).get("value")
    return ConflictAction(value) if value in set(ConflictAction) else None


def register(app: App, deps: Deps) -> None:
    service = deps.service

    @app.action(ids.CONFLICTS_OF_FIELD)
    def open_field_decision(ack: Ack, body: Body, client: WebClient, respond: Respond) -> None:
        ack()
        field = ids.decode_field(first_action(body).get("value"))
        if field is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        if not deps.is_manager(user_id(body)):
            tell(body, client, respond, notice(NOT_MANAGER))
            return
        conflicts = [c for c in service.conflicts_of_field(field) if c.id is not None]
        if not conflicts:
            label = escape(field_label(field))
            tell(body, client, respond, notice(f":tada: No open conflicts of *{label}* any more."))
            return
        choice = ids.FieldChoice(field, max(c.id or 0 for c in conflicts), len(conflicts))
        client.views_open(trigger_id=body["trigger_id"], view=field_decision_modal(choice))

    def check_submission(ack: Ack, body: Body) -> None:
        if chosen_action(body.get("view") or {}) is None:
            ack(response_action="errors", errors=unchosen_error())
        else:
            ack()

    def decide(body: Body, client: WebClient, respond: Respond) -> None:
        del respond
        view = body.get("view") or {}
        choice = ids.decode_field_choice(view.get("private_metadata"))
        action = chosen_action(view)
        user = user_id(body)
        if choice is None or action is None:
            dm(client, user, notice(OUT_OF_DATE))
            return
        result = service.resolve_conflicts_of_field(
            choice.field, action, actor=deps.actor(user), up_to=choice.up_to
        )
        dm(client, user, field_decision_message(result))

    app.view_submission(ids.FIELD_DECISION_VIEW)(ack=check_submission, lazy=[guarded(deps, decide)])

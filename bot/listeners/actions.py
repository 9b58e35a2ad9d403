"""Buttons: Approve / Reject a change request, resolve a conflict, page through conflicts."""

from __future__ import annotations

import re

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.blocks.bulk import decision_note
from bot.blocks.common import Message, clip, escape, notice
from bot.blocks.conflicts import (
    HELD_LINKS_SHOWN,
    PAGE_SIZE,
    conflicts_message,
    link_choice_note,
    resolved_note,
)
from bot.blocks.conflicts_bulk import with_field_buttons
from bot.blocks.sell_mode import retire_unverified_message
from bot.blocks.threshold import decision_text
from bot.listeners.approvals import notify_requester, refresh_hold, refresh_message
from bot.listeners.common import Body, Deps, first_action, guarded, tell, user_id
from bot.listeners.events import publish_home
from sync.api import ConflictChanged, RequestStatus, RetireUnverified

OUT_OF_DATE = ":warning: That button is out of date; run the command again."


def _ack(ack: Ack) -> None:
    ack()


def _replace(respond: Respond, message: Message) -> None:
    respond(response_type="ephemeral", replace_original=True, **message.kwargs())


def _from_home(body: Body) -> bool:
    return (body.get("container") or {}).get("type") == "view"


def register(app: App, deps: Deps) -> None:
    service = deps.service

    def decide(body: Body, client: WebClient, respond: Respond) -> None:
        action = first_action(body)
        request_id = ids.decode_request(action.get("value"))
        user = user_id(body)
        if request_id is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        action_id = action.get("action_id")
        try:
            decision = service.decide(
                request_id,
                approve=action_id in (ids.APPROVE, ids.APPROVE_UNVERIFIED),
                actor=deps.actor(user),
                confirm_unverified=action_id == ids.APPROVE_UNVERIFIED,
            )
        except RetireUnverified as exc:  # the second confirmation, naming what is unverified
            tell(body, client, respond, retire_unverified_message(request_id, exc))
            return
        request = decision.request
        if decision.changed:
            # only the message stored for the request: never one the payload names
            refresh_message(client, request)
            notify_requester(client, request)
            if _from_home(body) or not (request.channel and request.message_ts):
                tell(
                    body, client, respond, notice(f":white_check_mark: {decision_text(decision)}.")
                )
        else:
            tell(body, client, respond, notice(f":information_source: {decision_text(decision)}."))
            if request.status in (RequestStatus.EXPIRED, RequestStatus.SUPERSEDED):
                refresh_message(client, request)
        if _from_home(body):
            publish_home(deps, client, user)

    def decide_bulk(body: Body, client: WebClient, respond: Respond) -> None:
        action = first_action(body)
        hold_id = ids.decode_hold(action.get("value"))
        user = user_id(body)
        if hold_id is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        decision = service.decide_bulk(
            hold_id, approve=action.get("action_id") == ids.BULK_APPROVE, actor=deps.actor(user)
        )
        hold = decision.hold
        note = decision_note(hold, changed=decision.changed)
        if decision.changed:
            # only the message stored for the hold: never one the payload names
            refresh_hold(client, hold)
            if _from_home(body) or not (hold.channel and hold.message_ts):
                tell(body, client, respond, notice(f":white_check_mark: {note}."))
        else:
            tell(body, client, respond, notice(f":information_source: {note}."))

    def show_conflicts(
        body: Body,
        client: WebClient,
        respond: Respond,
        *,
        offset: int,
        can_resolve: bool,
        note: str | None = None,
    ) -> None:
        """The conflicts page at ``offset`` (link conflicts first), in place of the message
        the button was on."""
        message = conflicts_message(
            service.conflicts(offset=offset, limit=PAGE_SIZE),
            can_resolve=can_resolve,
            note=note,
            urls=deps.urls,
            links=service.held_links(limit=HELD_LINKS_SHOWN),
        )
        if can_resolve:
            message = with_field_buttons(message, service.conflict_fields())
        if body.get("response_url"):
            _replace(respond, message)
        else:
            tell(body, client, respond, message)

    def resolve(body: Body, client: WebClient, respond: Respond) -> None:
        action = first_action(body)
        ref = ids.decode_conflict(action.get("value"))
        resolution = ids.CONFLICT_RESOLUTION.get(str(action.get("action_id")))
        if ref is None or resolution is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        try:
            conflict, changed = service.resolve_conflict(
                ref.conflict_id, resolution, actor=deps.actor(user_id(body)), seen=ref.seen
            )
        except ConflictChanged as exc:  # nothing written: the page shows the fresh values
            note = f":warning: {clip(escape(exc), 1000)}."
            show_conflicts(body, client, respond, offset=ref.offset, can_resolve=True, note=note)
            return
        # when the last one of the last page went, the service answers with the page before
        note = resolved_note(conflict, changed=changed, urls=deps.urls)
        show_conflicts(body, client, respond, offset=ref.offset, can_resolve=True, note=note)

    def turn_page(body: Body, client: WebClient, respond: Respond) -> None:
        offset = ids.decode_page(first_action(body).get("value"))
        if offset is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        manager = deps.is_manager(user_id(body))
        show_conflicts(body, client, respond, offset=offset, can_resolve=manager)

    def choose_link(body: Body, client: WebClient, respond: Respond) -> None:
        """L2: a manager keeps one of the two Sell records a HubSpot contact merge left on a contact."""
        choice = ids.decode_link_choice(first_action(body).get("value"))
        user = user_id(body)
        if choice is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        unlinked, changed = service.keep_link(choice.held, choice.keep, actor=deps.actor(user))
        note = link_choice_note(choice.held, choice.keep, unlinked, changed=changed)
        if _from_home(body):
            tell(body, client, respond, notice(note))
            publish_home(deps, client, user)
            return
        show_conflicts(body, client, respond, offset=0, can_resolve=True, note=note)

    for action_id in ids.LINK_CONFLICT_ACTIONS:
        app.action(action_id)(ack=_ack, lazy=[guarded(deps, choose_link)])
    for action_id in ids.REQUEST_ACTIONS:
        app.action(action_id)(ack=_ack, lazy=[guarded(deps, decide)])
    for action_id in ids.BULK_ACTIONS:
        app.action(action_id)(ack=_ack, lazy=[guarded(deps, decide_bulk)])
    for action_id in ids.CONFLICT_ACTIONS:
        app.action(action_id)(ack=_ack, lazy=[guarded(deps, resolve)])
    app.action(re.compile("^(" + "|".join(ids.PAGE_ACTIONS) + ")$"))(
        ack=_ack, lazy=[guarded(deps, turn_page)]
    )

"""The Health inbox's buttons: *Retry now* runs the record through the sync at once, *Ignore*
stops listing it until it syncs. Managers only: the service refuses anyone else, and the error
path tells them why (nothing changes). The answer replaces the list it was clicked on (App
Home: the tab is published again and the note comes by direct message)."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.blocks.common import notice
from bot.blocks.health import health_message, ignore_note, retry_note
from bot.listeners.common import Body, Deps, first_action, guarded, tell, user_id
from bot.listeners.events import publish_home

OUT_OF_DATE = ":warning: That button is out of date; run `/sellsync health` again."


def _ack(ack: Ack) -> None:
    ack()


def register(app: App, deps: Deps) -> None:
    service = deps.service

    def answer(body: Body, client: WebClient, respond: Respond, note: str) -> None:
        user = user_id(body)
        if (body.get("container") or {}).get("type") == "view":  # App Home
            tell(body, client, respond, notice(note))
            publish_home(deps, client, user)
            return
        message = health_message(
            service.health(), can_act=deps.is_manager(user), note=note, urls=deps.urls
        )
        if body.get("response_url"):
            respond(response_type="ephemeral", replace_original=True, **message.kwargs())
        else:
            tell(body, client, respond, message)

    def retry(body: Body, client: WebClient, respond: Respond) -> None:
        key = ids.decode_health(first_action(body).get("value"))
        if key is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        outcome = service.retry_failing(key, actor=deps.actor(user_id(body)), trigger="slack")
        answer(body, client, respond, retry_note(outcome, deps.urls))

    def ignore(body: Body, client: WebClient, respond: Respond) -> None:
        key = ids.decode_health(first_action(body).get("value"))
        if key is None:
            tell(body, client, respond, notice(OUT_OF_DATE))
            return
        entry, changed = service.ignore_failing(key, actor=deps.actor(user_id(body)))
        answer(body, client, respond, ignore_note(entry, changed=changed, urls=deps.urls))

    app.action(ids.HEALTH_RETRY)(ack=_ack, lazy=[guarded(deps, retry)])
    app.action(ids.HEALTH_IGNORE)(ack=_ack, lazy=[guarded(deps, ignore)])

"""Both "Add to HubSpot" shortcuts open the push modal right after the ack (a trigger_id lives
for 3 seconds); the message shortcut fills it with the emails and Sell URLs of the message."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.blocks.common import notice
from bot.blocks.modals import push_modal
from bot.listeners.common import Body, Deps, tell
from bot.parsing import extract_items

NOTHING_FOUND = (
    ":mag: I found no email address or Sell record URL in that message, so there is nothing to "
    "add to HubSpot. The global *Add to HubSpot* shortcut lets you type them in."
)


def message_text(body: Body) -> str:
    """The message's text plus its attachments' texts (where unfurls and forwards keep theirs)."""
    message = body.get("message") or {}
    parts = [str(message.get("text") or "")]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [str(attachment.get(k) or "") for k in ("text", "fallback", "title_link")]
    return "\n".join(parts)


def register(app: App, deps: Deps) -> None:
    del deps

    @app.global_shortcut(ids.ADD_TO_HUBSPOT)
    def open_push_modal(ack: Ack, body: Body, client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=push_modal())

    @app.message_shortcut(ids.ADD_MESSAGE_TO_HUBSPOT)
    def open_message_push_modal(ack: Ack, body: Body, client: WebClient, respond: Respond) -> None:
        ack()
        items = extract_items(message_text(body))
        if not items:
            tell(body, client, respond, notice(NOTHING_FOUND))
            return
        origin = ids.PushOrigin(
            "message",
            channel=(body.get("channel") or {}).get("id"),
            message_ts=body.get("message_ts") or (body.get("message") or {}).get("ts"),
        )
        client.views_open(
            trigger_id=body["trigger_id"], view=push_modal(items=items, origin=origin)
        )

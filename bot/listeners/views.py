"""The push modal's submission: validated in the ack (errors shown in the modal), pushed lazily,
the result sent by direct message."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient

from bot import action_ids as ids
from bot.blocks.common import clip
from bot.blocks.push import push_result
from bot.listeners.common import Body, Deps, dm, guarded, user_id
from bot.parsing import ItemsCheck, parse_item_text

MAX_ERROR = 300


def submitted_items(view: dict[str, Any]) -> ItemsCheck:
    values = (view.get("state") or {}).get("values") or {}
    text = ((values.get(ids.ITEMS_BLOCK) or {}).get(ids.ITEMS_INPUT) or {}).get("value")
    tag = ((values.get(ids.TAG_BLOCK) or {}).get(ids.TAG_INPUT) or {}).get("value")
    return parse_item_text(text, tag)


def register(app: App, deps: Deps) -> None:
    def check_submission(ack: Ack, body: Body) -> None:
        check = submitted_items(body.get("view") or {})
        if check.ok:
            ack()
        else:
            ack(
                response_action="errors",
                errors={ids.ITEMS_BLOCK: clip(str(check.error), MAX_ERROR)},
            )

    def push_submission(body: Body, client: WebClient, respond: Respond) -> None:
        del respond
        view = body.get("view") or {}
        check = submitted_items(view)
        if not check.ok:
            return  # refused in the modal
        origin = ids.decode_push_origin(view.get("private_metadata"))
        user = user_id(body)
        report = deps.service.push(check.items, actor=deps.actor(user))
        source = (
            f"from a message in <#{origin.channel}>"
            if origin.source == "message" and origin.channel
            else None
        )
        dm(client, user, push_result(report, source=source, urls=deps.urls))

    app.view_submission(ids.PUSH_VIEW)(ack=check_submission, lazy=[guarded(deps, push_submission)])

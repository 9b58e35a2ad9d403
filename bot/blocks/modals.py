"""The "Add to HubSpot" modal, opened by both shortcuts."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, InputBlock, PlainTextInputElement
from slack_sdk.models.views import View

from bot import action_ids as ids
from bot.blocks.common import context, fit_view_blocks, plain, plural, section

MAX_INITIAL_VALUE = 3000  # plain_text_input initial_value / max_length


def initial_items(items: Sequence[str]) -> tuple[str, int]:
    """Items one per line, as many as fit in the textarea; and how many were left out."""
    kept: list[str] = []
    size = 0
    for item in items:
        if size + len(item) + 1 > MAX_INITIAL_VALUE:
            break
        kept.append(item)
        size += len(item) + 1
    return "\n".join(kept), len(items) - len(kept)


def push_modal(
    *,
    items: Sequence[str] = (),
    origin: ids.PushOrigin | None = None,
) -> View:
    origin = origin or ids.PushOrigin()
    value, left_out = initial_items(items)
    if origin.source == "message":
        intro = (
            f"I found {plural(len(items), 'item')} in the message. "
            "Check them, then *Push* to add them to HubSpot."
        )
    else:
        intro = "Sell records to add to HubSpot: emails, `lead:ID`, `contact:ID` or Sell record URLs, one per line — or a Sell tag."
    blocks: list[Block] = [section(intro)]
    if left_out:
        blocks.append(
            context(f":warning: …and {plural(left_out, 'more item')} that did not fit (left out).")
        )
    blocks += [
        InputBlock(
            block_id=ids.ITEMS_BLOCK,
            label=plain("Records", 2000),
            element=PlainTextInputElement(
                action_id=ids.ITEMS_INPUT,
                multiline=True,
                initial_value=value or None,
                max_length=MAX_INITIAL_VALUE,
                placeholder=plain(
                    "jane@example.com\nlead:1234\nhttps://app.futuresimple.com/sales/contacts/56",
                    150,
                ),
            ),
            optional=True,
        ),
        InputBlock(
            block_id=ids.TAG_BLOCK,
            label=plain("Or every record with this Sell tag", 2000),
            element=PlainTextInputElement(action_id=ids.TAG_INPUT, max_length=100),
            optional=True,
        ),
        context("The result comes to you as a direct message."),
    ]
    return View(
        type="modal",
        callback_id=ids.PUSH_VIEW,
        title=plain("Add to HubSpot", 24),
        submit=plain("Push", 24),
        close=plain("Cancel", 24),
        blocks=fit_view_blocks(blocks),
        private_metadata=ids.encode_push_origin(origin),
    )

"""Deciding every open conflict of one field at once: the buttons under ``/sellsync conflicts``,
the confirmation modal that names the count, and the result."""

from __future__ import annotations

from collections.abc import Mapping

from slack_sdk.models.blocks import Block, InputBlock, Option, RadioButtonsElement
from slack_sdk.models.views import View

from bot import action_ids as ids
from bot.blocks.common import (
    Message,
    actions,
    button,
    clip,
    context,
    escape,
    fit_view_blocks,
    plain,
    plural,
    section,
)
from bot.blocks.conflicts import field_label
from sync.api import ConflictAction, FieldDecision

#: Fields offered for a decision all at once (one button each; an actions block holds 25).
MAX_FIELDS = 10

#: How each choice reads in the modal and in the result.
CHOICES: dict[ConflictAction, tuple[str, str]] = {
    ConflictAction.KEEP_SELL: ("Keep Sell", "Sell's value is written to HubSpot"),
    ConflictAction.USE_HUBSPOT: ("Use HubSpot", "HubSpot's value is written to Sell"),
    ConflictAction.DISMISS: ("Dismiss", "both sides keep their values"),
}


def field_buttons(fields: Mapping[str, int]) -> list[Block]:
    """``All Phone (12)…`` per field with two open conflicts or more (managers only)."""
    several = {f: n for f, n in fields.items() if n >= 2}
    if not several:
        return []
    shown = sorted(several.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_FIELDS]
    return [
        context("Decide every open conflict of one field at once:"),
        actions(
            *(
                button(
                    clip(f"All {field_label(f)} ({n:,})…", 75),
                    ids.CONFLICTS_OF_FIELD,
                    ids.encode_field(f),
                )
                for f, n in shown
            ),
            block_id=ids.FIELDS_BLOCK,
        ),
    ]


def with_field_buttons(message: Message, fields: Mapping[str, int]) -> Message:
    """The ``/sellsync conflicts`` page with the buttons of :func:`field_buttons` under it."""
    return Message(message.text, [*message.blocks, *field_buttons(fields)])


def field_decision_modal(choice: ids.FieldChoice) -> View:
    label = escape(field_label(choice.field))
    count = plural(choice.count, "open conflict")
    blocks: list[Block] = [
        section(f"Decide all *{count}* of *{label}* at once:"),
        InputBlock(
            block_id=ids.FIELD_ACTION_BLOCK,
            label=plain("Decision", 2000),
            element=RadioButtonsElement(
                action_id=ids.FIELD_ACTION_INPUT,
                options=[
                    Option(value=action.value, text=plain(name), description=plain(what))
                    for action, (name, what) in CHOICES.items()
                ],
            ),
        ),
        context(
            "Each conflict is decided and audited on its own; one another manager decides "
            "meanwhile keeps their decision. Conflicts opened after this confirmation stay open."
        ),
    ]
    return View(
        type="modal",
        callback_id=ids.FIELD_DECISION_VIEW,
        title=plain(f"Decide {choice.count:,} conflicts", 24),
        submit=plain(f"Decide {choice.count:,}", 24),
        close=plain("Cancel", 24),
        blocks=fit_view_blocks(blocks),
        private_metadata=ids.encode_field_choice(choice),
    )


def field_decision_message(result: FieldDecision) -> Message:
    label = escape(field_label(result.field))
    name, what = CHOICES[result.action]
    lines = [
        f":white_check_mark: *{label}*: {plural(len(result.decided), 'conflict')} decided "
        f"with *{name}* ({what})."
    ]
    if result.already:
        lines.append(f"• {plural(len(result.already), 'conflict')} another manager decided first.")
    if result.changed:
        lines.append(
            f"• {plural(len(result.changed), 'conflict')} changed since you looked: nothing "
            "written, review them with `/sellsync conflicts`."
        )
    for conflict, why in result.refused[:5]:
        lines.append(f"• #{conflict.id}: {clip(escape(why), 300)} (still open)")
    if len(result.refused) > 5:
        lines.append(f"• …and {len(result.refused) - 5:,} more still open.")
    text = "\n".join(lines)
    return Message(clip(text, 3000), [section(text)])


def unchosen_error() -> dict[str, str]:
    """The modal's error when no decision was chosen."""
    return {ids.FIELD_ACTION_BLOCK: "Choose Keep Sell, Use HubSpot or Dismiss."}

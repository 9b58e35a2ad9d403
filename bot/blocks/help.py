"""``/sellsync help``: every row of the subcommand table, with what only managers may do."""

from __future__ import annotations

from bot import parsing
from bot.blocks.common import Message, context, escape, section
from bot.parsing import Subcommand


def help_line(row: Subcommand) -> str:
    """``/sellsync NAME ARGS`` — what it does. _Only managers can …_"""
    managers = dict.fromkeys(f.refusal for f in row.forms if f.managers is not None)
    line = f"`{row.usage}`\n{escape(row.help)}"
    if managers:
        line += " _" + " ".join(f"{m[0].upper()}{m[1:]}." for m in managers) + "_"
    return line


def help_message() -> Message:
    return Message(
        "sellsync usage",
        [
            section("*sellsync* keeps Zendesk Sell leads and contacts in step with HubSpot."),
            section("\n".join(help_line(row) for row in parsing.TABLE)),
            context(
                "Also: the *Add to HubSpot* shortcut (⚡ menu, or a message's ⋮ menu) and the "
                "app's Home tab. Approvals and conflict resolution are for managers."
            ),
        ],
    )

"""``/sellsync help``."""

from __future__ import annotations

from bot.blocks.common import Message, context, section
from bot.parsing import USAGE_LINES


def help_message() -> Message:
    lines = "\n".join(f"`{u}`" for u in USAGE_LINES.values())
    return Message(
        "sellsync usage",
        [
            section("*sellsync* keeps Zendesk Sell leads and contacts in step with HubSpot."),
            section(lines),
            context(
                "Also: the *Add to HubSpot* shortcut (⚡ menu, or a message's ⋮ menu) and the "
                "app's Home tab. Run, restore, field mapping, approvals and conflict "
                "resolution are for managers."
            ),
        ],
    )

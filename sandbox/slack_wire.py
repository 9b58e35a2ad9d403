"""What the Slack method families share: the bot's identity, Slack's size limits, the error a
method raises and the blocks check.

A method answers a dict that the service wraps as ``{"ok": true, ...}``; raising
:class:`SlackError` makes it ``{"ok": false, "error": ...}`` (HTTP 200 either way, like Slack).
"""

from __future__ import annotations

import json
from typing import Any

BOT = {"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "Sandbox", "user": "sellsync"}
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
RESPONSE_URL_USES = 5
MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"}
)
VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})

Args = dict[str, Any]


class SlackError(Exception):
    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


def json_arg(value: Any, error: str, messages: list[str] | None = None) -> Any:
    """An argument that may come as a JSON string (form posts do), decoded; a string that is
    not JSON answers ``error``. Any other value comes back as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError(error, messages) from None


def valid_blocks(blocks: Any, maximum: int) -> bool:
    return (
        isinstance(blocks, list)
        and len(blocks) <= maximum
        and all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)
    )

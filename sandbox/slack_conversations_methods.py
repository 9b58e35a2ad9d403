"""Slack's ``conversations.*`` methods: open a direct conversation and describe a channel.

``conversations.info`` knows only the channels defined with :meth:`SlackStore.set_channel` and
needs ``channels:read`` (or ``groups:read`` for a private channel), as the preflight expects.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable

from sandbox.slack_store import SlackStore
from sandbox.slack_wire import Args, SlackError


class ConversationMethods:
    """``conversations.*`` over ``store``."""

    def __init__(self, store: SlackStore) -> None:
        self.store = store

    def methods(self) -> dict[str, Callable[[Args], Args]]:
        return {
            "conversations.open": self._conversations_open,
            "conversations.info": self._conversations_info,
        }

    def _conversations_open(self, args: Args) -> Args:
        users = [u for u in str(args.get("users") or "").split(",") if u]
        if args.get("channel"):
            return {"channel": {"id": str(args["channel"])}}
        if not users:
            raise SlackError("users_list_not_supplied")
        if len(users) == 1:
            return {"channel": {"id": f"D{users[0]}"}, "no_op": True, "already_open": True}
        return {
            "channel": {
                "id": "G" + hashlib.sha1(",".join(sorted(users)).encode()).hexdigest()[:10].upper()
            }
        }

    def _conversations_info(self, args: Args) -> Args:
        channel = self.store.channels.get(str(args.get("channel") or ""))
        if channel is None:
            self.store.need_scope("channels:read", "groups:read")
            raise SlackError("channel_not_found")
        self.store.need_scope("groups:read" if channel["is_private"] else "channels:read")
        return {"channel": copy.deepcopy(channel)}

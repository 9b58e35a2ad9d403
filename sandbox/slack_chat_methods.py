"""Slack's ``chat.*`` methods: post, update, post ephemeral and delete messages.

Messages are checked as Slack checks them (at most 50 blocks, 40,000 characters of text, some
content required) and kept per channel in :attr:`SlackStore.history`; a ``channel`` that is a
user id posts to that user's ``D…`` conversation.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from sandbox.slack_store import SlackStore
from sandbox.slack_wire import BOT, MAX_MESSAGE_BLOCKS, MAX_TEXT, Args, SlackError, valid_blocks


class ChatMethods:
    """``chat.*`` over ``store``."""

    def __init__(self, store: SlackStore) -> None:
        self.store = store

    def methods(self) -> dict[str, Callable[[Args], Args]]:
        return {
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
        }

    def _channel(self, args: Args) -> str:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        channel = str(channel)
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    def _message_content(self, args: Args, *, required: bool = True) -> Args:
        blocks = args.get("blocks")
        if blocks is not None and not valid_blocks(blocks, MAX_MESSAGE_BLOCKS):
            raise SlackError("invalid_blocks")
        text = args.get("text")
        if text is not None and len(str(text)) > MAX_TEXT:
            raise SlackError("msg_too_long")
        if required and not (text or blocks or args.get("attachments")):
            raise SlackError("no_text")
        content: Args = {}
        if text is not None:
            content["text"] = str(text)
        if blocks is not None:
            content["blocks"] = copy.deepcopy(blocks)
        if args.get("attachments") is not None:
            content["attachments"] = copy.deepcopy(args["attachments"])
        return content

    def _find_message(self, channel: str, ts: Any) -> dict[str, Any]:
        for message in self.store.history.get(channel, []):
            if message["ts"] == str(ts):
                return message
        raise SlackError("message_not_found")

    def _post_message(self, args: Args) -> Args:
        channel = self._channel(args)
        content = self._message_content(args)
        message = {
            "type": "message",
            "user": BOT["user_id"],
            "bot_id": BOT["bot_id"],
            "ts": self.store.next_ts(),
            **content,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self.store.history.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _update(self, args: Args) -> Args:
        channel = self._channel(args)
        if not args.get("ts"):
            raise SlackError("message_not_found")
        message = self._find_message(channel, args["ts"])
        content = self._message_content(args, required=False)
        message.update(content)
        message["edited"] = {"user": BOT["user_id"], "ts": self.store.next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message.get("text", ""),
            "message": copy.deepcopy(message),
        }

    def _post_ephemeral(self, args: Args) -> Args:
        channel = self._channel(args)
        if not args.get("user"):
            raise SlackError("user_not_found")
        self._message_content(args)
        return {"message_ts": self.store.next_ts(), "channel": channel}

    def _delete(self, args: Args) -> Args:
        channel = self._channel(args)
        message = self._find_message(channel, args.get("ts"))
        self.store.history[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

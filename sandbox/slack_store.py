"""The Slack stand-in's workspace: channels, users, user groups, scopes, messages and views.

:class:`SlackStore` holds what the Web API methods read and write (``history`` per channel,
``views``, the published Home views) and what tests arrange or inspect (``set_channel``,
``set_user``, ``set_usergroup``, ``sent``). Nothing here knows about HTTP; the method families
(``sandbox.slack_*_methods``) act on it.
"""

from __future__ import annotations

import copy
import threading
import time
from typing import Any

from sandbox.slack_wire import BOT, SlackError

#: The bot scopes of manifest.yml; every answer lists them in ``x-oauth-scopes`` like Slack's.
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "files:write",
    "im:write",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "users:read",
    "users:read.email",
    "links:read",
    "links:write",
)


class SlackStore:
    """A workspace's data. Subclasses provide ``lock``."""

    lock: threading.RLock

    def _reset_store(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, str] = {}  # user id -> the id of their published Home view
        self.usergroups: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._ts_base = int(time.time())
        self._ts_count = 0
        self._view_count = 0
        self._webhook_uses: dict[str, int] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.scopes: list[str] = list(DEFAULT_SCOPES)

    # ================================================================== helpers (tests)

    def set_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        with self.lock:
            self.usergroups[group_id] = list(user_ids)

    def set_channel(
        self, channel_id: str, name: str, *, private: bool = False, bot_member: bool = True
    ) -> None:
        """Define a channel for ``conversations.info`` (unknown ids answer channel_not_found)."""
        with self.lock:
            self.channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "is_channel": not private,
                "is_group": private,
                "is_private": private,
                "is_archived": False,
                "is_member": bot_member,
            }

    def set_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        """Define (or change) what ``users.info`` answers for ``user_id``."""
        with self.lock:
            user = self.users.get(user_id) or default_user(user_id)
            profile = {**user["profile"], **fields.pop("profile", {})}
            user.update(fields, profile=profile)
            self.users[user_id] = user
            return copy.deepcopy(user)

    def sent(
        self, method: str | None = None, *, channel: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded message/view/webhook calls that succeeded, oldest first."""
        with self.lock:
            return [
                copy.deepcopy(m)
                for m in self.messages
                if m["ok"]
                and (method is None or m["method"] == method)
                and (channel is None or m.get("channel") == channel)
            ]

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        return self.sent("response_url")

    def next_ts(self) -> str:
        """A message timestamp, unique and increasing within the workspace."""
        self._ts_count += 1
        return f"{self._ts_base + self._ts_count // 1_000_000}.{self._ts_count % 1_000_000:06d}"

    def next_view_id(self) -> str:
        self._view_count += 1
        return f"V{self._view_count:08d}"

    def need_scope(self, *alternatives: str) -> None:
        if not any(scope in self.scopes for scope in alternatives):
            raise SlackError("missing_scope")


def default_user(user_id: str) -> dict[str, Any]:
    name = user_id.lower()
    return {
        "id": user_id,
        "team_id": BOT["team_id"],
        "name": name,
        "real_name": f"User {user_id}",
        "deleted": False,
        "is_admin": False,
        "is_owner": False,
        "is_primary_owner": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "is_bot": False,
        "tz": "UTC",
        "profile": {
            "real_name": f"User {user_id}",
            "display_name": name,
            "email": f"{name}@sandbox.example",
        },
    }

"""Slack's ``users.info``, ``users.lookupByEmail`` and ``usergroups.users.list``: who a user
is, who has an e-mail address, who is in a group.

An unknown but well-formed ``U…`` id gets a plain invented user; user groups need
``usergroups:read`` and answer ``no_such_subteam`` when the group is not defined.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable

from sandbox.slack_store import SlackStore, default_user
from sandbox.slack_wire import Args, SlackError


class UserMethods:
    """``users.info`` and ``usergroups.users.list`` over ``store``."""

    def __init__(self, store: SlackStore) -> None:
        self.store = store

    def methods(self) -> dict[str, Callable[[Args], Args]]:
        return {
            "usergroups.users.list": self._usergroup_users,
            "users.info": self._users_info,
            "users.lookupByEmail": self._lookup_by_email,
        }

    def _usergroup_users(self, args: Args) -> Args:
        self.store.need_scope("usergroups:read")
        group = args.get("usergroup")
        if group not in self.store.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.store.usergroups[group])}

    def _lookup_by_email(self, args: Args) -> Args:
        """The workspace member with this e-mail (``users:read.email``); ``users_not_found``
        for an address no member has, as Slack answers it."""
        self.store.need_scope("users:read.email")
        email = str(args.get("email") or "").strip()
        if not email:
            raise SlackError("invalid_arguments")
        for user in self.store.users.values():
            if str(user["profile"].get("email") or "").casefold() == email.casefold():
                if user.get("deleted"):
                    break
                return {"user": copy.deepcopy(user)}
        raise SlackError("users_not_found")

    def _users_info(self, args: Args) -> Args:
        user_id = str(args.get("user") or "")
        if user_id in self.store.users:
            return {"user": copy.deepcopy(self.store.users[user_id])}
        if not re.fullmatch(r"[UW][A-Z0-9]+", user_id):
            raise SlackError("user_not_found")
        return {"user": default_user(user_id)}

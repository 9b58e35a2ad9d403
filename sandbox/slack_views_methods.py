"""Slack's ``views.*`` methods: open, push, update and publish modals and Home tabs.

Views are checked as Slack checks them (at most 100 blocks, modal titles and buttons of at most
24 characters, ``private_metadata`` of at most 3000) with Slack's ``invalid_arguments``
messages, and stored with an ``id`` and a ``hash`` that ``views.update`` compares.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable
from typing import Any

from sandbox.slack_store import SlackStore
from sandbox.slack_wire import BOT, MAX_VIEW_BLOCKS, Args, SlackError, valid_blocks


class ViewMethods:
    """``views.*`` over ``store``."""

    def __init__(self, store: SlackStore) -> None:
        self.store = store

    def methods(self) -> dict[str, Callable[[Args], Args]]:
        return {
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

    def _check_view(self, view: Any, *, home: bool = False) -> dict[str, Any]:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: view"])
        kind = view.get("type")
        if kind not in (("home",) if home else ("modal",)):
            raise SlackError(
                "invalid_arguments",
                [f"[ERROR] view type {kind!r} is not allowed here [json-pointer:/view/type]"],
            )
        blocks = view.get("blocks")
        if not isinstance(blocks, list) or not valid_blocks(blocks, MAX_VIEW_BLOCKS):
            raise SlackError(
                "invalid_arguments",
                [
                    f"[ERROR] blocks must be a list of at most {MAX_VIEW_BLOCKS} blocks [json-pointer:/view/blocks]"
                ],
            )
        if kind == "modal":
            for part, required in (("title", True), ("submit", False), ("close", False)):
                text = (
                    (view.get(part) or {}).get("text") if isinstance(view.get(part), dict) else None
                )
                if required and not text:
                    raise SlackError(
                        "invalid_arguments",
                        [f"[ERROR] missing required field: {part} [json-pointer:/view/{part}]"],
                    )
                if text and len(text) > 24:
                    raise SlackError(
                        "invalid_arguments",
                        [
                            f"[ERROR] must be less than 25 characters [json-pointer:/view/{part}/text]"
                        ],
                    )
        if len(str(view.get("private_metadata") or "")) > 3000:
            raise SlackError(
                "invalid_arguments", ["[ERROR] private_metadata is longer than 3000 characters"]
            )
        return view

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> Args:
        if view_id is None:
            view_id = self.store.next_view_id()
        digest = hashlib.sha1(f"{view_id}:{self.store.next_ts()}".encode()).hexdigest()[:20]
        stored = {
            "id": view_id,
            "team_id": BOT["team_id"],
            "app_id": "ASANDBOX",
            "bot_id": BOT["bot_id"],
            "hash": f"{int(time.time())}.{digest}",
            "state": {"values": {}},
            "root_view_id": view_id,
            "previous_view_id": None,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **copy.deepcopy(view),
        }
        stored["id"] = view_id
        self.store.views[view_id] = stored
        return {"view": copy.deepcopy(stored)}

    def _views_open(self, args: Args) -> Args:
        if not args.get("trigger_id"):
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        return self._store_view(self._check_view(args.get("view")))

    def _views_update(self, args: Args) -> Args:
        view_id = args.get("view_id")
        external_id = args.get("external_id")
        if not view_id and external_id:
            view_id = next(
                (v["id"] for v in self.store.views.values() if v.get("external_id") == external_id),
                None,
            )
        if not view_id or view_id not in self.store.views:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != self.store.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        return self._store_view(self._check_view(args.get("view")), view_id)

    def _views_publish(self, args: Args) -> Args:
        user = args.get("user_id")
        if not user:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: user_id"])
        view = self._check_view(args.get("view"), home=True)
        result = self._store_view(view, self.store.home_views.get(str(user)))
        self.store.home_views[str(user)] = result["view"]["id"]
        return result

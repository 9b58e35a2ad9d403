"""The Slack Web API stand-in: the methods sellsync calls, plus a ``response_url`` receiver.

``POST|GET /api/<method>`` takes form-encoded, JSON or query arguments and a ``Bearer xox...``
token (or a ``token`` argument), and answers HTTP 200 with ``{"ok": ...}`` like Slack. Message
and view calls are checked the way Slack checks them (50 blocks a message, 100 a view, modal
titles of at most 24 characters) and recorded, with ``blocks``/``view`` parsed, in
:attr:`SlackState.messages`. ``POST /webhook/<name>`` stands for a ``response_url``: each URL
takes at most 5 posts, like Slack's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import PlainTextResponse, Response

from sandbox.core import ApiRequest, Fault, ServiceState, empty_response, json_response
from sandbox.limits import SandboxLimits

BOT = {"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "Sandbox", "user": "sellsync"}
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT = 40_000
RESPONSE_URL_USES = 5
MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.delete"}
)
VIEW_METHODS = frozenset({"views.open", "views.update", "views.push", "views.publish"})
#: The bot scopes of manifest.yml; every answer lists them in ``x-oauth-scopes`` like Slack's.
DEFAULT_SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "usergroups:read",
    "channels:read",
    "groups:read",
)

Args = dict[str, Any]


class SlackError(Exception):
    def __init__(self, error: str, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []


class SlackState(ServiceState):
    service = "slack"

    def __init__(self, limits: SandboxLimits) -> None:
        super().__init__(limits)
        self._methods: dict[str, Callable[[Args], Args]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.delete": self._delete,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "conversations.open": self._conversations_open,
            "usergroups.users.list": self._usergroup_users,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "apps.connections.open": self._connections_open,
        }
        self._reset_data()

    def _reset_data(self) -> None:
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

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "api_url": self.api_url,
            "bot": BOT,
            "usergroups": self.usergroups,
        }

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
            user = self.users.get(user_id) or _default_user(user_id)
            profile = {**user["profile"], **fields.pop("profile", {})}
            user.update(fields, profile=profile)
            self.users[user_id] = user
            return copy.deepcopy(user)

    def response_url(self, name: str) -> str:
        """A ``response_url`` pointing at this server; posts to it land in ``messages``."""
        return f"{self.base_url}/webhook/{name}"

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

    # ================================================================== dispatch

    def fault_response(self, fault: Fault, req: ApiRequest) -> Response:
        if fault.kind in ("429", "429-no-retry-after"):
            headers = {}
            if fault.kind == "429":
                headers["Retry-After"] = str(max(1, int(fault.delay or 1)))
            return json_response(429, {"ok": False, "error": "ratelimited"}, headers)
        if fault.kind == "429-empty":
            return empty_response(429)
        if fault.kind == "401":
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        return PlainTextResponse(f"{fault.kind} error", int(fault.kind))

    def dispatch(self, req: ApiRequest) -> Response:
        found = re.fullmatch(r"/webhook/(?P<name>.+)", req.path)
        if found:
            req.endpoint = "response_url"
            return self._webhook(req, found.group("name"))
        if not req.path.startswith("/api/"):
            return PlainTextResponse("Not Found", 404)
        method = req.path[len("/api/") :]
        try:
            args = _arguments(req)
        except SlackError as exc:
            return json_response(200, {"ok": False, "error": exc.error})
        token = req.bearer_token() or args.get("token")
        if not token:
            return json_response(200, {"ok": False, "error": "not_authed"})
        if not str(token).startswith(("xox", "xapp-")):
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        if str(token).startswith("xapp-") != (method == "apps.connections.open"):
            # app-level tokens open sockets and nothing else; bot tokens cannot open them
            return json_response(200, {"ok": False, "error": "not_allowed_token_type"})
        handler = self._methods.get(method)
        if handler is None:
            return json_response(
                200, {"ok": False, "error": "unknown_method", "req_method": method}
            )
        req.endpoint = method
        try:
            body = {"ok": True, **handler(args)}
            if method in MESSAGE_METHODS or method in VIEW_METHODS:
                self._remember(method, args, body)
        except SlackError as exc:
            body = {"ok": False, "error": exc.error}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            if method in MESSAGE_METHODS or method in VIEW_METHODS:
                self._remember(method, args, body)
        return json_response(200, body, {"x-oauth-scopes": ",".join(self.scopes)})

    def _remember(self, method: str, args: Args, body: Args) -> None:
        entry: dict[str, Any] = {
            "method": method,
            "ok": body["ok"],
            "args": copy.deepcopy(args),
            "channel": body.get("channel") or args.get("channel"),
            "ts": body.get("ts") or body.get("message_ts") or args.get("ts"),
            "text": args.get("text"),
            "blocks": args.get("blocks"),
            "view": args.get("view"),
            "user": args.get("user") or args.get("user_id"),
            "at": time.time(),
        }
        if not body["ok"]:
            entry["error"] = body["error"]
        self.messages.append(entry)

    def _webhook(self, req: ApiRequest, name: str) -> Response:
        if req.method != "POST":
            return PlainTextResponse("method not allowed", 405)
        if not isinstance(req.json, dict):
            return PlainTextResponse("invalid_payload", 400)
        uses = self._webhook_uses.get(name, 0)
        if uses >= RESPONSE_URL_USES:
            return PlainTextResponse("used_url", 404)
        blocks = req.json.get("blocks")
        if blocks is not None and not _valid_blocks(blocks, MAX_MESSAGE_BLOCKS):
            return PlainTextResponse("invalid_blocks", 400)
        if not (req.json.get("text") or blocks or req.json.get("delete_original")):
            return PlainTextResponse("no_text", 400)
        self._webhook_uses[name] = uses + 1
        self.messages.append(
            {
                "method": "response_url",
                "ok": True,
                "name": name,
                "args": copy.deepcopy(req.json),
                "channel": None,
                "ts": None,
                "text": req.json.get("text"),
                "blocks": blocks,
                "view": None,
                "user": None,
                "at": time.time(),
            }
        )
        return PlainTextResponse("ok", 200)

    # ================================================================== methods

    def _next_ts(self) -> str:
        self._ts_count += 1
        return f"{self._ts_base + self._ts_count // 1_000_000}.{self._ts_count % 1_000_000:06d}"

    def _auth_test(self, args: Args) -> Args:
        return {"url": "https://sandbox.slack.com/", **BOT, "is_enterprise_install": False}

    def _channel(self, args: Args) -> str:
        channel = args.get("channel")
        if not channel:
            raise SlackError("channel_not_found")
        channel = str(channel)
        return f"D{channel}" if channel[:1] in ("U", "W") else channel

    def _message_content(self, args: Args, *, required: bool = True) -> Args:
        blocks = args.get("blocks")
        if blocks is not None and not _valid_blocks(blocks, MAX_MESSAGE_BLOCKS):
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
        for message in self.history.get(channel, []):
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
            "ts": self._next_ts(),
            **content,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self.history.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _update(self, args: Args) -> Args:
        channel = self._channel(args)
        if not args.get("ts"):
            raise SlackError("message_not_found")
        message = self._find_message(channel, args["ts"])
        content = self._message_content(args, required=False)
        message.update(content)
        message["edited"] = {"user": BOT["user_id"], "ts": self._next_ts()}
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
        return {"message_ts": self._next_ts(), "channel": channel}

    def _delete(self, args: Args) -> Args:
        channel = self._channel(args)
        message = self._find_message(channel, args.get("ts"))
        self.history[channel].remove(message)
        return {"channel": channel, "ts": message["ts"]}

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
        if not isinstance(blocks, list) or not _valid_blocks(blocks, MAX_VIEW_BLOCKS):
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
            self._view_count += 1
            view_id = f"V{self._view_count:08d}"
        digest = hashlib.sha1(f"{view_id}:{self._next_ts()}".encode()).hexdigest()[:20]
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
        self.views[view_id] = stored
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
                (v["id"] for v in self.views.values() if v.get("external_id") == external_id), None
            )
        if not view_id or view_id not in self.views:
            raise SlackError("not_found")
        if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        return self._store_view(self._check_view(args.get("view")), view_id)

    def _views_publish(self, args: Args) -> Args:
        user = args.get("user_id")
        if not user:
            raise SlackError("invalid_arguments", ["[ERROR] missing required field: user_id"])
        view = self._check_view(args.get("view"), home=True)
        result = self._store_view(view, self.home_views.get(str(user)))
        self.home_views[str(user)] = result["view"]["id"]
        return result

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

    def _connections_open(self, args: Args) -> Args:
        """A Socket Mode URL (nothing listens there: the sandbox serves HTTP mode only)."""
        return {"url": f"wss://{self.base_url.split('://', 1)[-1]}/link/?ticket=sandbox"}

    def _need_scope(self, *alternatives: str) -> None:
        if not any(scope in self.scopes for scope in alternatives):
            raise SlackError("missing_scope")

    def _conversations_info(self, args: Args) -> Args:
        channel = self.channels.get(str(args.get("channel") or ""))
        if channel is None:
            self._need_scope("channels:read", "groups:read")
            raise SlackError("channel_not_found")
        self._need_scope("groups:read" if channel["is_private"] else "channels:read")
        return {"channel": copy.deepcopy(channel)}

    def _usergroup_users(self, args: Args) -> Args:
        self._need_scope("usergroups:read")
        group = args.get("usergroup")
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _users_info(self, args: Args) -> Args:
        user_id = str(args.get("user") or "")
        if user_id in self.users:
            return {"user": copy.deepcopy(self.users[user_id])}
        if not re.fullmatch(r"[UW][A-Z0-9]+", user_id):
            raise SlackError("user_not_found")
        return {"user": _default_user(user_id)}

    def control(self, req: ApiRequest) -> Response | None:
        body = req.json if isinstance(req.json, dict) else {}
        if (req.method, req.path) == ("GET", "/_sandbox/messages"):
            method = req.query.get("method")
            return json_response(
                200, {"messages": self.sent(method, channel=req.query.get("channel"))}
            )
        if (req.method, req.path) == ("DELETE", "/_sandbox/messages"):
            self.messages.clear()
            return json_response(200, {"ok": True})
        if (req.method, req.path) == ("POST", "/_sandbox/usergroups"):
            self.set_usergroup(str(body["group_id"]), [str(u) for u in body.get("users") or []])
            return json_response(200, {"ok": True, "usergroups": self.usergroups})
        if (req.method, req.path) == ("POST", "/_sandbox/channels"):
            self.set_channel(
                str(body["id"]),
                str(body.get("name") or body["id"]),
                private=bool(body.get("private")),
                bot_member=bool(body.get("bot_member", True)),
            )
            return json_response(200, {"ok": True, "channels": self.channels})
        if (req.method, req.path) == ("POST", "/_sandbox/users"):
            user = self.set_user(str(body.pop("id")), **body)
            return json_response(200, {"ok": True, "user": user})
        return None


def _default_user(user_id: str) -> dict[str, Any]:
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


def _valid_blocks(blocks: Any, maximum: int) -> bool:
    return (
        isinstance(blocks, list)
        and len(blocks) <= maximum
        and all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks)
    )


def _arguments(req: ApiRequest) -> Args:
    """Query, form and JSON arguments; ``blocks``/``view``/``attachments`` parsed from strings."""
    args: Args = {key: req.query[key] for key in req.query}
    content_type = req.headers.get("content-type", "")
    if req.body:
        if "json" in content_type:
            if not isinstance(req.json, dict):
                raise SlackError("invalid_json")
            args.update(req.json)
        else:
            args.update(parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    for key, error in (
        ("blocks", "invalid_blocks"),
        ("attachments", "invalid_attachments"),
        ("view", "invalid_arguments"),
    ):
        if isinstance(args.get(key), str):
            try:
                args[key] = json.loads(args[key])
            except ValueError:
                raise SlackError(error) from None
    return args

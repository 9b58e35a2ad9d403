"""The Slack Web API stand-in service: tokens, routing to the method families, the message log
and a ``response_url`` receiver.

``POST|GET /api/<method>`` takes form-encoded, JSON or query arguments and a ``Bearer xox...``
token (or a ``token`` argument), and answers HTTP 200 with ``{"ok": ...}`` like Slack. The
methods are grouped by family, each acting on :class:`~sandbox.slack_store.SlackStore` (the
workspace): :mod:`sandbox.slack_chat_methods`, :mod:`sandbox.slack_views_methods`,
:mod:`sandbox.slack_conversations_methods` and :mod:`sandbox.slack_users_methods`. Message and
view calls, including refused ones, are recorded here with ``blocks``/``view`` parsed, in
:attr:`SlackState.messages`. ``POST /webhook/<name>`` stands for a ``response_url``: each URL
takes at most 5 posts, like Slack's.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import PlainTextResponse, Response

from sandbox.core import ApiRequest, Fault, ServiceState, empty_response, json_response
from sandbox.limits import SandboxLimits
from sandbox.slack_chat_methods import ChatMethods
from sandbox.slack_conversations_methods import ConversationMethods
from sandbox.slack_files_methods import UPLOAD_PATH, FileMethods
from sandbox.slack_store import SlackStore
from sandbox.slack_surface_methods import SURFACE_METHODS, SurfaceMethods
from sandbox.slack_users_methods import UserMethods
from sandbox.slack_views_methods import ViewMethods
from sandbox.slack_wire import (
    BOT,
    MAX_MESSAGE_BLOCKS,
    MESSAGE_METHODS,
    RESPONSE_URL_USES,
    VIEW_METHODS,
    Args,
    SlackError,
    json_arg,
    valid_blocks,
)


class SlackState(ServiceState, SlackStore):
    service = "slack"

    def __init__(self, limits: SandboxLimits) -> None:
        super().__init__(limits)
        self.surface = SurfaceMethods(self)  # chat.unfurl, functions.complete*; their state
        self.files = FileMethods(self)  # files_upload_v2's three steps; the bytes uploaded
        self._methods: dict[str, Callable[[Args], Args]] = {
            "auth.test": self._auth_test,
            **ChatMethods(self).methods(),
            **ViewMethods(self).methods(),
            **ConversationMethods(self).methods(),
            **UserMethods(self).methods(),
            **self.surface.methods(),
            **self.files.methods(),
            "apps.connections.open": self._connections_open,
        }
        self._reset_data()

    def _reset_data(self) -> None:
        self._reset_store()
        self.surface.reset()
        self.files.reset()

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

    def response_url(self, name: str) -> str:
        """A ``response_url`` pointing at this server; posts to it land in ``messages``."""
        return f"{self.base_url}/webhook/{name}"

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
        upload = UPLOAD_PATH.fullmatch(req.path)
        if upload:  # step 2 of files_upload_v2: the bytes, to the URL step 1 gave
            req.endpoint = "file_upload"
            return self.files.receive(req, upload.group("key"))
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
        if not str(token).startswith(("xox", "xapp-", "xwfp-")):  # xwfp-: a step's own token
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
            if method in SURFACE_METHODS:  # a step's completion is checked against its token
                body = {"ok": True, **self.surface.call(method, args, str(token))}
            else:
                body = {"ok": True, **handler(args)}
            if method in MESSAGE_METHODS or method in VIEW_METHODS or method in SURFACE_METHODS:
                self._remember(method, args, body)
        except SlackError as exc:
            body = {"ok": False, "error": exc.error}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            if method in MESSAGE_METHODS or method in VIEW_METHODS or method in SURFACE_METHODS:
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
        if blocks is not None and not valid_blocks(blocks, MAX_MESSAGE_BLOCKS):
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

    def _auth_test(self, args: Args) -> Args:
        return {"url": "https://sandbox.slack.com/", **BOT, "is_enterprise_install": False}

    def _connections_open(self, args: Args) -> Args:
        """A Socket Mode URL (nothing listens there: the sandbox serves HTTP mode only)."""
        return {"url": f"wss://{self.base_url.split('://', 1)[-1]}/link/?ticket=sandbox"}

    def control(self, req: ApiRequest) -> Response | None:
        surface = self.surface.control(req)  # links shared and steps started, as Slack would
        if surface is not None:
            return surface
        files = self.files.control(req)
        if files is not None:
            return files
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
        if key in args:
            args[key] = json_arg(args[key], error)
    return args

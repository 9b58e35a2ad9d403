"""Slack's ``chat.unfurl`` and ``functions.completeSuccess`` / ``functions.completeError``: the
methods behind unfurled links and Workflow Builder steps.

Neither can be called out of thin air on Slack, and neither can here. A link is unfurled only
for a message that shared it: :meth:`SurfaceMethods.share_links` stands for a member posting a
message with links (it stores the message and answers the ``link_shared`` event Slack would
send), and ``chat.unfurl`` accepts only those links of that message (by ``channel`` + ``ts`` or
by ``unfurl_id`` + ``source``), each unfurl at most 50 blocks, with ``links:write``. A step is
completed only while it runs: :meth:`SurfaceMethods.start_function` stands for a workflow
reaching the step (the ``function_executed`` event with a fresh ``xwfp-`` token), and the
complete methods check the execution, its state and the outputs against the step's
``output_parameters`` in ``manifest.yml`` as Slack checks them against the app's manifest.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from starlette.responses import Response

from sandbox.core import ApiRequest, json_response
from sandbox.slack_store import SlackStore
from sandbox.slack_wire import (
    BOT,
    MAX_MESSAGE_BLOCKS,
    Args,
    SlackError,
    json_arg,
    valid_blocks,
)

#: The methods whose calls (refused ones too) the service records in ``messages``.
SURFACE_METHODS = frozenset({"chat.unfurl", "functions.completeSuccess", "functions.completeError"})

#: Where the app's manifest is read from for the steps' output parameters.
MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"

UNFURL_SOURCES = ("composer", "conversations_history")


@dataclass
class SharedMessage:
    """A member's message that shared links: what ``chat.unfurl`` may unfurl for it."""

    channel: str
    ts: str
    unfurl_id: str
    source: str
    urls: tuple[str, ...]
    unfurls: dict[str, Any] = field(default_factory=dict)  # url -> the last unfurl given


@dataclass
class Execution:
    """One run of a step: ``running`` until it is completed one way or the other."""

    id: str
    callback_id: str
    token: str
    inputs: dict[str, Any]
    state: str = "running"  # running | completed | failed
    outputs: dict[str, Any] | None = None
    error: str | None = None
    token_kind: str | None = None  # what completed it: xwfp (its own token) or xoxb (the bot's)


def load_functions(path: Path = MANIFEST) -> dict[str, Any]:
    """The manifest's ``functions`` (empty when there is no manifest to read)."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    functions = data.get("functions") if isinstance(data, dict) else None
    return functions if isinstance(functions, dict) else {}


class SurfaceMethods:
    """Unfurls and step completions over ``store``, with the shared messages and step runs they
    act on (forgotten by :meth:`reset`)."""

    def __init__(self, store: SlackStore, functions: dict[str, Any] | None = None) -> None:
        self.store = store
        self._functions = functions
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.shared: dict[tuple[str, str], SharedMessage] = {}
            self.executions: dict[str, Execution] = {}

    @property
    def functions(self) -> dict[str, Any]:
        if self._functions is None:
            self._functions = load_functions()
        return self._functions

    def methods(self) -> dict[str, Callable[[Args], Args]]:
        return {
            "chat.unfurl": self._unfurl,
            "functions.completeSuccess": self._complete_success,
            "functions.completeError": self._complete_error,
        }

    def call(self, method: str, args: Args, token: str) -> Args:
        """``method`` called with ``token``: a step's own ``xwfp-`` token completes that step
        only (``access_denied`` for another one's); a bot token may complete any."""
        if method.startswith("functions.") and token.startswith("xwfp-"):
            execution = self.executions.get(str(args.get("function_execution_id") or ""))
            if execution is not None and execution.token != token:
                raise SlackError("access_denied")
        result = self.methods()[method](args)
        if method.startswith("functions."):
            with self._lock:
                execution = self.executions[str(args["function_execution_id"])]
                execution.token_kind = token.split("-", 1)[0]
        return result

    # ================================================================== what Slack starts

    def share_links(
        self,
        urls: Iterable[str],
        *,
        user: str,
        channel: str,
        text: str | None = None,
        source: str = "conversations_history",
        domains: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """A member posts a message with ``urls``: it is stored in the channel, and the
        ``link_shared`` event Slack sends for it is returned. ``domains`` (when given) are the
        app's unfurl domains: links elsewhere are left out of the event, as Slack leaves them."""
        urls = list(urls)
        with self._lock:
            n = next(self._counter)
            ts = self.store.next_ts()
            message = {"type": "message", "user": user, "ts": ts, "text": text or " ".join(urls)}
            self.store.history.setdefault(channel, []).append(message)
            unfurl_id = f"{channel}.{ts}.{secrets.token_hex(8)}{n}"
            wanted = None if domains is None else {d.lower() for d in domains}
            kept = [u for u in urls if wanted is None or _host(u) in wanted]
            self.shared[(channel, ts)] = SharedMessage(channel, ts, unfurl_id, source, tuple(kept))
        return {
            "type": "link_shared",
            "channel": channel,
            "is_bot_user_member": True,
            "user": user,
            "message_ts": ts,
            "unfurl_id": unfurl_id,
            "source": source,
            "links": [{"domain": _host(u), "url": u} for u in kept],
            "event_ts": ts,
        }

    def start_function(
        self, callback_id: str, inputs: dict[str, Any], *, user: str = "U0WORKFLOW"
    ) -> dict[str, Any]:
        """A workflow reaches the step ``callback_id``: the ``function_executed`` event, with a
        fresh execution id and the execution's own token."""
        with self._lock:
            n = next(self._counter)
            execution = Execution(
                id=f"Fx{n:010d}",
                callback_id=callback_id,
                token=f"xwfp-{BOT['team_id']}-{n}-{secrets.token_hex(12)}",
                inputs=copy.deepcopy(inputs),
            )
            self.executions[execution.id] = execution
        definition = self.functions.get(callback_id) or {}
        return {
            "type": "function_executed",
            "function": {
                "id": f"Fn{n:010d}",
                "callback_id": callback_id,
                "title": definition.get("title", callback_id),
                "description": definition.get("description", ""),
                "type": "app",
                "input_parameters": _params(definition.get("input_parameters")),
                "output_parameters": _params(definition.get("output_parameters")),
                "app_id": "ASANDBOX",
                "date_created": int(time.time()),
                "date_updated": int(time.time()),
                "date_deleted": 0,
            },
            "inputs": copy.deepcopy(inputs),
            "function_execution_id": execution.id,
            "workflow_execution_id": f"Wx{n:010d}",
            "event_ts": self.store.next_ts(),
            "bot_access_token": execution.token,
            "triggering_user": user,
        }

    def execution(self, execution_id: str) -> Execution:
        with self._lock:
            return copy.deepcopy(self.executions[execution_id])

    def control(self, req: ApiRequest) -> Response | None:
        """The control API of what Slack starts, for drivers in another process (the demo):
        ``POST /_sandbox/links`` (``urls``, ``user``, ``channel``, optional ``source`` and
        ``domains``) and ``POST /_sandbox/functions`` (``callback_id``, ``inputs``) answer the
        event; ``GET /_sandbox/functions/<id>`` answers the execution's state."""
        body = req.json if isinstance(req.json, dict) else {}
        if (req.method, req.path) == ("POST", "/_sandbox/links"):
            event = self.share_links(
                [str(u) for u in body.get("urls") or []],
                user=str(body.get("user") or "U0MEMBER"),
                channel=str(body.get("channel") or "C0GENERAL"),
                source=str(body.get("source") or "conversations_history"),
                domains=body.get("domains"),
            )
            return json_response(200, {"ok": True, "event": event})
        if (req.method, req.path) == ("POST", "/_sandbox/functions"):
            given = body.get("inputs")
            inputs: dict[str, Any] = given if isinstance(given, dict) else {}
            event = self.start_function(str(body.get("callback_id") or ""), inputs)
            return json_response(200, {"ok": True, "event": event})
        if req.method == "GET" and req.path.startswith("/_sandbox/functions/"):
            execution = self.executions.get(req.path.rsplit("/", 1)[-1])
            if execution is None:
                return json_response(404, {"ok": False, "error": "function_execution_not_found"})
            state = {k: v for k, v in vars(execution).items() if k != "token"}
            return json_response(200, {"ok": True, "execution": state})
        return None

    # ================================================================== chat.unfurl

    def _unfurl(self, args: Args) -> Args:
        self.store.need_scope("links:write")
        unfurls = json_arg(args.get("unfurls"), "invalid_unfurls_format")
        if unfurls is None:
            raise SlackError("invalid_arguments", ["missing required field: unfurls"])
        if not isinstance(unfurls, dict) or not unfurls:
            raise SlackError("invalid_unfurls_format")
        message = self._shared_message(args)
        for url, unfurl in unfurls.items():
            if not isinstance(unfurl, dict):
                raise SlackError("invalid_unfurls_format")
            if url not in message.urls:
                raise SlackError("cannot_unfurl_url")
            blocks = unfurl.get("blocks")
            if blocks is not None and not valid_blocks(blocks, MAX_MESSAGE_BLOCKS):
                raise SlackError("invalid_unfurls_format")
            if blocks is None and not (unfurl.get("text") or unfurl.get("title")):
                raise SlackError("cannot_parse_attachment")
        with self._lock:
            for url, unfurl in unfurls.items():
                message.unfurls[url] = copy.deepcopy(unfurl)
        return {}

    def _shared_message(self, args: Args) -> SharedMessage:
        channel, ts = args.get("channel"), args.get("ts")
        unfurl_id, source = args.get("unfurl_id"), args.get("source")
        with self._lock:
            if unfurl_id:
                if not source:
                    raise SlackError("missing_source")
                if source not in UNFURL_SOURCES:
                    raise SlackError("invalid_source")
                for message in self.shared.values():
                    if message.unfurl_id == unfurl_id:
                        return message
                raise SlackError("invalid_unfurl_id")
            if not channel or not ts:
                raise SlackError(
                    "invalid_arguments",
                    ["either channel and ts, or unfurl_id and source, are required"],
                )
            found = self.shared.get((str(channel), str(ts)))
            if found is None:
                if not any(m["ts"] == str(ts) for m in self.store.history.get(str(channel), [])):
                    raise SlackError("cannot_find_message")
                raise SlackError("cannot_unfurl_message")
            return found

    # ================================================================== functions.complete*

    def _running(self, args: Args) -> Execution:
        execution_id = args.get("function_execution_id")
        if not execution_id:
            raise SlackError("invalid_arguments", ["missing required field: function_execution_id"])
        execution = self.executions.get(str(execution_id))
        if execution is None:
            raise SlackError("function_execution_not_found")
        if execution.state != "running":
            raise SlackError("execution_not_in_running_state")
        return execution

    def _complete_success(self, args: Args) -> Args:
        outputs = json_arg(args.get("outputs"), "invalid_arguments", ["outputs is not JSON"])
        if not isinstance(outputs, dict):
            raise SlackError("invalid_arguments", ["missing required field: outputs"])
        with self._lock:
            execution = self._running(args)
            problems = self._output_problems(execution.callback_id, outputs)
            if problems:
                raise SlackError("parameter_validation_failed", problems)
            execution.state, execution.outputs = "completed", copy.deepcopy(outputs)
        return {}

    def _complete_error(self, args: Args) -> Args:
        error = args.get("error")
        if not isinstance(error, str) or not error.strip():
            raise SlackError("invalid_arguments", ["missing required field: error"])
        with self._lock:
            execution = self._running(args)
            execution.state, execution.error = "failed", error
        return {}

    def _output_problems(self, callback_id: str, outputs: dict[str, Any]) -> list[str]:
        """What Slack would refuse in ``outputs`` against the step's output parameters."""
        params = {
            p["name"]: p
            for p in _params((self.functions.get(callback_id) or {}).get("output_parameters"))
        }
        if not params:
            return []
        problems = [f"unknown output: {name}" for name in outputs if name not in params]
        for name, value in outputs.items():
            if name in params and params[name]["type"] == "string" and not isinstance(value, str):
                problems.append(f"output {name} must be a string")
        for name, param in params.items():
            if param["is_required"] and outputs.get(name) in (None, ""):
                problems.append(f"missing required output: {name}")
        return problems


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _params(spec: Any) -> list[dict[str, Any]]:
    """A manifest's parameters as the event's list of them. Both of Slack's forms are read:
    parameters keyed by name (each with ``is_required``), or ``{properties, required}``."""
    if not isinstance(spec, dict):
        return []
    if isinstance(spec.get("properties"), dict):
        required = set(spec.get("required") or [])
        items = [(n, p, n in required) for n, p in spec["properties"].items()]
    else:
        items = [(n, p, bool((p or {}).get("is_required"))) for n, p in spec.items()]
    return [
        {
            "name": name,
            "type": (prop or {}).get("type", "string"),
            "title": (prop or {}).get("title", name),
            "description": (prop or {}).get("description", ""),
            "is_required": is_required,
        }
        for name, prop, is_required in items
    ]

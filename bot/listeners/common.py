"""What every listener module shares: :class:`Deps` (the service, the settings, "is this user a
manager?"), how to reach a user (:func:`tell`, :func:`dm`) and the one error path
(:func:`report_error`), used by the app's ``@app.error`` handler and by :func:`guarded` for lazy
listeners, whose exceptions Bolt would otherwise only log.

It lives apart from the package's ``__init__`` so that the listener modules import it, and the
package imports them, without a cycle.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.common import Message, clip, escape, notice
from bot.blocks.links import RecordUrls
from bot.settings import AppSettings
from bot.settings_text import refusal_text
from sync.api import Actor, Refused, SyncError, SyncService, scrub

log = logging.getLogger("sellsync.bot")

Body = dict[str, Any]


@dataclass
class Deps:
    """What every listener needs."""

    settings: AppSettings
    service: SyncService
    is_manager: Callable[[str], bool]
    monotonic: Callable[[], float] = time.monotonic  # throttles progress updates
    progress_interval: float = 1.0
    secrets: Sequence[str] = field(default_factory=tuple)

    @property
    def urls(self) -> RecordUrls:
        """Where the records named in a message open (HubSpot's needs the portal id)."""
        return RecordUrls(hubspot=self.service.hubspot_url)

    def actor(self, user_id: str) -> Actor:
        return Actor(id=user_id, is_manager=self.is_manager(user_id))

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)


# --------------------------------------------------------------------------- request fields


def user_id(body: Body) -> str:
    """The user behind any request: a command (``user_id``) or an interaction (``user.id``)."""
    if isinstance(body.get("user"), dict):
        return str(body["user"].get("id", ""))
    return str(body.get("user_id") or body.get("event", {}).get("user") or "")


def first_action(body: Body) -> dict[str, Any]:
    acts = body.get("actions") or [{}]
    return acts[0] if isinstance(acts[0], dict) else {}


# --------------------------------------------------------------------------- reaching people


def dm(client: WebClient, user: str, message: Message) -> None:
    """A direct message from the app to ``user`` (conversations.open, then chat.postMessage)."""
    opened = client.conversations_open(users=user)
    channel = (opened.get("channel") or {}).get("id") or user
    client.chat_postMessage(channel=channel, **message.kwargs())


def tell(body: Body, client: WebClient, respond: Respond | None, message: Message) -> None:
    """Answer the person who sent ``body`` privately: through response_url when the request has
    one (ephemeral, never replacing the original), else by direct message."""
    if respond is not None and body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, **message.kwargs())
        return
    user = user_id(body)
    if user:
        dm(client, user, message)


# --------------------------------------------------------------------------- errors


def user_message(error: BaseException, ref: str) -> str:
    """The one line a person sees for ``error``: a reason they can act on, never a traceback."""
    if isinstance(error, Refused):
        return f":no_entry: {escape(refusal_text(error))}"
    if isinstance(error, SyncError):  # RunInProgress, ApiError …: messages built without secrets
        return f":warning: {escape(error)}"
    if isinstance(error, SlackApiError):
        code = error.response.get("error") if error.response is not None else None
        return f":warning: Slack refused the request ({code or 'unknown error'})."
    return f":warning: Something went wrong (reference `{ref}`); the details are in sellsync's log."


def report_error(
    error: BaseException,
    *,
    body: Body,
    client: WebClient | None,
    respond: Respond | None,
    secrets: Sequence[str] = (),
) -> str:
    """Log ``error`` (scrubbed) and answer the user with one short line. Returns that line."""
    ref = uuid.uuid4().hex[:8]
    text = clip(scrub(user_message(error, ref), secrets), 500)
    kind = body.get("command") or body.get("type") or body.get("event", {}).get("type") or "request"
    if isinstance(error, Refused | SyncError):
        log.info("%s refused (%s): %s", kind, ref, scrub(str(error), secrets))
    else:
        details = "".join(traceback.format_exception(error))
        log.error("%s failed (%s):\n%s", kind, ref, scrub(details, secrets))
    if body.get("type") == "event_callback" or "event" in body:
        return text  # nobody is waiting for an answer to an event
    try:
        if client is not None:
            tell(body, client, respond, notice(text))
        elif respond is not None and body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception as exc:  # the answer itself failed: the log is all that is left
        log.warning("could not tell the user about error %s: %s", ref, scrub(repr(exc), secrets))
    return text


LazyFn = Callable[[Body, WebClient, Respond], None]


def guarded(deps: Deps, fn: LazyFn) -> Callable[..., None]:
    """A lazy listener whose exceptions take the same path as ``@app.error`` ones."""

    def run(body: Body, client: WebClient, respond: Respond) -> None:
        try:
            fn(body, client, respond)
        except Exception as exc:
            report_error(exc, body=body, client=client, respond=respond, secrets=deps.secrets)

    run.__name__ = run.__qualname__ = fn.__name__
    return run

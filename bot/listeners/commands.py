"""``/sellsync``: parse and ack at once (bad input answered right there), then do the work lazily
and answer through ``response_url`` (or, for ``run``, a channel message updated in place).

The dispatcher is a lookup: the subcommand table (``bot/parsing.py``) says how a command value is
answered (inside the ack or after it) and who may run it; :data:`HANDLERS` holds what each value
does, keyed by its type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from slack_bolt import Ack, App, BoltContext
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import action_ids as ids
from bot import parsing as p
from bot.blocks.common import Message, invalid_input, notice
from bot.blocks.conflicts import HELD_LINKS_SHOWN, PAGE_SIZE, conflicts_message
from bot.blocks.conflicts_bulk import with_field_buttons
from bot.blocks.fields import (
    fields_message,
    mapping_message,
    restored_message,
    restored_run_message,
)
from bot.blocks.health import health_message
from bot.blocks.help import help_message
from bot.blocks.push import push_result, push_started
from bot.blocks.runs import run_crashed, run_finished, run_progress
from bot.blocks.status import explanation_message, status_message
from bot.blocks.threshold import list_message, request_preview, threshold_message
from bot.chart_uploads import share_threshold_chart
from bot.listeners.approvals import announce_bulk, post_request
from bot.listeners.common import Body, Deps, guarded, user_id
from bot.listeners.migrate import request_migration
from sync.api import (
    SETTINGS,
    Actor,
    Refused,
    SettingName,
    SyncReport,
    SyncService,
    classify_failure,
)

log = logging.getLogger("sellsync.bot.commands")

C = TypeVar("C")

#: Where the parsed command waits in Bolt's context between the matcher and the ack.
_PARSED = "sellsync_command"


def _answer(respond: Respond, message: Message) -> None:
    respond(response_type="ephemeral", replace_original=False, **message.kwargs())


@dataclass
class Ctx:
    """One ``/sellsync`` request, as a handler sees it."""

    deps: Deps
    body: Body
    client: WebClient
    respond: Respond

    @property
    def service(self) -> SyncService:
        return self.deps.service

    @property
    def user(self) -> str:
        return user_id(self.body)

    @cached_property
    def actor(self) -> Actor:
        """Asked once per request, and only by what needs it (it may ask Slack)."""
        return self.deps.actor(self.user)


@dataclass(frozen=True)
class Handler(Generic[C]):
    """What one command value does: ``answer`` is the message to send (inside the ack for an
    instant form, through ``response_url`` after it otherwise; ``None`` when it answered itself);
    ``acked`` is what the ack says while the work goes on (``None``: a bare ack)."""

    answer: Callable[[Ctx, C], Message | None]
    acked: Callable[[C], Message] | None = None


def _status(ctx: Ctx, c: p.Status) -> Message:
    if c.item is None:
        return status_message(ctx.service.status())
    return explanation_message(ctx.service.explain(c.item), urls=ctx.deps.urls)


def _push(ctx: Ctx, c: p.Push) -> Message:
    return push_result(ctx.service.push(c.items, actor=ctx.actor), urls=ctx.deps.urls)


def _request(ctx: Ctx, setting: SettingName, value: str, reason: str) -> Message:
    result = ctx.service.request_change(setting, value, actor=ctx.actor, reason=reason)
    channel = post_request(ctx.client, ctx.deps, result)
    return request_preview(result, channel=channel)


def _threshold(ctx: Ctx, c: p.ShowThreshold) -> None:
    """The impact as text first (it stays whole), then its chart in the channel."""
    impact = ctx.service.threshold_impact()
    _answer(ctx.respond, threshold_message(impact))
    share_threshold_chart(ctx.client, str(ctx.body.get("channel_id") or ""), impact)


def _filing(what: str) -> Message:
    return notice(f":hourglass_flowing_sand: Filing a request to {what}…")


def _conflicts(ctx: Ctx, c: p.Conflicts) -> Message:
    page = ctx.service.conflicts(offset=(c.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    manager = ctx.deps.is_manager(ctx.user)
    message = conflicts_message(
        page,
        can_resolve=manager,
        urls=ctx.deps.urls,
        links=ctx.service.held_links(limit=HELD_LINKS_SHOWN),
    )
    return with_field_buttons(message, ctx.service.conflict_fields()) if manager else message


def _health(ctx: Ctx, c: p.Health) -> Message:
    return health_message(
        ctx.service.health(), can_act=ctx.deps.is_manager(ctx.user), urls=ctx.deps.urls
    )


def _run(ctx: Ctx, c: p.Run) -> None:
    channel = str(ctx.body.get("channel_id") or "")
    run_now(ctx.deps, ctx.client, ctx.respond, channel=channel, user=ctx.user)


def _map_field(ctx: Ctx, c: p.MapField) -> Message:
    check = ctx.service.map_field(c.hubspot_property, c.sell_field, actor=ctx.actor)
    return mapping_message(check, c.hubspot_property, c.sell_field)


#: Each command value's handler, keyed by its type (a test checks every form has one).
HANDLERS: dict[type, Handler[Any]] = {
    p.Help: Handler[p.Help](lambda ctx, c: help_message()),
    p.Push: Handler[p.Push](_push, acked=lambda c: push_started(len(c.items))),
    p.Status: Handler[p.Status](_status),
    p.ShowThreshold: Handler[p.ShowThreshold](_threshold),
    p.RequestThreshold: Handler[p.RequestThreshold](
        lambda ctx, c: _request(ctx, SettingName.THRESHOLD, str(c.value), c.reason),
        acked=lambda c: _filing(f"change the threshold to {c.value:,}"),
    ),
    p.ShowList: Handler[p.ShowList](lambda ctx, c: list_message(ctx.service.synced_list())),
    p.RequestList: Handler[p.RequestList](
        lambda ctx, c: _request(ctx, SettingName.LIST_ID, c.list_id, c.reason),
        acked=lambda c: _filing(f"sync HubSpot list {c.list_id}"),
    ),
    p.RequestSetting: Handler[p.RequestSetting](
        lambda ctx, c: _request(ctx, c.setting, c.value, c.reason),
        acked=lambda c: _filing(SETTINGS[c.setting].asked_words(c.value)),
    ),
    p.RequestMigration: Handler[p.RequestMigration](
        lambda ctx, c: request_migration(ctx.client, ctx.deps, ctx.actor, c.reason),
        acked=lambda c: notice(
            ":hourglass_flowing_sand: Reading both CRMs for the plan of the move out of Sell "
            "(nothing is written)…"
        ),
    ),
    p.Conflicts: Handler[p.Conflicts](_conflicts),
    p.Health: Handler[p.Health](_health),
    p.Run: Handler[p.Run](_run),
    p.Restore: Handler[p.Restore](
        lambda ctx, c: restored_message(
            ctx.service.restore(c.item, actor=ctx.actor), urls=ctx.deps.urls
        )
    ),
    p.RestoreRun: Handler[p.RestoreRun](
        lambda ctx, c: restored_run_message(
            ctx.service.restore_run(c.run_id, actor=ctx.actor, reason=c.reason)
        )
    ),
    p.Fields: Handler[p.Fields](lambda ctx, c: fields_message(ctx.service.fields())),
    p.MapField: Handler[p.MapField](_map_field),
}


@dataclass(frozen=True)
class _Parsed:
    """The parsed command in Bolt's context; immutable, so the copy Bolt makes of the request
    for the lazy listener shares it instead of copying every pushed item."""

    command: p.Command
    form: p.Form

    def __deepcopy__(self, memo: dict[int, Any]) -> _Parsed:
        return self


def _read(body: Body, context: BoltContext | None = None) -> _Parsed:
    """The request's command, parsed once on the ack's path: the matcher leaves it in the
    context for the ack."""
    if context is not None and isinstance(context.get(_PARSED), _Parsed):
        parsed: _Parsed = context[_PARSED]
        return parsed
    parsed = _Parsed(*p.read_command(body.get("text")))
    if context is not None:
        context[_PARSED] = parsed
    return parsed


def register(app: App, deps: Deps) -> None:
    def ack_command(
        ack: Ack, body: Body, context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        parsed = _read(body, context)
        command, form = parsed.command, parsed.form
        if isinstance(command, p.Invalid):
            ack(response_type="ephemeral", **invalid_input(command.reason, command.usage).kwargs())
            return
        handler = HANDLERS[type(command)]
        if form.instant:
            message = handler.answer(Ctx(deps, body, client, respond), command)
            if message is None:
                ack()
            else:
                ack(response_type="ephemeral", **message.kwargs())
        elif handler.acked is not None:
            ack(response_type="ephemeral", **handler.acked(command).kwargs())
        else:
            ack()

    def do_command(body: Body, client: WebClient, respond: Respond) -> None:
        command, form = p.read_command(body.get("text"))  # a copy of the request: parse again
        if form.instant:
            return  # answered in the ack
        ctx = Ctx(deps, body, client, respond)
        if form.managers is not None and not ctx.actor.is_manager:
            raise Refused(form.refusal)
        message = HANDLERS[type(command)].answer(ctx, command)
        if message is not None:
            _answer(respond, message)

    # Commands answered in the ack get a listener without lazy work: Bolt would otherwise copy
    # the request and start a thread for a lazy call that does nothing, on every `status` (a
    # tail of the ack latency on a busy machine). The first listener that matches is used.
    app.command(ids.COMMAND, matchers=[answered_in_ack])(ack_command)
    app.command(ids.COMMAND)(ack=ack_command, lazy=[guarded(deps, do_command)])


def answered_in_ack(body: Body, context: BoltContext) -> bool:
    """Help, bad input and the plain status board: the ack is the whole answer (the table's
    instant forms)."""
    return _read(body, context).form.instant


# --------------------------------------------------------------------------- /sellsync run


class RunProgress:
    """The engine's ``progress`` callback: one channel message, updated at most once a second.

    The message is posted at the first progress report, so a run that never starts (not a
    manager, a sync already running) posts nothing. It goes to the channel the command came
    from; where the app cannot post (a private channel it is not in) the start and the end go
    through ``response_url`` instead, and the updates in between are skipped.
    """

    def __init__(
        self, deps: Deps, client: WebClient, respond: Respond, *, channel: str, user: str
    ) -> None:
        self.deps = deps
        self.client = client
        self.respond = respond
        self.channel = channel
        self.user = user
        self.ts: str | None = None
        self.via_response_url = False
        self.last_update: float | None = None
        self.updates = 0

    def _post(self, message: Message) -> None:
        try:
            posted = self.client.chat_postMessage(channel=self.channel, **message.kwargs())
        except SlackApiError as exc:
            log.info("run progress goes to response_url: %s", exc.response.get("error"))
            self.via_response_url = True
            _answer(self.respond, message)
        else:
            self.channel = str(posted["channel"])
            self.ts = str(posted["ts"])

    def __call__(self, stage: str, report: SyncReport) -> None:
        now = self.deps.monotonic()
        if self.ts is None and not self.via_response_url:
            self._post(run_progress(stage, report, actor=self.user))
            self.last_update = now
            return
        if self.ts is None or (
            self.last_update is not None and now - self.last_update < self.deps.progress_interval
        ):
            return
        self.last_update = now
        try:
            self.client.chat_update(
                channel=self.channel,
                ts=self.ts,
                **run_progress(stage, report, actor=self.user).kwargs(),
            )
            self.updates += 1
        except SlackApiError as exc:  # a missed progress update must not stop the sync
            log.warning("progress update failed: %s", exc.response.get("error"))

    def crashed(self, error: BaseException) -> None:
        """The run raised instead of reporting: a posted progress message says it failed, and
        why in a word (the error handler tells the user and logs the details)."""
        if self.ts is None and not self.via_response_url:
            return  # never posted (refused before it started): nothing to update
        message = run_crashed(classify_failure(error), actor=self.user)
        try:
            if self.ts is not None:
                self.client.chat_update(channel=self.channel, ts=self.ts, **message.kwargs())
            else:
                _answer(self.respond, message)
        except SlackApiError as exc:
            log.warning("could not mark the run's progress failed: %s", exc.response.get("error"))

    def finish(self, report: SyncReport) -> None:
        message = run_finished(report, actor=self.user, urls=self.deps.urls)
        if self.ts is not None:
            self.client.chat_update(channel=self.channel, ts=self.ts, **message.kwargs())
        elif self.via_response_url:
            _answer(self.respond, message)
        else:
            self._post(message)


def run_now(
    deps: Deps, client: WebClient, respond: Respond, *, channel: str, user: str
) -> SyncReport:
    """``/sellsync run``: the service refuses non-managers and a second concurrent run (the
    error handler answers both); otherwise the progress message follows the run."""
    progress = RunProgress(deps, client, respond, channel=channel, user=user)
    try:
        report = deps.service.run(actor=deps.actor(user), trigger="slack", progress=progress)
    except Exception as exc:  # the progress message still reaches a final state
        progress.crashed(exc)
        raise
    progress.finish(report)
    announce_bulk(client, deps.settings.approval_channel, deps.service, report)
    return report

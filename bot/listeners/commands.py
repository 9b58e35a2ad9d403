"""``/sellsync``: parse and ack at once (bad input answered right there), then do the work lazily
and answer through ``response_url`` (or, for ``run``, a channel message updated in place)."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import action_ids as ids
from bot import parsing as p
from bot.blocks.common import Message, invalid_input, notice
from bot.blocks.conflicts import LINK_CONFLICTS_SHOWN, PAGE_SIZE, conflicts_message
from bot.blocks.fields import (
    fields_message,
    mapping_message,
    restored_message,
    restored_run_message,
)
from bot.blocks.help import help_message
from bot.blocks.push import push_result, push_started
from bot.blocks.runs import run_crashed, run_finished, run_progress
from bot.blocks.status import explanation_message, status_message
from bot.blocks.threshold import list_message, request_preview, threshold_message
from bot.listeners.approvals import announce_bulk, post_request
from bot.listeners.common import Body, Deps, guarded, user_id
from sync.report import SyncReport, classify_failure

log = logging.getLogger("sellsync.bot.commands")


def _answer(respond: Respond, message: Message) -> None:
    respond(response_type="ephemeral", replace_original=False, **message.kwargs())


def register(app: App, deps: Deps) -> None:
    service = deps.service

    def ack_command(ack: Ack, body: Body) -> None:
        command = p.parse_command(body.get("text"))
        if isinstance(command, p.Invalid):
            ack(response_type="ephemeral", **invalid_input(command.reason, command.usage).kwargs())
        elif isinstance(command, p.Help):
            ack(response_type="ephemeral", **help_message().kwargs())
        elif isinstance(command, p.Status) and command.item is None:
            ack(response_type="ephemeral", **status_message(service.status()).kwargs())
        elif isinstance(command, p.Push):
            ack(response_type="ephemeral", **push_started(len(command.items)).kwargs())
        elif isinstance(command, p.RequestThreshold):
            ack(
                response_type="ephemeral",
                **notice(
                    f":hourglass_flowing_sand: Filing a request to change the threshold to {command.value:,}…"
                ).kwargs(),
            )
        elif isinstance(command, p.RequestList):
            ack(
                response_type="ephemeral",
                **notice(
                    f":hourglass_flowing_sand: Filing a request to sync HubSpot list {command.list_id}…"
                ).kwargs(),
            )
        else:
            ack()

    def do_command(body: Body, client: WebClient, respond: Respond) -> None:
        command = p.parse_command(body.get("text"))
        user = user_id(body)
        if isinstance(command, p.Push):
            report = service.push(command.items, actor=deps.actor(user))
            _answer(respond, push_result(report, urls=deps.urls))
        elif isinstance(command, p.Status) and command.item is not None:
            _answer(respond, explanation_message(service.explain(command.item), urls=deps.urls))
        elif isinstance(command, p.ShowThreshold):
            _answer(respond, threshold_message(service.threshold_impact()))
        elif isinstance(command, p.RequestThreshold):
            result = service.request_change(
                "threshold", str(command.value), actor=deps.actor(user), reason=command.reason
            )
            channel = post_request(client, deps, result)
            _answer(respond, request_preview(result, channel=channel))
        elif isinstance(command, p.ShowList):
            _answer(respond, list_message(service.synced_list()))
        elif isinstance(command, p.RequestList):
            result = service.request_change(
                "list_id", command.list_id, actor=deps.actor(user), reason=command.reason
            )
            channel = post_request(client, deps, result)
            _answer(respond, request_preview(result, channel=channel))
        elif isinstance(command, p.Conflicts):
            page = service.conflicts(offset=(command.page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
            _answer(
                respond,
                conflicts_message(
                    page,
                    can_resolve=deps.is_manager(user),
                    urls=deps.urls,
                    links=service.link_conflicts(limit=LINK_CONFLICTS_SHOWN),
                ),
            )
        elif isinstance(command, p.Run):
            run_now(deps, client, respond, channel=str(body.get("channel_id") or ""), user=user)
        elif isinstance(command, p.Restore):
            link = service.restore(command.item, actor=deps.actor(user))
            _answer(respond, restored_message(link, urls=deps.urls))
        elif isinstance(command, p.RestoreRun):
            done = service.restore_run(
                command.run_id, actor=deps.actor(user), reason=command.reason
            )
            _answer(respond, restored_run_message(done))
        elif isinstance(command, p.Fields):
            _answer(respond, fields_message(service.fields()))
        elif isinstance(command, p.MapField):
            check = service.map_field(
                command.hubspot_property, command.sell_field, actor=deps.actor(user)
            )
            _answer(respond, mapping_message(check, command.hubspot_property, command.sell_field))
        # Help, Invalid and plain Status were answered in the ack

    # Commands answered in the ack get a listener without lazy work: Bolt would otherwise copy
    # the request and start a thread for a lazy call that does nothing, on every `status` (a
    # tail of the ack latency on a busy machine). The first listener that matches is used.
    app.command(ids.COMMAND, matchers=[answered_in_ack])(ack_command)
    app.command(ids.COMMAND)(ack=ack_command, lazy=[guarded(deps, do_command)])


def answered_in_ack(body: Body) -> bool:
    """Help, bad input and the plain status board: the ack is the whole answer."""
    command = p.parse_command(body.get("text"))
    return isinstance(command, p.Invalid | p.Help) or (
        isinstance(command, p.Status) and command.item is None
    )


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

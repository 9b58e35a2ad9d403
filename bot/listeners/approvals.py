"""The approvals channel: post a change request (or a run's bulk hold), keep its message true,
tell the requester.

The message of a request is found through the store (``channel`` / ``message_ts`` saved when it
was posted), so it is updated in place whether the click came from that message or the App Home.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.bulk import hold_closed_message, hold_message
from bot.blocks.threshold import request_closed_message, request_message, requester_notice
from bot.chart_uploads import share_threshold_chart
from bot.listeners.common import Deps, dm
from sync.api import (
    BulkHold,
    ChangeRequest,
    HoldStatus,
    RequestResult,
    RequestStatus,
    SyncReport,
    SyncService,
)

log = logging.getLogger("sellsync.bot.approvals")


def post_request(client: WebClient, deps: Deps, result: RequestResult) -> str | None:
    """Post the new request with Approve / Reject to the approvals channel and remember where;
    update the messages of the requests it superseded. Returns the channel, or None if the
    request could not be posted (it still waits in the App Home)."""
    channel = deps.settings.approval_channel
    request = result.request
    posted_to: str | None = None
    if channel:
        try:
            posted = client.chat_postMessage(
                channel=channel, **request_message(request, result.impact).kwargs()
            )
        except SlackApiError as exc:
            log.warning(
                "could not post request #%s to %s: %s",
                request.id,
                channel,
                exc.response.get("error"),
            )
        else:
            posted_to = str(posted["channel"])
            deps.service.attach_request_message(request.id, channel=posted_to, ts=str(posted["ts"]))
            if result.impact is not None:  # a threshold request: its impact charted, in thread
                share_threshold_chart(client, posted_to, result.impact, thread_ts=str(posted["ts"]))
    for older in result.superseded:
        refresh_message(client, older, superseded_by=request.id)
    return posted_to


def refresh_message(
    client: WebClient,
    request: ChangeRequest,
    *,
    superseded_by: int | None = None,
) -> bool:
    """Rewrite a request's message, where it was stored when posted, to show its current state
    (no buttons once decided). Without a stored message nothing is updated."""
    channel, ts = request.channel, request.message_ts
    if not (channel and ts):
        return False
    message = (
        request_message(request)
        if request.status == RequestStatus.PENDING
        else request_closed_message(request, superseded_by=superseded_by)
    )
    try:
        client.chat_update(channel=channel, ts=ts, **message.kwargs())
    except SlackApiError as exc:
        log.warning("could not update request #%s: %s", request.id, exc.response.get("error"))
        return False
    return True


def notify_requester(client: WebClient, request: ChangeRequest) -> None:
    """Tell the requester, by direct message, what became of their request."""
    if not request.requested_by or not request.requested_by[:1].isupper():
        return  # filed from the command line: nobody to message
    try:
        dm(client, request.requested_by, requester_notice(request))
    except SlackApiError as exc:
        log.warning(
            "could not tell %s about request #%s: %s",
            request.requested_by,
            request.id,
            exc.response.get("error"),
        )


# --------------------------------------------------------------------------- bulk holds


def announce_bulk(
    client: WebClient, channel: str | None, service: SyncService, report: SyncReport | None
) -> int | None:
    """After a run: rewrite the messages of the holds it closed, and post the pending hold no
    message shows yet (filed by this run, or by a terminal run) to ``channel``. Returns the id
    of the hold it posted."""
    if report is not None and report.bulk is not None:
        for hold_id in report.bulk.closed:
            hold = service.bulk_hold(hold_id)
            if hold is not None:
                refresh_hold(client, hold)
    hold = service.unposted_bulk_hold()
    if hold is None:
        return None
    if not channel:
        log.warning(
            "bulk request #%s waits for a manager, but SLACK_APPROVAL_CHANNEL is not set: "
            "approve it from a terminal with `sellsync sync --yes-bulk`",
            hold.id,
        )
        return None
    try:
        posted = client.chat_postMessage(channel=channel, **hold_message(hold).kwargs())
    except SlackApiError as exc:
        log.warning("could not post bulk request #%s: %s", hold.id, exc.response.get("error"))
        return None
    service.attach_bulk_message(hold.id, channel=str(posted["channel"]), ts=str(posted["ts"]))
    return hold.id


def refresh_hold(client: WebClient, hold: BulkHold) -> bool:
    """Rewrite a hold's message, where it was stored when posted, to show its current state."""
    channel, ts = hold.channel, hold.message_ts
    if not (channel and ts):
        return False
    message = hold_message(hold) if hold.status == HoldStatus.PENDING else hold_closed_message(hold)
    try:
        client.chat_update(channel=channel, ts=ts, **message.kwargs())
    except SlackApiError as exc:
        log.warning("could not update bulk request #%s: %s", hold.id, exc.response.get("error"))
        return False
    return True

"""The approvals channel: post a change request, keep its message true, tell the requester.

The message of a request is found through the store (``channel`` / ``message_ts`` saved when it
was posted), so it is updated in place whether the click came from that message or the App Home.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.threshold import request_closed_message, request_message, requester_notice
from bot.listeners.common import Deps, dm
from sync.ports import ChangeRequest
from sync.service import RequestResult, RequestStatus

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

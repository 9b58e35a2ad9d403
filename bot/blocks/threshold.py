"""The threshold, its impact, and settings change requests with their Approve / Reject buttons."""

from __future__ import annotations

from datetime import datetime

from slack_sdk.models.blocks import Block

from bot import action_ids as ids
from bot.blocks.common import (
    Message,
    actions,
    button,
    code,
    confirm,
    context,
    escape,
    plural,
    quote,
    section,
    when,
    who,
)
from sync.api import (
    REQUEST_TTL,
    SETTINGS,
    ChangeRequest,
    Decision,
    DecisionOutcome,
    HubSpotList,
    RequestResult,
    RequestStatus,
    SettingName,
    ThresholdImpact,
)


def impact_table(impact: ThresholdImpact) -> str:
    """The impact rows as a fixed-width table (a code block)."""
    lines = [f"{'threshold':>10}  {'qualify':>8}  {'enter Sell':>11}"]
    for row in impact.rows:
        marks = []
        if row.threshold == impact.current:
            marks.append("current")
        if impact.proposed is not None and row.threshold == impact.proposed:
            marks.append("proposed")
        note = f"  ← {', '.join(marks)}" if marks else ""
        lines.append(f"{row.threshold:>10,}  {row.qualifying:>8,}  {row.to_import:>11,}{note}")
    return "```\n" + "\n".join(lines) + "\n```"


def impact_context(impact: ThresholdImpact) -> str:
    if impact.as_of is None:
        return "No sync has run yet: the impact table fills in after the first sync."
    return (
        f"{plural(impact.members, 'list member')}: {impact.linked:,} already linked (they sync "
        f"whatever their score), {impact.tombstoned:,} tombstoned (never re-created); "
        f"{impact.scored:,} of the others {'has' if impact.scored == 1 else 'have'} a numeric score. “qualify”: not yet linked and at "
        f"or above the threshold. Scores as of the sync of {impact.as_of:%Y-%m-%d %H:%M} UTC."
    )


def threshold_message(impact: ThresholdImpact) -> Message:
    return Message(
        f"The threshold is {impact.current}",
        [
            section(
                f"The engagement-score threshold is *{impact.current:,}*: a member of the synced "
                "list enters Sell when its score is at least that."
            ),
            section(impact_table(impact)),
            context(impact_context(impact), "Change it with `/sellsync threshold N [reason]`."),
        ],
    )


def list_message(lst: HubSpotList) -> Message:
    """The one synced list (S2)."""
    return Message(
        escape(f"sellsync: synced HubSpot list {lst.id}"),
        [
            section(
                f"Sell is fed by one HubSpot list: *{escape(lst.name)}* (id {code(lst.id)}, "
                f"{escape(lst.processing_type.lower())}). Contacts in it whose score meets the threshold "
                "enter Sell; linked pairs keep syncing whatever list they are in."
            ),
            context("Change it with `/sellsync list LIST_ID [reason]` (a manager approves)."),
        ],
    )


def _change_words(request: ChangeRequest) -> str:
    """``change the engagement-score threshold from `40` to `50```, ``pause the sync`` …"""
    entry = SETTINGS[request.setting]
    return entry.request_words(request.old_value, request.new_value, show=code)


def _request_line(request: ChangeRequest) -> str:
    return (
        f"*Request #{request.id}*: {_change_words(request)} · asked by {who(request.requested_by)}"
    )


def _reason_line(request: ChangeRequest) -> str:
    return quote(request.reason) if request.reason.strip() else "_no reason given_"


def request_preview(result: RequestResult, *, channel: str | None) -> Message:
    """What the requester sees: the request, its impact, and where it waits for approval."""
    request = result.request
    where = f"<#{channel}>" if channel else "the App Home of a manager"
    blocks: list[Block] = [
        section(
            f":inbox_tray: {_request_line(request)}\nIt waits for a manager's approval in {where}."
        ),
    ]
    if result.impact is not None:
        blocks += [section(impact_table(result.impact)), context(impact_context(result.impact))]
    if result.superseded:
        older = ", ".join(f"#{r.id}" for r in result.superseded)
        blocks.append(context(f"It supersedes the older pending request {older}."))
    return Message(
        escape(f"Request #{request.id} filed: {request.setting} → {request.new_value}"), blocks
    )


def request_message(request: ChangeRequest, impact: ThresholdImpact | None = None) -> Message:
    """The approvals-channel message with Approve / Reject (pending requests only)."""
    expires = request.created_at + REQUEST_TTL
    blocks: list[Block] = [section(f":scales: {_request_line(request)}\n{_reason_line(request)}")]
    if impact is not None:
        blocks += [section(impact_table(impact)), context(impact_context(impact))]
    value = ids.encode_request(request.id)
    blocks += [
        actions(
            button(
                "Approve",
                ids.APPROVE,
                value,
                style="primary",
                confirm=confirm(
                    "Approve this change?",
                    SETTINGS[request.setting].approved_words(request.new_value, show=escape),
                    "Approve",
                ),
            ),
            button("Reject", ids.REJECT, value, style="danger"),
            block_id=ids.request_block(request.id),
        ),
        context(f"Managers only, not the requester · expires {when(expires)}"),
    ]
    return Message(
        escape(
            f"Approval needed: {request.setting} {request.old_value} → {request.new_value} "
            f"(request #{request.id})"
        ),
        blocks,
    )


def request_closed_message(request: ChangeRequest, *, superseded_by: int | None = None) -> Message:
    """The approvals-channel message once the request is no longer pending: no buttons."""
    if request.status == RequestStatus.APPROVED:
        outcome = (
            f":white_check_mark: Approved by {who(request.decided_by)} {when(request.decided_at)}"
        )
    elif request.status == RequestStatus.REJECTED:
        outcome = (
            f":no_entry_sign: Rejected by {who(request.decided_by)} {when(request.decided_at)}"
        )
    elif request.status == RequestStatus.EXPIRED:
        outcome = f":hourglass: Expired {when(request.decided_at)}: nobody decided within {REQUEST_TTL.days} days"
    elif request.status == RequestStatus.SUPERSEDED:
        newer = f" by request #{superseded_by}" if superseded_by else " by a newer request"
        outcome = f":fast_forward: Superseded{newer} for the same setting"
    else:
        outcome = f"Status: {escape(request.status)}"
    return Message(
        escape(
            f"Request #{request.id} ({request.setting} → {request.new_value}): {request.status}"
        ),
        [section(f"{_request_line(request)}\n{_reason_line(request)}"), context(outcome)],
    )


def requester_notice(request: ChangeRequest) -> Message:
    """The DM telling the requester what became of their request."""
    verb = {"approved": "approved", "rejected": "rejected"}.get(
        request.status, escape(request.status)
    )
    text = (
        f"Your request #{request.id} to {_change_words(request)} was "
        f"*{verb}* by {who(request.decided_by)} {when(request.decided_at)}."
    )
    if request.status == RequestStatus.APPROVED and request.setting == SettingName.MIGRATION:
        text += " The worker moves everything now, with its progress in the approvals channel."
    elif request.status == RequestStatus.APPROVED:
        text += " It applies from the next sync."
    return Message(f"Request #{request.id} {verb}", [section(text)])


def pending_line(request: ChangeRequest, now: datetime | None = None) -> str:
    del now
    return f"{_request_line(request)}\n{_reason_line(request)}"


def decision_text(decision: Decision) -> str:
    """What a click on Approve or Reject did, in one line of mrkdwn (no final period)."""
    request = decision.request
    status = escape(request.status)
    if decision.outcome is DecisionOutcome.DECIDED:
        return f"{escape(request.setting)} change to {escape(request.new_value)} {status}"
    if decision.outcome is DecisionOutcome.EXPIRED:
        return f"request #{request.id} expired after {REQUEST_TTL.days} days"
    by = ""
    if decision.outcome is DecisionOutcome.ALREADY_CLOSED and request.status in (
        RequestStatus.APPROVED,
        RequestStatus.REJECTED,
    ):
        by = f" by {who(request.decided_by)}" if request.decided_by else ""
    return f"request #{request.id} was already {status}{by}"

"""The bulk guard in Slack: a held run's request with Approve / Reject, its closed form, and the
line a run's report carries."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot import action_ids as ids
from bot.blocks.common import (
    Message,
    actions,
    button,
    confirm,
    context,
    escape,
    section,
    when,
    who,
)
from sync.api import (
    REMOVALS,
    REMOVALS_MIN,
    REMOVALS_SHARE,
    BulkHold,
    HoldStatus,
    SyncReport,
    describe,
)


def _counts(hold: BulkHold) -> dict[str, int]:
    return {kind: len(keys) for kind, keys in hold.items.items()}


def _why(hold: BulkHold) -> str:
    counts = _counts(hold)
    why = []
    if counts.get("create_in_sell"):
        why.append(f"more than {hold.bulk_limit:,} creations in one run (`SYNC_BULK_LIMIT`)")
    if any(counts.get(k.value) for k in REMOVALS):
        why.append(
            f"more than {REMOVALS_MIN} links removed, over {REMOVALS_SHARE:.0%} of the "
            f"{hold.links_total:,} links"
        )
    return " and ".join(why)


def _summary(hold: BulkHold) -> str:
    return (
        f"A sync held *{escape(describe(_counts(hold)))}* for a manager's approval: "
        f"{_why(hold)}. _{escape(hold.scope)}_"
    )


def _sample(hold: BulkHold) -> str:
    total = sum(_counts(hold).values())
    lines = [f"• {escape(line)}" for line in hold.sample]
    if total > len(hold.sample):
        lines.append(f"…and {total - len(hold.sample):,} more")
    return "\n".join(lines)


def hold_message(hold: BulkHold) -> Message:
    """The approvals-channel message of a pending hold, with Approve / Reject."""
    value = ids.encode_hold(hold.id)
    blocks: list[Block] = [
        section(f":raised_hand: {_summary(hold)} (request #{hold.id})"),
        section(_sample(hold) or "_no sample_"),
        actions(
            button(
                "Approve",
                ids.BULK_APPROVE,
                value,
                style="primary",
                confirm=confirm(
                    "Approve these?",
                    f"The next sync carries out {escape(describe(_counts(hold)))}.",
                    "Approve",
                ),
            ),
            button("Reject", ids.BULK_REJECT, value, style="danger"),
            block_id=ids.hold_block(hold.id),
        ),
        context(
            "Managers only · Approve: the next sync carries them out · Reject: left alone "
            "until the list, the threshold or SYNC_BULK_LIMIT changes · from a terminal: "
            "`sellsync sync --yes-bulk`"
        ),
    ]
    return Message(
        escape(f"Approval needed: a sync held {describe(_counts(hold))} (request #{hold.id})"),
        blocks,
    )


def hold_closed_message(hold: BulkHold) -> Message:
    """The request's message once decided (no buttons)."""
    if hold.status == HoldStatus.APPROVED:
        outcome = (
            f":white_check_mark: Approved by {who(hold.decided_by)} {when(hold.decided_at)}: "
            "the next sync carries them out"
        )
    elif hold.status == HoldStatus.APPLIED:
        outcome = f":white_check_mark: Approved by {who(hold.decided_by)} and carried out"
    elif hold.status == HoldStatus.REJECTED:
        outcome = (
            f":no_entry_sign: Rejected by {who(hold.decided_by)} {when(hold.decided_at)}: left "
            "alone until the list, the threshold or SYNC_BULK_LIMIT changes"
        )
    elif hold.status == HoldStatus.SUPERSEDED:
        outcome = ":fast_forward: No longer needed: a later sync held something else, or nothing"
    else:
        outcome = f"Status: {escape(hold.status)}"
    return Message(
        escape(f"Bulk request #{hold.id} ({describe(_counts(hold))}): {hold.status}"),
        [section(_summary(hold)), context(outcome)],
    )


def decision_note(hold: BulkHold, *, changed: bool) -> str:
    if not changed:
        return f"Bulk request #{hold.id} was already {hold.status}"
    return f"Bulk request #{hold.id} {hold.status}"


def held_note(report: SyncReport) -> str | None:
    """The line a run's message carries when the guard held (or left alone) anything."""
    if report.bulk is None:
        return None
    line = report.bulk.line(dry_run=report.dry_run)
    return None if line is None else f":raised_hand: {escape(line)}"

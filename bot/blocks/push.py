"""S4 "Add to HubSpot": the push acknowledgement and its result."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks.common import (
    Message,
    bullet_sections,
    context,
    counts_line,
    escape,
    plural,
    section,
)
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from bot.blocks.runs import failure_reason, where_to_look
from sync.api import Outcome, Skip, SyncReport

#: How many result lines (one per record) the message may spend before "…and N more".
MAX_RESULT_SECTIONS = 40


def push_started(count: int) -> Message:
    text = f":hourglass_flowing_sand: Pushing {plural(count, 'item')} to HubSpot… I'll post the result here."
    return Message(text, [section(text)])


def not_pushed(report: SyncReport) -> list[Skip]:
    """Every record that was not created or linked, with its reason (skips, then errors)."""
    skipped = report.plan.skipped if report.dry_run else report.applied.skipped
    return [*skipped, *report.errors]


def push_result(
    report: SyncReport, *, source: str | None = None, urls: RecordUrls = NO_HUBSPOT_URLS
) -> Message:
    counts = report.counts()
    done = sum(
        counts.get(o.value, 0)
        for o in (Outcome.CREATED_IN_HUBSPOT, Outcome.MERGED, Outcome.UPDATED_HUBSPOT)
    )
    left_out = not_pushed(report)
    if report.failure:
        head = f":x: The push stopped: {failure_reason(report.failure_kind)}. {where_to_look()}"
    elif left_out and not done:
        head = ":warning: Nothing was added to HubSpot."
    elif left_out:
        head = f":white_check_mark: Pushed to HubSpot, except {plural(len(left_out), 'record')}."
    else:
        head = ":white_check_mark: Pushed to HubSpot."
    blocks: list[Block] = [
        section(head),
        context(counts_line(counts, empty="no changes") + (f" · {source}" if source else "")),
    ]
    linked = [
        a
        for a in report.applied.actions
        if a.sell is not None
        and a.hubspot_id
        and (Outcome.CREATED_IN_HUBSPOT in a.outcomes or Outcome.MERGED in a.outcomes)
    ]
    if linked:
        lines = [
            f"• {urls.sell_link(a.sell)} → HubSpot {urls.hubspot_link(a.hubspot_id)}: "
            f"{escape(a.summary)}"
            for a in linked
        ]
        blocks.append(section("*Linked:*"))
        blocks += bullet_sections(lines, max_blocks=8)
    if left_out:
        blocks.append(section(f"*Not created or linked ({len(left_out):,}):*"))
        lines = [f"• {urls.item_link(s.item)} — {escape(s.reason)}" for s in left_out]
        blocks += bullet_sections(lines, max_blocks=MAX_RESULT_SECTIONS - len(blocks))
    summary = f"Push: {done} added or linked, {len(left_out)} not"
    return Message(summary, blocks)

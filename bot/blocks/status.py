"""``/sellsync status``: the sync at a glance, and "why did or didn't this record sync"."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks.common import (
    Message,
    bullet_sections,
    code,
    context,
    counts_line,
    escape,
    section,
    when,
)
from sync.ports import RunRecord
from sync.service import Explanation, StatusView

RUN_STATUS = {
    "ok": ":white_check_mark: ok",
    "errors": ":warning: finished with errors",
    "failed": ":x: failed",
    "running": ":arrows_counterclockwise: running",
}

LINK_STATES = {
    "active": "active",
    "tombstoned": "tombstoned (deleted in Sell)",
    "hubspot_deleted": "deleted in HubSpot",
}


def run_line(run: RunRecord | None) -> str:
    if run is None:
        return "no sync has run yet"
    status = RUN_STATUS.get(run.status, escape(run.status))
    line = f"{status} · {when(run.started_at)} · {escape(run.trigger)}"
    counts = counts_line(run.counts, empty="")
    if counts:
        line += f"\n{counts}"
    if run.error:  # its text can hold SQL or a contact's data: it stays on the server
        line += "\n_the error is in `sellsync status --json` on the server and in sellsync's log_"
    return line


def links_line(links: dict[str, int]) -> str:
    parts = [f"{LINK_STATES.get(k, escape(k))} *{v:,}*" for k, v in sorted(links.items()) if v]
    return " · ".join(parts) or "none yet"


def status_message(view: StatusView) -> Message:
    blocks = [
        section(
            f"*sellsync status*\nThreshold *{view.threshold:,}* · synced HubSpot list {code(view.list_id or '(not set)')}",
            fields=[
                f"*Last run*\n{run_line(view.last_run)}",
                f"*Next run*\n{when(view.next_run) if view.next_run else 'not scheduled here'}",
                f"*Open conflicts*\n{view.open_conflicts:,}",
                f"*Pending approvals*\n{view.pending_requests:,}",
            ],
        ),
        context(f"Links: {links_line(view.links)}"),
    ]
    return Message(
        f"sellsync: threshold {view.threshold}, {view.open_conflicts} open conflicts, "
        f"{view.pending_requests} pending approvals",
        blocks,
    )


def explanation_message(exp: Explanation) -> Message:
    blocks: list[Block] = [section(f"*{code(exp.item)}*: {escape(exp.verdict)}")]
    if exp.facts:
        blocks += bullet_sections([f"• {escape(f)}" for f in exp.facts], max_blocks=10)
    if exp.conflicts:
        blocks.append(context("Review conflicts with `/sellsync conflicts`."))
    return Message(escape(f"{exp.item}: {exp.verdict}"), blocks)

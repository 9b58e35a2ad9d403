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
    plural,
    section,
    when,
)
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from sync.ports import RunRecord
from sync.service import Explanation, ScheduleState, StatusView, Verdict

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


def schedule_line(schedule: ScheduleState) -> str:
    """The next scheduled sync as the running scheduler recorded it, or why there is none."""
    if schedule.state == "running":
        line = when(schedule.next_sync) if schedule.next_sync else "not scheduled"
        return f"{line}\n_scheduler seen {when(schedule.seen_at)}_"
    if schedule.state == "stale":
        return (
            f":warning: none: the scheduler was last seen {when(schedule.seen_at)}. "
            "Is `sellsync worker` running?"
        )
    if schedule.state == "stopped":
        return f"none: the scheduler stopped {when(schedule.stopped_at)}"
    return "none: no scheduler has run yet (start `sellsync worker`)"


def status_message(view: StatusView) -> Message:
    blocks = [
        section(
            f"*sellsync status*\nThreshold *{view.threshold:,}* · synced HubSpot list {code(view.list_id or '(not set)')}",
            fields=[
                f"*Last run*\n{run_line(view.last_run)}",
                f"*Next run*\n{schedule_line(view.schedule)}",
                f"*Open conflicts*\n{view.open_conflicts:,}",
                f"*Pending approvals*\n{view.pending_requests:,}",
            ],
        ),
        context(f"Links: {links_line(view.links)}"),
    ]
    return Message(
        f"sellsync: threshold {view.threshold}, {plural(view.open_conflicts, 'open conflict')}, "
        f"{plural(view.pending_requests, 'pending approval')}",
        blocks,
    )


def verdict_text(exp: Explanation, *, push: str = "/sellsync push") -> str:
    """The one-line verdict, plain text; ``push`` is how the reader pushes a record from where
    they read it (the slash command in Slack, ``sellsync push`` in a terminal)."""
    if exp.kind is Verdict.NOT_LINKED and exp.ref is not None:
        return f"{exp.verdict}: push it with {push} {exp.ref}"
    return exp.verdict


def explanation_message(exp: Explanation, *, urls: RecordUrls = NO_HUBSPOT_URLS) -> Message:
    verdict = verdict_text(exp)
    blocks: list[Block] = [section(f"*{urls.item_link(exp.item)}*: {escape(verdict)}")]
    if exp.link is not None:
        blocks.append(
            context(
                f"Records: Sell {urls.sell_link(exp.link.sell)} ↔ HubSpot "
                f"{urls.hubspot_link(exp.link.hubspot_id)}"
            )
        )
    if exp.facts:
        blocks += bullet_sections([f"• {escape(f)}" for f in exp.facts], max_blocks=10)
    if exp.conflicts:
        blocks.append(context("Review conflicts with `/sellsync conflicts`."))
    return Message(escape(f"{exp.item}: {verdict}"), blocks)

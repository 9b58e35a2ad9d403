"""The App Home tab: status, threshold, pending approvals, open conflicts, run history.

The run history answers "did it run, and what did it do?" the way a Zap's run history does: one
line per run with what started it, how it ended, its counts, when, and how long it took.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot import action_ids as ids
from bot.blocks.common import (
    actions,
    bullet_sections,
    button,
    code,
    context,
    counts_line,
    divider,
    escape,
    fit_view_blocks,
    header,
    plural,
    section,
)
from bot.blocks.conflicts import field_label, held_links_blocks
from bot.blocks.health import home_health_blocks
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from bot.blocks.status import run_head, status_message
from bot.blocks.threshold import pending_line
from sync.api import (
    ChangeRequest,
    ConflictPage,
    HealthView,
    HeldLinkPage,
    RunRecord,
    StatusView,
)

MAX_PENDING = 10
MAX_CONFLICTS = 5
MAX_RUNS = 10


def history_line(run: RunRecord) -> str:
    """One run of the history: status · when · trigger · counts · duration (· where its error is:
    the error's text can hold SQL or a contact's data, so it stays on the server)."""
    parts = [run_head(run), counts_line(run.counts, empty="no changes")]
    if run.finished_at is not None:
        seconds = max(0, round((run.finished_at - run.started_at).total_seconds()))
        parts.append(f"took {seconds:,}s")
    line = "• " + " · ".join(parts)
    if run.error:
        line += " — _the error is in `sellsync runs` on the server_"
    return line


def home_view(
    status: StatusView,
    pending: list[ChangeRequest],
    conflicts: ConflictPage,
    held_links: HeldLinkPage | None = None,
    *,
    health: HealthView | None = None,
    viewer: str,
    viewer_is_manager: bool,
    urls: RecordUrls = NO_HUBSPOT_URLS,
) -> View:
    blocks: list[Block] = [header("sellsync: Sell ↔ HubSpot")]
    blocks += status_message(status).blocks  # the board as /sellsync status words it
    blocks += [divider(), section(f"*Pending approvals* ({len(pending):,})")]
    if not pending:
        blocks.append(context("No settings change is waiting for approval."))
    for request in pending[:MAX_PENDING]:
        blocks.append(section(pending_line(request)))
        if viewer_is_manager and request.requested_by != viewer:
            value = ids.encode_request(request.id)
            blocks.append(
                actions(
                    button("Approve", ids.APPROVE, value, style="primary"),
                    button("Reject", ids.REJECT, value, style="danger"),
                    block_id=ids.request_block(request.id),
                )
            )
    if len(pending) > MAX_PENDING:
        blocks.append(context(f"…and {len(pending) - MAX_PENDING} more"))
    blocks += [divider(), section(f"*Open conflicts* ({conflicts.total:,})")]
    if conflicts.conflicts:
        lines = [
            f"• *{escape(field_label(c.field))}* on {urls.sell_link(c.sell)}: Sell "
            f"{code(c.sell_value, 100)} vs HubSpot {code(c.hubspot_value, 100)}"
            for c in conflicts.conflicts[:MAX_CONFLICTS]
        ]
        blocks += bullet_sections(lines, max_blocks=2)
        more = conflicts.total - min(len(conflicts.conflicts), MAX_CONFLICTS)
        blocks.append(
            context(
                (f"…and {more:,} more. " if more > 0 else "")
                + "Review and resolve them with `/sellsync conflicts`."
            )
        )
    else:
        blocks.append(context("No open conflicts."))
    if held_links is not None and held_links.total:
        blocks += held_links_blocks(held_links, can_resolve=viewer_is_manager, urls=urls)
    if health is not None:
        blocks += [divider(), *home_health_blocks(health, can_act=viewer_is_manager, urls=urls)]
    runs = status.recent_runs
    blocks += [divider(), section(f"*Run history* ({plural(len(runs), 'recent run')})")]
    if runs:
        blocks += bullet_sections([history_line(r) for r in runs[:MAX_RUNS]], max_blocks=3)
        if len(runs) > MAX_RUNS:
            blocks.append(context(f"…and {plural(len(runs) - MAX_RUNS, 'older run')}"))
    else:
        blocks.append(context("No sync has run yet."))
    blocks.append(context("`/sellsync help` for commands"))
    return View(type="home", blocks=fit_view_blocks(blocks))

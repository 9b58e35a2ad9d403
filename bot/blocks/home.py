"""The App Home tab: status, threshold, pending approvals, open conflicts, recent runs."""

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
    divider,
    escape,
    fit_view_blocks,
    header,
    section,
)
from bot.blocks.conflicts import field_label
from bot.blocks.status import links_line, run_line, status_message
from bot.blocks.threshold import pending_line
from sync.ports import ChangeRequest
from sync.service import ConflictPage, StatusView

MAX_PENDING = 10
MAX_CONFLICTS = 5


def home_view(
    status: StatusView,
    pending: list[ChangeRequest],
    conflicts: ConflictPage,
    *,
    viewer: str,
    viewer_is_manager: bool,
) -> View:
    blocks: list[Block] = [header("sellsync: Sell ↔ HubSpot")]
    blocks += status_message(status).blocks
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
            f"• *{escape(field_label(c.field))}* on {code(c.sell)}: Sell {code(c.sell_value, 100)} "
            f"vs HubSpot {code(c.hubspot_value, 100)}"
            for c in conflicts.conflicts[:MAX_CONFLICTS]
        ]
        blocks += bullet_sections(lines, max_blocks=2)
        blocks.append(context("Review and resolve them with `/sellsync conflicts`."))
    else:
        blocks.append(context("No open conflicts."))
    blocks += [divider(), section("*Recent runs*")]
    if status.recent_runs:
        blocks += bullet_sections(
            [f"• {run_line(r)}".replace("\n", " — ") for r in status.recent_runs[:10]], max_blocks=3
        )
    else:
        blocks.append(context("No sync has run yet."))
    blocks.append(context(f"Links: {links_line(status.links)} · `/sellsync help` for commands"))
    return View(type="home", blocks=fit_view_blocks(blocks))

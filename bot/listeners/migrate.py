"""``/sellsync migrate``: a manager asks to move everything out of Sell into HubSpot.

After the ack, the plan is read from both CRMs (the same plan as ``sellsync migrate --dry-run``;
nothing is written) and filed as a request whose value carries its counts
(``run: 1600 Sell items (1000 contacts, 100 companies, 500 notes)``). It is posted to the
approvals channel like any change request: another manager approves or rejects it, clicks are
idempotent, the message is updated in place, a newer request supersedes it, it expires after 7
days. Approved, the worker runs it (``bot/migration_job.py``).
"""

from __future__ import annotations

from slack_sdk import WebClient

from bot.blocks.common import Message
from bot.blocks.threshold import request_preview
from bot.listeners.approvals import post_request
from bot.listeners.common import Deps
from sync.api import Actor, SettingName, migration_of, order_text


def request_migration(client: WebClient, deps: Deps, actor: Actor, reason: str) -> Message:
    """Plan, file the request with the plan's counts, post it for approval; the requester's
    preview. Refusals (Sell retired, a missing scope, a request already approved) propagate as
    one-line errors."""
    plan = migration_of(deps.service).plan()
    result = deps.service.request_change(
        SettingName.MIGRATION, order_text(plan), actor=actor, reason=reason
    )
    channel = post_request(client, deps, result)
    return request_preview(result, channel=channel)

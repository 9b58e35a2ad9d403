"""Leaving Sell in Slack: the worker's message for an approved migration, updated in place with
its progress (a known total), then its final state (counts, refusals, what stays in Sell and the
command that verifies it). Every CRM string is escaped; failures are named by their kind only."""

from __future__ import annotations

from bot.blocks.common import Message, context, escape, plural, section, who
from bot.blocks.runs import FAILURE_TEXT
from sync.api import FailureKind, MigrationOrder, MigrationProgress, MigrationReport

#: Refusals the final message names one by one (``sellsync migrate --json`` lists more).
REFUSALS_SHOWN = 5

PHASES = {
    "companies": "organizations → companies",
    "contacts": "leads and people → contacts",
    "leads": "leads → contacts",
    "notes": "notes → notes",
}

VERIFY = "`sellsync migrate --verify`"

_ACTIONS = (
    ("create", "created"),
    ("update", "updated"),
    ("adopt", "matched"),
    ("merge", "merged by e-mail"),
    ("unchanged", "already equal"),
)


def _approved(order: MigrationOrder) -> str:
    by = f"asked by {who(order.by)}" if order.by else "asked"
    if order.approved_by:
        by += f", approved by {who(order.approved_by)}"
    return by


def _bar(done: int, total: int | None, width: int = 20) -> str:
    if not total:
        return f"{done:,} Sell items"
    share = min(1.0, done / total)
    filled = round(share * width)
    return (
        f"`{'█' * filled}{'░' * (width - filled)}` {done:,} of {total:,} Sell items ({share:.0%})"
    )


def migration_progress(order: MigrationOrder, progress: MigrationProgress | None) -> Message:
    """While it moves: the phase and a bar of the known total."""
    if progress is None:
        doing, bar = "starting", _bar(0, order.total)
    else:
        doing = PHASES.get(progress.phase, escape(progress.phase))
        bar = _bar(progress.done, progress.total or order.total)
    return Message(
        f"Moving everything out of Sell into HubSpot: {doing}",
        [
            section(f":truck: *Moving everything out of Sell into HubSpot*: {doing}…\n{bar}"),
            context(f"{_approved(order)} · no sync runs until it is done"),
        ],
    )


def _object_lines(report: MigrationReport) -> list[str]:
    lines = []
    for obj in ("companies", "contacts", "notes", "associations"):
        parts = [
            f"{n:,} {words}"
            for action, words in _ACTIONS
            if (n := report.counts.get(f"{obj}.{action}", 0))
        ]
        if parts:
            lines.append(f"• *{obj.capitalize()}*: " + ", ".join(parts))
    return lines


def migration_finished(order: MigrationOrder, report: MigrationReport) -> Message:
    """The final state: counts by object, refusals (the first few, escaped), owners without a
    HubSpot match, what stays in Sell, and the command that verifies the move."""
    refused = report.counts.get("refused", 0)
    stopped = report.status == "failed"
    head = (
        ":warning: *The move out of Sell stopped* (run it again to finish: nothing moves twice)"
        if stopped
        else ":white_check_mark: *Everything is moved out of Sell into HubSpot*"
    )
    lines = [f"{head} (migration run {report.run_id})", *_object_lines(report)]
    conflicts = report.counts.get("conflicts", 0)
    if conflicts:
        lines.append(
            f"{plural(conflicts, 'field')} of contacts already in HubSpot kept HubSpot's value "
            f"(listed as differences by {VERIFY})"
        )
    if refused:
        lines.append(f":no_entry_sign: {plural(refused, 'item')} refused:")
        lines += [
            f"  • `{escape(r.sell_key)}`: {escape(r.reason)}"
            for r in report.refusals[:REFUSALS_SHOWN]
        ]
        if refused > REFUSALS_SHOWN:
            lines.append(f"  • … and {refused - REFUSALS_SHOWN:,} more (`sellsync migrate --json`)")
    if report.unassigned:
        lines.append(
            f"{plural(len(report.unassigned), 'Sell user')} with no HubSpot owner: their records "
            "moved unassigned"
        )
    if report.not_moved:
        kept = ", ".join(f"{n:,} {escape(k)}" for k, n in sorted(report.not_moved.items()) if n)
        if kept:
            lines.append(f"Not moved (stay in Sell; `sellsync export PATH` keeps them): {kept}")
    next_steps = (
        f"Next: {VERIFY} compares every moved record; then `sellsync export PATH` and "
        "`/sellsync sell-mode read_only`"
    )
    return Message(
        f"Migration run {report.run_id}: {report.status}, {report.moved:,} items in HubSpot, "
        f"{refused:,} refused. Verify with sellsync migrate --verify",
        [section("\n".join(lines)), context(next_steps), context(_approved(order))],
    )


def migration_crashed(order: MigrationOrder, kind: FailureKind) -> Message:
    """The move could not go on: why in words (never the error's own text); nothing moves
    twice when it is asked again."""
    why = FAILURE_TEXT.get(kind, "an unexpected error (details are in the worker's log)")
    return Message(
        "The move out of Sell failed; ask again with /sellsync migrate",
        [
            section(
                f":x: *The move out of Sell failed*: {why}.\nWhat moved is kept; "
                "`/sellsync migrate` (or `sellsync migrate --yes`) goes on from there."
            ),
            context(_approved(order)),
        ],
    )


def migration_paused(order: MigrationOrder, report: MigrationReport) -> Message:
    """The worker stopped mid-move (a restart, a deploy): it goes on when a worker starts."""
    return Message(
        "The move out of Sell paused: it goes on when the worker starts again",
        [
            section(
                ":double_vertical_bar: *The move out of Sell paused*: the worker stopped. "
                f"{_bar(report.walked, order.total)} so far; it goes on when the worker starts "
                "again, and nothing moves twice."
            ),
            context(_approved(order)),
        ],
    )

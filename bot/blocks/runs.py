"""Sync runs as Slack sees them: the progress message, its final counts, summaries and alerts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from slack_sdk.models.blocks import Block

from bot.blocks.bulk import held_note
from bot.blocks.common import (
    OUTCOME_LABELS,
    Message,
    bullet_sections,
    context,
    counts_line,
    escape,
    plural,
    section,
    when,
    who,
)
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from bot.blocks.sell_mode import sell_mode_line
from sync.api import ChangeKind, FailureKind, SettingChange, Summary, SyncReport

STAGES = {
    "start": "starting",
    "members": "going through the synced list",
    "sell leads": "reading Sell leads",
    "sell contacts": "reading Sell contacts",
    "hubspot changes": "reading HubSpot changes",
    "full check": "checking every link",
    "bulk": "creating what the bulk guard counted",
    "held links": "checking the links a bulk request names",
}


def run_progress(stage: str, report: SyncReport, *, actor: str) -> Message:
    doing = STAGES.get(stage, escape(stage))
    return Message(
        f"Sync running: {doing}",
        [
            section(f":arrows_counterclockwise: Sync running (started by {who(actor)}): {doing}…"),
            context(counts_line(report.counts(), empty="no changes yet")),
        ],
    )


# --------------------------------------------------------------------------- failures

#: What each kind of failure means for the reader; the error's own text never reaches Slack.
FAILURE_TEXT: dict[FailureKind, str] = {
    FailureKind.HUBSPOT_UNREACHABLE: "HubSpot could not be reached (timeouts, dropped "
    "connections or server errors, after retries)",
    FailureKind.SELL_UNREACHABLE: "Zendesk Sell could not be reached (timeouts, dropped "
    "connections or server errors, after retries)",
    FailureKind.HUBSPOT_AUTH: "HubSpot refused the access token (revoked, expired or missing a "
    "scope): check `HUBSPOT_ACCESS_TOKEN`",
    FailureKind.SELL_AUTH: "Zendesk Sell refused the access token (revoked or wrong): check "
    "`SELL_ACCESS_TOKEN`",
    FailureKind.HUBSPOT_RATE_LIMIT: "HubSpot's rate limit ran out; the next run picks up where "
    "this one stopped",
    FailureKind.SELL_RATE_LIMIT: "Zendesk Sell's rate limit ran out; the next run picks up where "
    "this one stopped",
    FailureKind.HUBSPOT_LIST_MISSING: "HubSpot has no synced list by that id (deleted, or "
    "the token cannot see it): check it with `/sellsync list`",
    FailureKind.HUBSPOT_REFUSED: "HubSpot refused a request the run depends on",
    FailureKind.SELL_REFUSED: "Zendesk Sell refused a request the run depends on",
    FailureKind.HUBSPOT_UNPROVEN_ABSENCE: "HubSpot left out contacts that still exist (a "
    "changed token or its permissions?); nothing was marked deleted on that answer",
    FailureKind.SELL_UNPROVEN_ABSENCE: "Zendesk Sell left out records that still exist (a "
    "changed role or token?); nothing was tombstoned on that answer",
    FailureKind.DATABASE: "sellsync's database failed (unreachable, locked or refusing writes)",
    FailureKind.CONFIG: "a setting is missing or unusable",
    FailureKind.LOST_LOCK: "the run lost the lock (another run took over) and stopped",
    FailureKind.UNEXPECTED: "an unexpected error",
}


def failure_reason(kind: FailureKind | None) -> str:
    """The kind of a failure in words (an unclassified failure counts as unexpected)."""
    return FAILURE_TEXT.get(kind or FailureKind.UNEXPECTED, FAILURE_TEXT[FailureKind.UNEXPECTED])


def where_to_look(log: str = "sellsync's log") -> str:
    return f"The details are in `sellsync status --json` (on the server) and {log}."


#: Warnings shown under a finished run (a context block holds at most 10 elements).
MAX_WARNINGS = 9


def run_finished(report: SyncReport, *, actor: str, urls: RecordUrls = NO_HUBSPOT_URLS) -> Message:
    if report.status == "failed":
        head = (
            f":x: Sync started by {who(actor)} failed: {failure_reason(report.failure_kind)}. "
            + where_to_look()
        )
    elif report.status == "interrupted":
        head = (
            f":double_vertical_bar: Sync started by {who(actor)} was interrupted (sellsync was "
            "stopping); what it did is kept, and the next run picks up where it stopped"
        )
    elif report.status == "errors":
        head = f":warning: Sync finished with {plural(len(report.errors), 'error')} (started by {who(actor)})"
    else:
        head = f":white_check_mark: Sync finished (started by {who(actor)})"
    seconds = (
        (report.finished_at - report.started_at).total_seconds() if report.finished_at else None
    )
    took = f" · took {seconds:.0f}s" if seconds is not None else ""
    blocks: list[Block] = [
        section(head),
        context(counts_line(report.counts(), empty="no changes") + took),
    ]
    if report.errors:
        lines = [f"• {urls.item_link(e.item)} — {escape(e.reason)}" for e in report.errors]
        blocks += bullet_sections(lines, max_blocks=10)
    held = held_note(report)
    if held:
        blocks.append(section(held))
    warnings = report.plan.warnings
    if warnings:
        shown = [f":warning: {escape(w)}" for w in warnings[:MAX_WARNINGS]]
        if len(warnings) > MAX_WARNINGS:
            shown.append(f"…and {plural(len(warnings) - MAX_WARNINGS, 'more warning')}")
        blocks.append(context(*shown))
    return Message(f"Sync {report.status}: {counts_line(report.counts())}".replace("*", ""), blocks)


def run_crashed(kind: FailureKind, *, actor: str) -> Message:
    """The final state of a run's progress message when the run raised instead of reporting
    (its database failed as it recorded itself, say): the kind of failure, never its text."""
    head = f":x: Sync started by {who(actor)} failed: {failure_reason(kind)}. " + where_to_look()
    return Message(f"Sync failed: {failure_reason(kind)}", [section(head)])


def run_in_progress() -> Message:
    text = ":hourglass: A sync is already running; try again when it has finished."
    return Message("A sync is already running", [section(text)])


# --------------------------------------------------------------------------- summaries

SUMMARY_ORDER = (
    ("created_in_sell", "Created in Sell"),
    ("created_in_hubspot", "Created in HubSpot"),
    ("merged", "Merged"),
    ("updated_sell", "Updated in Sell"),
    ("updated_hubspot", "Updated in HubSpot"),
    ("tombstoned", "Tombstoned (deleted in Sell)"),
    ("hubspot_deleted", "Deleted in HubSpot"),
    ("conflict_opened", "Conflicts opened"),
    ("conflict_resolved", "Conflicts resolved"),
    ("error", "Errors"),
)


#: Record lifecycle counts (L1, L2): shown in a summary only when they happened.
LIFECYCLE_ORDER = (
    ("converted", "Leads converted"),
    ("hubspot_merged", "Merged in HubSpot"),
    ("link_conflict", "Link conflicts"),
)


def summary_fields(counts: Mapping[str, int]) -> list[str]:
    fields = [f"*{label}*\n{counts.get(key, 0):,}" for key, label in SUMMARY_ORDER]
    fields += [f"*{label}*\n{counts[key]:,}" for key, label in LIFECYCLE_ORDER if counts.get(key)]
    return fields


def summary_message(summary: Summary) -> Message:
    since = f"since {when(summary.since)}" if summary.since else "so far"
    if summary.empty:
        text = f":sunny: sellsync summary {since}: nothing changed."
        return Message(
            "sellsync summary: nothing changed",
            [section(text), context(sell_mode_line(summary.sell_mode))],
        )
    runs = plural(summary.runs, "run") + (
        f", {summary.failed_runs:,} failed" if summary.failed_runs else ""
    )
    fields = summary_fields(summary.counts)
    blocks: list[Block] = [
        section(f":bar_chart: *sellsync summary* {since} · {runs}", fields=fields[:10]),
    ]
    if fields[10:]:  # a section holds 10 fields at most
        blocks.append(section("*Record lifecycle*", fields=fields[10:20]))
    if summary.skipped_by_reason:
        lines = [
            f"• {escape(reason)}: {n:,}"
            for reason, n in sorted(summary.skipped_by_reason.items(), key=lambda kv: -kv[1])
        ]
        blocks.append(section("*Skipped, by reason*"))
        blocks += bullet_sections(lines, max_blocks=5)
    if summary.setting_changes:
        blocks.append(section("*Setting changes*"))
        blocks += bullet_sections(
            [f"• {setting_change_line(c)}" for c in summary.setting_changes], max_blocks=5
        )
    if summary.failing or summary.failing_events:
        parts = []
        records = max(0, summary.failing - summary.failing_events)  # Health counts both
        for n, what in ((records, "record"), (summary.failing_events, "HubSpot event")):
            if n:
                parts.append(f"{plural(n, what)} {'keeps' if n == 1 else 'keep'} failing")
        blocks.append(
            section(
                f":warning: {'; '.join(parts)} "
                "(retried; `/sellsync health` lists them with the reasons)"
            )
        )
    blocks.append(context(sell_mode_line(summary.sell_mode)))
    counted = ", ".join(
        f"{OUTCOME_LABELS.get(k, escape(k))} {v}" for k, v in sorted(summary.counts.items()) if v
    )
    return Message(f"sellsync summary: {counted or 'no changes'}", blocks)


def setting_change_line(change: SettingChange) -> str:
    """A setting change in the summary: its text escaped, its approver as a mention."""
    if change.kind is ChangeKind.FIELD_MAPPED:
        text = f"field {change.subject} mapped to {change.target}"
    elif change.kind is ChangeKind.RESTORED:
        text = f"restored {change.subject}"
    else:
        text = change.subject
    line = escape(text)
    if change.approved_by:
        line += f" (approved by {who(change.approved_by)})"
    return line


def failure_alert(report: SyncReport | None, *, kind: FailureKind | None = None) -> Message:
    """The channel alert of a failed scheduled run: the kind of failure and where to look."""
    reason = failure_reason(kind or (report.failure_kind if report else None))
    return Message(
        f"A scheduled sync failed: {reason}",
        [
            section(f":rotating_light: *A scheduled sync failed*: {reason}."),
            context(
                where_to_look("the worker's log")
                + " I'll keep retrying on schedule and post here once it recovers; no further "
                "alerts until then."
            ),
        ],
    )


def recovered_message(report: SyncReport, *, failing_since: datetime | None) -> Message:
    since = f" (failing since {when(failing_since)})" if failing_since else ""
    text = f":white_check_mark: Syncing recovered{since}."
    return Message(
        "Syncing recovered",
        [section(text), context(counts_line(report.counts(), empty="no changes"))],
    )

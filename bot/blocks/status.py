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
    trigger_text,
    when,
    who,
)
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from bot.blocks.sell_mode import sell_mode_line
from bot.settings_text import how_to
from sync.api import (
    Explanation,
    LinkState,
    RunRecord,
    ScheduleState,
    SourceStatus,
    StatusView,
    Verdict,
    field_label,
)

RUN_STATUS = {
    "ok": ":white_check_mark: ok",
    "errors": ":warning: finished with errors",
    "failed": ":x: failed",
    "running": ":arrows_counterclockwise: running",
    "interrupted": ":double_vertical_bar: interrupted",
}

LINK_STATES = {
    "active": "active",
    "tombstoned": "tombstoned (deleted in Sell)",
    "hubspot_deleted": "deleted in HubSpot",
    "held": "held by a HubSpot merge",
}


def run_head(run: RunRecord) -> str:
    """``status · when · trigger``: how every Slack line about a run starts (the status board's
    last run, the App Home's run history)."""
    status = RUN_STATUS.get(run.status, escape(run.status))
    return f"{status} · {when(run.started_at)} · {trigger_text(run.trigger)}"


def run_line(run: RunRecord | None) -> str:
    if run is None:
        return "no sync has finished yet"
    line = run_head(run)
    counts = counts_line(run.counts, empty="")
    if counts:
        line += f"\n{counts}"
    if run.error:  # its text can hold SQL or a contact's data: it stays on the server
        line += "\n_the error is in `sellsync status --json` on the server and in sellsync's log_"
    return line


def links_text(view: StatusView) -> str:
    """``Links: active 12 · …``; while a run is going on, what the store holds so far."""
    shown = " · ".join(f"{LINK_STATES.get(k, escape(k))} *{n:,}*" for k, n in view.link_counts)
    running = view.running
    if running is None:
        return f"Links: {shown or 'none yet'}"
    if shown:
        return f"Links so far: {shown}"
    return f"Links: none so far (run #{running.id} is running)"


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


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def source_line(source: SourceStatus) -> str:
    """One source of changes between scheduled runs, as the board words it."""
    if source.name == "hubspot_webhooks":
        if not source.enabled and not source.received:
            return (
                "HubSpot webhooks: off (HubSpot's changes come with the poll or the scheduled sync)"
            )
        parts = [f"HubSpot webhooks: {plural(source.received or 0, 'event')} received"]
        parts.append(f"last {when(source.last_event_at)}")
        depth = source.queue_depth or 0
        if depth:
            oldest = source.oldest_unapplied_age_seconds or 0.0
            parts.append(f"{depth:,} waiting (oldest {_age(oldest)})")
        else:
            parts.append("none waiting")
        if source.failing:
            reasons = ", ".join(escape(r) for r in source.failing_reasons)
            verb = "keeps" if source.failing == 1 else "keep"
            parts.append(
                f":warning: {plural(source.failing, 'event')} {verb} failing ({reasons}): "
                "`/sellsync health`"
            )
        return " · ".join(parts)
    if source.name == "sell_firehose":
        if not source.enabled or source.position_age_seconds is None:
            return "Sell Firehose: not followed (Sell's changes come with the poll or the scheduled sync)"
        return f"Sell Firehose: position {_age(source.position_age_seconds)} old"
    if source.name == "poll":
        if not source.enabled:
            return "Short poll: off"
        return f"Short poll: every {source.interval_seconds or 0:,} s"
    return escape(source.name)


def sources_text(view: StatusView) -> str:
    """``Changes between runs: …``: each source on a line (empty when none is known)."""
    if not view.sources:
        return ""
    return "*Changes between runs*\n" + "\n".join(source_line(s) for s in view.sources)


def status_message(view: StatusView) -> Message:
    """The status board in Slack: ``/sellsync status`` answers with it, and the App Home shows
    it as it is (the one Slack renderer of the board)."""
    running = view.running
    so_far = " so far" if view.so_far else ""
    fields = [
        f"*Last run*\n{run_line(view.last_finished)}",
        f"*Next run*\n{schedule_line(view.schedule)}",
        f"*Open conflicts*\n{view.open_conflicts:,}{so_far}",
        f"*Pending approvals*\n{view.pending_requests:,}",
    ]
    for note in reversed(view.notes):  # what a setting in force asks to show (a pause)
        why = f": {escape(note.reason)}" if note.reason.strip() else ""
        fields.insert(
            0,
            f"*{escape(note.label)}*\nby {who(note.by)} {when(note.at)}{why} · {escape(how_to(note.undo))}",
        )
    if running is not None:  # the figures are what the store holds while that run writes
        fields.insert(
            0,
            f"*Running now*\n:arrows_counterclockwise: run #{running.id} · "
            f"{trigger_text(running.trigger)} · since {when(running.started_at)}",
        )
    blocks = [
        section(
            f"*sellsync status*\nThreshold *{view.threshold:,}* · synced HubSpot list {code(view.list_id or '(not set)')}\n{sell_mode_line(view.sell_mode)}",
            fields=fields,
        ),
        context(links_text(view)),
    ]
    sources = sources_text(view)
    if sources:
        blocks.append(context(sources))
    return Message(
        f"sellsync: threshold {view.threshold}, {plural(view.open_conflicts, 'open conflict')}, "
        f"{plural(view.pending_requests, 'pending approval')}",
        blocks,
    )


def verdict_text(exp: Explanation, *, push: str = "/sellsync push") -> str:
    """The one-line verdict, plain text; ``push`` is how the reader pushes a record from where
    they read it (the slash command in Slack, ``sellsync push`` in a terminal)."""
    link, kind = exp.link, exp.kind
    restore = push.rsplit(" ", 1)[0] + " restore"
    by_run = f" by run {exp.marked_by_run}" if exp.marked_by_run is not None else ""
    if kind is Verdict.TOMBSTONED and link is not None:
        if exp.record is not None and exp.record.ref == link.sell:
            return (
                f"not synced: the link was tombstoned{by_run}, yet its Sell record {link.sell} "
                f"exists; HubSpot contact {link.hubspot_id} is not created in Sell again until "
                f"a manager lifts the tombstone with {restore} {link.sell}"
            )
        return (
            f"not synced: its Sell record {link.sell} was deleted, so HubSpot contact "
            f"{link.hubspot_id} is never created in Sell again (a manager can restore it)"
        )
    if kind is Verdict.HUBSPOT_DELETED and link is not None:
        if exp.contact is not None and exp.contact.id == link.hubspot_id:
            return (
                f"not synced: the link was marked deleted in HubSpot{by_run}, yet HubSpot "
                f"contact {link.hubspot_id} exists; a manager lifts the mark with {restore} "
                f"hubspot:{link.hubspot_id}"
            )
        return (
            f"not synced: HubSpot contact {link.hubspot_id} was deleted in HubSpot; the Sell "
            "record is kept. Push it again to re-create it in HubSpot"
        )
    if kind is Verdict.ABSORBED and link is not None and exp.contact is not None:
        return (
            f"synced: HubSpot merged contact {link.hubspot_id} into {exp.contact.id}; "
            "the next sync moves the link there"
        )
    if kind is Verdict.HELD and link is not None:
        other = f"{exp.held_by}" if exp.held_by is not None else "another Sell record"
        if link.state is not LinkState.HELD and exp.contact is not None:
            return (
                f"about to be held: HubSpot merged contact {link.hubspot_id} into "
                f"{exp.contact.id}, which is linked to {other}; the next sync reports a link "
                "conflict and a manager chooses which link stays in `/sellsync conflicts`"
            )
        return (
            f"held: HubSpot merged its contact into {link.hubspot_id}, which is linked to "
            f"{other}; a manager chooses which link stays in `/sellsync conflicts`"
        )
    if kind is Verdict.SYNCED:
        text = "synced: linked pairs keep syncing both ways whatever their list or score"
        n = len(exp.conflicts)
        return text + (f" ({n} open conflict{'s' if n > 1 else ''})" if n else "")
    if kind is Verdict.QUALIFIES:
        return "qualifies: it enters Sell at the next sync"
    if kind is Verdict.NOT_QUALIFIED:
        return f"not synced: {exp.reason}"
    if kind is Verdict.SKIPPED:
        return f"not synced: it qualifies, but a sync skips it: {exp.skip}"
    if kind is Verdict.COMPANY:
        return "not synced: company contacts can't be added to HubSpot"
    if kind is Verdict.NO_EMAIL:
        return "not synced: it has no email (HubSpot requires one)"
    if kind is Verdict.NOT_LINKED and exp.record is not None:
        return f"not linked yet: push it with {push} {exp.record.ref}"
    return "not found in Sell, in HubSpot or among synced records"


def explanation_facts(exp: Explanation) -> list[str]:
    """What the verdict rests on, one plain sentence each."""
    facts: list[str] = []
    if exp.missing is not None:
        facts.append(f"Sell: {exp.missing} does not exist (deleted?)")
    if exp.record is not None:
        facts.append(f"Sell: {exp.record.ref}, email {exp.record.email or '(none)'}")
    if exp.contact is not None:
        facts.append(
            f"HubSpot: contact {exp.contact.id}, email {exp.contact.email or '(none)'}, "
            f"score {exp.score or '(blank)'}"
        )
    elif exp.contact_missing:
        facts.append("HubSpot: the contact is archived or does not exist")
    if exp.converted_from is not None:
        facts.append(
            f"Converted from {exp.converted_from} in Sell: its link moves here at the next sync"
        )
    link = exp.link
    if link is not None and exp.kind is not Verdict.NOT_FOUND:
        when = (
            link.last_synced_at.strftime("%Y-%m-%d %H:%M UTC") if link.last_synced_at else "never"
        )
        facts.append(
            f"Linked: {link.sell} ↔ HubSpot {link.hubspot_id} (from {link.origin.value}); "
            f"last synced {when}"
        )
    if exp.in_list is not None:
        facts.append(f"In the synced list {exp.list_id}: {'yes' if exp.in_list else 'no'}")
    if exp.reason is not None:
        facts.append(f"Score: {exp.reason}")
    facts += [
        f"Open conflict on {field_label(c.field)}: Sell {c.sell_value!r} vs HubSpot {c.hubspot_value!r}"
        for c in exp.conflicts
    ]
    if exp.sell_held is not None:
        facts.append(exp.sell_held)
    return facts


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
    facts = explanation_facts(exp)
    if facts:
        blocks += bullet_sections([f"• {escape(f)}" for f in facts], max_blocks=10)
    if exp.conflicts:
        blocks.append(context("Review conflicts with `/sellsync conflicts`."))
    return Message(escape(f"{exp.item}: {verdict}"), blocks)

"""The Health inbox: records and events that keep failing, why in words, and Retry now / Ignore.

Every reason can hold a CRM's message (HubSpot's validation text, Sell's refusal) or a value
someone typed: it is escaped and clipped before it reaches a block.
"""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot import action_ids as ids
from bot.blocks.common import (
    Message,
    actions,
    button,
    clip,
    confirm,
    context,
    escape,
    plural,
    section,
    when,
    who,
)
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from sync.api import HealthEntry, HealthView, RetryOutcome

#: Entries shown with their buttons in /sellsync health (3 blocks each: far below 50).
SHOWN = 12
#: …and in App Home.
HOME_SHOWN = 5
#: The longest reason shown in a block.
REASON_TEXT = 600


def entry_title(entry: HealthEntry, urls: RecordUrls = NO_HUBSPOT_URLS) -> str:
    """What failed: the Sell record and/or HubSpot contact, linked; an event says so."""
    names = []
    if entry.sell is not None:
        names.append(urls.sell_link(entry.sell))
    if entry.hubspot_id:
        names.append("HubSpot " + urls.hubspot_link(entry.hubspot_id))
    shown = " ↔ ".join(names) or escape(entry.key)
    if entry.kind == "event":
        return f"HubSpot event #{escape(entry.key.removeprefix('event:'))} for {shown}"
    return shown


def entry_blocks(
    entry: HealthEntry, *, can_act: bool, urls: RecordUrls = NO_HUBSPOT_URLS
) -> list[Block]:
    reason = clip(escape(entry.reason.words), REASON_TEXT)
    blocks: list[Block] = [
        section(f":warning: *{entry_title(entry, urls)}*\n{reason}"),
        context(
            f"Failed {plural(entry.failures, 'time')} · first {when(entry.first_failed_at)} · "
            f"last {when(entry.last_failed_at)}",
            escape(entry.reason.advice),
        ),
    ]
    if can_act:
        value = ids.encode_health(entry.key)
        blocks.append(
            actions(
                button("Retry now", ids.HEALTH_RETRY, value, style="primary"),
                button(
                    "Ignore",
                    ids.HEALTH_IGNORE,
                    value,
                    confirm=confirm(
                        "Ignore this record?",
                        "It stops being listed until it syncs again. The sync keeps trying it.",
                        "Ignore",
                    ),
                ),
                block_id=ids.health_block(entry.key),
            )
        )
    return blocks


def health_message(
    view: HealthView,
    *,
    can_act: bool,
    note: str | None = None,
    urls: RecordUrls = NO_HUBSPOT_URLS,
) -> Message:
    blocks: list[Block] = [section(note)] if note else []
    if not view.entries:
        text = ":white_check_mark: Nothing keeps failing."
        blocks.append(section(text))
        if view.ignored:
            blocks.append(context(_ignored_line(len(view.ignored))))
        return Message(text, blocks)
    head = (
        f"*Health*: {plural(view.count, 'record')} {'keeps' if view.count == 1 else 'keep'} failing"
    )
    blocks.append(section(head))
    for entry in view.entries[:SHOWN]:
        blocks += entry_blocks(entry, can_act=can_act, urls=urls)
    more = view.count - min(view.count, SHOWN)
    notes = []
    if more:
        notes.append(f"…and {more:,} more; they show here as these are settled.")
    if view.ignored:
        notes.append(_ignored_line(len(view.ignored)))
    notes.append(
        "*Retry now* runs the record through the sync at once · *Ignore* stops listing it until "
        "it syncs."
        if can_act
        else "Only managers can retry or ignore."
    )
    blocks.append(context(*notes))
    return Message(f"Health: {plural(view.count, 'record')} failing", blocks)


def _ignored_line(n: int) -> str:
    return f"{plural(n, 'ignored record')} not listed (back when it fails after syncing again)"


def home_health_blocks(
    view: HealthView, *, can_act: bool, urls: RecordUrls = NO_HUBSPOT_URLS
) -> list[Block]:
    """App Home's section: the newest few, with their buttons for managers."""
    blocks: list[Block] = [section(f"*Records that keep failing* ({view.count:,})")]
    if not view.entries:
        blocks.append(context("Nothing keeps failing."))
        return blocks
    for entry in view.entries[:HOME_SHOWN]:
        blocks += entry_blocks(entry, can_act=can_act, urls=urls)
    more = view.count - min(view.count, HOME_SHOWN)
    blocks.append(
        context((f"…and {more:,} more. " if more else "") + "All of them: `/sellsync health`.")
    )
    return blocks


def retry_note(outcome: RetryOutcome, urls: RecordUrls = NO_HUBSPOT_URLS) -> str:
    title = entry_title(outcome.entry, urls)
    if outcome.synced:
        return f":white_check_mark: {title} went through the sync: it is no longer failing."
    why = clip(escape(outcome.reason.words if outcome.reason else "unknown"), REASON_TEXT)
    return f":x: {title} failed again: {why}"


def ignore_note(entry: HealthEntry, *, changed: bool, urls: RecordUrls = NO_HUBSPOT_URLS) -> str:
    title = entry_title(entry, urls)
    if not changed:
        by = f" by {who(entry.ignored_by)}" if entry.ignored_by else ""
        return f":information_source: {title} was already ignored{by}."
    return f":white_check_mark: {title} is ignored until it syncs again."

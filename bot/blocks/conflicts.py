"""Merge conflicts (S8/S9): a page of per-field diffs with Keep Sell / Use HubSpot / Dismiss."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot import action_ids as ids
from bot.blocks.common import (
    Message,
    actions,
    button,
    code,
    context,
    escape,
    plural,
    section,
    when,
    who,
)
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from sync.api import (
    STANDARD_FIELDS,
    Conflict,
    ConflictPage,
    ConflictStatus,
    HeldLink,
    HeldLinkPage,
    SellRef,
    conflict_seen_token,
    hubspot_owned_fields,
)

#: Conflicts per page: 2 blocks each, so a page stays far below 50 blocks.
PAGE_SIZE = 10

_LABELS = {m.key: m.label for m in (*STANDARD_FIELDS, *hubspot_owned_fields())}

RESOLUTION_TEXT = {
    ConflictStatus.KEPT_SELL: "kept Sell's value (written to HubSpot)",
    ConflictStatus.USED_HUBSPOT: "used HubSpot's value (written to Sell)",
    ConflictStatus.DISMISSED: "dismissed (both sides keep their values)",
    ConflictStatus.OPEN: "still open",
}


def field_label(key: str) -> str:
    if key in _LABELS:
        return _LABELS[key]
    return key.removeprefix("custom_fields.").removeprefix("custom:")


def conflict_blocks(
    conflict: Conflict, *, offset: int, can_resolve: bool, urls: RecordUrls = NO_HUBSPOT_URLS
) -> list[Block]:
    cid = conflict.id or 0
    title = (
        f"*{escape(field_label(conflict.field))}* on {urls.sell_link(conflict.sell)} ↔ HubSpot "
        f"{urls.hubspot_link(conflict.hubspot_id)} · opened {when(conflict.opened_at)}"
    )
    blocks: list[Block] = [
        section(
            title,
            fields=[
                f"*Sell*\n{code(conflict.sell_value, 1500)}",
                f"*HubSpot*\n{code(conflict.hubspot_value, 1500)}",
            ],
        )
    ]
    if can_resolve:
        value = ids.encode_conflict(cid, offset, conflict_seen_token(conflict))
        blocks.append(
            actions(
                button("Keep Sell", ids.KEEP_SELL, value, style="primary"),
                button("Use HubSpot", ids.USE_HUBSPOT, value),
                button("Dismiss", ids.DISMISS, value),
                block_id=ids.conflict_block(cid),
            )
        )
    return blocks


def conflicts_message(
    page: ConflictPage,
    *,
    can_resolve: bool,
    note: str | None = None,
    urls: RecordUrls = NO_HUBSPOT_URLS,
    links: HeldLinkPage | None = None,
) -> Message:
    link_blocks = (
        [] if links is None else held_links_blocks(links, can_resolve=can_resolve, urls=urls)
    )
    if page.total == 0:
        text = ":tada: No open conflicts." if not link_blocks else "No open field conflicts."
        blocks: list[Block] = [section(f"{note}\n{text}" if note else text), *link_blocks]
        if link_blocks:
            return Message(plural(links.total if links else 0, "link conflict"), blocks)
        return Message(text, blocks)
    size = max(1, page.limit)
    last_page_start = (page.total - 1) // size * size
    first = page.offset + 1
    last = page.offset + len(page.conflicts)
    head = f"*Open conflicts* {first:,}–{last:,} of {page.total:,}"
    if page.total > size:
        head += f" · page {page.offset // size + 1:,} of {last_page_start // size + 1:,}"
    if not page.conflicts:
        head = f"*Open conflicts*: none on this page ({page.total:,} in all)"
    blocks = []
    if note:
        blocks.append(section(note))
    blocks += link_blocks
    blocks.append(section(head))
    for conflict in page.conflicts:
        blocks += conflict_blocks(conflict, offset=page.offset, can_resolve=can_resolve, urls=urls)
    if not can_resolve:
        blocks.append(context("Only managers can resolve conflicts."))
    else:
        blocks.append(
            context(
                "*Keep Sell* writes Sell's value to HubSpot · *Use HubSpot* writes HubSpot's "
                "value to Sell · *Dismiss* leaves both as they are."
            )
        )
    pager = []
    if page.offset > 0:
        # from past the end, "previous" is the last page that has conflicts, not another empty one
        previous = min(max(0, page.offset - size), last_page_start)
        pager.append(button("← Previous", ids.CONFLICTS_PREV, ids.encode_page(previous)))
    if page.offset + size < page.total:
        pager.append(button("Next →", ids.CONFLICTS_NEXT, ids.encode_page(page.offset + size)))
    if pager:
        blocks.append(actions(*pager, block_id=ids.PAGER_BLOCK))
    return Message(plural(page.total, "open conflict"), blocks)


def resolved_note(conflict: Conflict, *, changed: bool, urls: RecordUrls = NO_HUBSPOT_URLS) -> str:
    what = RESOLUTION_TEXT.get(conflict.status, escape(conflict.status))
    subject = f"*{escape(field_label(conflict.field))}* on {urls.sell_link(conflict.sell)}"
    if not changed:
        by = f" by {who(conflict.resolved_by)}" if conflict.resolved_by else ""
        return f":information_source: {subject} was already resolved{by}: {what}."
    return f":white_check_mark: {subject}: {what}."


#: Link conflicts shown with their buttons (each is 2 blocks); the rest are counted.
HELD_LINKS_SHOWN = 5


def held_link_blocks(
    conflict: HeldLink, *, can_resolve: bool, urls: RecordUrls = NO_HUBSPOT_URLS
) -> list[Block]:
    """L2: the held Sell record, the one the surviving contact is linked to, and the choice."""
    held, other = conflict.held, conflict.linked
    survivor = urls.hubspot_link(held.hubspot_id)
    if other is not None:
        text = (
            f":link: HubSpot merged the contact of {urls.sell_link(held.sell)} into {survivor}, "
            f"which is linked to {urls.sell_link(other.sell)}. One HubSpot contact syncs with "
            "one Sell record: choose which link stays; the other Sell record is unlinked."
        )
    else:
        text = (
            f":link: HubSpot merged the contact of {urls.sell_link(held.sell)} into {survivor}. "
            "The survivor has no other link now: keep this link, or unlink the record."
        )
    blocks: list[Block] = [section(text)]
    if can_resolve:
        buttons = [
            button(
                f"Keep {held.sell}",
                ids.KEEP_HELD_LINK,
                ids.encode_link_choice(held.sell, held.sell),
                style="primary",
            )
        ]
        if other is not None:
            buttons.append(
                button(
                    f"Keep {other.sell}",
                    ids.KEEP_OTHER_LINK,
                    ids.encode_link_choice(held.sell, other.sell),
                )
            )
        else:
            buttons.append(
                button(
                    f"Unlink {held.sell}", ids.UNLINK_HELD, ids.encode_link_choice(held.sell, None)
                )
            )
        blocks.append(actions(*buttons, block_id=ids.held_link_block(held.sell)))
    return blocks


def held_links_blocks(
    page: HeldLinkPage, *, can_resolve: bool, urls: RecordUrls = NO_HUBSPOT_URLS
) -> list[Block]:
    """The link conflicts section of ``/sellsync conflicts`` (nothing when there are none)."""
    if page.total == 0:
        return []
    blocks: list[Block] = [section(f"*Link conflicts* ({page.total:,}): HubSpot merges")]
    for conflict in page.links[:HELD_LINKS_SHOWN]:
        blocks += held_link_blocks(conflict, can_resolve=can_resolve, urls=urls)
    more = page.total - min(len(page.links), HELD_LINKS_SHOWN)
    if more > 0:
        blocks.append(context(f"…and {more:,} more; they show here as these are resolved."))
    return blocks


def link_choice_note(
    held: SellRef, keep: SellRef | None, unlinked: SellRef | None, *, changed: bool
) -> str:
    if not changed:
        return f":information_source: The link conflict of {held} was already resolved."
    kept = f"kept the link of {keep}" if keep is not None else f"unlinked {held}"
    gone = f"; {unlinked} is no longer linked" if unlinked is not None and unlinked != held else ""
    return f":white_check_mark: Link conflict of {held}: {kept}{gone}."

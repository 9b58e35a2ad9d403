"""S13: the field table, and the verdict on a custom field mapping."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks.common import Message, bullet_sections, code, context, escape, plural, section
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from sync.api import Direction, FieldRow, Link, LinkState, MappingCheck, RunRestored

STATUS_ICONS = {"ok": ":white_check_mark:", "missing": ":construction:", "refused": ":no_entry:"}


def field_line(row: FieldRow) -> str:
    arrow = {Direction.BOTH: "↔", Direction.TO_SELL: "→"}.get(row.direction, escape(row.direction))
    kinds = "" if set(row.kinds) == {"lead", "contact"} else f" _({', '.join(row.kinds)}s only)_"
    line = f"{code(row.hubspot, 80)} {arrow} {code(row.sell, 120)}{kinds}"
    if row.status != "ok":
        line = f"{STATUS_ICONS.get(row.status, '')} {line} — {escape(row.note)}"
    return f"• {line}"


def fields_message(rows: list[FieldRow]) -> Message:
    standard = [r for r in rows if not r.custom]
    custom = [r for r in rows if r not in standard]
    blocks: list[Block] = [section("*Synced fields* (HubSpot ↔ Sell)")]
    blocks += bullet_sections([field_line(r) for r in standard], max_blocks=10)
    blocks.append(section("*Custom fields*" if custom else "*Custom fields*: none mapped yet"))
    if custom:
        blocks += bullet_sections([field_line(r) for r in custom], max_blocks=20)
    blocks.append(
        context(
            'Managers map a HubSpot property to a Sell custom field with `/sellsync fields map PROPERTY "Sell field"`. '
            "Never sent to HubSpot: Sell lead, prospect and customer status, owner, lead and contact ids."
        )
    )
    return Message(plural(len(rows), "synced field"), blocks)


def mapping_message(check: MappingCheck, hubspot_property: str, sell_field: str) -> Message:
    icon = STATUS_ICONS.get(check.status, "")
    subject = f"{code(hubspot_property)} → Sell {code(sell_field)}"
    if check.status == "ok":
        head = f"{icon} Mapped {subject}: it syncs both ways from the next run."
    elif check.status == "missing":
        head = f"{icon} Mapped {subject}, waiting for the Sell field."
    else:
        head = f"{icon} Not mapped: {subject}."
    return Message(
        escape(f"{hubspot_property} → {sell_field}: {check.status}"),
        [section(head), section(escape(check.message))],
    )


def restored_message(link: Link, *, urls: RecordUrls = NO_HUBSPOT_URLS) -> Message:
    """The answer to ``restore ITEM`` (``link`` as it was before)."""
    pair = f"{urls.sell_link(link.sell)} ↔ HubSpot {urls.hubspot_link(link.hubspot_id)}"
    if link.state is LinkState.HUBSPOT_DELETED:
        text = (
            f":recycle: Restored {pair}: the 'deleted in HubSpot' mark is lifted and the link "
            "is active again (a later run marks it again if HubSpot says the contact is gone)."
        )
    else:
        text = (
            f":recycle: Restored {pair}: the tombstone is lifted, and from the next sync the "
            "contact is treated as never linked (created again in Sell if it qualifies)."
        )
    return Message(f"Restored {link.sell}", [section(text)])


def restored_line(link: Link) -> str:
    """``restore ITEM`` in a terminal (``link`` as it was before)."""
    if link.state is LinkState.HUBSPOT_DELETED:
        return (
            f"restored: {link.sell} ↔ HubSpot {link.hubspot_id}: the 'deleted in HubSpot' mark "
            "is lifted and the link is active again"
        )
    return (
        f"restored: {link.sell} ↔ HubSpot {link.hubspot_id} is treated as never linked from "
        "the next sync"
    )


def restored_run_line(done: RunRestored) -> str:
    """What ``restore --run N`` lifted, in one plain sentence (Slack and the terminal)."""
    line = (
        f"run {done.run_id}: {plural(done.lifted, 'link')} active again "
        f"({plural(done.tombstones, 'tombstone')} and "
        f"{plural(done.hubspot_marks, 'deleted-in-HubSpot mark')} lifted)"
    )
    if done.changed_since:
        line += (
            f"; {plural(done.changed_since, 'link')} the run marked changed since and "
            f"{'was' if done.changed_since == 1 else 'were'} left as "
            f"{'it is' if done.changed_since == 1 else 'they are'}"
        )
    return line + ". A record really deleted is found so again by a later run and marked again."


def restored_run_message(done: RunRestored) -> Message:
    line = restored_run_line(done)
    return Message(line, [section(f":recycle: Restored {escape(line)}")])

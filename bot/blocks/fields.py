"""S13: the field table, and the verdict on a custom field mapping."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks.common import Message, bullet_sections, code, context, escape, plural, section
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from sync.domain import Link
from sync.mapping import Direction, MappingCheck
from sync.service import FieldRow

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
    text = (
        f":recycle: Restored {urls.sell_link(link.sell)} ↔ HubSpot "
        f"{urls.hubspot_link(link.hubspot_id)}: the tombstone "
        "is lifted, and from the next sync the contact is treated as never linked "
        "(created again in Sell if it qualifies)."
    )
    return Message(f"Restored {link.sell}", [section(text)])

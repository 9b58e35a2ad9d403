"""The card a Sell or HubSpot record link unfurls into.

It shows what ``/sellsync status ITEM`` knows about the record, from the same explanation (the
explain use case, which screens a record with the run's own planner): its name and email, its
link state (linked to which record, a tombstone, or not linked and why, in the words of the
status answer), the last sync and the open conflicts; then *Push to HubSpot* for a Sell record a
push would send, and *Why* for the full answer. Every CRM string is escaped and clipped: a card
is a few short blocks whatever the records hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slack_sdk.models.blocks import Block

from bot import action_ids as ids
from bot.blocks.common import actions, button, clip, context, escape, plural, section, when
from bot.blocks.links import NO_HUBSPOT_URLS, RecordUrls
from bot.blocks.status import verdict_text
from sync.api import Explanation, Verdict, field_label

NAME_LIMIT = 120
EMAIL_LIMIT = 254
CONFLICT_FIELDS_SHOWN = 5

#: Verdicts a push acts on: a Sell record never linked, or one whose HubSpot contact was deleted.
PUSHABLE = frozenset({Verdict.NOT_LINKED, Verdict.HUBSPOT_DELETED})

_STATE = {
    Verdict.TOMBSTONED: ":headstone: *Tombstone*",
    Verdict.HUBSPOT_DELETED: ":wastebasket: *Deleted in HubSpot*",
    Verdict.HELD: ":pause_button: *Held by a HubSpot merge*",
}


def _one_line(value: object, limit: int) -> str:
    return clip(" ".join(str(value).split()), limit)


def _joined(values: Mapping[str, Any], *keys: str) -> str:
    return " ".join(str(values.get(k) or "").strip() for k in keys).strip()


def _is_hubspot(item: str) -> bool:
    return item.lower().startswith("hubspot:")


def record_name(exp: Explanation) -> str | None:
    """The record's name as its own CRM holds it (a person's, else a company's)."""
    sell = _joined(exp.record.values, "first_name", "last_name") if exp.record else ""
    for key in ("name", "organization_name"):  # a company contact; a lead of a company only
        sell = sell or (_joined(exp.record.values, key) if exp.record else "")
    hubspot = _joined(exp.contact.properties, "firstname", "lastname") if exp.contact else ""
    first, second = (hubspot, sell) if _is_hubspot(exp.item) else (sell, hubspot)
    return first or second or None


def record_email(exp: Explanation) -> str | None:
    sell = exp.record.email if exp.record else None
    hubspot = exp.contact.email if exp.contact else None
    return (hubspot or sell) if _is_hubspot(exp.item) else (sell or hubspot)


def record_label(item: str, urls: RecordUrls) -> str:
    """``Sell lead 12`` / ``HubSpot contact 901``, linked to the record's page."""
    if _is_hubspot(item):
        return "HubSpot contact " + urls.hubspot_link(item.split(":", 1)[1])
    kind = item.split(":", 1)[0]
    return f"Sell {kind} " + urls.sell_link(item)


def state_line(exp: Explanation, urls: RecordUrls) -> str:
    """Linked to which record, a tombstone, or not linked — then the status answer's verdict."""
    verdict = escape(verdict_text(exp))
    link = exp.link
    if exp.kind in (Verdict.SYNCED, Verdict.ABSORBED) and link is not None:
        other = (
            f"Sell {urls.sell_link(link.sell)}"
            if _is_hubspot(exp.item)
            else f"HubSpot contact {urls.hubspot_link(link.hubspot_id)}"
        )
        return f":link: *Linked* to {other}\n{verdict}"
    head = _STATE.get(exp.kind, ":heavy_minus_sign: *Not linked*")
    return f"{head}\n{verdict}"


def details_line(exp: Explanation) -> str:
    """Last sync and open conflicts (by field)."""
    last = exp.link.last_synced_at if exp.link is not None else None
    parts = [f"Last sync: {when(last)}" if exp.link is not None else "Never synced"]
    if exp.conflicts:
        labels = list(dict.fromkeys(escape(field_label(c.field)) for c in exp.conflicts))
        shown = ", ".join(labels[:CONFLICT_FIELDS_SHOWN])
        extra = len(labels) - CONFLICT_FIELDS_SHOWN
        more = f" and {extra:,} more" if extra > 0 else ""
        parts.append(f"{plural(len(exp.conflicts), 'open conflict')} ({shown}{more})")
    else:
        parts.append("no open conflicts")
    return " · ".join(parts)


def unfurl_card(exp: Explanation, *, urls: RecordUrls = NO_HUBSPOT_URLS) -> list[Block]:
    """The card for a record link, from ``status ITEM``'s explanation of it."""
    label = record_label(exp.item, urls)
    if exp.kind is Verdict.NOT_FOUND:
        return [
            section(
                f":grey_question: {label}: sellsync knows no such record. It is not in Sell, "
                "in HubSpot or among the synced records."
            )
        ]
    name = record_name(exp)
    email = record_email(exp)
    title = f"*{escape(_one_line(name, NAME_LIMIT))}*" if name else "_no name_"
    mail = escape(_one_line(email, EMAIL_LIMIT)) if email else "_no email_"
    buttons = []
    if exp.kind in PUSHABLE and exp.record is not None and not _is_hubspot(exp.item):
        buttons.append(
            button(
                "Push to HubSpot",
                ids.UNFURL_PUSH,
                ids.encode_record(str(exp.record.ref)),
                style="primary",
            )
        )
    buttons.append(button("Why", ids.UNFURL_WHY, ids.encode_record(exp.item)))
    return [
        section(f"{title} · {label}\n{mail}"),
        section(state_line(exp, urls)),
        context(details_line(exp)),
        actions(*buttons),
    ]


def unreadable_card(item: str, reason: str, *, urls: RecordUrls = NO_HUBSPOT_URLS) -> list[Block]:
    """A record sellsync could not look up just now (a CRM down, a refusal): why, in one line."""
    return [
        section(
            f":warning: {record_label(item, urls)}: sellsync could not look this record up just "
            f"now ({escape(_one_line(reason, 300))}). Try `/sellsync status {item}` later."
        )
    ]


def card_dict(blocks: list[Block]) -> dict[str, Any]:
    """One ``unfurls`` entry of ``chat.unfurl``."""
    return {"blocks": [b.to_dict() for b in blocks]}

"""Speed to lead: the announcement of records sellsync created in Sell, for the new-leads channel
and for the Sell owner's direct message. Pure: records in, :class:`Message` out.

Every value from a CRM (name, score, source) is escaped; the links are built from ids. One
message covers what one page of a run created (a first sync creates many at once: they come as
one message listing the first :data:`SHOWN`, not a flood).
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block

from bot.blocks.common import Message, clip, context, escape, header, plural, section
from sync.api import NewSellRecord

#: Records listed in one message; the rest are counted.
SHOWN = 10
NAME = 120


def _kind(record: NewSellRecord) -> str:
    return "lead" if record.sell.kind == "lead" else "contact"


def record_line(record: NewSellRecord) -> str:
    """``*<sell|Ada Lovelace>* · score *80* · source *Web* · <hubspot|HubSpot contact>``."""
    name = clip(escape(record.name), NAME)
    parts = [f"*<{record.sell_url}|{name}>* (Sell {_kind(record)})"]
    parts.append(f"score *{clip(escape(record.score), 40)}*" if record.score else "no score")
    if record.source:
        parts.append(f"source *{clip(escape(record.source), 80)}*")
    if record.hubspot_url:
        parts.append(f"<{record.hubspot_url}|HubSpot contact>")
    else:
        parts.append(f"HubSpot contact {escape(record.hubspot_id)}")
    return " · ".join(parts)


def _plain(record: NewSellRecord) -> str:
    return clip(escape(record.name), NAME)


def new_records_message(records: Sequence[NewSellRecord], *, for_owner: bool = False) -> Message:
    """The announcement of ``records`` (at least one). ``for_owner``: worded for the Sell owner
    they were assigned to, in a direct message."""
    assert records, "nothing to announce"
    first = records[0]
    if len(records) == 1:
        title = f"New {_kind(first)} in Sell" + (" for you" if for_owner else "")
        text = f"{title}: {_plain(first)}"
    else:
        count = plural(len(records), "new record")
        title = f"{count} in Sell" + (" for you" if for_owner else "")
        text = f"{title}: {_plain(first)} and {plural(len(records) - 1, 'more', 'more')}"
    blocks: list[Block] = [header(title)]
    blocks.extend(section(record_line(r)) for r in records[:SHOWN])
    if len(records) > SHOWN:
        blocks.append(context(f"…and {plural(len(records) - SHOWN, 'more record')}"))
    blocks.append(context("Created from HubSpot by sellsync just now."))
    return Message(text, blocks)

"""Speed to lead: each record sellsync creates in Sell, as a value to announce.

The applier builds a :class:`NewSellRecord` for every lead or contact it created (any run:
scheduled, a small run of events or a poll, a push) and hands the page's to the run's
:class:`NewRecordNotifier` once they are stored, so a rep hears of a new lead seconds after it
exists. Announcing is best effort: a notifier that fails is logged and never fails the run (the
record exists either way). Wording, Slack and the owner's e-mail are the bot's; this module is
pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sync.domain import CUSTOM_PREFIX, SellRecord, SellRef
from sync.mapping import SELL_SCORE_FIELD, SELL_SOURCE_FIELD

LEAD_SOURCE = "lead_source"


@dataclass(frozen=True)
class NewSellRecord:
    """A record created in Sell from a HubSpot contact: who, how good, from where, and where."""

    sell: SellRef
    hubspot_id: str
    name: str
    email: str | None
    score: str | None
    source: str | None
    owner_id: int | None
    sell_url: str
    hubspot_url: str | None


class NewRecordNotifier(Protocol):
    """Announces records created in Sell (the bot's: a channel post, a DM to the owner)."""

    def announce(self, records: Sequence[NewSellRecord]) -> None: ...


def _text(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def new_sell_record(record: SellRecord, hubspot_id: str, hubspot_url: str | None) -> NewSellRecord:
    """The announcement of ``record`` as Sell answered its creation."""
    values = record.values
    name = _text(values.get("name")) or " ".join(
        part for part in (_text(values.get("first_name")), _text(values.get("last_name"))) if part
    )
    name = name or _text(values.get("organization_name")) or record.email or str(record.ref)
    source = _text(values.get(LEAD_SOURCE)) or _text(values.get(CUSTOM_PREFIX + SELL_SOURCE_FIELD))
    owner = values.get("owner_id")
    return NewSellRecord(
        sell=record.ref,
        hubspot_id=hubspot_id,
        name=name,
        email=record.email,
        score=_text(values.get(CUSTOM_PREFIX + SELL_SCORE_FIELD)),
        source=source,
        owner_id=owner if isinstance(owner, int) and not isinstance(owner, bool) else None,
        sell_url=record.ref.web_url,
        hubspot_url=hubspot_url,
    )

"""Pure readers of Sell's wire format, shared by the Core API client and its lifecycle calls:
envelopes (``{"data": …}`` items, ``meta.links.next_page``), timestamps, custom fields and lead
conversions. No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sync.domain import LeadConversion, SellCustomField

PAGE_SIZE = 100  # the most items Sell's Core API lists a page (``per_page``)


def parse_sell_time(value: object) -> datetime | None:
    """Sell's ISO-8601 UTC timestamps (``2016-03-15T09:13:06Z``) → aware datetime."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def item_data(item: Any) -> dict[str, Any] | None:
    if isinstance(item, dict):
        data = item.get("data", item)
        if isinstance(data, dict):
            return data
    return None


def record_id(data: Mapping[str, Any]) -> int | None:
    """A record's ``id`` when it is a whole number (not a bool), else None."""
    value = data.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None


def has_next_page(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    links = (body.get("meta") or {}).get("links") or {}
    return bool(links.get("next_page"))


def custom_field_info(raw: Mapping[str, Any]) -> SellCustomField:
    """A custom field as ``/v2/{kind}/custom_fields`` describes it."""
    choices: list[str] = []
    for choice in raw.get("choices") or raw.get("options") or []:
        if isinstance(choice, dict):
            name = choice.get("name", choice.get("value"))
            if name is not None:
                choices.append(str(name))
        elif choice is not None:
            choices.append(str(choice))
    return SellCustomField(
        name=str(raw.get("name")), type=str(raw.get("type") or "string"), choices=tuple(choices)
    )


def lead_conversion(data: Mapping[str, Any]) -> LeadConversion | None:
    """A ``/v2/lead_conversions`` item; None when it lacks its own or its lead's id."""

    def optional_id(key: str) -> int | None:
        value = data.get(key)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

    conversion_id, lead_id = optional_id("id"), optional_id("lead_id")
    if conversion_id is None or lead_id is None:
        return None
    return LeadConversion(
        id=conversion_id,
        lead_id=lead_id,
        individual_id=optional_id("individual_id"),
        organization_id=optional_id("organization_id"),
        deal_id=optional_id("deal_id"),
        created_at=parse_sell_time(data.get("created_at")),
    )

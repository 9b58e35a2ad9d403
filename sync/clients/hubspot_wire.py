"""Pure readers of HubSpot's wire format, shared by the client and its batch writer: timestamps,
the ids a batch answer names as not found, property definitions and a contact's addresses.
No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sync.domain import HubSpotContact, PropertyInfo, PropertyOption, normalize_email

ADDITIONAL_EMAILS = "hs_additional_emails"  # a contact's other addresses, ``;``-separated
NOT_FOUND_CATEGORY = "OBJECT_NOT_FOUND"  # how HubSpot says an id does not exist (or is archived)


def parse_timestamp_ms(value: object) -> int | None:
    """HubSpot datetimes come as epoch-ms strings or ISO-8601; → epoch ms."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return int(parsed.timestamp() * 1000)


def not_found_ids(body: Any) -> set[str]:
    """The ids a batch answer's ``errors`` name as ``OBJECT_NOT_FOUND`` (``context.ids``)."""
    errors = body.get("errors") if isinstance(body, dict) else None
    named: set[str] = set()
    for error in errors if isinstance(errors, list) else []:
        if not isinstance(error, dict) or error.get("category") != NOT_FOUND_CATEGORY:
            continue
        context = error.get("context")
        ids = context.get("ids") if isinstance(context, dict) else None
        if isinstance(ids, list):
            named.update(str(i) for i in ids if i not in (None, ""))
    return named


def property_info(raw: dict[str, Any]) -> PropertyInfo:
    """A contact property as HubSpot's properties API describes it."""
    meta = raw.get("modificationMetadata") or {}
    options = tuple(
        PropertyOption(value=str(o.get("value", "")), label=str(o.get("label", "")))
        for o in raw.get("options") or []
        if isinstance(o, dict)
    )
    return PropertyInfo(
        name=str(raw.get("name")),
        label=str(raw.get("label") or raw.get("name")),
        type=str(raw.get("type") or "string"),
        field_type=str(raw.get("fieldType") or "text"),
        options=options,
        read_only=bool(meta.get("readOnlyValue")) or bool(raw.get("calculated")),
    )


def contact_addresses(contact: HubSpotContact) -> set[str]:
    """Every address HubSpot finds ``contact`` by: its e-mail and its additional ones (a
    merged-away contact's address is an additional one of its survivor's), normalised."""
    addresses = {contact.email}
    extra = contact.properties.get(ADDITIONAL_EMAILS) or ""
    addresses.update(normalize_email(a) for a in extra.split(";"))
    return {a for a in addresses if a}

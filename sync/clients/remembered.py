"""What the clients remember in the database between runs and processes
(:class:`sync.ports.RememberedReads`), so that an idle run started by cron asks only what may
have changed.

* HubSpot's contact properties and Sell's custom-field definitions: for a day
  (:data:`DEFINITIONS_TTL`), and read again at once when a write is refused for a field or
  property the service does not know (it was created, renamed or deleted since);
* Sell's lead sources (id and name): for a day, and read again when an id or a name is not
  among them;
* Sell's Sync API refusal (an account without the add-on): for a day (:data:`REFUSAL_TTL`);
* where Sell's last change walk of each kind stopped, and Sell's time when it started
  (:func:`settled_bound`), so an idle walk does not re-read the overlap it has already read.

A client without a memory (tests' fakes, ``sellsync check``) reads every time, as before.
Values are stored as JSON; one that does not decode (an older shape) counts as not remembered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from sync.domain import PropertyInfo, PropertyOption, RecordKind, SellCustomField
from sync.ports import RememberedReads

logger = logging.getLogger("sync.clients")

DEFINITIONS_TTL = timedelta(days=1)
REFUSAL_TTL = timedelta(days=1)

#: A settled walk reads records updated after its ``since``, not at it.
SETTLED_STEP = timedelta(microseconds=1)

HUBSPOT_PROPERTIES = "hubspot:properties"
SELL_LEAD_SOURCES = "sell:lead_sources"
SELL_SYNC_API_REFUSED = "sell:sync_api_refused"

T = TypeVar("T")


def sell_custom_fields_key(kind: RecordKind) -> str:
    return f"sell:custom_fields:{kind}"


def recalled(
    memory: RememberedReads | None,
    key: str,
    decode: Callable[[Any], T],
    fetch: Callable[[], T],
    encode: Callable[[T], Any],
    ttl: timedelta,
) -> T:
    """The value remembered under ``key``, else ``fetch()``, remembered for ``ttl``."""
    if memory is None:
        return fetch()
    raw = memory.recall(key)
    if raw is not None:
        try:
            return decode(raw)
        except (KeyError, TypeError, ValueError):
            logger.info("remembered %s does not decode; reading it again", key)
    value = fetch()
    memory.remember(key, encode(value), ttl)
    return value


# --------------------------------------------------------------------------- HubSpot properties


def encode_properties(props: dict[str, PropertyInfo]) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "label": p.label,
            "type": p.type,
            "field_type": p.field_type,
            "options": [[o.value, o.label] for o in p.options],
            "read_only": p.read_only,
        }
        for p in props.values()
    ]


def decode_properties(raw: Any) -> dict[str, PropertyInfo]:
    if not isinstance(raw, list):
        raise TypeError("not a list")
    out: dict[str, PropertyInfo] = {}
    for item in raw:
        info = PropertyInfo(
            name=str(item["name"]),
            label=str(item["label"]),
            type=str(item["type"]),
            field_type=str(item["field_type"]),
            options=tuple(PropertyOption(str(v), str(label)) for v, label in item["options"]),
            read_only=bool(item["read_only"]),
        )
        out[info.name] = info
    return out


def refuses_unknown_property(message: str | None) -> bool:
    """Whether HubSpot refused a write for a property it does not know."""
    text = message or ""
    return "PROPERTY_DOESNT_EXIST" in text or ("Property" in text and "does not exist" in text)


# --------------------------------------------------------------------------- Sell custom fields


def encode_fields(fields: list[SellCustomField]) -> list[dict[str, Any]]:
    return [{"name": f.name, "type": f.type, "choices": list(f.choices)} for f in fields]


def decode_fields(raw: Any) -> list[SellCustomField]:
    if not isinstance(raw, list):
        raise TypeError("not a list")
    return [
        SellCustomField(str(f["name"]), str(f["type"]), tuple(str(c) for c in f["choices"]))
        for f in raw
    ]


def refuses_custom_field(body: str) -> bool:
    """Whether Sell refused a write over its custom fields (one it does not know, or of
    another type): the definitions are read again before the next write."""
    return "custom_field" in body


# --------------------------------------------------------------------------- Sell change walks


def sell_walk_key(kind: RecordKind) -> str:
    return f"sell:walk:{kind}"


def http_date(value: str | None) -> datetime | None:
    """The server's time from an HTTP ``Date`` header (None when absent or unreadable)."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


def remember_walk(
    memory: RememberedReads, kind: RecordKind, newest: datetime, answered_at: datetime
) -> None:
    """A change walk of ``kind`` read down to its bound: the newest record it saw, and Sell's
    time when it was first answered."""
    memory.remember(
        sell_walk_key(kind),
        {"newest": newest.isoformat(), "answered_at": answered_at.isoformat()},
        DEFINITIONS_TTL,
    )


def settled_bound(
    memory: RememberedReads, kind: RecordKind, since: datetime, overlap: timedelta
) -> datetime | None:
    """Just after ``since``, when the walk that read up to it started an overlap or more after
    it (by Sell's clock): every record updated at or before ``since`` was in the list by then,
    so that walk, or one before it, read it, and only records updated after ``since`` are
    read again. None otherwise: the walk re-reads the overlap."""
    raw = memory.recall(sell_walk_key(kind))
    if not isinstance(raw, dict):
        return None
    try:
        newest = datetime.fromisoformat(raw["newest"])
        answered_at = datetime.fromisoformat(raw["answered_at"])
    except (KeyError, TypeError, ValueError):
        return None
    if newest == since and answered_at - overlap >= since:
        return since + SETTLED_STEP
    return None

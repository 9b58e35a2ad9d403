"""Every id Slack sends back to sellsync, and the values and metadata it carries, in one place.

Slack routes interactions by strings the app chose when it built the message or view: the slash
command, shortcut and view ``callback_id``\\s, button ``action_id``\\s, input ``block_id``\\s. A
button's ``value`` and a modal's ``private_metadata`` carry the state the next request needs.
All of them are defined here, and each encoded value has its decoder beside it. Decoders never
raise: a value that does not parse (a forged payload, a message built by an older version) decodes
to ``None``, and the listener answers "that button is out of date".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from sync.api import ConflictAction, SellRef

# --------------------------------------------------------------------------- the command

COMMAND = "/sellsync"

# --------------------------------------------------------------------------- shortcuts

ADD_TO_HUBSPOT = "add_to_hubspot"  # global shortcut
ADD_MESSAGE_TO_HUBSPOT = "add_message_to_hubspot"  # message shortcut

# --------------------------------------------------------------------------- views

PUSH_VIEW = "push_to_hubspot"  # the push modal (global and message shortcut alike)
ITEMS_BLOCK = "push_items"
ITEMS_INPUT = "push_items_input"
TAG_BLOCK = "push_tag"
TAG_INPUT = "push_tag_input"

# --------------------------------------------------------------------------- buttons

APPROVE = "request_approve"
REJECT = "request_reject"
#: The second confirmation of a request that retires Sell before the migration is verified.
APPROVE_UNVERIFIED = "request_approve_unverified"
REQUEST_ACTIONS = (APPROVE, REJECT, APPROVE_UNVERIFIED)

#: A bulk hold (creations or link removals a run kept back for a manager).
BULK_APPROVE = "bulk_approve"
BULK_REJECT = "bulk_reject"
BULK_ACTIONS = (BULK_APPROVE, BULK_REJECT)

KEEP_SELL = "conflict_keep_sell"
USE_HUBSPOT = "conflict_use_hubspot"
DISMISS = "conflict_dismiss"
CONFLICT_ACTIONS = (KEEP_SELL, USE_HUBSPOT, DISMISS)

#: What each conflict button asks the conflicts use case (``sync/usecases/conflicts.py``) to do.
CONFLICT_RESOLUTION: dict[str, ConflictAction] = {
    KEEP_SELL: ConflictAction.KEEP_SELL,
    USE_HUBSPOT: ConflictAction.USE_HUBSPOT,
    DISMISS: ConflictAction.DISMISS,
}

CONFLICTS_PREV = "conflicts_prev"
CONFLICTS_NEXT = "conflicts_next"
PAGE_ACTIONS = (CONFLICTS_PREV, CONFLICTS_NEXT)

#: A link conflict (L2): two Sell records on one HubSpot contact after a HubSpot contact merge.
KEEP_HELD_LINK = "link_conflict_keep_held"
KEEP_OTHER_LINK = "link_conflict_keep_other"
UNLINK_HELD = "link_conflict_unlink"
LINK_CONFLICT_ACTIONS = (KEEP_HELD_LINK, KEEP_OTHER_LINK, UNLINK_HELD)

#: The buttons of a record link's unfurled card: push that Sell record, or say why it (did not) sync.
UNFURL_PUSH = "unfurl_push"
UNFURL_WHY = "unfurl_why"
UNFURL_ACTIONS = (UNFURL_PUSH, UNFURL_WHY)

#: The Health inbox: run a failing record through the sync now, or stop listing it.
HEALTH_RETRY = "health_retry"
HEALTH_IGNORE = "health_ignore"
HEALTH_ACTIONS = (HEALTH_RETRY, HEALTH_IGNORE)

#: Decide every open conflict of one field: the button opens a confirmation modal.
CONFLICTS_OF_FIELD = "conflicts_of_field"
FIELD_DECISION_VIEW = "conflicts_field_decision"
FIELD_ACTION_BLOCK = "field_decision_action"
FIELD_ACTION_INPUT = "field_decision_action_input"

ALL_ACTIONS = (
    *REQUEST_ACTIONS,
    *BULK_ACTIONS,
    *CONFLICT_ACTIONS,
    *PAGE_ACTIONS,
    *LINK_CONFLICT_ACTIONS,
    *UNFURL_ACTIONS,
    *HEALTH_ACTIONS,
    CONFLICTS_OF_FIELD,
)

# --------------------------------------------------------------------------- unfurls and steps

#: The hosts whose links Slack hands sellsync to unfurl (the manifests' ``unfurl_domains``).
UNFURL_DOMAINS = ("app.futuresimple.com", "app.hubspot.com")

#: Workflow Builder steps (the manifests' ``functions``), by callback id.
PUSH_STEP = "push_to_hubspot"
STATUS_STEP = "sync_status"
STEPS = (PUSH_STEP, STATUS_STEP)

# --------------------------------------------------------------------------- block ids


def request_block(request_id: int) -> str:
    """The actions block of a change request's buttons (block ids are unique per message)."""
    return f"request:{request_id}"


def conflict_block(conflict_id: int) -> str:
    return f"conflict:{conflict_id}"


def held_link_block(held: SellRef) -> str:
    return f"link:{held.kind}:{held.id}"


PAGER_BLOCK = "conflicts_pager"

# --------------------------------------------------------------------------- button values

_INT = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() also reads "٣"


def _int(text: str) -> int | None:
    return int(text) if _INT.fullmatch(text) else None


def encode_request(request_id: int) -> str:
    """Approve / Reject value: the change request's id."""
    return f"req:{request_id}"


def decode_request(value: object) -> int | None:
    if not isinstance(value, str) or not value.startswith("req:"):
        return None
    return _int(value[4:])


def encode_hold(hold_id: int) -> str:
    """Approve / Reject value of a bulk hold: its id."""
    return f"hold:{hold_id}"


def decode_hold(value: object) -> int | None:
    if not isinstance(value, str) or not value.startswith("hold:"):
        return None
    return _int(value[5:])


def hold_block(hold_id: int) -> str:
    return f"hold:{hold_id}"


@dataclass(frozen=True)
class ConflictRef:
    """A conflict button: which conflict, which page of the list it was shown on, and a tag of
    the two values it showed (None on buttons posted before tags)."""

    conflict_id: int
    offset: int = 0
    seen: str | None = None


_SEEN = re.compile(r"[0-9a-f]{1,64}")


def encode_conflict(conflict_id: int, offset: int = 0, seen: str | None = None) -> str:
    base = f"conflict:{conflict_id}:{max(0, offset)}"
    return f"{base}:{seen}" if seen else base


def decode_conflict(value: object) -> ConflictRef | None:
    if not isinstance(value, str):
        return None
    parts = value.split(":")
    if len(parts) not in (3, 4) or parts[0] != "conflict":
        return None
    cid, offset = _int(parts[1]), _int(parts[2])
    if cid is None or offset is None:
        return None
    seen = parts[3] if len(parts) == 4 else None
    if seen is not None and not _SEEN.fullmatch(seen):
        return None
    return ConflictRef(cid, offset, seen)


@dataclass(frozen=True)
class LinkChoice:
    """A link conflict button: the held link's Sell record, and the one to keep (None: keep
    neither, the held record is unlinked)."""

    held: SellRef
    keep: SellRef | None


def encode_link_choice(held: SellRef, keep: SellRef | None) -> str:
    kept = "-" if keep is None else f"{keep.kind}:{keep.id}"
    return f"link:{held.kind}:{held.id}:{kept}"


_ID = re.compile(r"[0-9]{1,19}")


def _ref(kind: str, rid: str) -> SellRef | None:
    number = int(rid) if _ID.fullmatch(rid) else None
    if kind not in ("lead", "contact") or number is None or not 0 < number < 2**63:
        return None
    return SellRef("lead" if kind == "lead" else "contact", number)


def decode_link_choice(value: object) -> LinkChoice | None:
    if not isinstance(value, str):
        return None
    parts = value.split(":")
    if parts[:1] != ["link"] or len(parts) not in (4, 5):
        return None
    held = _ref(parts[1], parts[2])
    if held is None:
        return None
    if len(parts) == 4:
        return LinkChoice(held, None) if parts[3] == "-" else None
    keep = _ref(parts[3], parts[4])
    return None if keep is None else LinkChoice(held, keep)


def encode_record(item: str) -> str:
    """An unfurl button's value: the record as ``status ITEM`` names it (``lead:12``,
    ``contact:7``, ``hubspot:901``)."""
    return f"record:{item}"


_RECORD = re.compile(r"record:((?:lead|contact|hubspot):[0-9]{1,19})")


def decode_record(value: object) -> str | None:
    """The record an unfurl button names, or None (a forged or garbled value)."""
    if not isinstance(value, str):
        return None
    found = _RECORD.fullmatch(value)
    if found is None:
        return None
    kind, _, rid = found.group(1).partition(":")
    number = int(rid)
    if not 0 < number < 2**63:
        return None
    return f"{kind}:{number}"


def encode_page(offset: int) -> str:
    """Prev / Next value: the offset of the page to show."""
    return f"page:{max(0, offset)}"


def decode_page(value: object) -> int | None:
    if not isinstance(value, str) or not value.startswith("page:"):
        return None
    return _int(value[5:])


# --------------------------------------------------------------------------- private_metadata

MAX_METADATA = 3000  # Slack's limit on a view's private_metadata

_CHANNEL = re.compile(r"[CDG][A-Z0-9]{1,30}")  # a channel id goes into a <#…> mention
_TS = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


@dataclass(frozen=True)
class PushOrigin:
    """Where a push modal came from, so the result DM can say so."""

    source: Literal["global", "message"] = "global"
    channel: str | None = None
    message_ts: str | None = None


def encode_push_origin(origin: PushOrigin) -> str:
    data: dict[str, object] = {"v": 1, "s": origin.source}
    if origin.channel:
        data["c"] = origin.channel
    if origin.message_ts:
        data["t"] = origin.message_ts
    text = json.dumps(data, separators=(",", ":"))
    return text if len(text) <= MAX_METADATA else json.dumps({"v": 1, "s": origin.source})


def decode_push_origin(text: object) -> PushOrigin:
    """Never raises: anything unreadable is a global push with no channel."""
    if not isinstance(text, str) or not text:
        return PushOrigin()
    try:
        data = json.loads(text)
    except ValueError:
        return PushOrigin()
    if not isinstance(data, dict) or data.get("v") != 1:
        return PushOrigin()
    source: Literal["global", "message"] = "message" if data.get("s") == "message" else "global"
    channel = data.get("c") if isinstance(data.get("c"), str) else None
    ts = data.get("t") if isinstance(data.get("t"), str) else None
    return PushOrigin(
        source,
        channel if channel and _CHANNEL.fullmatch(channel) else None,
        ts if ts and _TS.fullmatch(ts) else None,
    )


# --------------------------------------------------------------------------- the Health inbox

_HEALTH = re.compile(r"health:((?:lead|contact):[0-9]{1,19}|HubSpot [0-9]{1,19}|event:[0-9]{1,12})")


def encode_health(key: str) -> str:
    """A Health entry's button value: its key (``lead:12``, ``HubSpot 34``, ``event:5``)."""
    return f"health:{key}"


def decode_health(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    match = _HEALTH.fullmatch(value)
    return match.group(1) if match else None


def health_block(key: str) -> str:
    """The actions block of a Health entry's buttons (unique per message)."""
    return "health:" + key.replace(" ", "_")


# --------------------------------------------------------------------------- a field's conflicts


@dataclass(frozen=True)
class FieldChoice:
    """Every open conflict of ``field`` with an id up to ``up_to``: ``count`` of them when the
    confirmation was shown."""

    field: str
    up_to: int
    count: int


_FIELD = re.compile(r"field:([0-9]{1,12}):([0-9]{1,12}):(.{1,255})", re.S)


def encode_field_choice(choice: FieldChoice) -> str:
    return f"field:{max(0, choice.up_to)}:{max(0, choice.count)}:{choice.field}"


def decode_field_choice(value: object) -> FieldChoice | None:
    if not isinstance(value, str):
        return None
    match = _FIELD.fullmatch(value)
    if match is None:
        return None
    return FieldChoice(match.group(3), int(match.group(1)), int(match.group(2)))


#: The actions block of the "decide a field's conflicts" buttons.
FIELDS_BLOCK = "conflicts_by_field"

_FIELD_BUTTON = re.compile(r"conflicts-of:(.{1,255})", re.S)


def encode_field(field: str) -> str:
    """The button that asks to decide every open conflict of ``field``."""
    return f"conflicts-of:{field}"


def decode_field(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    match = _FIELD_BUTTON.fullmatch(value)
    return match.group(1) if match else None

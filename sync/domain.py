"""Frozen values the sync core works with.

Nothing here does I/O or reads a clock. Both CRMs are reduced to flat value maps:

* a Sell record's ``values`` are keyed by *Sell keys*: the standard field names of SPEC S12
  (``first_name``, ``email``, ``address.city`` ...), ``lead_source`` (the lead source's *name*,
  leads only) and ``custom_fields.<Display name>`` for custom fields;
* a HubSpot contact's ``properties`` are keyed by HubSpot property names and hold strings
  (HubSpot always returns strings) or ``None``.

Emails are compared with :func:`normalize_email`; "empty" is :func:`is_empty`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

RecordKind = Literal["lead", "contact"]
RECORD_KINDS: tuple[RecordKind, ...] = ("lead", "contact")

CUSTOM_PREFIX = "custom_fields."

#: The HubSpot property listing the ids merged into a contact (L2).
MERGED_IDS_PROPERTY = "hs_merged_object_ids"


def valid_id(value: str) -> bool:
    """A HubSpot object id as this product takes one: 1 to 19 ASCII digits, not all zero."""
    return 0 < len(value) <= 19 and value.isascii() and value.isdigit() and 0 < int(value) < 2**63


#: Where a person opens a Sell record in the browser (the API's ids are the web app's ids).
SELL_APP_URL = "https://app.futuresimple.com"
_SELL_WEB_PATHS: dict[str, str] = {"lead": "leads", "contact": "crm/contacts"}


def is_empty(value: object) -> bool:
    """SPEC §2: missing, null, or a string of only whitespace (also an empty list)."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, list | tuple | set | frozenset):
        return len(value) == 0
    return False


def normalize_email(value: object) -> str | None:
    """Trimmed, lower-cased email, or None when empty."""
    if is_empty(value):
        return None
    return str(value).strip().lower()


@dataclass(frozen=True)
class SellRef:
    """A Sell record's identity: ``lead:12`` or ``contact:7``."""

    kind: RecordKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> SellRef:
        kind, _, raw = text.partition(":")
        if kind not in RECORD_KINDS or not raw.strip().isdigit():
            raise ValueError(f"not a Sell record reference: {text!r} (use lead:ID or contact:ID)")
        return cls(kind=kind, id=int(raw))

    @property
    def web_url(self) -> str:
        """The record's page in Sell's web app (what a rep pastes into ``/sellsync push``)."""
        return f"{SELL_APP_URL}/{_SELL_WEB_PATHS[self.kind]}/{self.id}"


@dataclass(frozen=True)
class SellRecord:
    kind: RecordKind
    id: int
    values: Mapping[str, Any]
    updated_at: datetime
    is_organization: bool = False
    tags: tuple[str, ...] = ()

    @property
    def ref(self) -> SellRef:
        return SellRef(self.kind, self.id)

    @property
    def email(self) -> str | None:
        return normalize_email(self.values.get("email"))


@dataclass(frozen=True)
class HubSpotContact:
    id: str
    properties: Mapping[str, str | None]
    updated_at_ms: int = 0
    url: str | None = None

    @property
    def email(self) -> str | None:
        return normalize_email(self.properties.get("email"))

    @property
    def merged_ids(self) -> frozenset[str]:
        """Ids of the contacts HubSpot merged into this one (L2): ``hs_merged_object_ids``,
        a ``;``-separated list of ASCII-digit ids; anything else in it is ignored."""
        raw = self.properties.get(MERGED_IDS_PROPERTY) or ""
        return frozenset(p for p in (x.strip() for x in raw.split(";")) if valid_id(p))


@dataclass(frozen=True)
class HubSpotList:
    id: str
    name: str
    processing_type: Literal["MANUAL", "DYNAMIC", "SNAPSHOT"]

    @property
    def accepts_members(self) -> bool:
        """Pushed contacts are added only to MANUAL and SNAPSHOT lists (S4)."""
        return self.processing_type in ("MANUAL", "SNAPSHOT")


@dataclass(frozen=True)
class PropertyOption:
    value: str
    label: str


@dataclass(frozen=True)
class PropertyInfo:
    """A HubSpot property definition, as far as the rules care."""

    name: str
    label: str
    type: str  # string | number | date | datetime | enumeration | bool
    field_type: (
        str  # text | textarea | phonenumber | select | radio | checkbox | booleancheckbox ...
    )
    options: tuple[PropertyOption, ...] = ()
    read_only: bool = False

    def label_for(self, value: str) -> str:
        for option in self.options:
            if option.value == value:
                return option.label
        return value

    def value_for(self, label: str) -> str | None:
        wanted = label.strip().lower()
        for option in self.options:
            if option.label.strip().lower() == wanted or option.value.lower() == wanted:
                return option.value
        return None


@dataclass(frozen=True)
class SellCustomField:
    name: str
    type: (
        str  # address bool date datetime email list multi_select_list number phone string text url
    )
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeadConversion:
    """Sell's record of one lead conversion (L1): the lead's id and the new contacts' ids.

    Converting gives the contacts new ids and takes the lead off the leads list, so this is the
    only map from a linked lead to the individual contact its link moves to.
    """

    id: int
    lead_id: int
    individual_id: int | None
    organization_id: int | None = None
    deal_id: int | None = None
    created_at: datetime | None = None


class LinkState(enum.StrEnum):
    ACTIVE = "active"
    TOMBSTONED = "tombstoned"  # S5: the Sell record was deleted
    HUBSPOT_DELETED = "hubspot_deleted"  # S6: the HubSpot contact was archived or deleted
    # A held link: not synced until a manager chooses which link stays. ``Link.hold`` says why
    # and names its counterpart. The one reason so far is L2: HubSpot absorbed its contact into
    # one already linked to another Sell record (``hubspot_id`` is the survivor's).
    HELD = "held"


class HoldReason(enum.StrEnum):
    """Why a link is held for a manager."""

    CONTACT_MERGE = "contact_merge"  # L2: HubSpot merged its contact into a linked one


@dataclass(frozen=True)
class Hold:
    """Why a held link is held, and its counterpart: the Sell record whose link it conflicts
    with (None when that one was unlinked since)."""

    reason: HoldReason
    counterpart: SellRef | None = None


class SettingName(enum.StrEnum):
    """A setting that changes only by a manager's decision (an approved request, or
    ``sellsync settings set``): each has one entry in :mod:`sync.settings_registry`. The value
    is what change requests and the audit log store (``threshold=60``)."""

    THRESHOLD = "threshold"
    LIST_ID = "list_id"
    BULK_LIMIT = "bulk_limit"
    PAUSE = "pause"
    SELL_MODE = "sell_mode"
    MIGRATION = "migration"  # an approved move of everything out of Sell, for the worker


class SellMode(enum.StrEnum):
    """How far sellsync still uses Sell (the ``sell_mode`` setting), on the way out of it:
    ``active`` reads and writes it; ``read_only`` only reads it (Sell's changes still reach
    HubSpot, nothing is written to Sell); ``retired``: Sell is not called at all and HubSpot is
    the system of record."""

    ACTIVE = "active"
    READ_ONLY = "read_only"
    RETIRED = "retired"

    @property
    def writes_sell(self) -> bool:
        return self is SellMode.ACTIVE

    @property
    def reads_sell(self) -> bool:
        return self is not SellMode.RETIRED


@dataclass(frozen=True)
class HowToSet:
    """How a person sets a setting to ``value``: the word ``sellsync settings set`` takes, and
    the arguments of the slash command that asks for it (None: there is none). The bot words
    both; the core names no command of either surface."""

    command: str
    value: str
    slack_args: str | None = None


@dataclass(frozen=True)
class Held:
    """Why no sync may start (``why``, one line), what lets runs go again (``action``:
    ``resume it``) and how to do it (``undo``)."""

    why: str
    action: str
    undo: HowToSet


class LinkOrigin(enum.StrEnum):
    LIST = "list"
    PUSH = "push"


@dataclass(frozen=True)
class FieldSnapshot:
    """The last-synced canonical value of one mapped field on each side (None = empty)."""

    sell: str | None
    hubspot: str | None


@dataclass(frozen=True)
class Link:
    sell: SellRef
    hubspot_id: str
    state: LinkState = LinkState.ACTIVE
    origin: LinkOrigin = LinkOrigin.LIST
    snapshot: Mapping[str, FieldSnapshot] = field(default_factory=dict)
    email: str | None = None
    last_synced_at: datetime | None = None
    id: int | None = None
    hold: Hold | None = None  # a held link's reason and counterpart (state HELD)

    def counterpart_link(self, links: Mapping[SellRef, Link]) -> Link | None:
        """A held link's counterpart's link, picked from ``links`` (by Sell record): the link of
        the Sell record the hold names, while it is still the active link of the same contact."""
        other = None if self.hold is None else self.hold.counterpart
        link = None if other is None else links.get(other)
        if link is None or link.state is not LinkState.ACTIVE or link.hubspot_id != self.hubspot_id:
            return None
        return link


@dataclass(frozen=True)
class HeldLinkSettled:
    """A manager's choice on a link a HubSpot merge held (L2): the held link as it was, and the
    Sell record left unlinked (None when the survivor had no other link any more)."""

    held: Link
    released: SellRef | None


class ConflictStatus(enum.StrEnum):
    OPEN = "open"
    KEPT_SELL = "kept_sell"
    USED_HUBSPOT = "used_hubspot"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Conflict:
    """Both sides hold a different filled value for one mapped field (S8/S9)."""

    sell: SellRef
    hubspot_id: str
    field: str  # the field mapping's key (see sync.mapping.FieldMapping.key)
    sell_value: str | None
    hubspot_value: str | None
    status: ConflictStatus = ConflictStatus.OPEN
    id: int | None = None
    opened_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None


@dataclass(frozen=True)
class FeedMark:
    """What the store keeps of one feed's position, between runs.

    Each feed reads it into its own typed mark (sync/feeds/marks.py): ``(updated_at, id)``
    of the newest record seen for the Sell change feed, ``position_ms`` (lastmodifieddate) for
    the HubSpot one, and ``last_id`` alone as the "list:settings version" key of the list
    members already evaluated.
    """

    updated_at: datetime | None = None
    last_id: str | None = None
    position_ms: int | None = None


class Outcome(enum.StrEnum):
    """What happened to one record in a run; the report counts these."""

    CREATED_IN_SELL = "created_in_sell"
    CREATED_IN_HUBSPOT = "created_in_hubspot"
    MERGED = "merged"
    UPDATED_SELL = "updated_sell"
    UPDATED_HUBSPOT = "updated_hubspot"
    CONFLICT_OPENED = "conflict_opened"
    TOMBSTONED = "tombstoned"
    HUBSPOT_DELETED = "hubspot_deleted"
    CONVERTED = "converted"  # L1: the linked lead became a contact; the link moved with it
    # L2: HubSpot absorbed the contact into another; the link moved to that survivor
    HUBSPOT_ABSORBED = "hubspot_merged"
    LINK_HELD = "link_conflict"  # L2: the survivor is linked to another Sell record already
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Skip:
    """A record left out of a run (or a push) with the reason a person can read."""

    item: str
    reason: str

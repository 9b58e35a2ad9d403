"""The field table of SPEC S10–S13 as data, and the lookups that convert through it.

Every mapped field is compared through a *canonical* string (or None for empty), so that
``"12.50"`` in Sell and ``"12.5"`` in HubSpot are the same number, a HubSpot enumeration value is
compared by its label, and so on. Snapshots store canonical values. What each value type does
lives in its class in ``sync.field_types``; this module looks a mapping's type up and delegates.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sync.domain import (
    CUSTOM_PREFIX,
    RECORD_KINDS,
    PropertyInfo,
    RecordKind,
    SellCustomField,
    is_empty,
)
from sync.field_types import FIELD_TYPES, FieldType, field_type_for

URL_PROPERTY = "@url"  # the contact's public URL: the record's `url`, not a property


class Direction(enum.StrEnum):
    BOTH = "both"  # S12, S13
    TO_SELL = "to_sell"  # S10 HubSpot-owned mirrors


class ValueType(enum.StrEnum):
    """Names of the built-in value types (keys of ``sync.field_types.FIELD_TYPES``).

    ``FieldMapping.value_type`` holds any registered name; these are spelled out for the tables.
    """

    STRING = "string"
    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    NUMBER = "number"
    BOOL = "bool"
    DATE = "date"
    DATETIME = "datetime"
    LABEL = "label"  # a HubSpot enumeration shown in Sell by its option label (single value)
    MULTI = "multi"  # a HubSpot checkbox enumeration <-> a Sell multi_select_list


@dataclass(frozen=True)
class FieldMapping:
    key: str  # stable name used in snapshots and conflicts
    hubspot: str  # HubSpot property name (or URL_PROPERTY)
    sell: str  # Sell key (see sync.domain)
    direction: Direction = Direction.BOTH
    kinds: tuple[RecordKind, ...] = RECORD_KINDS
    value_type: str = ValueType.STRING  # a registered field type's name
    label: str = ""

    @property
    def field_type(self) -> FieldType:
        return FIELD_TYPES[self.value_type]

    @property
    def sell_custom_field(self) -> str | None:
        return self.sell[len(CUSTOM_PREFIX) :] if self.sell.startswith(CUSTOM_PREFIX) else None

    @property
    def writes_hubspot(self) -> bool:
        return self.direction is Direction.BOTH and self.sell not in NEVER_SENT_TO_HUBSPOT


# S11: Sell fields that are never sent to HubSpot, whatever a mapping says.
NEVER_SENT_TO_HUBSPOT: frozenset[str] = frozenset(
    {
        "status",  # lead status
        "prospect_status",
        "customer_status",
        "owner_name",
        "owner_email",
        "owner_id",
        "id",
        "lead_id",
        "contact_id",
    }
)
# Display names of those fields, refused as targets of a custom mapping (S11 + S13).
NEVER_SENT_LABELS: frozenset[str] = frozenset(
    {
        "lead status",
        "prospect status",
        "customer status",
        "owner name",
        "owner email",
        "lead id",
        "contact id",
    }
)

# S12: standard fields, both ways.
STANDARD_FIELDS: tuple[FieldMapping, ...] = (
    FieldMapping("first_name", "firstname", "first_name", label="First name"),
    FieldMapping("last_name", "lastname", "last_name", label="Last name"),
    FieldMapping("email", "email", "email", value_type=ValueType.EMAIL, label="Email"),
    FieldMapping("phone", "phone", "phone", label="Phone"),
    FieldMapping("mobile", "mobilephone", "mobile", label="Mobile"),
    FieldMapping("fax", "fax", "fax", label="Fax"),
    FieldMapping("title", "jobtitle", "title", label="Title"),
    FieldMapping(
        "organization_name", "company", "organization_name", kinds=("lead",), label="Company"
    ),
    FieldMapping("website", "website", "website", label="Website"),
    FieldMapping("industry", "industry", "industry", label="Industry"),
    FieldMapping("address.line1", "address", "address.line1", label="Street address"),
    FieldMapping("address.city", "city", "address.city", label="City"),
    FieldMapping("address.state", "state", "address.state", label="State/Region"),
    FieldMapping("address.postal_code", "zip", "address.postal_code", label="Postal code"),
    FieldMapping("address.country", "country", "address.country", label="Country/Region"),
)

# S10 custom field names in Sell.
SELL_SOURCE_FIELD = "HubSpot source"
SELL_SCORE_FIELD = "HubSpot score"
SELL_STAGE_FIELD = "HubSpot lifecycle stage"
SELL_URL_FIELD = "HubSpot public contact URL"


def hubspot_owned_fields(score_property: str = "hubspotscore") -> tuple[FieldMapping, ...]:
    """S10: HubSpot -> Sell mirrors, always refreshed."""
    return (
        FieldMapping(
            "hs.source.lead",
            "hs_analytics_source",
            "lead_source",
            Direction.TO_SELL,
            ("lead",),
            ValueType.LABEL,
            "Original source type",
        ),
        FieldMapping(
            "hs.source.contact",
            "hs_analytics_source",
            CUSTOM_PREFIX + SELL_SOURCE_FIELD,
            Direction.TO_SELL,
            ("contact",),
            ValueType.LABEL,
            "Original source type",
        ),
        FieldMapping(
            "hs.score",
            score_property,
            CUSTOM_PREFIX + SELL_SCORE_FIELD,
            Direction.TO_SELL,
            value_type=ValueType.NUMBER,
            label="HubSpot score",
        ),
        FieldMapping(
            "hs.lifecyclestage",
            "lifecyclestage",
            CUSTOM_PREFIX + SELL_STAGE_FIELD,
            Direction.TO_SELL,
            value_type=ValueType.LABEL,
            label="Lifecycle stage",
        ),
        FieldMapping(
            "hs.url",
            URL_PROPERTY,
            CUSTOM_PREFIX + SELL_URL_FIELD,
            Direction.TO_SELL,
            label="Public contact URL",
        ),
    )


# --------------------------------------------------------------------------- S13


def sell_type_for(prop: PropertyInfo) -> FieldType | None:
    """The value type of a HubSpot property, which names the Sell custom field type to create
    (``suggested``) and those that can hold it (``accepted``); None if no Sell type matches."""
    return field_type_for(prop)


@dataclass(frozen=True)
class MappingCheck:
    """The verdict on a custom mapping: usable, waiting for the admin, or refused."""

    status: str  # "ok" | "missing" (create the Sell field first) | "refused"
    message: str
    mapping: FieldMapping | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_custom_mapping(
    hubspot_property: str,
    sell_field: str,
    props: Mapping[str, PropertyInfo],
    sell_fields: Mapping[RecordKind, Sequence[SellCustomField]],
) -> MappingCheck:
    """S13: can HubSpot property ``hubspot_property`` sync with Sell custom field ``sell_field``?"""
    prop = props.get(hubspot_property)
    if prop is None:
        return MappingCheck("refused", f'HubSpot has no contact property "{hubspot_property}"')
    if sell_field.strip().lower() in NEVER_SENT_LABELS:
        return MappingCheck("refused", f'"{sell_field}" is never synced to HubSpot (S11)')
    if prop.read_only:
        return MappingCheck(
            "refused", f'HubSpot property "{hubspot_property}" is read-only and cannot be synced'
        )
    choice = sell_type_for(prop)
    if choice is None:
        return MappingCheck(
            "refused",
            f'HubSpot property "{hubspot_property}" has type {prop.type}/{prop.field_type}, '
            "which no Sell custom field type can hold",
        )
    found: list[tuple[RecordKind, SellCustomField]] = [
        (kind, f)
        for kind in RECORD_KINDS
        for f in sell_fields.get(kind, ())
        if f.name.strip().lower() == sell_field.strip().lower()
    ]
    create_hint = _create_hint(sell_field, choice, prop)
    if not found:
        return MappingCheck(
            "missing",
            f'Sell has no custom field "{sell_field}" yet (custom fields cannot be created '
            f"through Sell's API). {create_hint}",
        )
    wrong = [(kind, f) for kind, f in found if f.type not in choice.accepted]
    if wrong:
        kind, f = wrong[0]
        return MappingCheck(
            "refused",
            f'Sell {kind} field "{f.name}" has type {f.type}, but HubSpot property '
            f'"{hubspot_property}" ({prop.type}/{prop.field_type}) needs a Sell field of type '
            f"{' or '.join(choice.accepted)}. {create_hint}",
        )
    wanted = {label.strip().lower() for label in choice.required_choices(prop)}
    if wanted:
        for kind, f in found:
            have = {c.strip().lower() for c in f.choices}
            missing = sorted(wanted - have)
            if missing:
                return MappingCheck(
                    "refused",
                    f'Sell {kind} field "{f.name}" lacks the choices {", ".join(missing)} that '
                    f'HubSpot property "{hubspot_property}" can hold. Add them in Sell first.',
                )
    kinds = tuple(kind for kind, _ in found)
    mapping = FieldMapping(
        key=f"custom.{hubspot_property}",
        hubspot=hubspot_property,
        sell=CUSTOM_PREFIX + found[0][1].name,
        kinds=kinds,
        value_type=choice.name,
        label=prop.label or hubspot_property,
    )
    return MappingCheck(
        "ok", f'"{hubspot_property}" syncs with Sell field "{found[0][1].name}"', mapping
    )


def _create_hint(sell_field: str, choice: FieldType, prop: PropertyInfo) -> str:
    hint = f'Create it in Sell (Settings → Customize → Fields) as "{sell_field}" of type {choice.suggested}'
    choices = choice.required_choices(prop)
    if choices:
        hint += " with the choices " + ", ".join(choices)
    return hint + "."


def field_table(
    *,
    score_property: str,
    custom: Iterable[FieldMapping] = (),
) -> tuple[FieldMapping, ...]:
    """All mapped fields: S12 standard, S10 mirrors and the usable S13 custom mappings."""
    return (*STANDARD_FIELDS, *hubspot_owned_fields(score_property), *custom)


def fields_for(kind: RecordKind, table: Iterable[FieldMapping]) -> list[FieldMapping]:
    return [m for m in table if kind in m.kinds]


def hubspot_properties_to_read(table: Iterable[FieldMapping]) -> list[str]:
    names = {m.hubspot for m in table if m.hubspot != URL_PROPERTY}
    names.update({"email", "lastmodifieddate"})
    return sorted(names)


# --------------------------------------------------------------------------- conversions

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


#: RFC 5321's limit on an address; longer CRM values are refused before the pattern runs, which
#: keeps the check cheap whatever a record holds (the pattern backtracks on long dotted text).
MAX_EMAIL_LENGTH = 254


def valid_email(value: str | None) -> bool:
    return value is not None and len(value) <= MAX_EMAIL_LENGTH and bool(_EMAIL_RE.match(value))


def hubspot_canonical(
    mapping: FieldMapping, raw: Any, prop: PropertyInfo | None = None
) -> str | None:
    """A HubSpot value of ``mapping`` as a canonical string (None when empty)."""
    if is_empty(raw):
        return None
    return mapping.field_type.hubspot_canonical(raw, prop)


def sell_canonical(mapping: FieldMapping, raw: Any) -> str | None:
    """A Sell value of ``mapping`` as a canonical string (None when empty)."""
    if is_empty(raw):
        return None
    return mapping.field_type.sell_canonical(raw)


def to_sell_value(mapping: FieldMapping, canonical: str | None) -> Any:
    """A canonical value as Sell expects it in a write."""
    if canonical is None:
        return None
    return mapping.field_type.to_sell(canonical)


def to_hubspot_value(
    mapping: FieldMapping, canonical: str | None, prop: PropertyInfo | None = None
) -> str:
    """A canonical value as HubSpot expects it ("" clears)."""
    if canonical is None:
        return ""
    return mapping.field_type.to_hubspot(canonical, prop)

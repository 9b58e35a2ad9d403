"""The value types of mapped fields: one class each, registered in one table by name.

A type says everything the sync needs to know about one kind of value:

- its *canonical* form, a string (or None for empty) that both CRMs' values are compared through,
  so that ``"12.50"`` in Sell and ``"12.5"`` in HubSpot are the same number and a HubSpot
  enumeration value is compared by its label (snapshots store canonical values);
- how a canonical value is written to Sell and to HubSpot;
- for a custom mapping: which HubSpot properties it holds (their ``type`` and ``fieldType``),
  which Sell custom field type to create for it and which existing ones can hold it, and the
  choices a Sell field needs so that every HubSpot option has a home.

Adding a type is one class here plus its line in ``FIELD_TYPES``: ``sync.mapping`` looks a
mapping's type up by name and never branches on it. Everything here is pure: no clock, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from sync.domain import PropertyInfo, is_empty, normalize_email
from sync.errors import UnusableValue


class FieldType:
    """One value type. The base reads and writes trimmed text; a type overrides what differs.

    The ``*_canonical`` methods receive a raw value that is not empty (``sync.mapping`` has
    already answered None for an empty one) and raise ``UnusableValue`` for a value they cannot
    read. ``to_sell`` and ``to_hubspot`` receive a canonical value that is not None.
    """

    #: The registry key, stored in ``FieldMapping.value_type``.
    name: ClassVar[str]
    #: The Sell custom field type to create for a HubSpot property of this type.
    suggested: ClassVar[str] = "string"
    #: The Sell custom field types that can hold it (an existing field of another type is refused).
    accepted: ClassVar[tuple[str, ...]] = ("string",)

    def matches(self, prop: PropertyInfo) -> bool:
        """Whether a HubSpot property (its ``type`` and ``fieldType``) holds this type."""
        return False

    def required_choices(self, prop: PropertyInfo) -> tuple[str, ...]:
        """The choices (labels) a Sell field needs to hold every value of ``prop``."""
        return ()

    def hubspot_canonical(self, raw: Any, prop: PropertyInfo | None) -> str | None:
        return self.canonical(raw)

    def sell_canonical(self, raw: Any) -> str | None:
        return self.canonical(raw)

    def canonical(self, raw: Any) -> str | None:
        """The canonical form of a value that reads the same from either side."""
        text = str(raw).strip()
        return text or None

    def to_sell(self, canonical: str) -> Any:
        return canonical

    def to_hubspot(self, canonical: str, prop: PropertyInfo | None) -> str:
        return canonical


class StringType(FieldType):
    """Any other HubSpot text property; registered after the more specific text types."""

    name = "string"
    suggested = "string"
    accepted = ("string", "text")

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "string"


class PhoneType(StringType):
    name = "phone"
    suggested = "phone"
    accepted = ("phone", "string")

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "string" and prop.field_type == "phonenumber"


class TextType(StringType):
    """Multi-line text."""

    name = "text"
    suggested = "text"
    accepted = ("text", "string")

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "string" and prop.field_type == "textarea"


class EmailType(FieldType):
    """The standard email field: compared lower-cased and trimmed. No custom mapping has it."""

    name = "email"
    suggested = "email"
    accepted = ("email",)

    def canonical(self, raw: Any) -> str | None:
        return normalize_email(raw)


class NumberType(FieldType):
    name = "number"
    suggested = "number"
    accepted = ("number",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "number"

    def canonical(self, raw: Any) -> str | None:
        if isinstance(raw, bool):
            raise UnusableValue(f"not a number: {raw!r}")
        try:
            d = Decimal(str(raw).strip())
        except (InvalidOperation, ValueError) as exc:
            raise UnusableValue(f"not a number: {raw!r}") from exc
        if not d.is_finite():
            raise UnusableValue(f"not a number: {raw!r}")
        if d == d.to_integral_value():
            return str(d.quantize(Decimal(1)))
        return format(d.normalize(), "f")


class BoolType(FieldType):
    name = "bool"
    suggested = "bool"
    accepted = ("bool",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "bool" or (
            prop.type == "enumeration" and prop.field_type == "booleancheckbox"
        )

    def canonical(self, raw: Any) -> str | None:
        if isinstance(raw, bool):
            return "true" if raw else "false"
        text = str(raw).strip().lower()
        if text in ("true", "yes", "1"):
            return "true"
        if text in ("false", "no", "0"):
            return "false"
        raise UnusableValue(f"not a yes/no value: {raw!r}")

    def to_sell(self, canonical: str) -> Any:
        return canonical == "true"


def _parse_instant(raw: Any) -> datetime:
    text = str(raw).strip()
    if re.fullmatch(r"-?\d{9,}", text):
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise UnusableValue(f"not a date: {raw!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class DateType(FieldType):
    """A calendar day; HubSpot may send it as midnight UTC in epoch milliseconds."""

    name = "date"
    suggested = "date"
    accepted = ("date",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "date"

    def canonical(self, raw: Any) -> str | None:
        text = str(raw).strip()
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text).isoformat()
            except ValueError as exc:
                raise UnusableValue(f"not a date: {raw!r}") from exc
        return _parse_instant(text).date().isoformat()


class DateTimeType(FieldType):
    """An instant, compared in UTC to the second."""

    name = "datetime"
    suggested = "datetime"
    accepted = ("datetime",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "datetime"

    def canonical(self, raw: Any) -> str | None:
        return _parse_instant(raw).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _option_labels(prop: PropertyInfo) -> tuple[str, ...]:
    return tuple(o.label for o in prop.options)


def _label(prop: PropertyInfo | None, value: str) -> str:
    return prop.label_for(value) if prop is not None else value


class LabelType(FieldType):
    """A single-choice HubSpot enumeration, shown in Sell (a list field) by its option label."""

    name = "label"
    suggested = "list"
    accepted = ("list",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "enumeration" and prop.field_type in ("select", "radio")

    def required_choices(self, prop: PropertyInfo) -> tuple[str, ...]:
        return _option_labels(prop)

    def hubspot_canonical(self, raw: Any, prop: PropertyInfo | None) -> str | None:
        return _label(prop, str(raw).strip())

    def sell_canonical(self, raw: Any) -> str | None:
        if isinstance(raw, Mapping):  # list custom fields may read back as {"id", "name"}
            raw = raw.get("name")
        return None if is_empty(raw) else str(raw).strip()

    def to_hubspot(self, canonical: str, prop: PropertyInfo | None) -> str:
        if prop is None:
            return canonical
        return prop.value_for(canonical) or canonical


class MultiType(FieldType):
    """A HubSpot checkbox enumeration <-> a Sell multi_select_list, as sorted labels joined by ;."""

    name = "multi"
    suggested = "multi_select_list"
    accepted = ("multi_select_list",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "enumeration" and prop.field_type == "checkbox"

    def required_choices(self, prop: PropertyInfo) -> tuple[str, ...]:
        return _option_labels(prop)

    def hubspot_canonical(self, raw: Any, prop: PropertyInfo | None) -> str | None:
        parts = [p.strip() for p in str(raw).split(";") if p.strip()]
        return ";".join(sorted(_label(prop, p) for p in parts)) or None

    def sell_canonical(self, raw: Any) -> str | None:
        items = raw if isinstance(raw, list | tuple) else str(raw).split(";")
        names = [
            str(i.get("name") if isinstance(i, Mapping) else i).strip()
            for i in items
            if not is_empty(i)
        ]
        return ";".join(sorted(n for n in names if n)) or None

    def to_sell(self, canonical: str) -> Any:
        return canonical.split(";")

    def to_hubspot(self, canonical: str, prop: PropertyInfo | None) -> str:
        labels = canonical.split(";")
        if prop is None:
            return ";".join(labels)
        return ";".join(prop.value_for(lbl) or lbl for lbl in labels)


#: Every value type by name. A HubSpot property gets the first type (in this order) that
#: ``matches`` it, so the more specific text types come before ``string``.
FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in (
        NumberType(),
        PhoneType(),
        TextType(),
        StringType(),
        LabelType(),
        MultiType(),
        BoolType(),
        DateType(),
        DateTimeType(),
        EmailType(),
    )
}


def field_type(name: str) -> FieldType:
    """The registered type called ``name``."""
    return FIELD_TYPES[name]


def field_type_for(prop: PropertyInfo) -> FieldType | None:
    """The type of a HubSpot property, or None when no Sell custom field type can hold it."""
    return next((t for t in FIELD_TYPES.values() if t.matches(prop)), None)

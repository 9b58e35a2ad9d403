"""HubSpot contact property definitions and the value rules the sandbox enforces on writes.

Definitions have the Properties API shape (``name, label, type, fieldType, options[...],
modificationMetadata{readOnlyValue,...}, hubspotDefined`` ...). Values are checked as HubSpot
does: numbers must parse, enumerations take an option's *value* (checkbox: ``;``-separated, a
leading ``;`` appends), bools are ``true``/``false``, dates are ``YYYY-MM-DD`` or epoch ms at
midnight UTC, datetimes ISO-8601 or epoch ms; ``""`` clears; read-only properties refuse writes.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

# Property types -> allowed field types (Properties API guide).
FIELD_TYPES: dict[str, frozenset[str]] = {
    "string": frozenset(
        {"text", "textarea", "phonenumber", "html", "file", "calculation_equation"}
    ),
    "number": frozenset({"number", "calculation_equation", "calculation_score"}),
    "date": frozenset({"date"}),
    "datetime": frozenset({"date"}),
    "enumeration": frozenset(
        {"select", "radio", "checkbox", "booleancheckbox", "calculation_equation"}
    ),
    "bool": frozenset({"booleancheckbox", "calculation_equation"}),
}

LIFECYCLE_STAGES = (
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)

ANALYTICS_SOURCES = (
    ("ORGANIC_SEARCH", "Organic Search"),
    ("PAID_SEARCH", "Paid Search"),
    ("EMAIL_MARKETING", "Email Marketing"),
    ("SOCIAL_MEDIA", "Social Media"),
    ("REFERRALS", "Referrals"),
    ("OTHER_CAMPAIGNS", "Other Campaigns"),
    ("DIRECT_TRAFFIC", "Direct Traffic"),
    ("OFFLINE", "Offline Sources"),
    ("PAID_SOCIAL", "Paid Social"),
)

LEAD_STATUSES = (
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
)

BOOL_OPTIONS = (("true", "Yes"), ("false", "No"))

DEFINED_AT = "2019-08-06T02:41:52.000Z"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MS = timedelta(milliseconds=1)
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_STRING = 65_536


def make_property(
    name: str,
    label: str,
    type: str,
    field_type: str,
    *,
    group: str = "contactinformation",
    options: Iterable[tuple[str, str]] = (),
    hubspot_defined: bool = False,
    read_only: bool = False,
    calculated: bool = False,
    unique: bool = False,
    description: str = "",
    created_at: str = DEFINED_AT,
) -> dict[str, Any]:
    if field_type not in FIELD_TYPES.get(type, frozenset()):
        raise ValueError(f"fieldType {field_type!r} is not allowed for type {type!r}")
    prop: dict[str, Any] = {
        "updatedAt": created_at,
        "createdAt": created_at,
        "name": name,
        "label": label,
        "type": type,
        "fieldType": field_type,
        "description": description,
        "groupName": group,
        "options": [
            {"label": lab, "value": val, "displayOrder": i, "hidden": False, "description": ""}
            for i, (val, lab) in enumerate(options)
        ],
        "displayOrder": -1,
        "calculated": calculated,
        "externalOptions": False,
        "hasUniqueValue": unique,
        "hidden": False,
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only or calculated,
        },
        "formField": not (read_only or calculated),
        "dataSensitivity": "non_sensitive",
        "archived": False,
    }
    if hubspot_defined:  # custom properties omit the flag altogether
        prop["hubspotDefined"] = True
    return prop


def define_property(
    properties: dict[str, dict[str, Any]],
    now_ms: Callable[[], int],
    name: str,
    label: str,
    type: str,
    field_type: str,
    **kw: Any,
) -> dict[str, Any]:
    """A custom property added to ``properties``, created now; ValueError if the name is taken."""
    if name in properties:
        raise ValueError(f"property {name} exists")
    prop = make_property(name, label, type, field_type, created_at=iso_ms(now_ms()), **kw)
    properties[name] = prop
    return prop


def standard_properties() -> list[dict[str, Any]]:
    """The built-in contact properties the sync reads or writes (and a few it must not)."""

    def std(
        name: str, label: str, type: str = "string", field_type: str = "text", **kw: Any
    ) -> dict[str, Any]:
        return make_property(name, label, type, field_type, hubspot_defined=True, **kw)

    return [
        std("email", "Email"),
        std("firstname", "First Name"),
        std("lastname", "Last Name"),
        std("phone", "Phone Number", field_type="phonenumber"),
        std("mobilephone", "Mobile Phone Number", field_type="phonenumber"),
        std("fax", "Fax Number", field_type="phonenumber"),
        std("jobtitle", "Job Title"),
        std("company", "Company Name"),
        std("website", "Website URL"),
        std("industry", "Industry"),
        std("address", "Street Address"),
        std("city", "City"),
        std("state", "State/Region"),
        std("zip", "Postal Code"),
        std("country", "Country/Region"),
        std(
            "lifecyclestage",
            "Lifecycle Stage",
            "enumeration",
            "radio",
            options=LIFECYCLE_STAGES,
        ),
        std("hs_lead_status", "Lead Status", "enumeration", "radio", options=LEAD_STATUSES),
        # its options are the portal's active owners (sandbox.hubspot_crm keeps them in step)
        std("hubspot_owner_id", "Contact owner", "enumeration", "select", group="sales_properties"),
        std(
            "hs_analytics_source",
            "Original Source",
            "enumeration",
            "select",
            group="analyticsinformation",
            options=ANALYTICS_SOURCES,
            read_only=True,
        ),
        std(
            "hubspotscore",
            "HubSpot Score",
            "number",
            "calculation_score",
            calculated=True,
        ),
        std("createdate", "Create Date", "datetime", "date", read_only=True),
        std("lastmodifieddate", "Last Modified Date", "datetime", "date", read_only=True),
        std("hs_object_id", "Record ID", "number", "number", read_only=True),
        std(
            "hs_additional_emails",
            "Additional email addresses",
            "string",
            "textarea",
            read_only=True,
        ),
        # ``;``-separated ids of the contacts merged into this one (L2)
        std(
            "hs_merged_object_ids", "Merged Contact IDs", "enumeration", "checkbox", read_only=True
        ),
    ]


class PropertyValueError(Exception):
    """One property value HubSpot would refuse; ``code`` is HubSpot's error code."""

    def __init__(self, name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.code = code
        self.message = message


class InvalidValues(Exception):
    """Every refused value of one write (HubSpot's 400 ``VALIDATION_ERROR``)."""

    def __init__(self, errors: list[PropertyValueError]) -> None:
        super().__init__(errors[0].message)
        self.errors = errors


def coerce_each(
    raw: Any, coerce: Callable[[str, Any], str | None]
) -> tuple[dict[str, str | None], list[PropertyValueError]]:
    """A write's ``properties`` object, each value through ``coerce``: the values kept and every
    refusal (a body that is not an object at all is :class:`InvalidValues` at once)."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidValues(
            [PropertyValueError("properties", "INVALID_TYPE", "properties must be an object")]
        )
    out: dict[str, str | None] = {}
    errors: list[PropertyValueError] = []
    for name, value in raw.items():
        try:
            out[name] = coerce(name, value)
        except PropertyValueError as exc:
            errors.append(exc)
    return out, errors


def is_read_only(prop: dict[str, Any]) -> bool:
    meta = prop.get("modificationMetadata") or {}
    return bool(meta.get("readOnlyValue")) or bool(prop.get("calculated"))


def option_values(prop: dict[str, Any]) -> list[str]:
    return [o["value"] for o in prop.get("options") or []]


@functools.lru_cache(maxsize=1 << 18)  # a search compares every contact's dates, every call
def to_epoch_ms(text: str) -> int | None:
    """Epoch milliseconds from an epoch-ms string, an ISO datetime or an ISO date; else None."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)  # dates, offsets and "Z" alike
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - EPOCH) // ONE_MS  # exact: no float rounding


def iso_ms(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _as_text(name: str, raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, str):
        return raw
    raise PropertyValueError(
        name, "INVALID_TYPE", f"{raw!r} is not a valid value for property {name}: expected a string"
    )


def coerce_value(
    prop: dict[str, Any] | None, name: str, raw: Any, current: str | None = None
) -> str | None:
    """The value HubSpot would store for ``raw`` (None clears), or PropertyValueError."""
    if prop is None:
        raise PropertyValueError(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
    if is_read_only(prop):
        raise PropertyValueError(
            name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value cannot be set.'
        )
    text = _as_text(name, raw)
    if text is None or text == "":
        return None
    kind = prop["type"]
    if kind == "number":
        try:
            number = float(text.strip())
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise PropertyValueError(
                name, "INVALID_DECIMAL", f"{text} was not a valid number for property {name}"
            )
        return text.strip()
    if kind == "bool":
        if text.strip().lower() not in ("true", "false"):
            raise PropertyValueError(
                name, "INVALID_BOOLEAN", f"{text} was not a valid boolean for property {name}"
            )
        return text.strip().lower()
    if kind == "enumeration":
        allowed = option_values(prop)
        if prop["fieldType"] == "checkbox":
            append = text.startswith(";")
            chosen = [part for part in text.split(";") if part != ""]
            for part in chosen:
                if part not in allowed:
                    raise _bad_option(name, part, allowed)
            if append and current:
                chosen = [*current.split(";"), *[c for c in chosen if c not in current.split(";")]]
            return ";".join(chosen) if chosen else None
        if text not in allowed:
            raise _bad_option(name, text, allowed)
        return text
    if kind == "date":
        return _date_value(name, text)
    if kind == "datetime":
        ms = to_epoch_ms(text)
        if ms is None:
            raise PropertyValueError(
                name, "INVALID_DATE", f"{text} is not a valid datetime for property {name}"
            )
        return iso_ms(ms)
    if len(text) > MAX_STRING:
        raise PropertyValueError(
            name, "INVALID_STRING_LENGTH", f"{name} is longer than {MAX_STRING} characters"
        )
    if name == "email" and not EMAIL_RE.match(text.strip()):
        raise PropertyValueError(name, "INVALID_EMAIL", f"Email address {text} is invalid")
    return text.strip() if name == "email" else text


def _bad_option(name: str, value: str, allowed: Sequence[str]) -> PropertyValueError:
    return PropertyValueError(
        name,
        "INVALID_OPTION",
        f"{value} was not one of the allowed options: {', '.join(allowed)}",
    )


def _date_value(name: str, text: str) -> str:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    elif re.fullmatch(r"-?\d+", text):
        moment = datetime.fromtimestamp(int(text) / 1000, UTC)
        if moment.time() != datetime.min.time():
            raise PropertyValueError(
                name,
                "INVALID_DATE",
                f"{text} is at {moment:%H:%M} UTC, not midnight! (property {name})",
            )
        return moment.date().isoformat()
    raise PropertyValueError(
        name, "INVALID_DATE", f"{text} is not a valid date for property {name}"
    )

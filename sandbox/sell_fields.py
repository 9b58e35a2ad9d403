"""Sell's record fields, value rules and list filters, as data and small pure functions.

Used by :mod:`sandbox.sell_store` and :mod:`sandbox.sell`: which attributes a lead or contact
has and of what kind, how custom field values are checked by the field's type (and stored:
numbers read back as strings), and how the documented query filters match records. Errors are :class:`SellErrors` holding Sell's error
objects (``code``, ``message``, ``details`` and, for resource errors, ``resource``/``field``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

USER_ID = 9001
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ADDRESS_KEYS = ("line1", "city", "postal_code", "state", "country")
CUSTOM_FIELD_TYPES = frozenset(
    {
        "address",
        "bool",
        "date",
        "datetime",
        "email",
        "list",
        "multi_select_list",
        "number",
        "phone",
        "string",
        "text",
        "url",
    }
)
READ_ONLY = frozenset({"id", "creator_id", "created_at", "updated_at"})
KINDS = ("lead", "contact")

TEXT_FIELDS = (
    *("first_name", "last_name", "title", "description", "industry", "website", "email"),
    *("phone", "mobile", "fax", "twitter", "facebook", "linkedin", "skype"),
)
# field -> kind of value: str | int | bool | address | tags | custom
FIELDS: dict[str, dict[str, str]] = {
    "lead": {
        **dict.fromkeys(TEXT_FIELDS, "str"),
        "organization_name": "str",
        "status": "str",
        "owner_id": "int",
        "source_id": "int",
        "unqualified_reason_id": "int",
        "address": "address",
        "tags": "tags",
        "custom_fields": "custom",
    },
    "contact": {
        **dict.fromkeys(TEXT_FIELDS, "str"),
        "name": "str",
        "customer_status": "str",
        "prospect_status": "str",
        "is_organization": "bool",
        "owner_id": "int",
        "contact_id": "int",
        "parent_organization_id": "int",
        "address": "address",
        "billing_address": "address",
        "shipping_address": "address",
        "tags": "tags",
        "custom_fields": "custom",
    },
}
STATUS_VALUES = {
    "customer_status": ("none", "current", "past"),
    "prospect_status": ("none", "current", "lost"),
}
SORTABLE = {
    "lead": (
        "id",
        "first_name",
        "last_name",
        "organization_name",
        "email",
        "created_at",
        "updated_at",
    ),
    "contact": ("id", "name", "first_name", "last_name", "email", "created_at", "updated_at"),
}
DEFAULT_SORT = {"lead": "updated_at:asc", "contact": "last_name:asc"}
STRING_FILTERS = {
    "lead": ("first_name", "last_name", "organization_name", "status", "email", "phone", "mobile"),
    "contact": (
        "name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "customer_status",
        "prospect_status",
    ),
}
INT_FILTERS = {
    "lead": ("creator_id", "owner_id", "source_id"),
    "contact": ("creator_id", "owner_id", "contact_id", "parent_organization_id"),
}
ADDRESS_FILTERS = ("address[city]", "address[postal_code]", "address[country]", "address[state]")
# a query parameter's value -> a predicate over records (raises SellErrors for a bad value)
Filter = Callable[[str], Callable[[dict[str, Any]], bool]]


def iso_seconds(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def empty_address() -> dict[str, Any]:
    return dict.fromkeys(ADDRESS_KEYS)


def record_template(kind: str) -> dict[str, Any]:
    record: dict[str, Any] = {"id": None, "creator_id": USER_ID, "owner_id": USER_ID}
    for name, value_kind in FIELDS[kind].items():
        if value_kind == "address":
            record[name] = empty_address() if name == "address" else None
        elif value_kind == "tags":
            record[name] = []
        elif value_kind == "custom":
            record[name] = {}
        else:
            record.setdefault(name, None)
    if kind == "lead":
        record["status"] = "New"
    else:
        record.update(is_organization=False, customer_status="none", prospect_status="none")
    record["created_at"] = record["updated_at"] = None
    return record


class SellErrors(Exception):
    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("details") if errors else "")
        self.status = status
        self.errors = errors


def resource_error(resource: str, code: str, pointer: str, details: str) -> dict[str, Any]:
    messages = {
        "blank": "can't be blank",
        "unknown": "is unknown",
        "invalid_type": "has an invalid type",
        "incorrect_value": "is incorrect",
        "already_exists": "has already been taken",
        "missing": "is missing",
    }
    return {
        "code": code,
        "message": messages.get(code, "is invalid"),
        "details": details,
        "resource": resource,
        "field": pointer,
    }


def request_error(code: str, details: str, message: str | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "message": message or code.replace("_", " ").capitalize(),
        "details": details,
    }


def bad_param(name: str, expected: str) -> SellErrors:
    return SellErrors(
        400,
        [
            request_error(
                "invalid_param", f"The request query parameter '{name}' must be {expected}."
            )
        ],
    )


def ids_filter(wanted: str) -> Callable[[dict[str, Any]], bool]:
    try:
        ids = {int(part) for part in wanted.split(",") if part.strip()}
    except ValueError:
        raise bad_param("ids", "comma-separated integers") from None
    return lambda item: item["id"] in ids


def string_filter(name: str) -> Filter:
    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        folded = wanted.strip().casefold()

        def check(item: dict[str, Any]) -> bool:
            value = item.get(name)
            return isinstance(value, str) and value.strip().casefold() == folded

        return check

    return compile_


def exact_filter(name: str) -> Filter:
    return lambda wanted: lambda item: item.get(name) == wanted


def int_filter(name: str) -> Filter:
    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        try:
            number = int(wanted)
        except ValueError:
            raise bad_param(name, "an integer") from None
        return lambda item: item.get(name) == number

    return compile_


def bool_filter(name: str) -> Filter:
    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        folded = wanted.lower()  # basecrm sends a Python bool as "True"/"False"
        if folded not in ("true", "false"):
            raise bad_param(name, "true or false")
        return lambda item: bool(item.get(name)) == (folded == "true")

    return compile_


def address_filter(part: str) -> Filter:
    def compile_(wanted: str) -> Callable[[dict[str, Any]], bool]:
        folded = wanted.strip().casefold()

        def check(item: dict[str, Any]) -> bool:
            value = (item.get("address") or {}).get(part)
            return isinstance(value, str) and value.strip().casefold() == folded

        return check

    return compile_


def custom_matches(item: dict[str, Any], name: str, wanted: str) -> bool:
    value = (item.get("custom_fields") or {}).get(name)
    if isinstance(value, list):
        return wanted in value
    return value is not None and str(value).casefold() == wanted.casefold()


def choice_names(definition: dict[str, Any]) -> list[str]:
    return [c["name"] for c in definition.get("choices") or []]


def custom_problem(definition: dict[str, Any], value: Any) -> tuple[str, str] | None:
    kind, name = definition["type"], definition["name"]
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            return "invalid_type", f"{name} must be a number"
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return "invalid_type", f"{value!r} is not a number ({name})"
        if not number.is_finite():
            return "invalid_type", f"{value!r} is not a number ({name})"
        return None
    if kind == "bool":
        return (
            None if isinstance(value, bool) else ("invalid_type", f"{name} must be true or false")
        )
    if kind == "list":
        if not isinstance(value, str):
            return "invalid_type", f"{name} must be one choice's name"
        if value not in choice_names(definition):
            return (
                "incorrect_value",
                f"{value!r} is not a choice of {name}: {', '.join(choice_names(definition))}",
            )
        return None
    if kind == "multi_select_list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return "invalid_type", f"{name} must be a list of choice names"
        wrong = [v for v in value if v not in choice_names(definition)]
        if wrong:
            return "incorrect_value", f"{wrong[0]!r} is not a choice of {name}"
        return None
    if kind == "address":
        if not isinstance(value, dict) or any(k not in ADDRESS_KEYS for k in value):
            return "invalid_type", f"{name} must be an address object"
        return None
    if not isinstance(value, str):
        return "invalid_type", f"{name} must be a string"
    if kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "incorrect_value", f"{value!r} is not a date (YYYY-MM-DD) ({name})"
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "incorrect_value", f"{value!r} is not a date (YYYY-MM-DD) ({name})"
        return None
    if kind == "datetime":
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return "incorrect_value", f"{value!r} is not an ISO-8601 datetime ({name})"
        return None
    if kind == "email" and value.strip() and not EMAIL_RE.match(value.strip()):
        return "incorrect_value", f"{value!r} is not a valid email address ({name})"
    return None


def stored_custom(definition: dict[str, Any] | None, value: Any) -> Any:
    """Numbers read back as strings; everything else as written."""
    if definition is not None and definition["type"] == "number" and not isinstance(value, bool):
        return str(value).strip() if isinstance(value, str) else str(value)
    if isinstance(value, list):
        return list(value)
    return value

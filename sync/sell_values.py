"""How a Sell lead, contact or organization's fields read as flat values: the plain fields by
name, the address as ``address.line1`` … and the custom fields as ``custom_fields.<name>``.

Shared by the sync's Sell client and the move out of Sell, which read the same wire records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sync.domain import CUSTOM_PREFIX

ADDRESS_PREFIX = "address."
ADDRESS_KEYS = ("line1", "city", "state", "postal_code", "country")
#: The fields a lead and a contact person both hold.
PERSON_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "fax",
    "title",
    "website",
    "industry",
)


def flat_values(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The ``keys`` present in Sell's ``data``, then each address part (None where absent) and
    each custom field, under their flat names."""
    values: dict[str, Any] = {k: data.get(k) for k in keys if k in data}
    address = data.get("address")
    if isinstance(address, Mapping):
        for sub in ADDRESS_KEYS:
            values[ADDRESS_PREFIX + sub] = address.get(sub)
    custom = data.get("custom_fields")
    if isinstance(custom, Mapping):
        for name, value in custom.items():
            values[CUSTOM_PREFIX + str(name)] = value
    return values

"""Field value types are one class each, registered by name: a new type needs nothing else."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sync.domain import FieldSnapshot, HubSpotContact, PropertyInfo, SellCustomField
from sync.errors import UnusableValue
from sync.field_types import FIELD_TYPES, FieldType
from sync.mapping import (
    check_custom_mapping,
    field_table,
    hubspot_canonical,
    sell_canonical,
    sell_type_for,
    to_hubspot_value,
    to_sell_value,
)
from sync.merge import FieldMove, initial_sell_values, merge_record


class E164Type(FieldType):
    """A test-only type: HubSpot's ``phone_number`` property, compared as + and digits."""

    name = "e164"
    suggested = "phone"
    accepted = ("phone",)

    def matches(self, prop: PropertyInfo) -> bool:
        return prop.type == "phone_number"

    def canonical(self, raw: Any) -> str | None:
        digits = re.sub(r"[^\d]", "", str(raw))
        if not digits:
            raise UnusableValue(f"not a phone number: {raw!r}")
        return "+" + digits


PROP = PropertyInfo("direct_line", "Direct line", "phone_number", "phonenumber")
PROPS = {"direct_line": PROP}
SELL_FIELDS: dict[Any, list[SellCustomField]] = {
    "lead": [SellCustomField("Direct line", "phone")],
    "contact": [SellCustomField("Direct line", "phone")],
}


def test_a_new_field_type_is_one_class_and_its_registration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unknown = check_custom_mapping("direct_line", "Direct line", PROPS, SELL_FIELDS)
    assert unknown.status == "refused" and sell_type_for(PROP) is None

    e164 = E164Type()
    monkeypatch.setitem(FIELD_TYPES, e164.name, e164)  # the registration

    assert sell_type_for(PROP) is e164
    missing = check_custom_mapping("direct_line", "Direct phone", PROPS, SELL_FIELDS)
    assert missing.status == "missing" and "of type phone." in missing.message
    check = check_custom_mapping("direct_line", "Direct line", PROPS, SELL_FIELDS)
    assert check.ok and check.mapping is not None
    mapping = check.mapping
    assert mapping.value_type == "e164" and mapping.field_type is e164

    # The conversions go through the class.
    assert sell_canonical(mapping, "+1 (555) 010-0") == "+15550100"
    assert hubspot_canonical(mapping, "+15550100", PROP) == "+15550100"
    assert hubspot_canonical(mapping, " ", PROP) is None
    assert to_sell_value(mapping, "+15550100") == "+15550100"
    assert to_hubspot_value(mapping, None, PROP) == ""
    with pytest.raises(ValueError):
        sell_canonical(mapping, "n/a")

    # And so do the merge decisions over a whole field table.
    table = field_table(score_property="hubspotscore", custom=[mapping])
    contact = HubSpotContact("1", {"email": "ann@x.com", "direct_line": "+15550100"})
    same = merge_record(
        table, {"email": "ann@x.com", mapping.sell: "+1 555 0100"}, contact, None, PROPS
    )
    decision = next(d for d in same.decisions if d.mapping.key == mapping.key)
    assert decision.action is FieldMove.NONE
    assert mapping.sell not in same.sell_writes and mapping.hubspot not in same.hubspot_writes

    snapshot = {mapping.key: FieldSnapshot("+15550100", "+15550100")}
    changed = merge_record(
        table, {"email": "ann@x.com", mapping.sell: "+1 555 0199"}, contact, snapshot, PROPS
    )
    assert changed.hubspot_writes[mapping.hubspot] == "+15550199"

    values, first = initial_sell_values(table, contact, PROPS)
    assert values[mapping.sell] == "+15550100"
    assert first[mapping.key] == FieldSnapshot("+15550100", "+15550100")

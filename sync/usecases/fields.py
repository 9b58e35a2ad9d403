"""The field table (S10–S13) as rows, and mapping a HubSpot property to a Sell custom field."""

from __future__ import annotations

from dataclasses import dataclass

from sync.domain import RECORD_KINDS
from sync.mapping import (
    STANDARD_FIELDS,
    Direction,
    MappingCheck,
    check_custom_mapping,
    hubspot_owned_fields,
)
from sync.ports import CustomMapping, HubSpotPort, SellPort, SyncSettingsStore
from sync.usecases.common import Actor, Audit, InForce, Refused


@dataclass(frozen=True)
class FieldRow:
    hubspot: str
    sell: str
    direction: Direction
    kinds: tuple[str, ...]
    status: str = "ok"  # a custom mapping's MappingCheck status
    note: str = ""

    @property
    def custom(self) -> bool:
        """A custom mapping (S13), as opposed to the standard table."""
        return self.sell.startswith("custom_fields.") and self.direction == Direction.BOTH


def field_label(key: str) -> str:
    """A field as people name it (``City``, not ``address.city``; a custom field by its name)."""
    for m in (*STANDARD_FIELDS, *hubspot_owned_fields()):
        if m.key == key and m.label:
            return m.label
    return key.removeprefix("custom_fields.").removeprefix("custom:")


class Fields:
    def __init__(
        self,
        hubspot: HubSpotPort,
        sell: SellPort,
        settings_store: SyncSettingsStore,
        settings: InForce,
        audit: Audit,
        *,
        score_property: str,
    ) -> None:
        self.hubspot = hubspot
        self.sell = sell
        self.settings_store = settings_store
        self.settings = settings
        self.audit = audit
        self.score_property = score_property

    def rows(self) -> list[FieldRow]:
        rows = [FieldRow(m.hubspot, m.sell, Direction.BOTH, m.kinds) for m in STANDARD_FIELDS]
        rows += [
            FieldRow(m.hubspot, m.sell, Direction.TO_SELL, m.kinds)
            for m in hubspot_owned_fields(self.score_property)
        ]
        settings = self.settings()
        if settings.custom_mappings:
            props = self.hubspot.properties()
            sell_fields = {k: self.sell.custom_fields(k) for k in RECORD_KINDS}
            for cm in settings.custom_mappings:
                check = check_custom_mapping(cm.hubspot_property, cm.sell_field, props, sell_fields)
                rows.append(
                    FieldRow(
                        cm.hubspot_property,
                        f"custom_fields.{cm.sell_field}",
                        Direction.BOTH,
                        check.mapping.kinds if check.mapping else RECORD_KINDS,
                        check.status,
                        check.message,
                    )
                )
        return rows

    def map_field(self, hubspot_property: str, sell_field: str, *, actor: Actor) -> MappingCheck:
        """S13: map a HubSpot custom property to a Sell custom field (managers)."""
        if not actor.is_manager:
            raise Refused("only managers can map fields")
        prop_name, field_name = hubspot_property.strip(), sell_field.strip()
        if not prop_name or not field_name:
            raise Refused('usage: fields map PROPERTY "Sell field"')
        if any(m.hubspot == prop_name for m in (*STANDARD_FIELDS, *hubspot_owned_fields())):
            raise Refused(f"{prop_name} is a standard field and is already synced")
        props = self.hubspot.properties()
        sell_fields = {k: self.sell.custom_fields(k) for k in RECORD_KINDS}
        check = check_custom_mapping(prop_name, field_name, props, sell_fields)
        if check.status == "refused":
            return check
        settings = self.settings()
        kept = tuple(m for m in settings.custom_mappings if m.hubspot_property != prop_name)
        self.settings_store.update_settings(
            custom_mappings=(*kept, CustomMapping(prop_name, field_name))
        )
        self.audit(
            "field_mapped", prop_name, actor, {"sell_field": field_name, "status": check.status}
        )
        return check

"""What every stage of a run reads once, on first use: settings, HubSpot's properties, the
synced list and the field tables.

Lazy because a run that has nothing to do should not pay for them (the API economy figures in
bench/api_economy.py count every call). The field tables are checked against Sell's custom
fields here, once; a mapping that cannot be synced becomes a warning in the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from sync.domain import RECORD_KINDS, HubSpotList, PropertyInfo, RecordKind, SellCustomField
from sync.mapping import (
    FieldMapping,
    check_custom_mapping,
    field_table,
    fields_for,
    hubspot_properties_to_read,
)
from sync.planner import Planner
from sync.ports import HubSpotPort, SellPort, SyncSettings
from sync.settings_registry import sell_mode


class RunContext:
    def __init__(
        self,
        hubspot: HubSpotPort,
        sell: SellPort,
        settings: SyncSettings,
        *,
        score_property: str,
        warn: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.hubspot = hubspot
        self.sell = sell
        self.settings = settings
        self.score_property = score_property
        self.warn = warn
        self._props: dict[str, PropertyInfo] | None = None
        self._tables: dict[RecordKind, list[FieldMapping]] | None = None
        self._hs_list: HubSpotList | None = None

    @property
    def props(self) -> dict[str, PropertyInfo]:
        if self._props is None:
            self._props = self.hubspot.properties()
        return self._props

    @property
    def lazy_props(self) -> Mapping[str, PropertyInfo]:
        """The properties, read from HubSpot only when a decision first looks one up."""
        return _LazyProperties(self)

    @property
    def hs_list(self) -> HubSpotList:
        if self._hs_list is None:
            self._hs_list = self.hubspot.get_list(self.settings.list_id)
        return self._hs_list

    @property
    def tables(self) -> dict[RecordKind, list[FieldMapping]]:
        if self._tables is None:
            self._tables = self._build_tables()
        return self._tables

    def table(self, kind: RecordKind) -> list[FieldMapping]:
        return self.tables[kind]

    def hubspot_props(self) -> list[str]:
        table = [*self.table("lead"), *self.table("contact")]
        return sorted({*hubspot_properties_to_read(table), self.score_property})

    def contact_url(self, contact_id: str) -> str | None:
        return self.hubspot.contact_url(contact_id)

    def planner(self, *, import_as: RecordKind) -> Planner:
        """The planner over this context's tables and properties (read when first needed).

        A run, a push and an explanation of one record all decide with this, so what
        ``--dry-run`` prints and what ``status ITEM`` says are what a run does."""
        return Planner(
            tables=_LazyTables(self),
            props=self.lazy_props,
            threshold=self.settings.threshold,
            score_property=self.score_property,
            import_as=import_as,
            contact_url=self.contact_url,
            sell_mode=sell_mode(self.settings),
        )

    def _build_tables(self) -> dict[RecordKind, list[FieldMapping]]:
        sell_fields: dict[RecordKind, list[SellCustomField]] = {
            k: self.sell.custom_fields(k) for k in RECORD_KINDS
        }
        custom: list[FieldMapping] = []
        for cm in self.settings.custom_mappings:
            check = check_custom_mapping(
                cm.hubspot_property, cm.sell_field, self.props, sell_fields
            )
            if check.mapping is not None:
                custom.append(check.mapping)
            else:
                self.warn(f"custom field {cm.hubspot_property}: {check.message}")
        table = field_table(score_property=self.score_property, custom=custom)
        tables: dict[RecordKind, list[FieldMapping]] = {}
        for kind in RECORD_KINDS:
            names = {f.name.strip().lower() for f in sell_fields[kind]}
            usable = []
            for m in fields_for(kind, table):
                cf = m.sell_custom_field
                if cf is not None and cf.strip().lower() not in names:
                    self.warn(
                        f'Sell {kind}s have no custom field "{cf}": {m.label} is not synced '
                        f"until it is created in Sell"
                    )
                    continue
                usable.append(m)
            tables[kind] = usable
        return tables


class _LazyProperties(Mapping[str, PropertyInfo]):
    def __init__(self, context: RunContext) -> None:
        self.context = context

    def __getitem__(self, name: str) -> PropertyInfo:
        return self.context.props[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.context.props)

    def __len__(self) -> int:
        return len(self.context.props)


class _LazyTables(Mapping[RecordKind, list[FieldMapping]]):
    def __init__(self, context: RunContext) -> None:
        self.context = context

    def __getitem__(self, kind: RecordKind) -> list[FieldMapping]:
        return self.context.table(kind)

    def __iter__(self) -> Iterator[RecordKind]:
        return iter(self.context.tables)

    def __len__(self) -> int:
        return len(self.context.tables)

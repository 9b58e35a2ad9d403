"""Companies and notes in the HubSpot stand-in's portal: one :class:`CrmObjects` per object type.

Each type has its own property definitions (HubSpot's built-in ones a move out of Sell writes,
plus custom ones, ``hasUniqueValue`` included), its records and the index of unique values:
a create or update that would give a second live record a unique property's value is refused
with HubSpot's ``CONFLICT`` ("Company already exists. Existing ID: …"). Values obey the rules
of :mod:`sandbox.hubspot_properties`; ``hubspot_owner_id`` takes the id of an owner of the
portal (``INVALID_OWNER_ID`` otherwise) and notes need ``hs_timestamp``.

The routes are in :mod:`sandbox.hubspot_objects_api`; owners and associations, which tie these
records to contacts, in :mod:`sandbox.hubspot_crm`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sandbox.hubspot_properties import (
    LIFECYCLE_STAGES,
    InvalidValues,
    PropertyValueError,
    coerce_each,
    coerce_value,
    define_property,
    iso_ms,
    make_property,
)
from sandbox.hubspot_records import StoredContact as StoredObject
from sandbox.hubspot_records import merged_values, record_body, write_values

MAX_UNIQUE_PROPERTIES = 10  # per object type

INDUSTRIES = (
    ("ACCOUNTING", "Accounting"),
    ("AIRLINES_AVIATION", "Airlines/Aviation"),
    ("BIOTECHNOLOGY", "Biotechnology"),
    ("BROADCAST_MEDIA", "Broadcast Media"),
    ("COMPUTER_SOFTWARE", "Computer Software"),
    ("CONSTRUCTION", "Construction"),
    ("EDUCATION_MANAGEMENT", "Education Management"),
    ("FINANCIAL_SERVICES", "Financial Services"),
    ("FOOD_BEVERAGES", "Food & Beverages"),
    ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    ("HOSPITALITY", "Hospitality"),
    ("INFORMATION_TECHNOLOGY_AND_SERVICES", "Information Technology and Services"),
    ("INSURANCE", "Insurance"),
    ("LAW_PRACTICE", "Law Practice"),
    ("LOGISTICS_AND_SUPPLY_CHAIN", "Logistics and Supply Chain"),
    ("MARITIME", "Maritime"),
    ("MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "Mechanical or Industrial Engineering"),
    ("REAL_ESTATE", "Real Estate"),
    ("RETAIL", "Retail"),
    ("TELECOMMUNICATIONS", "Telecommunications"),
    ("UTILITIES", "Utilities"),
)
COMPANY_TYPES = (
    ("PROSPECT", "Prospect"),
    ("PARTNER", "Partner"),
    ("RESELLER", "Reseller"),
    ("VENDOR", "Vendor"),
    ("OTHER", "Other"),
)


@dataclass(frozen=True)
class ObjectType:
    """How HubSpot names and serves one object type."""

    name: str  # the plural in paths: "companies"
    singular: str  # "company", as association type names spell it
    type_id: str  # "0-2"
    label: str  # "Company", as error messages spell it
    first_id: int
    created_property: str
    modified_property: str
    default_properties: tuple[str, ...]
    query_properties: tuple[str, ...]  # what a search ``query`` looks at
    required_on_create: tuple[str, ...] = ()

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, self.type_id, self.singular)


COMPANIES = ObjectType(
    name="companies",
    singular="company",
    type_id="0-2",
    label="Company",
    first_id=31_000_000_001,
    created_property="createdate",
    modified_property="hs_lastmodifieddate",
    default_properties=("createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"),
    query_properties=("name", "domain", "website", "phone"),
)
NOTES = ObjectType(
    name="notes",
    singular="note",
    type_id="0-46",
    label="Note",
    first_id=71_000_000_001,
    created_property="hs_createdate",
    modified_property="hs_lastmodifieddate",
    default_properties=("hs_createdate", "hs_lastmodifieddate", "hs_object_id"),
    query_properties=("hs_note_body",),
    required_on_create=("hs_timestamp",),
)
OBJECT_TYPES = (COMPANIES, NOTES)


def owner_property(owner_options: Iterable[tuple[str, str]]) -> dict[str, Any]:
    prop = make_property(
        "hubspot_owner_id",
        "Owner",
        "enumeration",
        "select",
        group="sales_properties",
        options=owner_options,
        hubspot_defined=True,
    )
    prop["externalOptions"] = True
    prop["referencedObjectType"] = "OWNER"
    return prop


def standard_object_properties(otype: ObjectType) -> list[dict[str, Any]]:
    def std(
        name: str, label: str, type: str = "string", field_type: str = "text", **kw: Any
    ) -> dict[str, Any]:
        group = "companyinformation" if otype is COMPANIES else "engagement"
        return make_property(name, label, type, field_type, group=group, hubspot_defined=True, **kw)

    read_only = [
        std(otype.created_property, "Create Date", "datetime", "date", read_only=True),
        std(otype.modified_property, "Last Modified Date", "datetime", "date", read_only=True),
        std("hs_object_id", "Record ID", "number", "number", read_only=True),
    ]
    if otype is NOTES:
        return [
            *read_only,
            std("hs_timestamp", "Activity date", "datetime", "date"),
            std("hs_note_body", "Note body", "string", "html"),
            std("hs_attachment_ids", "Attached file IDs", "enumeration", "checkbox"),
        ]
    return [
        *read_only,
        std("name", "Company name"),
        std("domain", "Company Domain Name"),
        std("website", "Website URL"),
        std("phone", "Phone Number", field_type="phonenumber"),
        std("address", "Street Address"),
        std("address2", "Street Address 2"),
        std("city", "City"),
        std("state", "State/Region"),
        std("zip", "Postal Code"),
        std("country", "Country/Region"),
        std("description", "Description", field_type="textarea"),
        std("linkedin_company_page", "LinkedIn Company Page"),
        std("industry", "Industry", "enumeration", "select", options=INDUSTRIES),
        std("type", "Type", "enumeration", "select", options=COMPANY_TYPES),
        std("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", options=LIFECYCLE_STAGES),
        std("numberofemployees", "Number of Employees", "number", "number"),
        std("annualrevenue", "Annual Revenue", "number", "number"),
        std("num_associated_contacts", "Number of Associated Contacts", "number", "number",
            calculated=True),
    ]  # fmt: skip


class Conflict(Exception):
    """A unique value another live record holds (HubSpot's 409 ``CONFLICT``)."""

    def __init__(self, label: str, existing_id: str) -> None:
        self.message = f"{label} already exists. Existing ID: {existing_id}"
        super().__init__(self.message)
        self.existing_id = existing_id


class CrmObjects:
    """One object type's property definitions, records and unique values."""

    def __init__(
        self,
        otype: ObjectType,
        lock: threading.RLock,
        now_ms: Callable[[], int],
        record_url: Callable[[str, str], str],
        owner_options: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.otype = otype
        self.lock = lock
        self.now_ms = now_ms
        self.record_url = record_url
        self.properties: dict[str, dict[str, Any]] = {
            p["name"]: p for p in standard_object_properties(otype)
        }
        self.properties["hubspot_owner_id"] = owner_property(owner_options)
        self.by_id: dict[str, StoredObject] = {}
        self._unique_owner: dict[tuple[str, str], str] = {}
        self._next_id = otype.first_id
        #: extra read-only values worked out when a record is rendered (associated counts)
        self.computed: Callable[[StoredObject], dict[str, str]] = lambda _: {}

    # ------------------------------------------------------------------ definitions

    def add_property(
        self,
        name: str,
        label: str,
        type: str = "string",
        field_type: str = "text",
        options: Iterable[tuple[str, str]] = (),
        *,
        group: str | None = None,
        unique: bool = False,
        description: str = "",
    ) -> dict[str, Any]:
        with self.lock:
            full = unique and self.unique_count() >= MAX_UNIQUE_PROPERTIES
            if full and name not in self.properties:  # a taken name is refused first
                raise ValueError(
                    f"{self.otype.name} already have {MAX_UNIQUE_PROPERTIES} unique properties"
                )
            return define_property(
                self.properties,
                self.now_ms,
                name,
                label,
                type,
                field_type,
                group=group or ("companyinformation" if self.otype is COMPANIES else "engagement"),
                options=options,
                unique=unique,
                description=description,
            )

    def unique_count(self) -> int:
        return sum(
            1
            for p in self.properties.values()
            if p.get("hasUniqueValue") and not p.get("hubspotDefined")
        )

    def set_owner_options(self, options: Sequence[tuple[str, str]]) -> None:
        self.properties["hubspot_owner_id"]["options"] = owner_property(options)["options"]

    def is_unique(self, name: str) -> bool:
        return name == "hs_object_id" or bool(self.properties.get(name, {}).get("hasUniqueValue"))

    # ------------------------------------------------------------------ values

    def validated(self, raw: Any, current: StoredObject | None) -> dict[str, str | None]:
        """The values HubSpot would store, or :class:`InvalidValues` listing every refusal."""

        def coerce(name: str, value: Any) -> str | None:
            prop = self.properties.get(name)
            if name == "hubspot_owner_id" and prop is not None:
                return self._owner_value(value)
            existing = current.values.get(name) if current else None
            return coerce_value(prop, name, value, existing)

        out, errors = coerce_each(raw, coerce)
        if current is None:
            for name in self.otype.required_on_create:
                if out.get(name) is None and not any(e.name == name for e in errors):
                    errors.append(
                        PropertyValueError(
                            name,
                            "REQUIRED_PROPERTY",
                            f"{name} is required to create a {self.otype.label.lower()}",
                        )
                    )
        if errors:
            raise InvalidValues(errors)
        return out

    def _owner_value(self, raw: Any) -> str | None:
        if raw is None or raw == "":
            return None
        text = str(raw).strip()
        options = {o["value"] for o in self.properties["hubspot_owner_id"]["options"]}
        if text not in options:
            raise PropertyValueError(
                "hubspot_owner_id", "INVALID_OWNER_ID", f"{text} is not a valid owner id"
            )
        return text

    def merged(self, record: StoredObject | None, changes: dict[str, str | None]) -> dict[str, str]:
        return merged_values(record, changes)

    def unique_keys(self, values: dict[str, str]) -> set[tuple[str, str]]:
        return {
            (name, values[name])
            for name, prop in self.properties.items()
            if prop.get("hasUniqueValue") and values.get(name)
        }

    def find_conflict(self, values: dict[str, str], own_id: str | None) -> Conflict | None:
        for key in sorted(self.unique_keys(values)):
            holder = self._unique_owner.get(key)
            if holder is not None and holder != own_id:
                return Conflict(self.otype.label, holder)
        return None

    def _reindex(self, record: StoredObject) -> None:
        for key in [k for k, v in self._unique_owner.items() if v == record.id]:
            del self._unique_owner[key]
        if not record.archived:
            for key in self.unique_keys(record.values):
                self._unique_owner.setdefault(key, record.id)

    # ------------------------------------------------------------------ writes

    def _stamp(self, record: StoredObject) -> None:
        record.values["hs_object_id"] = record.id
        record.values[self.otype.created_property] = iso_ms(record.created_ms)
        record.values[self.otype.modified_property] = iso_ms(record.updated_ms)

    def create(
        self,
        changes: dict[str, str | None],
        *,
        created_ms: int | None = None,
        updated_ms: int | None = None,
    ) -> StoredObject:
        with self.lock:
            now = self.now_ms()
            created = created_ms if created_ms is not None else now
            record = StoredObject(
                str(self._next_id),
                {k: v for k, v in changes.items() if v is not None},
                created,
                updated_ms if updated_ms is not None else created,
            )
            self._next_id += 1
            self._stamp(record)
            self.by_id[record.id] = record
            self._reindex(record)
            return record

    def apply(self, record: StoredObject, changes: dict[str, str | None]) -> None:
        with self.lock:
            write_values(record.values, changes)
            record.updated_ms = self.now_ms()
            self._stamp(record)
            self._reindex(record)

    def archive(self, record_id: str) -> None:
        with self.lock:
            record = self.by_id.get(str(record_id))
            if record is None or record.archived:
                return
            record.archived, record.archived_ms = True, self.now_ms()
            self._reindex(record)

    # ------------------------------------------------------------------ reads

    def lookup(
        self, id_value: str, id_property: str | None, *, archived: bool = False
    ) -> StoredObject | None:
        if id_property in (None, "", "hs_object_id"):
            record = self.by_id.get(str(id_value).strip())
        else:
            holder = self._unique_owner.get((id_property, str(id_value)))
            record = self.by_id.get(holder) if holder else None
        if record is None or record.archived != archived:
            return None
        return record

    def live(self) -> list[StoredObject]:
        return sorted((r for r in self.by_id.values() if not r.archived), key=lambda r: int(r.id))

    def roster(self, archived: bool) -> list[int]:
        return sorted(int(r.id) for r in self.by_id.values() if r.archived == archived)

    def render(
        self, record: StoredObject, wanted: Sequence[str] | None, *, all_values: bool = False
    ) -> dict[str, Any]:
        return record_body(
            record,
            {**record.values, **self.computed(record)},
            wanted,
            all_values=all_values,
            defaults=self.otype.default_properties,
            known=self.properties,
            always=("hs_object_id", self.otype.created_property, self.otype.modified_property),
            url=self.record_url(self.otype.type_id, record.id),
        )

    def snapshot(self, record_id: str) -> dict[str, Any] | None:
        """A record with every stored value (tests), or None."""
        with self.lock:
            record = self.by_id.get(str(record_id))
            return copy.deepcopy(self.render(record, None, all_values=True)) if record else None

"""In-memory stand-ins for the migration's two roles (:mod:`sync.migration.ports`): HubSpot as
leaving Sell writes it and Sell as leaving it reads it. They behave as the real clients over the
sandbox do for what the migration uses (the contract suite in
``tests/contract/test_m_migration_ports.py`` runs the same tests over both)."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync.clients.errors import existing_id
from sync.domain import PropertyInfo, PropertyOption, RecordKind, SellCustomField, normalize_email
from sync.migration.ports import FoundObject, ObjectWrite, ObjectWriteResult
from sync.migration.rules import SELL_ID_PROPERTY, Note, ObjectType, PropertySpec

#: HubSpot's batch limit: inputs a request.
BATCH = 100
#: What a HubSpot list page holds at most.
PAGE = 100

_STANDARD: dict[ObjectType, tuple[str, ...]] = {
    "contacts": ("email", "firstname", "lastname", "jobtitle", "phone", "hubspot_owner_id"),
    "companies": ("name", "domain", "website", "phone", "hubspot_owner_id"),
    "notes": ("hs_note_body", "hs_timestamp", "hubspot_owner_id"),
}


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


@dataclass
class _Property:
    info: PropertyInfo
    unique: bool = False


def pat_of_acme(org: int, owner: int) -> dict[str, Any]:
    """A Sell person, Pat Acme (pat@acme.io), of the organization ``org``, owned by the user
    ``owner`` and tagged ``vip``: what a migration moves with its company, owner and tags."""
    return {
        "first_name": "Pat",
        "last_name": "Acme",
        "email": "pat@acme.io",
        "contact_id": org,
        "owner_id": owner,
        "tags": ["vip"],
    }


@dataclass
class FakeMigrationHubSpot:
    """Contacts, companies and notes with unique properties, owners and associations."""

    scopes: frozenset[str] | None = None
    records: dict[ObjectType, dict[str, dict[str, str]]] = field(
        default_factory=lambda: {"contacts": {}, "companies": {}, "notes": {}}
    )
    properties: dict[ObjectType, dict[str, _Property]] = field(default_factory=dict)
    owner_list: list[tuple[str, str]] = field(default_factory=list)
    links: set[tuple[ObjectType, str, ObjectType, str]] = field(default_factory=set)
    #: The number of inputs of each write request (upsert and update), in order.
    write_batches: list[int] = field(default_factory=list)
    #: Every request that changes something, as (method, object type), in order.
    write_calls: list[tuple[str, str]] = field(default_factory=list)
    _next_id: int = 1000

    def __post_init__(self) -> None:
        for object_type, names in _STANDARD.items():
            defined = self.properties.setdefault(object_type, {})
            for name in names:
                defined.setdefault(name, _Property(PropertyInfo(name, name, "string", "text")))

    # ---------------------------------------------------------------- arranging (tests)

    def add(self, object_type: ObjectType, **props: str) -> str:
        """A record made outside the migration; returns its id."""
        self._next_id += 1
        rid = str(self._next_id)
        self.records[object_type][rid] = dict(props)
        return rid

    def add_owner(self, email: str) -> str:
        owner_id = str(70000 + len(self.owner_list) + 1)
        self.owner_list.append((owner_id, email))
        return owner_id

    # ---------------------------------------------------------------- properties and owners

    def token_scopes(self) -> frozenset[str] | None:
        return self.scopes

    def object_properties(self, object_type: ObjectType) -> dict[str, PropertyInfo]:
        return {name: p.info for name, p in self.properties[object_type].items()}

    def create_property(self, spec: PropertySpec) -> None:
        defined = self.properties[spec.object_type]
        self.write_calls.append(("create_property", spec.object_type))
        if spec.name in defined:  # HubSpot's 409: made meanwhile, as good
            return
        options = tuple(PropertyOption(value=o, label=o) for o in spec.options)
        info = PropertyInfo(spec.name, spec.label, spec.type, spec.field_type, options)
        defined[spec.name] = _Property(info, spec.unique)

    def set_options(self, object_type: ObjectType, name: str, options: Sequence[str]) -> None:
        self.write_calls.append(("set_options", object_type))
        prop = self.properties[object_type].get(name)
        if prop is None:
            raise KeyError(f"no {object_type} property {name!r}")
        old = prop.info
        prop.info = PropertyInfo(
            old.name,
            old.label,
            old.type,
            old.field_type,
            tuple(PropertyOption(value=o, label=o) for o in options),
            old.read_only,
        )

    def owners(self) -> list[tuple[str, str]]:
        return list(self.owner_list)

    # ---------------------------------------------------------------- reads

    def _found(self, rid: str, values: Mapping[str, str], props: Sequence[str]) -> FoundObject:
        return FoundObject(rid, {p: values.get(p) for p in dict.fromkeys(props)})

    def read_by_key(
        self, object_type: ObjectType, keys: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        wanted = set(keys)
        props = [*properties, SELL_ID_PROPERTY]
        return {
            key: self._found(rid, values, props)
            for rid, values in self.records[object_type].items()
            if (key := (values.get(SELL_ID_PROPERTY) or "").strip()) in wanted
        }

    def read_by_id(
        self, object_type: ObjectType, ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        found = self.records[object_type]
        return {i: self._found(i, found[i], properties) for i in dict.fromkeys(ids) if i in found}

    def read_by_email(
        self, emails: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        wanted = {e for e in (normalize_email(x) for x in emails) if e}
        props = [*properties, "email"]
        out: dict[str, FoundObject] = {}
        for rid, values in self.records["contacts"].items():
            email = normalize_email(values.get("email"))
            if email and email in wanted:
                out.setdefault(email, self._found(rid, values, props))
        return out

    def object_pages(
        self, object_type: ObjectType, properties: Sequence[str]
    ) -> Iterator[list[FoundObject]]:
        items = sorted(self.records[object_type].items(), key=lambda kv: int(kv[0]))
        for page in _chunks(items, PAGE):
            yield [self._found(rid, values, properties) for rid, values in page]

    # ---------------------------------------------------------------- writes

    def _conflict(self, object_type: ObjectType, values: Mapping[str, str], own: str | None) -> str:
        """HubSpot's message when ``values`` repeat another record's unique value, or ''."""
        unique = [n for n, p in self.properties[object_type].items() if p.unique]
        for rid, other in self.records[object_type].items():
            if rid == own:
                continue
            if object_type == "contacts":
                email = normalize_email(values.get("email"))
                if email and email == normalize_email(other.get("email")):
                    return f"Contact already exists. Existing ID: {rid}"
            for name in unique:
                value = values.get(name)
                if value and value == other.get(name):
                    return f"A record with {name} {value!r} already exists"
        return ""

    def _write(
        self, object_type: ObjectType, rid: str | None, write: ObjectWrite
    ) -> ObjectWriteResult:
        store = self.records[object_type]
        merged = {**store.get(rid or "", {}), **write.properties}
        message = self._conflict(object_type, merged, rid)
        if message:
            return ObjectWriteResult(write.key, error=message, duplicate_of=existing_id(message))
        if rid is None:
            self._next_id += 1
            rid = str(self._next_id)
        store[rid] = {k: v for k, v in merged.items() if v != "" or k in store.get(rid, {})}
        return ObjectWriteResult(write.key, id=rid)

    def upsert(
        self, object_type: ObjectType, writes: Sequence[ObjectWrite]
    ) -> list[ObjectWriteResult]:
        out: list[ObjectWriteResult] = []
        for batch in _chunks(writes, BATCH):
            self.write_batches.append(len(batch))
            self.write_calls.append(("upsert", object_type))
            for write in batch:
                keyed = {**write.properties, SELL_ID_PROPERTY: write.key}
                current = next(
                    (
                        rid
                        for rid, values in self.records[object_type].items()
                        if values.get(SELL_ID_PROPERTY) == write.key
                    ),
                    None,
                )
                out.append(self._write(object_type, current, ObjectWrite(write.key, keyed)))
        return out

    def update(
        self, object_type: ObjectType, writes: Sequence[ObjectWrite]
    ) -> list[ObjectWriteResult]:
        for write in writes:
            if not write.id:
                raise ValueError(f"update of {write.key} without a HubSpot id")
        out: list[ObjectWriteResult] = []
        for batch in _chunks(writes, BATCH):
            self.write_batches.append(len(batch))
            self.write_calls.append(("update", object_type))
            for write in batch:
                if write.id not in self.records[object_type]:
                    out.append(ObjectWriteResult(write.key, error="Object not found"))
                else:
                    out.append(self._write(object_type, write.id, write))
        return out

    # ---------------------------------------------------------------- associations

    def associate(
        self, from_type: ObjectType, to_type: ObjectType, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str | None]:
        out: dict[tuple[str, str], str | None] = {}
        if pairs:
            self.write_calls.append(("associate", f"{from_type}>{to_type}"))
        for a, b in dict.fromkeys(pairs):
            if a not in self.records[from_type] or b not in self.records[to_type]:
                out[(a, b)] = "refused by HubSpot"
                continue
            self.links.add((from_type, a, to_type, b))
            self.links.add((to_type, b, from_type, a))
            out[(a, b)] = None
        return out

    def associations(
        self, from_type: ObjectType, to_type: ObjectType, ids: Sequence[str]
    ) -> dict[str, set[str]]:
        wanted = set(ids)
        out: dict[str, set[str]] = {}
        for f_type, a, t_type, b in self.links:
            if f_type == from_type and t_type == to_type and a in wanted:
                out.setdefault(a, set()).add(b)
        return out


@dataclass
class FakeMigrationSell:
    """A Sell account: leads, contacts and organizations (as Sell sends them), notes, users,
    the collections not moved, and custom fields."""

    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {"lead": {}, "contact": {}}
    )
    note_list: list[Note] = field(default_factory=list)
    user_list: list[tuple[int, str]] = field(default_factory=list)
    not_moved: dict[str, int] = field(default_factory=lambda: {"deals": 0, "tasks": 0, "calls": 0})
    fields: dict[RecordKind, list[SellCustomField]] = field(
        default_factory=lambda: {"lead": [], "contact": []}
    )
    _next_id: int = 1

    def _take(self) -> int:
        self._next_id += 1
        return self._next_id

    # ---------------------------------------------------------------- arranging (tests)

    def add_record(self, kind: str, data: Mapping[str, Any]) -> int:
        """A lead or contact (``is_organization`` for an organization); returns its id."""
        rid = self._take()
        record: dict[str, Any] = {"tags": [], "custom_fields": {}, **copy.deepcopy(dict(data))}
        record["id"] = rid
        if kind == "contact":
            record["is_organization"] = bool(data.get("is_organization"))
        self.records[kind][rid] = record
        return rid

    def add_note(
        self,
        resource_type: str,
        resource_id: int,
        content: str,
        *,
        creator_id: int | None = None,
        created_at: datetime | None = None,
    ) -> int:
        note_id = self._take()
        self.note_list.append(
            Note(note_id, resource_type, resource_id, content, creator_id, created_at)
        )
        return note_id

    def add_user(self, email: str) -> int:
        user_id = self._take()
        self.user_list.append((user_id, email))
        return user_id

    # ---------------------------------------------------------------- the port

    def _records(self, kind: str, organizations: bool | None) -> Iterator[Mapping[str, Any]]:
        for _, record in sorted(self.records[kind].items()):
            if organizations is None or bool(record.get("is_organization")) == organizations:
                yield copy.deepcopy(record)

    def leads(self) -> Iterator[Mapping[str, Any]]:
        return self._records("lead", None)

    def contacts(self) -> Iterator[Mapping[str, Any]]:
        return self._records("contact", False)

    def organizations(self) -> Iterator[Mapping[str, Any]]:
        return self._records("contact", True)

    def notes(self) -> Iterator[Note]:
        return iter(sorted(self.note_list, key=lambda n: n.id))

    def users(self) -> list[tuple[int, str]]:
        return sorted(self.user_list)

    def counts(self) -> dict[str, int]:
        return dict(self.not_moved)

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        return list(self.fields[kind])

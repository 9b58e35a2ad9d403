"""The pure rules of leaving Sell (M1–M3): what each Sell item becomes in HubSpot.

No HTTP, no database, no clock. Everything here is a function of the values read from both
sides, so the plan (``migrate --dry-run``), the run (``--yes``) and the verification
(``--verify``) decide the same way:

* every moved contact, company and note carries ``zendesk_sell_id`` (:func:`sell_key`:
  ``lead:12``, ``contact:4``, ``organization:7``, ``note:3``), the unique property a rerun
  upserts by, so a record is never created twice;
* a lead or person contact becomes a contact (S12 standard fields, tags in ``sell_tags``,
  custom fields through their S13 mapping or a property made for them, the owner by email);
  S10 mirrors and S11 fields are never sent;
* an organization becomes a company (matched by domain, then name);
* a note becomes a note on the same record, with its time and author;
* :func:`decide` compares what HubSpot holds with what Sell says, so an equal record is not
  written again, and a contact matched by e-mail (S8) keeps its filled values (the differing
  ones are listed as conflicts).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sync.domain import CUSTOM_PREFIX, PropertyInfo, RecordKind, SellCustomField, is_empty
from sync.errors import UnusableValue
from sync.mapping import (
    NEVER_SENT_LABELS,
    NEVER_SENT_TO_HUBSPOT,
    SELL_SCORE_FIELD,
    SELL_SOURCE_FIELD,
    SELL_STAGE_FIELD,
    SELL_URL_FIELD,
    STANDARD_FIELDS,
    FieldMapping,
    ValueType,
    fields_for,
    sell_canonical,
    to_hubspot_value,
)
from sync.sell_values import PERSON_FIELDS, flat_values

#: The unique property every moved contact, company and note carries.
SELL_ID_PROPERTY = "zendesk_sell_id"
#: The multiple-checkbox property holding a contact's Sell tags.
TAGS_PROPERTY = "sell_tags"
OWNER_PROPERTY = "hubspot_owner_id"
NOTE_BODY = "hs_note_body"
NOTE_TIME = "hs_timestamp"

ObjectType = Literal["contacts", "companies", "notes"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("contacts", "companies", "notes")
#: What a moved record's key starts with, by the HubSpot object it became.
KEY_KINDS: Mapping[str, ObjectType] = {
    "lead": "contacts",
    "contact": "contacts",
    "organization": "companies",
    "note": "notes",
}
#: Sell collections counted by the plan and not moved.
NOT_MOVED = ("deals", "tasks", "calls", "documents")

#: Sell custom fields that mirror HubSpot (S10): never sent back.
MIRROR_FIELDS = frozenset(
    f.lower() for f in (SELL_SOURCE_FIELD, SELL_SCORE_FIELD, SELL_STAGE_FIELD, SELL_URL_FIELD)
)


def sell_key(kind: str, sell_id: int | str) -> str:
    """The ``zendesk_sell_id`` of a Sell item: ``lead:12``, ``organization:7``, ``note:3``."""
    return f"{kind}:{sell_id}"


def association_key(from_key: str) -> str:
    """The stored key of the association made for ``from_key`` (a contact's or a note's)."""
    return f"assoc:{from_key}"


# --------------------------------------------------------------------------- Sell items


@dataclass(frozen=True)
class Person:
    """A Sell lead or person contact, as the migration reads it.

    ``values`` uses the Sell keys of :mod:`sync.mapping` (``address.city``,
    ``custom_fields.Name``); ``organization_id`` is a contact's organization (``contact_id``),
    ``organization_name`` the lead's company name."""

    kind: RecordKind
    id: int
    values: Mapping[str, Any]
    tags: tuple[str, ...] = ()
    owner_id: int | None = None
    organization_id: int | None = None
    organization_name: str | None = None

    @property
    def key(self) -> str:
        return sell_key(self.kind, self.id)

    @property
    def email(self) -> str | None:
        raw = self.values.get("email")
        return None if is_empty(raw) else str(raw).strip().lower()


@dataclass(frozen=True)
class Organization:
    """A Sell organization (a contact with ``is_organization``)."""

    id: int
    name: str
    values: Mapping[str, Any]
    owner_id: int | None = None

    @property
    def key(self) -> str:
        return sell_key("organization", self.id)


@dataclass(frozen=True)
class Note:
    """A Sell note on a lead, a contact or an organization (``resource_type`` ``contact``)."""

    id: int
    resource_type: str
    resource_id: int | None
    content: str
    creator_id: int | None
    created_at: datetime | None

    @property
    def key(self) -> str:
        return sell_key("note", self.id)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


_PERSON_KEYS = (*PERSON_FIELDS, "organization_name")


def person_from_wire(kind: RecordKind, data: Mapping[str, Any]) -> Person:
    """A lead or person contact from Sell's ``data`` (as ``/v2/leads`` and ``/v2/contacts``
    send it)."""
    tags = data.get("tags")
    name = data.get("organization_name")
    return Person(
        kind=kind,
        id=int(data["id"]),
        values=flat_values(data, _PERSON_KEYS),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        owner_id=_int(data.get("owner_id")),
        organization_id=_int(data.get("contact_id")) if kind == "contact" else None,
        organization_name=None if is_empty(name) else str(name).strip(),
    )


def organization_from_wire(data: Mapping[str, Any]) -> Organization:
    """An organization from Sell's ``data``."""
    return Organization(
        id=int(data["id"]),
        name=str(data.get("name") or "").strip(),
        values=flat_values(data, ("email", "phone", "website", "industry", "description")),
        owner_id=_int(data.get("owner_id")),
    )


# --------------------------------------------------------------------------- properties


@dataclass(frozen=True)
class PropertySpec:
    """A HubSpot property the migration needs (created when missing)."""

    object_type: ObjectType
    name: str
    label: str
    type: str
    field_type: str
    options: tuple[str, ...] = ()
    unique: bool = False

    def body(self) -> dict[str, Any]:
        """The ``POST /crm/properties/{version}/{objectType}`` body."""
        group = {
            "contacts": "contactinformation",
            "companies": "companyinformation",
            "notes": "engagement",
        }
        data: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "groupName": group[self.object_type],
        }
        if self.unique:
            data["hasUniqueValue"] = True
        if self.options or self.type == "enumeration":
            data["options"] = [
                {"label": o, "value": o, "displayOrder": i} for i, o in enumerate(self.options)
            ]
        return data


def sell_id_properties() -> list[PropertySpec]:
    return [
        PropertySpec(t, SELL_ID_PROPERTY, "Zendesk Sell ID", "string", "text", unique=True)
        for t in OBJECT_TYPES
    ]


def tags_property(tags: Iterable[str]) -> PropertySpec:
    names = tuple(sorted({t.strip() for t in tags if t.strip()}, key=str.lower))
    return PropertySpec("contacts", TAGS_PROPERTY, "Sell tags", "enumeration", "checkbox", names)


#: A Sell custom field type → (HubSpot type, fieldType, value type): S13 read backwards.
SELL_TYPE_TO_HUBSPOT: Mapping[str, tuple[str, str, str]] = {
    "number": ("number", "number", ValueType.NUMBER),
    "string": ("string", "text", ValueType.STRING),
    "text": ("string", "textarea", ValueType.TEXT),
    "phone": ("string", "phonenumber", ValueType.PHONE),
    "list": ("enumeration", "select", ValueType.LABEL),
    "multi_select_list": ("enumeration", "checkbox", ValueType.MULTI),
    "bool": ("bool", "booleancheckbox", ValueType.BOOL),
    "date": ("date", "date", ValueType.DATE),
    "datetime": ("datetime", "date", ValueType.DATETIME),
    "email": ("string", "text", ValueType.EMAIL),
    "url": ("string", "text", ValueType.STRING),
    "address": ("string", "textarea", ValueType.TEXT),
}


def property_name_for(field_name: str) -> str:
    """The internal name of the property made for an unmapped Sell custom field."""
    slug = re.sub(r"[^a-z0-9]+", "_", field_name.strip().lower()).strip("_")
    return f"sell_{slug or 'field'}"[:100]


@dataclass(frozen=True)
class CustomFieldPlan:
    """Where one Sell custom field's values go: its S13 mapping's property, or a new one."""

    kind: RecordKind
    sell_field: str
    mapping: FieldMapping
    new_property: PropertySpec | None = None


def plan_custom_fields(
    fields: Mapping[RecordKind, Sequence[SellCustomField]],
    mappings: Sequence[FieldMapping],
) -> list[CustomFieldPlan]:
    """Every Sell custom field of leads and contacts with somewhere to go in HubSpot.

    A field a manager mapped (S13, ``mappings``) goes to its property; any other gets a new
    property of the matching type, labelled with the field's name. S10 mirrors and S11 fields
    go nowhere.
    """
    by_field = {
        (m.sell_custom_field or "").strip().lower(): m for m in mappings if m.sell_custom_field
    }
    plans: list[CustomFieldPlan] = []
    for kind, kind_fields in fields.items():
        for cf in kind_fields:
            folded = cf.name.strip().lower()
            if folded in MIRROR_FIELDS or folded in NEVER_SENT_LABELS:
                continue
            mapped = by_field.get(folded)
            if mapped is not None:
                if kind in mapped.kinds and mapped.writes_hubspot:
                    plans.append(CustomFieldPlan(kind, cf.name, mapped))
                continue
            hs_type, field_type, value_type = SELL_TYPE_TO_HUBSPOT.get(
                cf.type, SELL_TYPE_TO_HUBSPOT["string"]
            )
            name = property_name_for(cf.name)
            spec = PropertySpec("contacts", name, cf.name, hs_type, field_type, cf.choices)
            mapping = FieldMapping(
                key=f"sell.{name}",
                hubspot=name,
                sell=CUSTOM_PREFIX + cf.name,
                kinds=(kind,),
                value_type=value_type,
                label=cf.name,
            )
            plans.append(CustomFieldPlan(kind, cf.name, mapping, spec))
    return plans


def contact_fields(kind: RecordKind, custom: Sequence[CustomFieldPlan]) -> list[FieldMapping]:
    """The fields a lead or contact sends: S12 standard ones and its custom fields."""
    standard = [m for m in fields_for(kind, STANDARD_FIELDS) if m.writes_hubspot]
    return standard + [p.mapping for p in custom if p.kind == kind]


# --------------------------------------------------------------------------- owners


def owner_map(
    users: Iterable[tuple[int, str]], owners: Iterable[tuple[str, str]]
) -> tuple[dict[int, str], list[str]]:
    """Sell user id → HubSpot owner id, matched by e-mail (trimmed, lower-cased), and the
    e-mails of the Sell users no HubSpot owner has (their records move unassigned)."""
    by_email = {email.strip().lower(): oid for oid, email in owners if email.strip()}
    matched: dict[int, str] = {}
    unmatched: list[str] = []
    for uid, email in users:
        folded = email.strip().lower()
        if folded in by_email:
            matched[uid] = by_email[folded]
        else:
            unmatched.append(folded or f"user {uid}")
    return matched, unmatched


# --------------------------------------------------------------------------- desired values


@dataclass(frozen=True)
class Desired:
    """What a Sell item should look like in HubSpot: ``properties`` (empty values left out),
    the fields that could not be read (``unusable``: field → reason), the owner left out
    because no HubSpot owner matches (``unassigned``) and the values of HubSpot enumerations
    no option fits (``dropped``: property → Sell's value)."""

    key: str
    object_type: ObjectType
    properties: Mapping[str, str]
    unusable: Mapping[str, str] = field(default_factory=dict)
    unassigned: bool = False
    email: str | None = None
    dropped: Mapping[str, str] = field(default_factory=dict)


def _owner(owner_id: int | None, owners: Mapping[int, str], props: dict[str, str]) -> bool:
    """Sets the owner; True when the Sell owner has no HubSpot owner."""
    if owner_id is None:
        return False
    hubspot_owner = owners.get(owner_id)
    if hubspot_owner is None:
        return True
    props[OWNER_PROPERTY] = hubspot_owner
    return False


def person_desired(
    person: Person,
    fields: Sequence[FieldMapping],
    owners: Mapping[int, str],
    props: Mapping[str, PropertyInfo] | None = None,
) -> Desired:
    """The contact a lead or person contact becomes."""
    out: dict[str, str] = {SELL_ID_PROPERTY: person.key}
    unusable: dict[str, str] = {}
    for mapping in fields:
        if mapping.sell in NEVER_SENT_TO_HUBSPOT:
            continue
        try:
            canonical = sell_canonical(mapping, person.values.get(mapping.sell))
        except UnusableValue as exc:
            unusable[mapping.label or mapping.key] = str(exc)
            continue
        if canonical is not None:
            prop = None if props is None else props.get(mapping.hubspot)
            out[mapping.hubspot] = to_hubspot_value(mapping, canonical, prop)
    tags = sorted({t.strip() for t in person.tags if t.strip()}, key=str.lower)
    if tags:
        out[TAGS_PROPERTY] = ";".join(tags)
    unassigned = _owner(person.owner_id, owners, out)
    return Desired(person.key, "contacts", out, unusable, unassigned, person.email)


def domain_of(website: Any, email: Any = None) -> str | None:
    """A company's domain: its website's host (no ``www.``), else its e-mail's domain."""
    if not is_empty(website):
        text = str(website).strip().lower()
        host = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text).split("/")[0].split("?")[0]
        host = host.split("@")[-1].split(":")[0].removeprefix("www.")
        if "." in host:
            return host
    if not is_empty(email) and "@" in str(email):
        return str(email).strip().lower().rsplit("@", 1)[1] or None
    return None


_COMPANY_FIELDS = (
    ("name", "name"),
    ("phone", "phone"),
    ("website", "website"),
    ("industry", "industry"),
    ("description", "description"),
    ("address.line1", "address"),
    ("address.city", "city"),
    ("address.state", "state"),
    ("address.postal_code", "zip"),
    ("address.country", "country"),
)


def _folded(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def option_for(prop: PropertyInfo, value: str) -> str | None:
    """The option of an enumeration ``prop`` a Sell text means: by value or label, else by
    their letters and digits, one containing the other (``Food & Beverage`` →
    ``FOOD_BEVERAGES``); None when no option fits."""
    exact = prop.value_for(value)
    if exact is not None:
        return exact
    wanted = _folded(value)
    if not wanted:
        return None
    for option in prop.options:
        for text in (_folded(option.label), _folded(option.value)):
            if text and (wanted in text or text in wanted):
                return option.value
    return None


def fit_options(desired: Desired, props: Mapping[str, PropertyInfo]) -> Desired:
    """``desired`` with each value of a HubSpot enumeration written as its option; a value no
    option fits is left out and named in ``dropped`` (HubSpot would refuse the whole record)."""
    out: dict[str, str] = {}
    dropped: dict[str, str] = dict(desired.dropped)
    for name, value in desired.properties.items():
        prop = props.get(name)
        if (
            prop is None
            or prop.type != "enumeration"
            or name in (TAGS_PROPERTY, OWNER_PROPERTY)
            or prop.field_type == "checkbox"
        ):
            out[name] = value
            continue
        option = option_for(prop, value)
        if option is None:
            dropped[name] = value
        else:
            out[name] = option
    return Desired(
        desired.key,
        desired.object_type,
        out,
        desired.unusable,
        desired.unassigned,
        desired.email,
        dropped,
    )


def organization_desired(org: Organization, owners: Mapping[int, str]) -> Desired:
    """The company an organization becomes (before :func:`fit_options`)."""
    values = {**org.values, "name": org.name}
    out: dict[str, str] = {SELL_ID_PROPERTY: org.key}
    for sell, hubspot in _COMPANY_FIELDS:
        raw = values.get(sell)
        if not is_empty(raw):
            out[hubspot] = str(raw).strip()
    domain = domain_of(values.get("website"), values.get("email"))
    if domain:
        out["domain"] = domain
    unassigned = _owner(org.owner_id, owners, out)
    return Desired(org.key, "companies", out, {}, unassigned)


def hubspot_time(moment: datetime) -> str:
    """A time as HubSpot writes it back (ISO 8601, UTC, milliseconds)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z"
    )


def note_desired(note: Note, owners: Mapping[int, str]) -> Desired:
    """The HubSpot note a Sell note becomes (its time and author kept)."""
    out: dict[str, str] = {SELL_ID_PROPERTY: note.key, NOTE_BODY: note.content}
    if note.created_at is not None:
        out[NOTE_TIME] = hubspot_time(note.created_at)
    unassigned = _owner(note.creator_id, owners, out)
    return Desired(note.key, "notes", out, {}, unassigned)


def note_target(note: Note) -> list[str]:
    """The keys a note's record may have moved under (a ``contact`` note may be on an
    organization); empty for notes on deals and anything else not moved."""
    if note.resource_id is None:
        return []
    if note.resource_type == "lead":
        return [sell_key("lead", note.resource_id)]
    if note.resource_type == "contact":
        return [sell_key("contact", note.resource_id), sell_key("organization", note.resource_id)]
    return []


# --------------------------------------------------------------------------- comparing


def same_value(name: str, ours: str | None, theirs: str | None) -> bool:
    """Whether two HubSpot values are equal: trimmed, case-blind for e-mail, as sets for a
    ``;``-joined multiple choice, as numbers when both are numbers, as instants for times."""
    a = "" if ours is None else str(ours).strip()
    b = "" if theirs is None else str(theirs).strip()
    if a == b:
        return True
    if not a or not b:
        return False
    if name == "email":
        return a.lower() == b.lower()
    if ";" in a or ";" in b or name == TAGS_PROPERTY:
        return {p.strip() for p in a.split(";") if p.strip()} == {
            p.strip() for p in b.split(";") if p.strip()
        }
    try:
        return float(a) == float(b)
    except ValueError:
        pass
    ta, tb = _instant(a), _instant(b)
    return ta is not None and ta == tb


def _instant(text: str) -> datetime | None:
    if text.isdigit() and len(text) >= 12:
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


Action = Literal["create", "update", "adopt", "merge", "unchanged"]


@dataclass(frozen=True)
class Conflict:
    """A field both sides fill differently on a contact matched by e-mail: HubSpot's kept."""

    key: str
    property: str
    sell: str
    hubspot: str


@dataclass(frozen=True)
class Decision:
    """What to do with one Sell item.

    * ``create``: nothing in HubSpot yet: upsert ``properties`` by ``zendesk_sell_id``;
    * ``update``: it moved before (found by ``zendesk_sell_id``) and HubSpot leaves some of
      its fields empty: those are written;
    * ``adopt``: an existing record matched by link or e-mail (S8) or by domain or name
      (companies): write ``zendesk_sell_id`` and the fields HubSpot leaves empty, list the
      ``conflicts`` and keep HubSpot's values;
    * ``merge``: the same person moved as another Sell record (same e-mail): the fields that
      contact leaves empty are filled, its ``zendesk_sell_id`` stays the other record's;
    * ``unchanged``: HubSpot already holds it all: nothing written.
    """

    key: str
    object_type: ObjectType
    action: Action
    properties: Mapping[str, str]
    hubspot_id: str | None = None
    conflicts: tuple[Conflict, ...] = ()


def decide(
    desired: Desired,
    existing: Mapping[str, str | None] | None,
    hubspot_id: str | None,
) -> Decision:
    """Compare what Sell says (``desired``) with the HubSpot record found for it, if any.

    Per S8, whatever found it (its ``zendesk_sell_id``, a link, the e-mail, the domain or the
    name): a field HubSpot leaves empty is written, an equal one is left alone, and one both
    fill differently keeps HubSpot's value and is listed as a conflict. So a rerun writes only
    what a killed run did not, and never undoes a change made in HubSpot since. A record found
    otherwise than by its key is adopted: it gets the key.
    """
    if existing is None or hubspot_id is None:
        return Decision(desired.key, desired.object_type, "create", dict(desired.properties))
    ours = (existing.get(SELL_ID_PROPERTY) or "").strip() == desired.key
    writes: dict[str, str] = {}
    conflicts: list[Conflict] = []
    for name, value in desired.properties.items():
        current = existing.get(name)
        if same_value(name, value, current):
            continue
        if is_empty(current) or name == SELL_ID_PROPERTY:
            writes[name] = value
        else:
            conflicts.append(Conflict(desired.key, name, value, str(current)))
    if not writes:
        return Decision(
            desired.key, desired.object_type, "unchanged", {}, hubspot_id, tuple(conflicts)
        )
    action: Action = "update" if ours else "adopt"
    if not ours and SELL_ID_PROPERTY not in desired.properties:
        action = "merge"
    return Decision(desired.key, desired.object_type, action, writes, hubspot_id, tuple(conflicts))


@dataclass(frozen=True)
class Difference:
    """One field a verification found different (``hubspot`` None: the record is missing)."""

    key: str
    field: str
    sell: str
    hubspot: str | None

    def row(self) -> dict[str, str]:
        return {
            "key": self.key,
            "field": self.field,
            "sell": self.sell,
            "hubspot": "" if self.hubspot is None else self.hubspot,
        }


def differences(desired: Desired, actual: Mapping[str, str | None] | None) -> list[Difference]:
    """Every property of ``desired`` HubSpot does not hold (M3); the whole record when
    ``actual`` is None."""
    if actual is None:
        return [Difference(desired.key, "record", "present", None)]
    return [
        Difference(desired.key, name, value, "" if actual.get(name) is None else actual.get(name))
        for name, value in desired.properties.items()
        if not same_value(name, value, actual.get(name))
    ]


# --------------------------------------------------------------------------- companies


class CompanyIndex:
    """The HubSpot companies a Sell organization may match: by domain, then by name
    (case-blind). Holds only domains, names and ids."""

    def __init__(self) -> None:
        self.by_domain: dict[str, str] = {}
        self.by_name: dict[str, str] = {}

    def add(self, company_id: str, properties: Mapping[str, str | None]) -> None:
        domain = (properties.get("domain") or "").strip().lower().removeprefix("www.")
        name = (properties.get("name") or "").strip().lower()
        if domain:
            self.by_domain.setdefault(domain, company_id)
        if name:
            self.by_name.setdefault(name, company_id)

    def match(self, desired: Desired) -> str | None:
        domain = (desired.properties.get("domain") or "").lower()
        if domain and domain in self.by_domain:
            return self.by_domain[domain]
        name = (desired.properties.get("name") or "").strip().lower()
        return self.by_name.get(name) if name else None

    def company_named(self, name: str | None) -> str | None:
        return self.by_name.get(name.strip().lower()) if name else None

"""In-memory HubSpot and Sell that behave like the real services where the rules care.

HubSpot: emails are unique (case-insensitive), archived contacts vanish from reads, search and
lists, read-only and unknown properties are refused, numbers must parse, DYNAMIC lists refuse
manual members, every write bumps ``lastmodifieddate``; a merged-away contact (``merge``) answers
reads with its survivor and writes to its id land on the survivor and in ``writes_to_merged_ids``.
Sell: leads vs contacts, organization contacts, deletions (404), custom fields that must exist
and whose values are typed, leads need a last name or company, every write bumps ``updated_at``.

Both count their calls the way the real clients would page them, so tests can check API economy.
"""

from __future__ import annotations

import builtins
import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.clients.hubspot_writes import NO_RESULT
from sync.clients.sell_pages import OffsetWalk
from sync.domain import (
    CUSTOM_PREFIX,
    MERGED_IDS_PROPERTY,
    HubSpotContact,
    HubSpotList,
    LeadConversion,
    PropertyInfo,
    PropertyOption,
    RecordKind,
    SellCustomField,
    SellRecord,
    normalize_email,
)
from sync.errors import ApiError, RecordNotFound, RecordRejected
from sync.ports import (
    ChangePage,
    ContactWrite,
    JoinPage,
    SellSyncEvent,
    SellSyncPage,
    SellSyncStart,
    WriteResult,
)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class TickClock:
    """A clock that moves one second per reading, so every write gets a later timestamp."""

    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def tick(self, seconds: float = 1.0) -> datetime:
        self.t = self.t + timedelta(seconds=seconds)
        return self.t


def _opts(*pairs: tuple[str, str]) -> tuple[PropertyOption, ...]:
    return tuple(PropertyOption(value=v, label=lbl) for v, lbl in pairs)


def standard_properties() -> dict[str, PropertyInfo]:
    text = [
        "firstname", "lastname", "email", "jobtitle", "company", "website", "industry",
        "address", "city", "state", "zip", "country",
    ]  # fmt: skip
    props = {n: PropertyInfo(n, n.title(), "string", "text") for n in text}
    for n in ("phone", "mobilephone", "fax"):
        props[n] = PropertyInfo(n, n.title(), "string", "phonenumber")
    props["hubspotscore"] = PropertyInfo(
        "hubspotscore", "HubSpot Score", "number", "calculation_score", read_only=True
    )
    props["lifecyclestage"] = PropertyInfo(
        "lifecyclestage",
        "Lifecycle Stage",
        "enumeration",
        "radio",
        _opts(
            ("subscriber", "Subscriber"),
            ("lead", "Lead"),
            ("marketingqualifiedlead", "Marketing Qualified Lead"),
            ("salesqualifiedlead", "Sales Qualified Lead"),
            ("opportunity", "Opportunity"),
            ("customer", "Customer"),
        ),
    )
    props["hs_analytics_source"] = PropertyInfo(
        "hs_analytics_source",
        "Original Source",
        "enumeration",
        "select",
        _opts(
            ("ORGANIC_SEARCH", "Organic Search"),
            ("PAID_SEARCH", "Paid Search"),
            ("EMAIL_MARKETING", "Email Marketing"),
            ("REFERRALS", "Referrals"),
            ("DIRECT_TRAFFIC", "Direct Traffic"),
            ("OFFLINE", "Offline Sources"),
        ),
        read_only=True,
    )
    for n in ("lastmodifieddate", "createdate", "hs_object_id"):
        props[n] = PropertyInfo(
            n, n, "datetime" if "date" in n else "number", "text", read_only=True
        )
    return props


_ADDITIONAL_EMAILS = "hs_additional_emails"


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(";") if part.strip()]


@dataclass
class _Contact:
    id: str
    properties: dict[str, str | None]
    updated_ms: int
    archived: bool = False


@dataclass
class FakeHubSpot:
    """Implements sync.ports.HubSpotPort in memory."""

    clock: TickClock = field(default_factory=TickClock)
    portal_id: str = "4242"
    props: dict[str, PropertyInfo] = field(default_factory=standard_properties)
    contacts: dict[str, _Contact] = field(default_factory=dict)
    lists: dict[str, HubSpotList] = field(default_factory=dict)
    members: dict[str, set[str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    written: list[dict[str, str]] = field(default_factory=list)  # every property map sent
    merged_into: dict[str, str] = field(default_factory=dict)  # absorbed id -> survivor id
    writes_to_merged_ids: list[str] = field(default_factory=list)  # writes addressed to those
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(51_000_000_001))
    #: list id -> member id -> the order it joined in (given when a join-order read sees it)
    _joined: dict[str, dict[str, int]] = field(default_factory=dict)
    _joins: Iterator[int] = field(default_factory=itertools.count)

    # -- test helpers ---------------------------------------------------------
    def _tick(self) -> int:
        return int(self.clock.tick().timestamp() * 1000)

    def add_contact(self, **properties: Any) -> str:
        cid = str(next(self._ids))
        props = {k: (None if v is None else str(v)) for k, v in properties.items()}
        self.contacts[cid] = _Contact(cid, props, self._tick())
        return cid

    def set(self, cid: str, **properties: Any) -> None:
        c = self.contacts[cid]
        c.properties.update({k: (None if v is None else str(v)) for k, v in properties.items()})
        c.updated_ms = self._tick()

    def archive(self, cid: str) -> None:
        self.contacts[cid].archived = True
        for ids in self.members.values():
            ids.discard(cid)

    def merge(self, primary_id: str, absorbed_id: str) -> str:
        """Merge ``absorbed_id`` into ``primary_id`` as HubSpot does (L2); returns the survivor.

        The survivor keeps its values and takes the absorbed one's where its own are blank;
        the absorbed e-mails join ``hs_additional_emails``; ``hs_merged_object_ids`` lists every
        id absorbed, transitively; the absorbed contact's list memberships pass to the survivor.
        Merged-away ids stand for their survivor. Raises KeyError for an unknown or archived
        contact, ValueError when both are the same contact.
        """
        primary = self._merge_party(primary_id)
        absorbed = self._merge_party(absorbed_id)
        if primary.id == absorbed.id:
            raise ValueError(f"contact {primary.id} cannot be merged into itself")
        kept, other = primary.properties, absorbed.properties
        identity = {"email", _ADDITIONAL_EMAILS, MERGED_IDS_PROPERTY, "hs_object_id"}
        changes = {k: v for k, v in other.items() if k not in identity and v and not kept.get(k)}
        extra = _split(kept.get(_ADDITIONAL_EMAILS))
        incoming = [e for e in [other.get("email"), *_split(other.get(_ADDITIONAL_EMAILS))] if e]
        if not kept.get("email") and incoming:
            changes["email"] = incoming.pop(0)
        seen = {normalize_email(changes.get("email") or kept.get("email"))}
        seen.update(normalize_email(e) for e in extra)
        for email in incoming:
            if normalize_email(email) not in seen:
                seen.add(normalize_email(email))
                extra.append(email)
        if extra:
            changes[_ADDITIONAL_EMAILS] = ";".join(extra)
        ids = {*_split(kept.get(MERGED_IDS_PROPERTY)), absorbed.id}
        ids.update(_split(other.get(MERGED_IDS_PROPERTY)))
        changes[MERGED_IDS_PROPERTY] = ";".join(sorted(ids, key=lambda i: (len(i), i)))
        del self.contacts[absorbed.id]
        for old, survivor in self.merged_into.items():
            if survivor == absorbed.id:
                self.merged_into[old] = primary.id
        self.merged_into[absorbed.id] = primary.id
        for ids_in_list in self.members.values():
            if absorbed.id in ids_in_list:
                ids_in_list.discard(absorbed.id)
                ids_in_list.add(primary.id)
        self.set(primary.id, **changes)
        return primary.id

    def _merge_party(self, cid: str) -> _Contact:
        c = self.contacts.get(self.merged_into.get(cid, cid))
        if c is None or c.archived:
            raise KeyError(cid)
        return c

    def _resolve(self, cid: str, *, write: bool = False) -> _Contact | None:
        """The live contact ``cid`` names (a merged-away id names its survivor; a write to one
        is logged in ``writes_to_merged_ids``)."""
        survivor = self.merged_into.get(cid)
        if survivor is not None and write:
            self.writes_to_merged_ids.append(cid)
        c = self.contacts.get(survivor or cid)
        return None if c is None or c.archived else c

    def make_list(self, list_id: str = "7", processing_type: str = "MANUAL") -> str:
        self.lists[list_id] = HubSpotList(list_id, "Sell sync", processing_type)  # type: ignore[arg-type]
        self.members.setdefault(list_id, set())
        return list_id

    def join(self, list_id: str, *ids: str) -> None:
        self.members[list_id].update(ids)

    def leave(self, list_id: str, *ids: str) -> None:
        self.members[list_id].difference_update(ids)

    def value(self, cid: str, name: str) -> str | None:
        return self.contacts[cid].properties.get(name)

    def live(self) -> list[_Contact]:
        return [c for c in self.contacts.values() if not c.archived]

    def by_email(self, email: str) -> _Contact | None:
        """The live contact with this e-mail, as its ``email`` or one of its additional ones."""
        wanted = normalize_email(email)
        for c in self.live():
            addresses = [c.properties.get("email"), *_split(c.properties.get(_ADDITIONAL_EMAILS))]
            if wanted in (normalize_email(a) for a in addresses):
                return c
        return None

    def total_calls(self) -> int:
        return sum(self.calls.values())

    # -- port -------------------------------------------------------------------
    def _view(self, c: _Contact, properties: Sequence[str]) -> HubSpotContact:
        props = {p: c.properties.get(p) for p in properties}
        props["lastmodifieddate"] = str(c.updated_ms)
        if c.properties.get(MERGED_IDS_PROPERTY):  # the client reads it with every contact
            props[MERGED_IDS_PROPERTY] = c.properties[MERGED_IDS_PROPERTY]
        return HubSpotContact(
            c.id,
            props,
            c.updated_ms,
            f"https://app.hubspot.com/contacts/{self.portal_id}/record/0-1/{c.id}",
        )

    def get_list(self, list_id: str) -> HubSpotList:
        self.calls["get_list"] += 1
        if list_id not in self.lists:
            raise ApiError("HubSpot", f"list {list_id} not found", 404)
        return self.lists[list_id]

    def lists_of(self, contact_id: str) -> builtins.set[str]:  # ``set`` is a method here
        self.calls["record_memberships"] += 1
        return {list_id for list_id, members in self.members.items() if contact_id in members}

    def list_member_pages(self, list_id: str) -> Iterator[Sequence[str]]:
        # page by page like the API (without copying the whole list: benchmarks trace memory)
        members = iter(self.members.get(list_id, set()))
        while True:
            self.calls["memberships"] += 1
            page = list(itertools.islice(members, 250))
            yield page
            if len(page) < 250:
                return

    def list_join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
        """Members oldest join first; the token is a position, as the sandbox's (a member who
        leaves moves every later one a place up)."""
        if list_id not in self.lists:
            raise ApiError("HubSpot", f"list {list_id} not found", 404)
        members = self.members.get(list_id, set())
        joined = self._joined.setdefault(list_id, {})
        for cid in [c for c in joined if c not in members]:
            del joined[cid]
        for cid in sorted(members - joined.keys(), key=lambda c: (len(c), c)):
            joined[cid] = next(self._joins)
        ordered = sorted(joined, key=joined.__getitem__)
        start = int(after) if after else 0
        while True:
            self.calls["join_order"] += 1
            page = ordered[start : start + 250]
            yield JoinPage(page, str(start) if start else None)
            start += 250
            if start >= len(ordered) or not page:
                return

    def read_contacts(
        self, ids: Sequence[str], properties: Sequence[str]
    ) -> tuple[dict[str, HubSpotContact], builtins.set[str]]:
        self.calls["batch_read"] += math.ceil(len(ids) / 100)
        found: dict[str, HubSpotContact] = {}
        missing: set[str] = set()
        for cid in ids:
            c = self._resolve(cid)  # keyed by the requested id, like HubSpotClient (L2)
            if c is None:
                missing.add(cid)
            else:
                found[cid] = self._view(c, properties)
        return found, missing

    def read_contacts_by_email(
        self, emails: Sequence[str], properties: Sequence[str]
    ) -> dict[str, HubSpotContact]:
        self.calls["batch_read"] += math.ceil(len(emails) / 100)
        out: dict[str, HubSpotContact] = {}
        for e in emails:
            c = self.by_email(e)
            if c is not None:
                out[normalize_email(e) or e] = self._view(c, properties)
        return out

    def changed_pages(self, since_ms: int, properties: Sequence[str]) -> Iterator[ChangePage]:
        changed = sorted(
            (c for c in self.contacts.values() if not c.archived and c.updated_ms >= since_ms),
            key=lambda c: (c.updated_ms, c.id),
        )
        for start in range(0, max(len(changed), 1), 200):
            self.calls["search"] += 1
            page = changed[start : start + 200]
            if page:
                yield ChangePage([self._view(c, properties) for c in page], page[-1].updated_ms)

    def _validate(self, properties: Mapping[str, str]) -> str | None:
        for name, value in properties.items():
            prop = self.props.get(name)
            if prop is None:
                return f'Property "{name}" does not exist'
            if prop.read_only:
                return f'Property "{name}" is read-only'
            if value in ("", None):
                continue
            if prop.type == "number":
                try:
                    Decimal(value)
                except InvalidOperation:
                    return f'Property values were not valid: "{value}" is not a number for {name}'
            if prop.type == "enumeration" and prop.options:
                allowed = {o.value for o in prop.options}
                bad = [v for v in value.split(";") if v and v not in allowed]
                if bad:
                    return f'"{bad[0]}" was not one of the allowed options for {name}'
        email = properties.get("email")
        if email and not EMAIL_RE.match(email):
            return f'Email address "{email}" is invalid'
        return None

    def create_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        self.calls["batch_create"] += math.ceil(len(writes) / 100)
        results = []
        for w in writes:
            self.written.append(dict(w.properties))
            problem = self._validate(w.properties)
            if problem:
                results.append(WriteResult(w.key, error=problem))
                continue
            existing = self.by_email(w.properties.get("email") or "")
            if existing is not None:
                results.append(WriteResult(w.key, duplicate_of=existing.id))
                continue
            results.append(WriteResult(w.key, id=self.add_contact(**w.properties)))
        return results

    def update_contacts(self, writes: Sequence[ContactWrite]) -> list[WriteResult]:
        self.calls["batch_update"] += math.ceil(len(writes) / 100)
        results = []
        for w in writes:
            self.written.append(dict(w.properties))
            c = self._resolve(w.id or "", write=True)
            if c is None:
                results.append(WriteResult(w.key, id=w.id, missing=True))
                continue
            problem = self._validate(w.properties)
            email = normalize_email(w.properties.get("email"))
            other = self.by_email(email) if email else None
            if problem is None and other is not None and other.id != c.id:
                problem = f"A contact with email {email} already exists"
            if problem:
                results.append(WriteResult(w.key, id=w.id, error=problem))
                continue
            self.set(c.id, **{k: (v if v != "" else None) for k, v in w.properties.items()})
            if c.id != w.id:  # HubSpot answers with the survivor's id: the client finds no result
                results.append(WriteResult(w.key, error=NO_RESULT))
                continue
            results.append(WriteResult(w.key, id=c.id))
        return results

    def add_list_members(self, list_id: str, ids: Sequence[str]) -> None:
        self.calls["memberships_add"] += 1
        lst = self.get_list(list_id)
        if not lst.accepts_members:
            raise ApiError("HubSpot", "DYNAMIC lists can't be edited manually", 400)
        for i in ids:
            if i in self.merged_into:  # HubSpot reports it missing; the sandbox does too
                self.writes_to_merged_ids.append(i)
            elif not self.contacts[i].archived:
                self.members[list_id].add(i)

    def properties(self) -> dict[str, PropertyInfo]:
        self.calls["properties"] += 1
        return dict(self.props)

    def contact_url(self, contact_id: str) -> str | None:
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/0-1/{contact_id}"


@dataclass
class _Record:
    kind: RecordKind
    id: int
    values: dict[str, Any]
    updated_at: datetime
    is_organization: bool = False
    tags: tuple[str, ...] = ()


_LOCAL_FIELDS = {
    "first_name", "last_name", "email", "phone", "mobile", "fax", "title", "website", "industry",
    "organization_name", "name", "lead_source", "status", "customer_status", "prospect_status",
    "owner_id", "description", "address.line1", "address.city", "address.state",
    "address.postal_code", "address.country",
}  # fmt: skip


@dataclass
class FakeSell:
    """Implements sync.ports.SellPort in memory."""

    clock: TickClock = field(default_factory=TickClock)
    records: dict[tuple[RecordKind, int], _Record] = field(default_factory=dict)
    deleted: set[tuple[RecordKind, int]] = field(default_factory=set)
    fields: dict[RecordKind, list[SellCustomField]] = field(
        default_factory=lambda: {
            "lead": [
                SellCustomField("HubSpot score", "number"),
                SellCustomField("HubSpot lifecycle stage", "string"),
                SellCustomField("HubSpot public contact URL", "url"),
            ],
            "contact": [
                SellCustomField("HubSpot score", "number"),
                SellCustomField("HubSpot lifecycle stage", "string"),
                SellCustomField("HubSpot public contact URL", "url"),
                SellCustomField("HubSpot source", "string"),
            ],
        }
    )
    calls: Counter[str] = field(default_factory=Counter)
    fail_updates: dict[tuple[RecordKind, int], str] = field(default_factory=dict)
    between_pages: Callable[[RecordKind], None] | None = None
    conversions: list[LeadConversion] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))
    # Sell's Sync API (off: the account lacks it and answers 403/404, like most accounts)
    sync_api: bool = False
    sync_page_size: int = 100
    sync_queue: dict[tuple[str, int], SellSyncEvent] = field(default_factory=dict)
    before_ack: Callable[[Sequence[str]], None] | None = None
    _sync_sessions: dict[str, list[SellSyncEvent]] = field(default_factory=dict)

    # -- test helpers -------------------------------------------------------------
    def add(
        self,
        kind: RecordKind = "lead",
        *,
        is_organization: bool = False,
        tags: Sequence[str] = (),
        **values: Any,
    ) -> int:
        rid = next(self._ids)
        flat = {k.replace("__", "."): v for k, v in values.items()}
        self.records[(kind, rid)] = _Record(
            kind, rid, flat, self.clock.tick(), is_organization, tuple(tags)
        )
        return rid

    def edit(self, kind: RecordKind, rid: int, **values: Any) -> None:
        r = self.records[(kind, rid)]
        r.values.update({k.replace("__", "."): v for k, v in values.items()})
        r.updated_at = self.clock.tick()
        self.sync_event(kind, rid, "updated")

    def delete(self, kind: RecordKind, rid: int) -> None:
        del self.records[(kind, rid)]
        self.deleted.add((kind, rid))
        self.sync_event(kind, rid, "deleted")

    def sync_event(self, type: str, rid: int, event: str) -> None:
        """Queue the latest event of an object for the Sync API (any type: deals too)."""
        self.sync_queue[(type, rid)] = SellSyncEvent(type, rid, event)

    def convert(self, lead_id: int) -> LeadConversion:
        """Convert a lead like Sell: a new individual contact, and the lead is gone (404)."""
        lead = self.records.pop(("lead", lead_id))
        self.sync_event("lead", lead_id, "deleted")  # the Sync API reports the lead as gone
        values = {k: v for k, v in lead.values.items() if k not in ("organization_name", "status")}
        values.pop("lead_source", None)
        values = {
            k: v
            for k, v in values.items()
            if not k.startswith(CUSTOM_PREFIX)
            or any(f.name == k[len(CUSTOM_PREFIX) :] for f in self.fields["contact"])
        }
        contact = self.add(
            "contact", tags=lead.tags, **{k.replace(".", "__"): v for k, v in values.items()}
        )
        conversion = LeadConversion(
            id=len(self.conversions) + 1,
            lead_id=lead_id,
            individual_id=contact,
            created_at=self.clock.tick(),
        )
        self.conversions.append(conversion)
        return conversion

    def value(self, kind: RecordKind, rid: int, key: str) -> Any:
        return self.records[(kind, rid)].values.get(key)

    def custom(self, kind: RecordKind, rid: int, name: str) -> Any:
        return self.value(kind, rid, CUSTOM_PREFIX + name)

    def of_kind(self, kind: RecordKind) -> list[_Record]:
        return [r for r in self.records.values() if r.kind == kind]

    def total_calls(self) -> int:
        return sum(self.calls.values())

    # -- port -------------------------------------------------------------------
    def _view(self, r: _Record) -> SellRecord:
        return SellRecord(r.kind, r.id, dict(r.values), r.updated_at, r.is_organization, r.tags)

    def list_page(self, kind: RecordKind, page: int, per_page: int) -> list[SellRecord]:
        """``GET /v2/{kind}s?sort_by=updated_at:desc&page=&per_page=``: offsets into the list as
        it is now, like Sell's; ``between_pages`` runs after each answer (tests change data)."""
        self.calls[f"{kind}s_page"] += 1
        rows = sorted(
            (r for r in self.records.values() if r.kind == kind),
            key=lambda r: (r.updated_at, r.id),
            reverse=True,
        )
        start = (page - 1) * per_page
        answer = [self._view(r) for r in rows[start : start + per_page]]
        if self.between_pages is not None:
            self.between_pages(kind)
        return answer

    def changed_pages(self, kind: RecordKind, since: datetime | None) -> Iterator[list[SellRecord]]:
        walk = OffsetWalk(bound=since)  # the client's walk over the offset pages
        while not walk.done:
            window = walk.request()
            page = self.list_page(kind, window.page, window.per_page)
            fresh = walk.observe(window, page, more=len(page) == window.per_page)
            if fresh:
                yield fresh

    def get_records(self, kind: RecordKind, ids: Sequence[int]) -> dict[int, SellRecord]:
        self.calls[f"{kind}s_by_ids"] += math.ceil(len(ids) / 100)
        return {i: self._view(self.records[(kind, i)]) for i in ids if (kind, i) in self.records}

    def _check(
        self, kind: RecordKind, values: Mapping[str, Any], merged: Mapping[str, Any]
    ) -> None:
        item = kind
        for key, value in values.items():
            if key.startswith(CUSTOM_PREFIX):
                name = key[len(CUSTOM_PREFIX) :]
                spec = next((f for f in self.fields[kind] if f.name == name), None)
                if spec is None:
                    raise RecordRejected(item, f"unknown custom field {name!r}")
                if value is not None and spec.type == "number":
                    try:
                        Decimal(str(value))
                    except InvalidOperation as exc:
                        raise RecordRejected(item, f"{name}: {value!r} is not a number") from exc
                if value is not None and spec.type == "list" and value not in spec.choices:
                    raise RecordRejected(item, f"{name}: {value!r} is not one of the choices")
            elif key not in _LOCAL_FIELDS:
                raise RecordRejected(item, f"unknown field {key!r}")
        email = merged.get("email")
        if email and not EMAIL_RE.match(str(email).strip()):
            raise RecordRejected(item, f"email {email!r} is invalid")
        if kind == "lead" and not (merged.get("last_name") or merged.get("organization_name")):
            raise RecordRejected(item, "last_name or organization_name is required")
        if kind == "contact" and not merged.get("last_name"):
            raise RecordRejected(item, "last_name is required")

    def create_record(self, kind: RecordKind, values: Mapping[str, Any]) -> SellRecord:
        self.calls[f"{kind}_create"] += 1
        self._check(kind, values, values)
        rid = self.add(kind, **{k.replace(".", "__"): v for k, v in values.items()})
        return self._view(self.records[(kind, rid)])

    def update_record(self, kind: RecordKind, id: int, values: Mapping[str, Any]) -> SellRecord:
        self.calls[f"{kind}_update"] += 1
        r = self.records.get((kind, id))
        if r is None:
            raise RecordNotFound(f"{kind}:{id}", "deleted in Sell")
        if (kind, id) in self.fail_updates:
            raise RecordRejected(f"{kind}:{id}", self.fail_updates[(kind, id)])
        self._check(kind, values, {**r.values, **values})
        r.values.update(values)
        r.updated_at = self.clock.tick()
        return self._view(r)

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        self.calls["custom_fields"] += 1
        return list(self.fields[kind])

    def conversions_after(self, after_id: int) -> list[LeadConversion]:
        self.calls["lead_conversions"] += 1
        return [c for c in self.conversions if c.id > after_id]

    def conversions_of(self, lead_ids: Sequence[int]) -> dict[int, LeadConversion]:
        wanted = set(lead_ids)
        self.calls["lead_conversions"] += len(wanted)
        return {c.lead_id: c for c in self.conversions if c.lead_id in wanted}

    def check_credentials(self) -> str:
        self.calls["users_self"] += 1
        return "Sandbox Admin"

    @staticmethod
    def _ack_key(e: SellSyncEvent) -> str:
        return f"{e.type}:{e.id}:{e.event}"

    def sync_start(self) -> SellSyncStart:
        """Like the client: a refusal is counted once, then remembered."""
        if not self.sync_api:
            if not self.calls["sync_start_refused"]:
                self.calls["sync_start_refused"] += 1
            return SellSyncStart(available=False)
        self.calls["sync_start"] += 1
        if not self.sync_queue:
            return SellSyncStart(available=True)  # 204: nothing new
        session = f"s{len(self._sync_sessions) + 1}"
        self._sync_sessions[session] = list(self.sync_queue.values())
        return SellSyncStart(available=True, session=session)

    def sync_pages(self, session: str) -> Iterator[SellSyncPage]:
        items = self._sync_sessions.pop(session)
        for start in range(0, len(items), self.sync_page_size):
            self.calls["sync_fetch"] += 1
            page = items[start : start + self.sync_page_size]
            yield SellSyncPage(tuple(page), tuple(self._ack_key(e) for e in page))
        self.calls["sync_fetch"] += 1  # the 204 that ends the queue

    def sync_ack(self, ack_keys: Sequence[str]) -> None:
        self.calls["sync_ack"] += 1
        if self.before_ack is not None:
            self.before_ack(ack_keys)
        for key in ack_keys:
            type, rid, _event = key.split(":")
            current = self.sync_queue.get((type, int(rid)))
            if current is not None and self._ack_key(current) == key:
                del self.sync_queue[(type, int(rid))]

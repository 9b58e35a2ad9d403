"""What a move out of Sell writes into the HubSpot stand-in besides contacts: companies and notes
(:mod:`sandbox.hubspot_objects`), the portal's owners, and associations between records.

A mix-in of :class:`~sandbox.hubspot_store.HubSpotStore`, whose portal it works on; the routes
are in :mod:`sandbox.hubspot_objects_api`, :mod:`sandbox.hubspot_owners_api` and
:mod:`sandbox.hubspot_associations_api`.

Associations are stored both ways, each direction with its own type id (contact→company 279,
company→contact 280; "Primary" 1 and 2; note→contact 202, note→company 190 …), as HubSpot keeps
them. A labelled association brings the unlabelled one with it; a contact has one primary
company, so a new primary replaces the old one. Labels a portal defines (``USER_DEFINED``) get a
type id per direction.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.hubspot_objects import COMPANIES, NOTES, OBJECT_TYPES, CrmObjects, ObjectType
from sandbox.hubspot_properties import iso_ms
from sandbox.hubspot_records import StoredContact

CONTACT = "0-1"
COMPANY = COMPANIES.type_id
NOTE = NOTES.type_id
TYPE_IDS = {
    "contacts": CONTACT,
    "contact": CONTACT,
    CONTACT: CONTACT,
    **{spelling: t.type_id for t in OBJECT_TYPES for spelling in t.spellings},
}
SINGULAR = {CONTACT: "contact", COMPANY: "company", NOTE: "note"}
PLURAL = {CONTACT: "contacts", COMPANY: "companies", NOTE: "notes"}
FIRST_OWNER_ID = 61_000_001
FIRST_USER_ID = 7_100_001
FIRST_LABEL_TYPE_ID = 501


@dataclass(frozen=True)
class AssociationType:
    from_type: str
    to_type: str
    category: str
    type_id: int
    label: str | None
    inverse_id: int

    def spec(self) -> dict[str, Any]:
        return {"associationCategory": self.category, "associationTypeId": self.type_id}

    def with_label(self) -> dict[str, Any]:
        return {"category": self.category, "typeId": self.type_id, "label": self.label}


#: (from, to, type id, label, inverse type id); the unlabelled one of each pair is the default.
_DEFINED = (
    (CONTACT, COMPANY, 279, None, 280),
    (COMPANY, CONTACT, 280, None, 279),
    (CONTACT, COMPANY, 1, "Primary", 2),
    (COMPANY, CONTACT, 2, "Primary", 1),
    (NOTE, CONTACT, 202, None, 201),
    (CONTACT, NOTE, 201, None, 202),
    (NOTE, COMPANY, 190, None, 189),
    (COMPANY, NOTE, 189, None, 190),
    (COMPANY, COMPANY, 13, "Parent Company", 14),
    (COMPANY, COMPANY, 14, "Child Company", 13),
)
PRIMARY_COMPANY = 1

Endpoint = tuple[str, str]  # (object type id, record id)
Link = tuple[str, int]  # (category, type id)


class UnknownObjectType(ValueError):
    pass


def type_id_of(name: str) -> str:
    try:
        return TYPE_IDS[name]
    except KeyError:
        raise UnknownObjectType(f"Unable to infer object type from: {name}") from None


class CrmArchive:
    """Companies, notes, owners and associations, over :class:`HubSpotStore`."""

    lock: threading.RLock
    portal_id: int
    properties: dict[str, dict[str, Any]]
    contacts_by_id: dict[str, StoredContact]

    if TYPE_CHECKING:

        def now_ms(self) -> int: ...

        def live(self, contact_id: str) -> StoredContact | None: ...

    def _reset_objects(self) -> None:
        self.objects: dict[str, CrmObjects] = {
            t.type_id: CrmObjects(t, self.lock, self.now_ms, self.record_url) for t in OBJECT_TYPES
        }
        self.objects[COMPANY].computed = self._company_counts
        self.owners_by_id: dict[str, dict[str, Any]] = {}
        self._next_owner = FIRST_OWNER_ID
        self.association_types: list[AssociationType] = [
            AssociationType(f, t, "HUBSPOT_DEFINED", i, label, inverse)
            for f, t, i, label, inverse in _DEFINED
        ]
        self._next_label_type = FIRST_LABEL_TYPE_ID
        self.links: dict[Endpoint, dict[Endpoint, set[Link]]] = {}

    def record_url(self, type_id: str, record_id: str) -> str:
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/{type_id}/{record_id}"

    @property
    def companies(self) -> CrmObjects:
        return self.objects[COMPANY]

    @property
    def notes(self) -> CrmObjects:
        return self.objects[NOTE]

    def object_store(self, otype: ObjectType) -> CrmObjects:
        return self.objects[otype.type_id]

    # ------------------------------------------------------------------ owners

    def add_owner(
        self,
        email: str,
        first_name: str,
        last_name: str,
        *,
        archived: bool = False,
        teams: Iterable[str] = (),
    ) -> str:
        """Add an owner (a user of the portal); returns its id."""
        with self.lock:
            owner_id = str(self._next_owner)
            user_id = FIRST_USER_ID + (self._next_owner - FIRST_OWNER_ID)
            self._next_owner += 1
            now = iso_ms(self.now_ms())
            self.owners_by_id[owner_id] = {
                "id": owner_id,
                "email": email,
                "type": "PERSON",
                "firstName": first_name,
                "lastName": last_name,
                "userId": None if archived else user_id,
                "userIdIncludingInactive": user_id,
                "createdAt": now,
                "updatedAt": now,
                "archived": archived,
                "teams": [
                    {"id": str(900 + n), "name": team, "primary": n == 0}
                    for n, team in enumerate(teams)
                ],
            }
            self._refresh_owner_options()
            return owner_id

    def owners(self, *, archived: bool = False) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(o)
                for _, o in sorted(self.owners_by_id.items(), key=lambda item: int(item[0]))
                if o["archived"] == archived
            ]

    def _refresh_owner_options(self) -> None:
        options = [
            (o["id"], f"{o['firstName']} {o['lastName']}".strip())
            for o in self.owners()  # active owners only
        ]
        for store in self.objects.values():
            store.set_owner_options(options)
        contact_owner = self.properties.get("hubspot_owner_id")
        if contact_owner is not None:
            contact_owner["options"] = self.companies.properties["hubspot_owner_id"]["options"]

    # ------------------------------------------------------------------ association types

    def types_between(self, from_type: str, to_type: str) -> list[AssociationType]:
        return [
            t for t in self.association_types if (t.from_type, t.to_type) == (from_type, to_type)
        ]

    def default_type(self, from_type: str, to_type: str) -> AssociationType | None:
        return next(
            (
                t
                for t in self.types_between(from_type, to_type)
                if t.category == "HUBSPOT_DEFINED" and t.label is None
            ),
            None,
        )

    def association_type(
        self, from_type: str, category: str, type_id: int
    ) -> AssociationType | None:
        return next(
            (
                t
                for t in self.association_types
                if t.from_type == from_type and t.category == category and t.type_id == type_id
            ),
            None,
        )

    def add_label(
        self, from_type: str, to_type: str, label: str, inverse_label: str | None = None
    ) -> AssociationType:
        """Define a ``USER_DEFINED`` label (both directions); returns the from→to type."""
        with self.lock:
            forward_id = self._next_label_type
            backward_id = forward_id + 1
            self._next_label_type += 2
            forward = AssociationType(
                from_type, to_type, "USER_DEFINED", forward_id, label, backward_id
            )
            backward = AssociationType(
                to_type, from_type, "USER_DEFINED", backward_id, inverse_label or label, forward_id
            )
            self.association_types.extend([forward, backward])
            return forward

    # ------------------------------------------------------------------ associations

    def exists(self, type_id: str, record_id: str) -> bool:
        if type_id == CONTACT:
            return self.live(str(record_id)) is not None
        store = self.objects.get(type_id)
        return store is not None and store.lookup(str(record_id), None) is not None

    def associate(
        self, from_ep: Endpoint, to_ep: Endpoint, kind: AssociationType
    ) -> list[AssociationType]:
        """Link two records with ``kind`` (and its inverse); returns the kinds now added."""
        with self.lock:
            added = [kind]
            default = self.default_type(kind.from_type, kind.to_type)
            if default is not None and default != kind:
                added.append(default)
            if (kind.category, kind.type_id) == ("HUBSPOT_DEFINED", PRIMARY_COMPANY):
                for other, links in list(self.links.get(from_ep, {}).items()):
                    if other != to_ep and ("HUBSPOT_DEFINED", PRIMARY_COMPANY) in links:
                        self._unlink(from_ep, other, {("HUBSPOT_DEFINED", PRIMARY_COMPANY)})
            for each in added:
                self.links.setdefault(from_ep, {}).setdefault(to_ep, set()).add(
                    (each.category, each.type_id)
                )
                inverse = self.association_type(each.to_type, each.category, each.inverse_id)
                if inverse is not None:
                    self.links.setdefault(to_ep, {}).setdefault(from_ep, set()).add(
                        (inverse.category, inverse.type_id)
                    )
            return added

    def _unlink(self, from_ep: Endpoint, to_ep: Endpoint, which: set[Link] | None) -> None:
        forward = self.links.get(from_ep, {}).get(to_ep)
        if forward is None:
            return
        removed = set(forward) if which is None else forward & which
        forward -= removed
        if not forward:
            del self.links[from_ep][to_ep]
        back = self.links.get(to_ep, {}).get(from_ep)
        if back is not None:
            for category, type_id in removed:
                kind = self.association_type(from_ep[0], category, type_id)
                if kind is not None:
                    back.discard((category, kind.inverse_id))
            if not back:
                del self.links[to_ep][from_ep]

    def disassociate(self, from_ep: Endpoint, to_ep: Endpoint) -> None:
        with self.lock:
            self._unlink(from_ep, to_ep, None)

    def associations_of(self, from_ep: Endpoint, to_type: str) -> list[tuple[str, list[Link]]]:
        """(to record id, links) to live records of ``to_type``, by id."""
        with self.lock:
            found = [
                (ep[1], sorted(links, key=lambda link: link[1]))
                for ep, links in self.links.get(from_ep, {}).items()
                if ep[0] == to_type and links and self.exists(*ep)
            ]
            return sorted(found, key=lambda item: int(item[0]))

    def label_of(self, from_type: str, link: Link) -> AssociationType | None:
        return self.association_type(from_type, link[0], link[1])

    def _company_counts(self, company: StoredContact) -> dict[str, str]:
        contacts = self.associations_of((COMPANY, company.id), CONTACT)
        return {"num_associated_contacts": str(len(contacts))}

    # ------------------------------------------------------------------ helpers (tests, seed)

    def add_company(self, properties: dict[str, Any], **stamps: int) -> str:
        """Store a company without validation; returns its id."""
        values = {k: str(v) for k, v in properties.items() if v not in (None, "")}
        return self.companies.create(dict(values), **stamps).id

    def company(self, company_id: str) -> dict[str, Any] | None:
        return self.companies.snapshot(company_id)

    def note(self, note_id: str) -> dict[str, Any] | None:
        return self.notes.snapshot(note_id)

    def associated_ids(self, from_type: str, from_id: str, to_type: str) -> list[str]:
        """Ids of the live ``to_type`` records associated with a record (tests)."""
        return [
            rid
            for rid, _ in self.associations_of(
                (type_id_of(from_type), str(from_id)), type_id_of(to_type)
            )
        ]

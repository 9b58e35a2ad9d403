"""The HubSpot stand-in's data: contacts, their unique keys, lists and property definitions.

:class:`HubSpotStore` holds the portal and the helpers tests use to arrange it
(``add_contact``, ``create_list``, ``add_property`` ...), plus the writes, lookups and rendering
the route modules (``sandbox.hubspot_*_api``) build on. Emails are unique case-insensitively across
``email`` and ``hs_additional_emails`` of live contacts, like properties with ``hasUniqueValue``;
archived contacts free their keys and leave every list. Merges (one contact absorbing another,
whose id then answers with the survivor) are in the :mod:`sandbox.hubspot_merges` mix-in.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sandbox.hubspot_crm import CrmArchive
from sandbox.hubspot_merges import ContactMerges
from sandbox.hubspot_properties import (
    InvalidValues as InvalidValues,  # re-exported: the routes import it from here
)
from sandbox.hubspot_properties import (
    coerce_each,
    coerce_value,
    define_property,
    iso_ms,
    standard_properties,
)
from sandbox.hubspot_records import (
    StoredContact,
    StoredList,
    merged_values,
    record_body,
    write_values,
)
from sandbox.hubspot_search import DEFAULT_PROPERTIES

PORTAL_ID = 24_861_357
FIRST_CONTACT_ID = 51_000_000_001
FIRST_LIST_ID = 1001
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")


def normalize_email(value: str) -> str:
    return value.strip().lower()


class UniqueConflict(Exception):
    def __init__(self, message: str, existing_id: str) -> None:
        super().__init__(message)
        self.message = message
        self.existing_id = existing_id


class HubSpotStore(ContactMerges, CrmArchive):
    """A portal's contacts, lists and properties. Subclasses provide ``lock`` and ``portal_id``."""

    lock: threading.RLock
    portal_id: int

    def _reset_store(self) -> None:
        self.properties: dict[str, dict[str, Any]] = {p["name"]: p for p in standard_properties()}
        self.contacts_by_id: dict[str, StoredContact] = {}
        self._email_owner: dict[str, str] = {}
        self._unique_owner: dict[tuple[str, str], str] = {}
        self._keys_by_id: dict[str, set[tuple[str, str]]] = {}
        self.lists_by_id: dict[str, StoredList] = {}
        self._roster_version = 0  # bumped when a contact is created or archived
        self._roster_cache: tuple[tuple[int, bool], list[int]] = ((-1, False), [])
        self._next_contact = FIRST_CONTACT_ID
        self._next_list = FIRST_LIST_ID
        self._last_ms = 0
        self.demo_list_id: str | None = None
        self._reset_merges()
        self._reset_objects()  # companies, notes, owners, associations (sandbox.hubspot_crm)

    # ================================================================== data helpers (tests)

    def now_ms(self) -> int:
        """Wall-clock ms, strictly increasing across writes (lastmodifieddate never ties)."""
        with self.lock:
            self._last_ms = max(int(time.time() * 1000), self._last_ms + 1)
            return self._last_ms

    def contact_url(self, contact_id: str) -> str:
        return f"https://app.hubspot.com/contacts/{self.portal_id}/record/0-1/{contact_id}"

    def add_contact(
        self,
        properties: dict[str, Any],
        *,
        archived: bool = False,
        id: str | None = None,
        created_ms: int | None = None,
        updated_ms: int | None = None,
    ) -> str:
        """Store a contact without validation (read-only properties such as hubspotscore
        allowed). Raises ValueError if its email belongs to another live contact."""
        with self.lock:
            values: dict[str, str | None] = {
                k: stored_text(v) for k, v in properties.items() if v is not None and v != ""
            }
            contact_id = str(id) if id is not None else str(self._next_contact)
            if contact_id in self.contacts_by_id or contact_id in self.merged_into:
                raise ValueError(f"contact {contact_id} exists")
            self._next_contact = max(self._next_contact, int(contact_id)) + 1
            created = created_ms if created_ms is not None else self.now_ms()
            updated = updated_ms if updated_ms is not None else created
            contact = StoredContact(contact_id, {}, created, updated)
            self.apply(contact, dict(values), touch=False)
            if not archived:
                conflict = self.find_conflict(contact.values, contact_id)
                if conflict:
                    raise ValueError(conflict.message)
            self.contacts_by_id[contact_id] = contact
            self._roster_version += 1
            if archived:
                contact.archived, contact.archived_ms = True, updated
            self._reindex(contact)
            return contact_id

    def update_contact(self, contact_id: str, properties: dict[str, Any]) -> None:
        """Change values without validation (e.g. a score HubSpot recalculated); bumps
        lastmodifieddate. None or "" clears."""
        with self.lock:
            contact = self.contacts_by_id[str(contact_id)]
            self.apply(
                contact,
                {k: None if v in (None, "") else stored_text(v) for k, v in properties.items()},
            )

    def get_contact(self, contact_id: str) -> dict[str, Any] | None:
        """The contact with every stored property (archived ones too), or None."""
        with self.lock:
            contact = self.contacts_by_id.get(str(contact_id))
            return self.render(contact, None, all_values=True) if contact else None

    def find_contact(self, email: str) -> str | None:
        with self.lock:
            return self._email_owner.get(normalize_email(email))

    def contact_ids(self, *, archived: bool = False) -> list[str]:
        with self.lock:
            return sorted(
                (c.id for c in self.contacts_by_id.values() if c.archived == archived), key=int
            )

    def archive_contact(self, contact_id: str) -> None:
        with self.lock:
            contact = self.contacts_by_id.get(str(contact_id))
            if contact is None or contact.archived:
                return
            contact.archived, contact.archived_ms = True, self.now_ms()
            self._roster_version += 1
            self._reindex(contact)
            for hs_list in self.lists_by_id.values():
                if hs_list.members.pop(contact.id, None) is not None:
                    hs_list.version += 1
                    hs_list.updated_ms = contact.archived_ms

    def create_list(self, name: str, processing_type: str = "MANUAL") -> str:
        if processing_type not in PROCESSING_TYPES:
            raise ValueError(f"processing_type must be one of {PROCESSING_TYPES}")
        with self.lock:
            list_id = str(self._next_list)
            self._next_list += 1
            now = self.now_ms()
            self.lists_by_id[list_id] = StoredList(list_id, name, processing_type, now, now)
            return list_id

    def add_to_list(self, list_id: str, ids: Iterable[str]) -> None:
        """Add members whatever the list's type (a DYNAMIC list's filters are not evaluated)."""
        with self.lock:
            hs_list = self.lists_by_id[str(list_id)]
            changed = False
            for cid in map(str, ids):
                contact = self.contacts_by_id.get(cid)
                if contact is None or contact.archived:
                    raise ValueError(f"contact {cid} does not exist or is archived")
                if cid not in hs_list.members:
                    hs_list.members[cid] = self.now_ms()
                    changed = True
            if changed:
                hs_list.version += 1
                hs_list.updated_ms = self.now_ms()

    def remove_from_list(self, list_id: str, ids: Iterable[str]) -> None:
        with self.lock:
            hs_list = self.lists_by_id[str(list_id)]
            removed = [cid for cid in map(str, ids) if hs_list.members.pop(cid, None) is not None]
            if removed:
                hs_list.version += 1
                hs_list.updated_ms = self.now_ms()

    def list_members(self, list_id: str) -> list[str]:
        with self.lock:
            return sorted(self.lists_by_id[str(list_id)].members, key=int)

    def add_property(
        self,
        name: str,
        label: str | None = None,
        type: str = "string",
        field_type: str = "text",
        options: Iterable[tuple[str, str]] = (),
        *,
        group: str = "contactinformation",
        unique: bool = False,
        read_only: bool = False,
        description: str = "",
    ) -> dict[str, Any]:
        """Define a custom property; ``options`` are (value, label) pairs."""
        with self.lock:
            return define_property(
                self.properties,
                self.now_ms,
                name,
                label or name.replace("_", " ").title(),
                type,
                field_type,
                group=group,
                options=options,
                unique=unique,
                read_only=read_only,
                description=description,
            )

    # ================================================================== writes and lookups (routes)

    def apply(
        self, contact: StoredContact, changes: dict[str, str | None], *, touch: bool = True
    ) -> None:
        write_values(contact.values, changes)
        if touch:
            contact.updated_ms = self.now_ms()
        contact.values["hs_object_id"] = contact.id
        contact.values["createdate"] = iso_ms(contact.created_ms)
        contact.values["lastmodifieddate"] = iso_ms(contact.updated_ms)
        if contact.id in self.contacts_by_id:
            self._reindex(contact)

    def unique_keys(self, values: dict[str, str]) -> set[tuple[str, str]]:
        keys: set[tuple[str, str]] = set()
        emails = [values.get("email", ""), *values.get("hs_additional_emails", "").split(";")]
        for email in emails:
            if email.strip():
                keys.add(("email", normalize_email(email)))
        for name, prop in self.properties.items():
            if prop.get("hasUniqueValue") and values.get(name):
                keys.add((name, values[name]))
        return keys

    def _unindex(self, contact: StoredContact) -> None:
        """Free the contact's unique keys (e-mails and unique properties)."""
        for key in self._keys_by_id.pop(contact.id, set()):
            if key[0] == "email":
                if self._email_owner.get(key[1]) == contact.id:
                    del self._email_owner[key[1]]
            elif self._unique_owner.get(key) == contact.id:
                del self._unique_owner[key]

    def _reindex(self, contact: StoredContact) -> None:
        self._unindex(contact)
        if contact.archived:
            return
        keys = self.unique_keys(contact.values)
        self._keys_by_id[contact.id] = keys
        for key in keys:
            if key[0] == "email":
                self._email_owner.setdefault(key[1], contact.id)
            else:
                self._unique_owner.setdefault(key, contact.id)

    def find_conflict(self, values: dict[str, str], own_id: str | None) -> UniqueConflict | None:
        for key in sorted(self.unique_keys(values)):
            owner = (
                self._email_owner.get(key[1]) if key[0] == "email" else self._unique_owner.get(key)
            )
            if owner is not None and owner != own_id:
                # one phrasing for an e-mail and for a unique property's value, as HubSpot
                # answers for every object type ("Company already exists. Existing ID: N")
                return UniqueConflict(f"Contact already exists. Existing ID: {owner}", owner)
        return None

    def roster(self, archived: bool) -> list[int]:
        """Sorted ids of live (or archived) contacts, rebuilt only after a create or archive."""
        key = (self._roster_version, archived)
        if self._roster_cache[0] != key:
            ids = sorted(int(c.id) for c in self.contacts_by_id.values() if c.archived == archived)
            self._roster_cache = (key, ids)
        return self._roster_cache[1]

    def live(self, contact_id: str) -> StoredContact | None:
        contact = self.contacts_by_id.get(contact_id)
        return contact if contact is not None and not contact.archived else None

    def lookup(
        self,
        id_value: str,
        id_property: str | None,
        *,
        archived: bool = False,
        write: bool = False,
    ) -> StoredContact | None:
        """The contact ``id_value`` names; a merged-away id names its survivor (a ``write``
        addressed to one is logged in ``writes_to_merged_ids``)."""
        if id_property in (None, "", "hs_object_id"):
            wanted = str(id_value).strip()
            survivor = self.survivor_of(wanted)
            if survivor is not None and write:
                self.note_write(wanted)
            contact = self.contacts_by_id.get(survivor or wanted)
        elif id_property == "email":
            owner = self._email_owner.get(normalize_email(str(id_value)))
            contact = self.contacts_by_id.get(owner) if owner else None
        else:
            owner = self._unique_owner.get((id_property, str(id_value)))
            contact = self.contacts_by_id.get(owner) if owner else None
        if contact is None or contact.archived != archived:
            return None
        return contact

    def validated(self, raw: Any, current: StoredContact | None) -> dict[str, str | None]:
        def coerce(name: str, value: Any) -> str | None:
            existing = current.values.get(name) if current else None
            return coerce_value(self.properties.get(name), name, value, existing)

        out, errors = coerce_each(raw, coerce)
        if errors:
            raise InvalidValues(errors)
        return out

    def merged(
        self, contact: StoredContact | None, changes: dict[str, str | None]
    ) -> dict[str, str]:
        return merged_values(contact, changes)

    def create(self, changes: dict[str, str | None]) -> StoredContact:
        now = self.now_ms()
        contact = StoredContact(str(self._next_contact), {}, now, now)
        self._next_contact += 1
        self.apply(contact, {k: v for k, v in changes.items() if v is not None}, touch=False)
        self.contacts_by_id[contact.id] = contact
        self._roster_version += 1
        self._reindex(contact)
        return contact

    # ================================================================== rendering

    def render(
        self, contact: StoredContact, wanted: Sequence[str] | None, *, all_values: bool = False
    ) -> dict[str, Any]:
        return record_body(
            contact,
            contact.values,
            wanted,
            all_values=all_values,
            defaults=DEFAULT_PROPERTIES,
            known=self.properties,
            always=ALWAYS_RETURNED,
            url=self.contact_url(contact.id),
        )

    def list_body(self, hs_list: StoredList) -> dict[str, Any]:
        return {
            "listId": hs_list.list_id,
            "listVersion": hs_list.version,
            "name": hs_list.name,
            "objectTypeId": "0-1",
            "processingType": hs_list.processing_type,
            "processingStatus": "COMPLETE",
            "size": len(hs_list.members),
            "createdAt": iso_ms(hs_list.created_ms),
            "updatedAt": iso_ms(hs_list.updated_ms),
            "filtersUpdatedAt": iso_ms(hs_list.created_ms),
            "createdById": "1",
            "updatedById": "1",
        }


def stored_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

"""Contact merges in the HubSpot stand-in's data (L2): one contact absorbs another, which then
answers only through the survivor. A mix-in of :class:`~sandbox.hubspot_store.HubSpotStore`,
whose portal it works on; the route is in :mod:`sandbox.hubspot_contacts_api`.

After ``merge_contacts(primary, absorbed)``:

* the survivor keeps its filled values and takes the absorbed contact's values where its own are
  blank; the absorbed e-mail (and its additional e-mails) join ``hs_additional_emails``;
  ``hs_merged_object_ids`` lists every id absorbed, transitively, in ascending order; its
  ``lastmodifieddate`` moves to now, so a change search finds it;
* the absorbed contact leaves the roster, search, every list (its memberships pass to the
  survivor) and the e-mail index;
* a read of the absorbed id is answered with the survivor (``GET``, ``batch/read``); a write to
  it (``PATCH``, ``batch/update``, ``batch/upsert`` by ``hs_object_id``) is applied to the
  survivor, as HubSpot redirects it, and its id is appended to ``writes_to_merged_ids`` so tests
  can assert nobody wrote to a merged-away id. What HubSpot does with a ``DELETE`` or a list
  membership edit naming such an id is not documented: the sandbox logs those there too, archives
  nothing and reports the id missing from the membership edit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandbox.hubspot_records import StoredContact, StoredList

MERGED_IDS = "hs_merged_object_ids"
ADDITIONAL_EMAILS = "hs_additional_emails"
#: Values the survivor never takes from the absorbed contact (its own identity, or rebuilt).
_NOT_CARRIED = frozenset(
    {"hs_object_id", "createdate", "lastmodifieddate", "email", ADDITIONAL_EMAILS, MERGED_IDS}
)


def split_values(raw: str | None) -> list[str]:
    """A ``;``-separated multi-value property as its non-blank parts."""
    return [part.strip() for part in (raw or "").split(";") if part.strip()]


class ContactMerges:
    """``merge_contacts`` and the redirects of merged-away ids, over :class:`HubSpotStore`."""

    lock: threading.RLock
    contacts_by_id: dict[str, StoredContact]
    lists_by_id: dict[str, StoredList]
    _roster_version: int

    if TYPE_CHECKING:

        def now_ms(self) -> int: ...

        def live(self, contact_id: str) -> StoredContact | None: ...

        def apply(
            self, contact: StoredContact, changes: dict[str, str | None], *, touch: bool = True
        ) -> None: ...

        def _unindex(self, contact: StoredContact) -> None: ...

        def render(
            self,
            contact: StoredContact,
            wanted: Sequence[str] | None,
            *,
            all_values: bool = False,
        ) -> dict[str, Any]: ...

    def _reset_merges(self) -> None:
        self.merged_into: dict[str, str] = {}  # absorbed id -> the id that answers for it now
        self.writes_to_merged_ids: list[str] = []  # ids written to after they were merged away

    def survivor_of(self, contact_id: str) -> str | None:
        """The id that answers for ``contact_id`` if it was merged away, else None."""
        with self.lock:
            return self.merged_into.get(str(contact_id).strip())

    def note_write(self, requested_id: str) -> None:
        """Log a write addressed to ``requested_id`` if that id was merged away."""
        with self.lock:
            if self.survivor_of(requested_id) is not None:
                self.writes_to_merged_ids.append(str(requested_id).strip())

    def merge_contacts(self, primary_id: str, absorbed_id: str) -> dict[str, Any]:
        """Merge ``absorbed_id`` into ``primary_id`` as HubSpot does; returns the survivor with
        every stored property. Merged-away ids stand for their survivor. Raises ``KeyError``
        for an unknown or archived contact and ``ValueError`` when both are the same contact."""
        with self.lock:
            primary = self._merge_party(primary_id)
            absorbed = self._merge_party(absorbed_id)
            if primary.id == absorbed.id:
                raise ValueError(f"contact {primary.id} cannot be merged into itself")
            changes = self._carried_values(primary.values, absorbed)
            del self.contacts_by_id[absorbed.id]
            self._unindex(absorbed)
            self._roster_version += 1
            for old, survivor in self.merged_into.items():
                if survivor == absorbed.id:
                    self.merged_into[old] = primary.id
            self.merged_into[absorbed.id] = primary.id
            self._move_memberships(absorbed.id, primary.id)
            self.apply(primary, changes)
            return self.render(primary, None, all_values=True)

    def _merge_party(self, contact_id: str) -> StoredContact:
        wanted = str(contact_id).strip()
        contact = self.live(self.survivor_of(wanted) or wanted)
        if contact is None:
            raise KeyError(wanted)
        return contact

    def _carried_values(
        self, kept: dict[str, str], absorbed: StoredContact
    ) -> dict[str, str | None]:
        other = absorbed.values
        changes: dict[str, str | None] = {
            name: value
            for name, value in other.items()
            if name not in _NOT_CARRIED and value and not kept.get(name)
        }
        emails = [*split_values(kept.get(ADDITIONAL_EMAILS))]
        absorbed_emails = [other.get("email") or "", *split_values(other.get(ADDITIONAL_EMAILS))]
        if not kept.get("email") and absorbed_emails[0]:
            changes["email"] = absorbed_emails.pop(0)
        own = (changes.get("email") or kept.get("email") or "").strip().lower()
        seen = {own, *(e.lower() for e in emails)}
        for email in absorbed_emails:
            if email.strip() and email.strip().lower() not in seen:
                seen.add(email.strip().lower())
                emails.append(email.strip())
        if emails:
            changes[ADDITIONAL_EMAILS] = ";".join(emails)
        ids = {
            *split_values(kept.get(MERGED_IDS)),
            absorbed.id,
            *split_values(other.get(MERGED_IDS)),
        }
        changes[MERGED_IDS] = ";".join(sorted(ids, key=lambda i: (len(i), i)))  # by number
        return changes

    def _move_memberships(self, absorbed_id: str, survivor_id: str) -> None:
        now = self.now_ms()
        for hs_list in self.lists_by_id.values():
            if hs_list.members.pop(absorbed_id, None) is None:
                continue
            hs_list.members.setdefault(survivor_id, now)
            hs_list.version += 1
            hs_list.updated_ms = now

"""HubSpot's contacts routes: read, list, create, update, archive, the batch calls, search and
merge (the merge itself is :mod:`sandbox.hubspot_merges`).

Each handler parses the request, asks :class:`~sandbox.hubspot_store.HubSpotStore` (the data)
to look up, validate and write, and answers in HubSpot's shapes from :mod:`sandbox.hubspot_wire`.
All but the merge are the handlers of every record type
(:mod:`sandbox.hubspot_record_routes`); contacts differ in what addresses them: ``email`` too
(but not for batch/update), an address a merge took away, and a search ``query`` of names,
e-mails and phones.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response

from sandbox.core import ApiRequest, Router, json_response
from sandbox.hubspot_properties import EMAIL_RE
from sandbox.hubspot_record_routes import RecordRoutes
from sandbox.hubspot_records import StoredContact
from sandbox.hubspot_search import MAX_RESULTS, QUERY_PROPERTIES
from sandbox.hubspot_store import HubSpotStore, normalize_email
from sandbox.hubspot_wire import (
    NON_UNIQUE_MESSAGE,
    NOT_FOUND_MESSAGE,
    OBJECTS_PATH,
    bad_request,
    not_found,
    object_body,
    require_fields,
)

MERGE_FIELDS = ("primaryObjectId", "objectIdToMerge")


class ContactRoutes(RecordRoutes):
    """The ``/crm/objects/.../contacts`` handlers, acting on ``store``."""

    kind = "contacts"
    not_found_message = NOT_FOUND_MESSAGE
    non_unique_message = NON_UNIQUE_MESSAGE
    names_existing_id = False
    checks_id_property = False
    query_properties = QUERY_PROPERTIES

    def __init__(
        self, store: HubSpotStore, *, result_cap: Callable[[], int] = lambda: MAX_RESULTS
    ) -> None:
        self.store = store
        self.result_cap = result_cap  # how far search pages reach (HubSpot: 10,000 results)

    @property
    def records(self) -> HubSpotStore:
        return self.store

    def register(self, r: Router) -> None:
        self._register_records(r, OBJECTS_PATH)
        r.add("POST", OBJECTS_PATH + "/merge", "contacts.merge", self._h_merge)

    # ------------------------------------------------------------------ how contacts differ

    def _record(self, rid: str) -> StoredContact:
        return self.store.contacts_by_id[rid]

    def _live_records(self) -> list[StoredContact]:
        return [c for c in self.store.contacts_by_id.values() if not c.archived]

    def _archive(self, rid: str) -> None:
        self.store.note_write(rid)
        self.store.archive_contact(rid)

    def _is_key(self, prop: str) -> bool:
        return prop in ("email", "hs_object_id") or bool(
            self.store.properties.get(prop, {}).get("hasUniqueValue")
        )

    def _updates_by(self, prop: str) -> bool:
        return prop != "email" and self._is_key(prop)

    def _lookup_to_write(self, raw_id: str, prop: str | None) -> StoredContact | None:
        return self.store.lookup(raw_id, prop, write=True)

    def _upsert_key(self, prop: str, raw_id: str) -> str:
        return f"{prop}:{normalize_email(raw_id) if prop == 'email' else raw_id}"

    def _refuses_new(self, prop: str | None, raw_id: str) -> str | None:
        if prop == "email" and not EMAIL_RE.match(raw_id.strip()):
            return f"Email address {raw_id} is invalid"
        return None

    def _search_cap(self) -> int:
        return self.result_cap()

    # ------------------------------------------------------------------ merge

    def _h_merge(self, req: ApiRequest) -> Response:
        """``PublicMergeInput`` in, the surviving ``SimplePublicObject`` out (both ids are
        required strings; see :mod:`sandbox.hubspot_merges` for what a merge does)."""
        body = object_body(req)
        require_fields(body, MERGE_FIELDS, "PublicMergeInput")
        for name in MERGE_FIELDS:
            value = body[name]
            if not isinstance(value, str) or not value.strip():
                return bad_request(f"{name} must be a non-blank string of an object id")
        primary, absorbed = body["primaryObjectId"], body["objectIdToMerge"]
        try:
            survivor = self.store.merge_contacts(primary, absorbed)
        except KeyError as exc:
            return not_found(str(exc.args[0]))
        except ValueError:
            return bad_request(f"Cannot merge object {primary.strip()} with itself")
        return json_response(200, survivor)

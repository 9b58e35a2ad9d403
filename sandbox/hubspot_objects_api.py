"""HubSpot's companies and notes routes, and their property definitions.

For each type in :data:`~sandbox.hubspot_objects.OBJECT_TYPES`, under both the dated
(``/crm/objects/2026-03/companies``) and the legacy (``/crm/v3/objects/companies``) prefixes and
the type id (``0-2``, ``0-46``): list, create, read, update, archive, ``batch/read|create|
update|upsert|archive`` and search; ``/crm/properties/…/{type}`` lists, reads, creates and
updates the definitions (``hasUniqueValue`` included, at most ten unique properties per type).

Creates take inline ``associations`` (``[{"to": {"id"}, "types": [{"associationCategory",
"associationTypeId"}]}]``); the type id names the target's object type. Batches take at most
100 inputs and check every input before writing any; batch/create fails whole (400/409) unless
each input carries its own ``objectWriteTraceId``, batch/update and batch/upsert report bad
items in a 207. A duplicate unique value answers 409 ``CONFLICT`` "Company already exists.
Existing ID: …" (in a 207 item: ``context.existingId``).

The record handlers are those every type shares (:mod:`sandbox.hubspot_record_routes`); what
is particular here is the inline associations, the ``associations`` a read asks for and the
property routes.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router
from sandbox.hubspot_crm import PLURAL, SINGULAR, TYPE_IDS
from sandbox.hubspot_objects import CrmObjects, ObjectType
from sandbox.hubspot_properties_api import (
    create_property,
    get_property,
    list_properties,
    update_property,
)
from sandbox.hubspot_record_routes import Planned, RecordRoutes
from sandbox.hubspot_records import StoredContact as StoredObject
from sandbox.hubspot_search import MAX_RESULTS, SearchError
from sandbox.hubspot_store import HubSpotStore
from sandbox.hubspot_wire import (
    NON_UNIQUE_MESSAGE,
    bad_request,
)


def objects_path(otype: ObjectType) -> str:
    return rf"/crm/(?:v3/objects|objects/\d{{4}}-\d{{2}})/(?:{otype.name}|{otype.type_id})"


def properties_path(otype: ObjectType) -> str:
    return rf"/crm/(?:v3/properties|properties/\d{{4}}-\d{{2}})/(?:{otype.name}|{otype.type_id})"


class ObjectRoutes(RecordRoutes):
    """One object type's record and property routes, acting on ``store``."""

    names_existing_id = True
    upsert_fields = ("id", "properties")

    def __init__(self, store: HubSpotStore, otype: ObjectType) -> None:
        self.store = store
        self.otype = otype
        self.kind = otype.name  # endpoint names: companies.batch.create …
        self.query_properties = otype.query_properties
        self.not_found_message = (
            f"Could not get some {otype.label.upper()} objects, they may be deleted or not"
            " exist. Check that ids are valid."
        )
        self.non_unique_message = NON_UNIQUE_MESSAGE.replace("0-1", otype.type_id)

    @property
    def objects(self) -> CrmObjects:
        return self.store.object_store(self.otype)

    @property
    def records(self) -> CrmObjects:
        return self.objects

    def register(self, r: Router) -> None:
        self._register_records(r, objects_path(self.otype))
        props, k = properties_path(self.otype), self.kind
        r.add("GET", props, f"properties.{k}.list", self._h_props_list)
        r.add("POST", props, f"properties.{k}.create", self._h_prop_create)
        r.add("GET", props + r"/(?P<name>[^/]+)", f"properties.{k}.get", self._h_prop_get)
        r.add("PATCH", props + r"/(?P<name>[^/]+)", f"properties.{k}.update", self._h_prop_update)

    # ------------------------------------------------------------------ how the types differ

    def _record(self, rid: str) -> StoredObject:
        return self.objects.by_id[rid]

    def _live_records(self) -> list[StoredObject]:
        return self.objects.live()

    def _archive(self, rid: str) -> None:
        self.objects.archive(rid)

    def _is_key(self, prop: str) -> bool:
        return self.objects.is_unique(prop)

    def _search_cap(self) -> int:
        return MAX_RESULTS

    def _search_message(self, exc: SearchError) -> str:
        return str(exc).replace("on contacts", f"on {self.otype.name}")

    # ------------------------------------------------------------------ associations

    def _render_read(
        self, record: StoredObject, wanted: list[str] | None, req: ApiRequest
    ) -> dict[str, Any]:
        body = self.objects.render(record, wanted)
        wanted_assoc = [
            name.strip()
            for value in req.query.getlist("associations")
            for name in value.split(",")
            if name.strip()
        ]
        if wanted_assoc:
            body["associations"] = self._associations_body(record.id, wanted_assoc)
        return body

    def _associations_body(self, rid: str, names: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            to_type = TYPE_IDS.get(name)
            if to_type is None:
                continue
            results = []
            for to_id, links in self.store.associations_of((self.otype.type_id, rid), to_type):
                for link in links:
                    kind = self.store.label_of(self.otype.type_id, link)
                    label = kind.label if kind else None
                    type_name = (
                        f"{self.otype.singular}_to_{SINGULAR[to_type]}"
                        if label is None
                        else label.lower().replace(" ", "_")
                    )
                    results.append({"id": to_id, "type": type_name})
            if results:
                out[PLURAL[to_type]] = {"results": results}
        return out

    def _plan_links(self, raw: Any) -> list[Planned]:
        """Inline associations of a create, checked; raises ``Reject`` with a 400."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise Reject(bad_request("associations must be a list"))
        planned: list[Planned] = []
        for item in raw:
            to = item.get("to") if isinstance(item, dict) else None
            types = item.get("types") if isinstance(item, dict) else None
            if not isinstance(to, dict) or "id" not in to or not isinstance(types, list):
                raise Reject(
                    bad_request(
                        "Invalid input JSON: Cannot build PublicAssociationsForObject, some of"
                        " required attributes are not set [to, types]"
                    )
                )
            for spec in types:
                category = spec.get("associationCategory") if isinstance(spec, dict) else None
                type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
                kind = (
                    self.store.association_type(self.otype.type_id, str(category), type_id)
                    if isinstance(type_id, int)
                    else None
                )
                if kind is None:
                    raise Reject(
                        bad_request(
                            f"{category} association type {type_id} is not valid for"
                            f" {self.otype.name}"
                        )
                    )
                target = (kind.to_type, str(to["id"]))
                if not self.store.exists(*target):
                    raise Reject(
                        bad_request(
                            f"The {SINGULAR[kind.to_type]} {to['id']} to associate with does"
                            " not exist"
                        )
                    )
                planned.append((kind, target))
        return planned

    def _link(self, rid: str, planned: list[Planned]) -> None:
        for kind, target in planned:
            self.store.associate((self.otype.type_id, rid), target, kind)

    # ------------------------------------------------------------------ property definitions

    def _h_props_list(self, req: ApiRequest) -> Response:
        return list_properties(self.objects.properties, req)

    def _h_prop_get(self, req: ApiRequest, name: str) -> Response:
        return get_property(self.objects.properties, name)

    def _h_prop_update(self, req: ApiRequest, name: str) -> Response:
        return update_property(self.objects.properties, name, req, self.store.now_ms())

    def _h_prop_create(self, req: ApiRequest) -> Response:
        limit = (self.objects.unique_count(), self.otype.name)
        return create_property(self.objects.properties, req, self.objects.add_property, limit)

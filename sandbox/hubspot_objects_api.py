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
"""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, empty_response, json_response
from sandbox.hubspot_crm import PLURAL, SINGULAR, TYPE_IDS, AssociationType
from sandbox.hubspot_objects import Conflict, CrmObjects, ObjectType
from sandbox.hubspot_properties_api import (
    create_property,
    get_property,
    list_properties,
    update_property,
)
from sandbox.hubspot_search import (
    MAX_RESULTS,
    SearchError,
    compile_filters,
    parse_sort,
    sort_ids,
)
from sandbox.hubspot_store import HubSpotStore, InvalidValues
from sandbox.hubspot_wire import (
    NON_UNIQUE_MESSAGE,
    bad_request,
    batch_inputs,
    batch_response,
    checked_item,
    error,
    invalid_body,
    item_context,
    item_error,
    list_page,
    object_body,
    read_batch,
    require_fields,
    search_page,
    search_window,
    traced,
    validation_error,
    wanted_properties,
    write_traces,
)

Planned = tuple[AssociationType, tuple[str, str]]


def objects_path(otype: ObjectType) -> str:
    return rf"/crm/(?:v3/objects|objects/\d{{4}}-\d{{2}})/(?:{otype.name}|{otype.type_id})"


def properties_path(otype: ObjectType) -> str:
    return rf"/crm/(?:v3/properties|properties/\d{{4}}-\d{{2}})/(?:{otype.name}|{otype.type_id})"


class ObjectRoutes:
    """One object type's record and property routes, acting on ``store``."""

    def __init__(self, store: HubSpotStore, otype: ObjectType) -> None:
        self.store = store
        self.otype = otype
        self.kind = otype.name  # endpoint names: companies.batch.create …

    @property
    def objects(self) -> CrmObjects:
        return self.store.object_store(self.otype)

    def register(self, r: Router) -> None:
        base, k = objects_path(self.otype), self.kind
        r.add("GET", base, f"{k}.list", self._h_list)
        r.add("POST", base, f"{k}.create", self._h_create)
        r.add("POST", base + "/search", f"{k}.search", self._h_search)
        r.add("POST", base + "/batch/read", f"{k}.batch.read", self._h_batch_read)
        r.add("POST", base + "/batch/create", f"{k}.batch.create", self._h_batch_create)
        r.add("POST", base + "/batch/update", f"{k}.batch.update", self._h_batch_update)
        r.add("POST", base + "/batch/upsert", f"{k}.batch.upsert", self._h_batch_upsert)
        r.add("POST", base + "/batch/archive", f"{k}.batch.archive", self._h_batch_archive)
        r.add("GET", base + r"/(?P<rid>[^/]+)", f"{k}.get", self._h_get)
        r.add("PATCH", base + r"/(?P<rid>[^/]+)", f"{k}.update", self._h_update)
        r.add("DELETE", base + r"/(?P<rid>[^/]+)", f"{k}.archive", self._h_archive)
        props = properties_path(self.otype)
        r.add("GET", props, f"properties.{k}.list", self._h_props_list)
        r.add("POST", props, f"properties.{k}.create", self._h_prop_create)
        r.add("GET", props + r"/(?P<name>[^/]+)", f"properties.{k}.get", self._h_prop_get)
        r.add("PATCH", props + r"/(?P<name>[^/]+)", f"properties.{k}.update", self._h_prop_update)

    # ------------------------------------------------------------------ shared pieces

    def _not_found(self, rid: str) -> Response:
        return error(
            404, f"Object not found. objectId are usually numeric. ({rid})", "OBJECT_NOT_FOUND"
        )

    def _not_found_message(self) -> str:
        return (
            f"Could not get some {self.otype.label.upper()} objects, they may be deleted or not"
            " exist. Check that ids are valid."
        )

    def _conflict(self, conflict: Conflict) -> Response:
        return error(409, conflict.message, "CONFLICT")

    def _render(self, record: Any, wanted: list[str] | None, req: ApiRequest) -> dict[str, Any]:
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

    def _plan_associations(self, raw: Any) -> list[Planned]:
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

    # ------------------------------------------------------------------ single records

    def _h_list(self, req: ApiRequest) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        wanted = wanted_properties(req)
        return list_page(
            req,
            self.objects.roster(archived),
            lambda i: self._render(self.objects.by_id[str(i)], wanted, req),
        )

    def _h_get(self, req: ApiRequest, rid: str) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        id_property = req.query.get("idProperty")
        if id_property and not self.objects.is_unique(id_property):
            return bad_request(f"{id_property} is not a unique property of {self.otype.name}")
        record = self.objects.lookup(rid, id_property, archived=archived)
        if record is None:
            return self._not_found(rid)
        return json_response(200, self._render(record, wanted_properties(req), req))

    def _h_create(self, req: ApiRequest) -> Response:
        body = object_body(req)
        changes = self.objects.validated(body.get("properties"), None)
        planned = self._plan_associations(body.get("associations"))
        conflict = self.objects.find_conflict(self.objects.merged(None, changes), None)
        if conflict:
            return self._conflict(conflict)
        record = self.objects.create(changes)
        self._link(record.id, planned)
        return json_response(201, self.objects.render(record, None, all_values=True))

    def _h_update(self, req: ApiRequest, rid: str) -> Response:
        body = object_body(req)
        id_property = req.query.get("idProperty")
        if id_property and not self.objects.is_unique(id_property):
            return bad_request(NON_UNIQUE_MESSAGE.replace("0-1", self.otype.type_id))
        record = self.objects.lookup(rid, id_property)
        if record is None:
            return self._not_found(rid)
        changes = self.objects.validated(body.get("properties"), record)
        conflict = self.objects.find_conflict(self.objects.merged(record, changes), record.id)
        if conflict:
            return self._conflict(conflict)
        self.objects.apply(record, changes)
        return json_response(200, self.objects.render(record, None, all_values=True))

    def _h_archive(self, req: ApiRequest, rid: str) -> Response:
        self.objects.archive(rid)
        return empty_response(204)

    def _h_batch_archive(self, req: ApiRequest) -> Response:
        for item in batch_inputs(object_body(req)):
            self.objects.archive(str(item.get("id", "")))
        return empty_response(204)

    # ------------------------------------------------------------------ batches

    def _h_batch_read(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = object_body(req)
        inputs = batch_inputs(body)
        require_fields(
            body, ("properties", "propertiesWithHistory"), "BatchReadInputSimplePublicObjectId"
        )
        for item in inputs:
            require_fields(item, ("id",), "SimplePublicObjectId")
        id_property = body.get("idProperty") or None
        if id_property and not self.objects.is_unique(id_property):
            return bad_request(f"{id_property} is not a unique property of {self.otype.name}")
        return read_batch(
            req,
            body,
            inputs,
            id_property,
            self.objects.lookup,
            self.objects.render,
            self._not_found_message(),
            started,
        )

    def _h_batch_create(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        inputs = batch_inputs(object_body(req))
        for item in inputs:
            require_fields(item, ("properties",), "SimplePublicObjectBatchInputForCreate")
        traces, per_item = write_traces(inputs)
        planned: list[tuple[int, dict[str, str | None], list[Planned]]] = []
        errors: list[dict[str, Any]] = []
        batch_keys: set[tuple[str, str]] = set()
        for index, item in enumerate(inputs):
            context: dict[str, list[str]] = (
                {"objectWriteTraceId": [str(traces[index])]} if per_item else {}
            )
            try:
                changes = self.objects.validated(item.get("properties"), None)
            except InvalidValues as exc:
                if not per_item:
                    return validation_error(exc, self.store.portal_id)
                message, details = invalid_body(exc, self.store.portal_id)
                errors.append(item_error("VALIDATION_ERROR", message, context, details))
                continue
            links = self._plan_associations(item.get("associations"))
            values = self.objects.merged(None, changes)
            conflict = self.objects.find_conflict(values, None)
            if conflict:
                if not per_item:
                    return self._conflict(conflict)
                errors.append(
                    item_error(
                        "CONFLICT",
                        conflict.message,
                        {**context, "existingId": [conflict.existing_id]},
                    )
                )
                continue
            keys = self.objects.unique_keys(values)
            clash = next((k for k in sorted(keys) if k in batch_keys), None)
            if clash:
                message = (
                    f"Duplicate values for property {clash[0]} found in batch input: {clash[1]}"
                )
                if not per_item:
                    return bad_request(message)
                errors.append(item_error("VALIDATION_ERROR", message, context))
                continue
            batch_keys |= keys
            planned.append((index, changes, links))
        results = []
        for index, changes, links in planned:
            record = self.objects.create(changes)
            self._link(record.id, links)
            rendered = self.objects.render(record, None, all_values=True)
            if per_item:
                rendered["objectWriteTraceId"] = traces[index]
            results.append(rendered)
        return batch_response(201, results, errors, started)

    def _h_batch_update(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = object_body(req)
        inputs = batch_inputs(body)
        for item in inputs:
            require_fields(item, ("id", "properties"), "SimplePublicObjectBatchInput")
        ids = [str(item.get("id", "")) for item in inputs]
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            if prop and not self.objects.is_unique(prop):
                return bad_request(NON_UNIQUE_MESSAGE.replace("0-1", self.otype.type_id))
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        results, missing = [], []
        errors: list[dict[str, Any]] = []
        for item, raw_id in zip(inputs, ids, strict=True):
            prop = item.get("idProperty") or body.get("idProperty")
            record = self.objects.lookup(raw_id, prop)
            context = item_context(raw_id, item)
            if record is None:
                missing.append(raw_id)
                continue
            changes = checked_item(
                self.objects,
                item.get("properties"),
                record,
                context,
                errors,
                self.store.portal_id,
                existing_id=True,
            )
            if changes is None:
                continue
            self.objects.apply(record, changes)
            rendered = self.objects.render(record, None, all_values=True)
            results.append(traced(rendered, item))
        if missing:
            errors.insert(
                0, item_error("OBJECT_NOT_FOUND", self._not_found_message(), {"ids": missing})
            )
        return batch_response(200, results, errors, started)

    def _h_batch_upsert(self, req: ApiRequest) -> Response:
        """Create or update by a unique ``idProperty``: never a second record for one value."""
        started = int(time.time() * 1000)
        body = object_body(req)
        inputs = batch_inputs(body)
        for item in inputs:
            require_fields(item, ("id", "properties"), "SimplePublicObjectBatchInputUpsert")
        keys: list[str] = []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            if not prop:
                return bad_request("idProperty is required for upsert")
            if not self.objects.is_unique(prop):
                return bad_request(NON_UNIQUE_MESSAGE.replace("0-1", self.otype.type_id))
            keys.append(f"{prop}:{item.get('id', '')}")
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            return bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        results, errors = [], []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            raw_id = str(item.get("id", ""))
            context = item_context(raw_id, item)
            record = self.objects.lookup(raw_id, prop)
            if record is None and prop == "hs_object_id":
                errors.append(item_error("OBJECT_NOT_FOUND", self._not_found_message(), context))
                continue
            properties = dict(item.get("properties") or {})
            if record is None:
                properties.setdefault(prop, raw_id)
            changes = checked_item(
                self.objects,
                properties,
                record,
                context,
                errors,
                self.store.portal_id,
                existing_id=True,
            )
            if changes is None:
                continue
            created = record is None
            if record is None:
                record = self.objects.create(changes)
            else:
                self.objects.apply(record, changes)
            rendered = self.objects.render(record, None, all_values=True)
            rendered["new"] = created
            results.append(traced(rendered, item))
        return batch_response(200, results, errors, started)

    # ------------------------------------------------------------------ search

    def _h_search(self, req: ApiRequest) -> Response:
        body, limit, after = search_window(req, MAX_RESULTS)
        properties = self.objects.properties
        try:
            predicate = compile_filters(body.get("filterGroups"), properties)
            sort = parse_sort(body.get("sorts"), properties)
        except SearchError as exc:
            return bad_request(str(exc).replace("on contacts", f"on {self.otype.name}"))
        tokens = str(body.get("query") or "").casefold().split()
        wanted = body.get("properties") or None
        if wanted is not None and not isinstance(wanted, list):
            return bad_request("properties must be a list")

        def text(values: dict[str, str]) -> bool:
            haystack = " ".join(values.get(n) or "" for n in self.otype.query_properties)
            return all(token in haystack.casefold() for token in tokens)

        rows = [
            (r.id, r.values) for r in self.objects.live() if predicate(r.values) and text(r.values)
        ]
        ordered = sort_ids(rows, sort, properties)
        return search_page(
            ordered,
            after,
            limit,
            MAX_RESULTS,
            lambda rid: self.objects.render(self.objects.by_id[rid], wanted),
        )

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

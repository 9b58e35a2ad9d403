"""HubSpot's contacts routes: read, list, create, update, archive, the batch calls, search and
merge (the merge itself is :mod:`sandbox.hubspot_merges`).

Each handler parses the request, asks :class:`~sandbox.hubspot_store.HubSpotStore` (the data)
to look up, validate and write, and answers in HubSpot's shapes from :mod:`sandbox.hubspot_wire`.
Batch calls check every input before writing any: batch/create fails whole unless each input has
its own ``objectWriteTraceId``; batch/update and batch/upsert report bad items in a 207.
Search validates the body here and filters and sorts with :mod:`sandbox.hubspot_search`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Router, empty_response, json_response
from sandbox.hubspot_properties import EMAIL_RE
from sandbox.hubspot_search import (
    MAX_RESULTS,
    SearchError,
    compile_filters,
    parse_sort,
    query_predicate,
    sort_ids,
)
from sandbox.hubspot_store import HubSpotStore, InvalidValues, normalize_email
from sandbox.hubspot_wire import (
    NON_UNIQUE_MESSAGE,
    NOT_FOUND_MESSAGE,
    OBJECTS_PATH,
    bad_request,
    batch_inputs,
    batch_response,
    checked_item,
    error,
    invalid_body,
    item_context,
    item_error,
    list_page,
    not_found,
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

MERGE_FIELDS = ("primaryObjectId", "objectIdToMerge")


class ContactRoutes:
    """The ``/crm/objects/.../contacts`` handlers, acting on ``store``."""

    def __init__(
        self, store: HubSpotStore, *, result_cap: Callable[[], int] = lambda: MAX_RESULTS
    ) -> None:
        self.store = store
        self.result_cap = result_cap  # how far search pages reach (HubSpot: 10,000 results)

    def register(self, r: Router) -> None:
        base = OBJECTS_PATH
        r.add("GET", base, "contacts.list", self._h_list)
        r.add("POST", base, "contacts.create", self._h_create)
        r.add("POST", base + "/search", "contacts.search", self._h_search)
        r.add("POST", base + "/batch/read", "contacts.batch.read", self._h_batch_read)
        r.add("POST", base + "/batch/create", "contacts.batch.create", self._h_batch_create)
        r.add("POST", base + "/batch/update", "contacts.batch.update", self._h_batch_update)
        r.add("POST", base + "/batch/upsert", "contacts.batch.upsert", self._h_batch_upsert)
        r.add("POST", base + "/batch/archive", "contacts.batch.archive", self._h_batch_archive)
        r.add("POST", base + "/merge", "contacts.merge", self._h_merge)
        r.add("GET", base + r"/(?P<cid>[^/]+)", "contacts.get", self._h_get)
        r.add("PATCH", base + r"/(?P<cid>[^/]+)", "contacts.update", self._h_update)
        r.add("DELETE", base + r"/(?P<cid>[^/]+)", "contacts.archive", self._h_archive)

    def _h_list(self, req: ApiRequest) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        wanted = wanted_properties(req)
        return list_page(
            req,
            self.store.roster(archived),
            lambda i: self.store.render(self.store.contacts_by_id[str(i)], wanted),
        )

    def _h_get(self, req: ApiRequest, cid: str) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        contact = self.store.lookup(cid, req.query.get("idProperty"), archived=archived)
        if contact is None:
            return not_found(cid)
        return json_response(200, self.store.render(contact, wanted_properties(req)))

    def _h_create(self, req: ApiRequest) -> Response:
        body = object_body(req)
        changes = self.store.validated(body.get("properties"), None)
        conflict = self.store.find_conflict(self.store.merged(None, changes), None)
        if conflict:
            return error(409, conflict.message, "CONFLICT")
        contact = self.store.create(changes)
        return json_response(201, self.store.render(contact, None, all_values=True))

    def _h_update(self, req: ApiRequest, cid: str) -> Response:
        body = object_body(req)
        contact = self.store.lookup(cid, req.query.get("idProperty"), write=True)
        if contact is None:
            return not_found(cid)
        changes = self.store.validated(body.get("properties"), contact)
        conflict = self.store.find_conflict(self.store.merged(contact, changes), contact.id)
        if conflict:
            return error(409, conflict.message, "CONFLICT")
        self.store.apply(contact, changes)
        return json_response(200, self.store.render(contact, None, all_values=True))

    def _h_archive(self, req: ApiRequest, cid: str) -> Response:
        self.store.note_write(cid)
        self.store.archive_contact(cid)
        return empty_response(204)

    def _h_batch_archive(self, req: ApiRequest) -> Response:
        for item in batch_inputs(object_body(req)):
            self.store.note_write(str(item.get("id", "")))
            self.store.archive_contact(str(item.get("id", "")))
        return empty_response(204)

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

    def _h_batch_read(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = object_body(req)
        inputs = batch_inputs(body)
        require_fields(
            body, ("properties", "propertiesWithHistory"), "BatchReadInputSimplePublicObjectId"
        )
        for item in inputs:
            require_fields(item, ("id",), "SimplePublicObjectId")
        id_property = body.get("idProperty")
        if id_property not in (None, "", "hs_object_id", "email") and not (
            self.store.properties.get(id_property, {}).get("hasUniqueValue")
        ):
            return bad_request(f"{id_property} is not a unique property of contacts")
        return read_batch(
            req,
            body,
            inputs,
            id_property,
            self.store.lookup,
            self.store.render,
            NOT_FOUND_MESSAGE,
            started,
        )

    def _h_batch_create(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        inputs = batch_inputs(object_body(req))
        for item in inputs:
            require_fields(item, ("properties",), "SimplePublicObjectBatchInputForCreate")
        traces, per_item = write_traces(inputs)
        planned: list[tuple[int, dict[str, str | None]]] = []
        errors: list[dict[str, Any]] = []
        batch_keys: dict[tuple[str, str], int] = {}
        for index, item in enumerate(inputs):
            context = {"objectWriteTraceId": [str(traces[index])]} if per_item else {}
            try:
                changes = self.store.validated(item.get("properties"), None)
            except InvalidValues as exc:
                if not per_item:
                    return validation_error(exc, self.store.portal_id)
                message, details = invalid_body(exc, self.store.portal_id)
                errors.append(item_error("VALIDATION_ERROR", message, context, details))
                continue
            values = self.store.merged(None, changes)
            conflict = self.store.find_conflict(values, None)
            if conflict:
                if not per_item:
                    return error(409, conflict.message, "CONFLICT")
                errors.append(item_error("CONFLICT", conflict.message, context))
                continue
            clash = next(
                (k for k in sorted(self.store.unique_keys(values)) if k in batch_keys), None
            )
            if clash:
                message = (
                    f"Duplicate values for property {clash[0]} found in batch input: {clash[1]}"
                )
                if not per_item:
                    return bad_request(message)
                errors.append(item_error("VALIDATION_ERROR", message, context))
                continue
            for key in self.store.unique_keys(values):
                batch_keys[key] = index
            planned.append((index, changes))
        results = []
        for index, changes in planned:
            rendered = self.store.render(self.store.create(changes), None, all_values=True)
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
        id_property = body.get("idProperty")
        ids = [str(item.get("id", "")) for item in inputs]
        for item in inputs:
            prop = item.get("idProperty") or id_property
            if prop not in (None, "", "hs_object_id") and (
                prop == "email" or not self.store.properties.get(prop, {}).get("hasUniqueValue")
            ):
                return bad_request(NON_UNIQUE_MESSAGE)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        results, missing = [], []
        errors: list[dict[str, Any]] = []
        for item, raw_id in zip(inputs, ids, strict=True):
            prop = item.get("idProperty") or id_property
            contact = self.store.lookup(raw_id, prop, write=True)
            context = item_context(raw_id, item)
            if contact is None:
                missing.append(raw_id)
                continue
            changes = checked_item(
                self.store,
                item.get("properties"),
                contact,
                context,
                errors,
                self.store.portal_id,
                existing_id=False,
            )
            if changes is None:
                continue
            self.store.apply(contact, changes)
            rendered = self.store.render(contact, None, all_values=True)
            results.append(traced(rendered, item))
        if missing:
            errors.insert(0, item_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, {"ids": missing}))
        return batch_response(200, results, errors, started)

    def _h_batch_upsert(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = object_body(req)
        inputs = batch_inputs(body)
        keys: list[str] = []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            if not prop:
                return bad_request("idProperty is required for upsert")
            unique = prop in ("email", "hs_object_id") or self.store.properties.get(prop, {}).get(
                "hasUniqueValue"
            )
            if not unique:
                return bad_request(NON_UNIQUE_MESSAGE)
            raw_id = str(item.get("id", ""))
            keys.append(f"{prop}:{normalize_email(raw_id) if prop == 'email' else raw_id}")
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            return bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        results, errors = [], []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            raw_id = str(item.get("id", ""))
            context = item_context(raw_id, item)
            contact = self.store.lookup(raw_id, prop, write=True)
            if contact is None and prop == "hs_object_id":
                errors.append(item_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, context))
                continue
            properties = dict(item.get("properties") or {})
            if contact is None:
                properties.setdefault(prop, raw_id)
            if prop == "email" and contact is None and not EMAIL_RE.match(raw_id.strip()):
                errors.append(
                    item_error("VALIDATION_ERROR", f"Email address {raw_id} is invalid", context)
                )
                continue
            changes = checked_item(
                self.store,
                properties,
                contact,
                context,
                errors,
                self.store.portal_id,
                existing_id=False,
            )
            if changes is None:
                continue
            created = contact is None
            if contact is None:
                contact = self.store.create(changes)
            else:
                self.store.apply(contact, changes)
            rendered = self.store.render(contact, None, all_values=True)
            rendered["new"] = created
            results.append(traced(rendered, item))
        return batch_response(200, results, errors, started)

    def _h_search(self, req: ApiRequest) -> Response:
        cap = self.result_cap()
        body, limit, after = search_window(req, cap)
        try:
            predicate = compile_filters(body.get("filterGroups"), self.store.properties)
            text = query_predicate(body.get("query"))
            sort = parse_sort(body.get("sorts"), self.store.properties)
        except SearchError as exc:
            return bad_request(str(exc))
        wanted = body.get("properties") or None
        if wanted is not None and not isinstance(wanted, list):
            return bad_request("properties must be a list")
        rows = [
            (c.id, c.values)
            for c in self.store.contacts_by_id.values()
            if not c.archived and predicate(c.values) and text(c.values)
        ]
        ordered = sort_ids(rows, sort, self.store.properties)
        return search_page(
            ordered,
            after,
            limit,
            cap,
            lambda cid: self.store.render(self.store.contacts_by_id[cid], wanted),
        )

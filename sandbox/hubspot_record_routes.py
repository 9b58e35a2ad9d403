"""What HubSpot's record routes share across object types: list, archive, the batch calls and
search, for contacts (:mod:`sandbox.hubspot_contacts_api`) as for companies and notes
(:mod:`sandbox.hubspot_objects_api`).

A subclass names its records' store (``records``), its messages, and answers the few questions
where the types differ: which ``idProperty`` may address a record, how a record is looked up to be
written, what a search ``query`` looks at, whether a 207 ``CONFLICT`` names the record holding the
value (``context.existingId``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, empty_response, json_response
from sandbox.hubspot_crm import AssociationType
from sandbox.hubspot_records import StoredContact
from sandbox.hubspot_search import (
    SearchError,
    compile_filters,
    parse_sort,
    query_predicate,
    sort_ids,
)
from sandbox.hubspot_store import HubSpotStore, InvalidValues
from sandbox.hubspot_wire import (
    Records,
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

#: An inline association of a create, checked: its type and its target (type id, record id).
Planned = tuple[AssociationType, tuple[str, str]]


class _Conflict(Protocol):
    message: str
    existing_id: str


class RecordStore(Records, Protocol):
    """What the shared routes ask of a record type's store (contacts, companies, notes)."""

    properties: dict[str, dict[str, Any]]

    def unique_keys(self, values: dict[str, str], /) -> set[tuple[str, str]]: ...

    def create(self, changes: dict[str, str | None], /) -> StoredContact: ...

    def apply(self, record: StoredContact, changes: dict[str, str | None], /) -> None: ...

    def lookup(
        self, id_value: str, id_property: str | None, /, *, archived: bool = False
    ) -> StoredContact | None: ...

    def render(
        self, record: StoredContact, wanted: Sequence[str] | None, /, *, all_values: bool = False
    ) -> dict[str, Any]: ...

    def roster(self, archived: bool, /) -> list[int]: ...


def now_ms() -> int:
    return int(time.time() * 1000)


def write_batch(
    req: ApiRequest, fields: tuple[str, ...], schema: str
) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """A batch write's start, body and inputs, each input refused unless it has ``fields``."""
    started = now_ms()
    body = object_body(req)
    inputs = batch_inputs(body)
    for item in inputs:
        require_fields(item, fields, schema)
    return started, body, inputs


def refuse_duplicates(keys: list[str]) -> None:
    """A batch naming one record twice is refused whole."""
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise Reject(bad_request(f"Duplicate IDs found in batch input: {duplicates}"))


class RecordRoutes:
    """The handlers every record type serves the same way, acting on ``records``."""

    store: HubSpotStore
    kind: str  # "contacts", "companies": endpoint names and error messages
    not_found_message: str  # a batch's OBJECT_NOT_FOUND error
    non_unique_message: str  # a batch/update or batch/upsert by a property that is not unique
    names_existing_id: bool  # a 207 CONFLICT item carries context.existingId
    upsert_fields: tuple[str, ...] = ()  # what each batch/upsert input must carry
    #: a read or update by a query ``idProperty`` that is not unique is refused with a 400
    #: (contacts look it up all the same, and answer 404)
    checks_id_property: bool = True
    query_properties: Sequence[str]  # what a search ``query`` looks at

    @property
    def records(self) -> RecordStore:
        raise NotImplementedError

    # ------------------------------------------------------------------ what the types answer

    def _record(self, rid: str) -> StoredContact:
        raise NotImplementedError

    def _live_records(self) -> Iterable[StoredContact]:
        raise NotImplementedError

    def _archive(self, rid: str) -> None:
        raise NotImplementedError

    def _is_key(self, prop: str) -> bool:
        """Whether ``prop`` may address a record (batch/read, batch/upsert)."""
        raise NotImplementedError

    def _updates_by(self, prop: str) -> bool:
        """Whether ``prop`` may address a record batch/update writes."""
        return self._is_key(prop)

    def _lookup_to_write(self, raw_id: str, prop: str | None) -> StoredContact | None:
        return self.records.lookup(raw_id, prop)

    def _upsert_key(self, prop: str, raw_id: str) -> str:
        """What makes two batch/upsert inputs the same record."""
        return f"{prop}:{raw_id}"

    def _refuses_new(self, prop: str | None, raw_id: str) -> str | None:
        """Why batch/upsert cannot create a record with ``raw_id`` as ``prop``, or None."""
        return None

    def _plan_links(self, raw: Any) -> list[Planned]:
        """A create's inline ``associations``, checked (raises ``Reject`` with a 400)."""
        return []

    def _link(self, rid: str, planned: list[Planned]) -> None:
        return None

    def _render_read(
        self, record: StoredContact, wanted: list[str] | None, req: ApiRequest
    ) -> dict[str, Any]:
        return self.records.render(record, wanted)

    def _search_cap(self) -> int:
        raise NotImplementedError

    def _search_message(self, exc: SearchError) -> str:
        return str(exc)

    # ------------------------------------------------------------------ routes

    def _register_records(self, r: Router, base: str) -> None:
        k = self.kind
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

    def _conflict(self, conflict: _Conflict) -> Response:
        return error(409, conflict.message, "CONFLICT")

    # ------------------------------------------------------------------ shared handlers

    def _h_list(self, req: ApiRequest) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        wanted = wanted_properties(req)
        return list_page(
            req,
            self.records.roster(archived),
            lambda i: self._render_read(self._record(str(i)), wanted, req),
        )

    def _h_get(self, req: ApiRequest, rid: str) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        id_property = req.query.get("idProperty")
        if self.checks_id_property and id_property and not self._is_key(id_property):
            return bad_request(f"{id_property} is not a unique property of {self.kind}")
        record = self.records.lookup(rid, id_property, archived=archived)
        if record is None:
            return not_found(rid)
        return json_response(200, self._render_read(record, wanted_properties(req), req))

    def _h_create(self, req: ApiRequest) -> Response:
        body = object_body(req)
        changes = self.records.validated(body.get("properties"), None)
        planned = self._plan_links(body.get("associations"))
        conflict = self.records.find_conflict(self.records.merged(None, changes), None)
        if conflict:
            return self._conflict(conflict)
        record = self.records.create(changes)
        self._link(record.id, planned)
        return json_response(201, self.records.render(record, None, all_values=True))

    def _h_update(self, req: ApiRequest, rid: str) -> Response:
        body = object_body(req)
        id_property = req.query.get("idProperty")
        if self.checks_id_property and id_property and not self._is_key(id_property):
            return bad_request(self.non_unique_message)
        record = self._lookup_to_write(rid, id_property)
        if record is None:
            return not_found(rid)
        changes = self.records.validated(body.get("properties"), record)
        conflict = self.records.find_conflict(self.records.merged(record, changes), record.id)
        if conflict:
            return self._conflict(conflict)
        self.records.apply(record, changes)
        return json_response(200, self.records.render(record, None, all_values=True))

    def _h_archive(self, req: ApiRequest, rid: str) -> Response:
        self._archive(rid)
        return empty_response(204)

    def _h_batch_archive(self, req: ApiRequest) -> Response:
        for item in batch_inputs(object_body(req)):
            self._archive(str(item.get("id", "")))
        return empty_response(204)

    def _h_batch_read(self, req: ApiRequest) -> Response:
        started = now_ms()
        body = object_body(req)
        inputs = batch_inputs(body)
        require_fields(
            body, ("properties", "propertiesWithHistory"), "BatchReadInputSimplePublicObjectId"
        )
        for item in inputs:
            require_fields(item, ("id",), "SimplePublicObjectId")
        id_property = body.get("idProperty") or None
        if id_property and not self._is_key(id_property):
            return bad_request(f"{id_property} is not a unique property of {self.kind}")
        return read_batch(
            req,
            body,
            inputs,
            id_property,
            self.records.lookup,
            self.records.render,
            self.not_found_message,
            started,
        )

    def _h_batch_create(self, req: ApiRequest) -> Response:
        started, _, inputs = write_batch(
            req, ("properties",), "SimplePublicObjectBatchInputForCreate"
        )
        traces, per_item = write_traces(inputs)
        planned: list[tuple[int, dict[str, str | None], list[Planned]]] = []
        errors: list[dict[str, Any]] = []
        batch_keys: set[tuple[str, str]] = set()
        for index, item in enumerate(inputs):
            context: dict[str, list[str]] = (
                {"objectWriteTraceId": [str(traces[index])]} if per_item else {}
            )
            try:
                changes = self.records.validated(item.get("properties"), None)
            except InvalidValues as exc:
                if not per_item:
                    return validation_error(exc, self.store.portal_id)
                message, details = invalid_body(exc, self.store.portal_id)
                errors.append(item_error("VALIDATION_ERROR", message, context, details))
                continue
            links = self._plan_links(item.get("associations"))
            values = self.records.merged(None, changes)
            conflict = self.records.find_conflict(values, None)
            if conflict:
                if not per_item:
                    return self._conflict(conflict)
                if self.names_existing_id:
                    context = {**context, "existingId": [conflict.existing_id]}
                errors.append(item_error("CONFLICT", conflict.message, context))
                continue
            keys = self.records.unique_keys(values)
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
            record = self.records.create(changes)
            self._link(record.id, links)
            rendered = self.records.render(record, None, all_values=True)
            if per_item:
                rendered["objectWriteTraceId"] = traces[index]
            results.append(rendered)
        return batch_response(201, results, errors, started)

    def _h_batch_update(self, req: ApiRequest) -> Response:
        started, body, inputs = write_batch(
            req, ("id", "properties"), "SimplePublicObjectBatchInput"
        )
        id_property = body.get("idProperty")
        ids = [str(item.get("id", "")) for item in inputs]
        for item in inputs:
            prop = item.get("idProperty") or id_property
            if prop and not self._updates_by(prop):
                return bad_request(self.non_unique_message)
        refuse_duplicates(ids)
        results, missing = [], []
        errors: list[dict[str, Any]] = []
        for item, raw_id in zip(inputs, ids, strict=True):
            prop = item.get("idProperty") or id_property
            record = self._lookup_to_write(raw_id, prop)
            context = item_context(raw_id, item)
            if record is None:
                missing.append(raw_id)
                continue
            changes = self._checked(item.get("properties"), record, context, errors)
            if changes is None:
                continue
            self.records.apply(record, changes)
            rendered = self.records.render(record, None, all_values=True)
            results.append(traced(rendered, item))
        if missing:
            errors.insert(
                0, item_error("OBJECT_NOT_FOUND", self.not_found_message, {"ids": missing})
            )
        return batch_response(200, results, errors, started)

    def _h_batch_upsert(self, req: ApiRequest) -> Response:
        """Create or update by a unique ``idProperty``: never a second record for one value."""
        started, body, inputs = write_batch(
            req, self.upsert_fields, "SimplePublicObjectBatchInputUpsert"
        )
        keys: list[str] = []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            if not prop:
                return bad_request("idProperty is required for upsert")
            if not self._is_key(prop):
                return bad_request(self.non_unique_message)
            keys.append(self._upsert_key(prop, str(item.get("id", ""))))
        refuse_duplicates(keys)
        results, errors = [], []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            raw_id = str(item.get("id", ""))
            context = item_context(raw_id, item)
            record = self._lookup_to_write(raw_id, prop)
            if record is None and prop == "hs_object_id":
                errors.append(item_error("OBJECT_NOT_FOUND", self.not_found_message, context))
                continue
            properties = dict(item.get("properties") or {})
            if record is None:
                properties.setdefault(prop, raw_id)
                refusal = self._refuses_new(prop, raw_id)
                if refusal:
                    errors.append(item_error("VALIDATION_ERROR", refusal, context))
                    continue
            changes = self._checked(properties, record, context, errors)
            if changes is None:
                continue
            created = record is None
            if record is None:
                record = self.records.create(changes)
            else:
                self.records.apply(record, changes)
            rendered = self.records.render(record, None, all_values=True)
            rendered["new"] = created
            results.append(traced(rendered, item))
        return batch_response(200, results, errors, started)

    def _checked(
        self,
        properties: Any,
        record: StoredContact | None,
        context: dict[str, list[str]],
        errors: list[dict[str, Any]],
    ) -> dict[str, str | None] | None:
        return checked_item(
            self.records,
            properties,
            record,
            context,
            errors,
            self.store.portal_id,
            existing_id=self.names_existing_id,
        )

    def _h_search(self, req: ApiRequest) -> Response:
        cap = self._search_cap()
        body, limit, after = search_window(req, cap)
        properties = self.records.properties
        try:
            predicate = compile_filters(body.get("filterGroups"), properties)
            text = query_predicate(body.get("query"), self.query_properties)
            sort = parse_sort(body.get("sorts"), properties)
        except SearchError as exc:
            return bad_request(self._search_message(exc))
        wanted = body.get("properties") or None
        if wanted is not None and not isinstance(wanted, list):
            return bad_request("properties must be a list")
        rows = [
            (r.id, r.values) for r in self._live_records() if predicate(r.values) and text(r.values)
        ]
        ordered = sort_ids(rows, sort, properties)
        return search_page(
            ordered,
            after,
            limit,
            cap,
            lambda rid: self.records.render(self._record(rid), wanted),
        )

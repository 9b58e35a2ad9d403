"""HubSpot's associations routes (v4): batch create (labelled), batch associate by default,
batch read, batch archive, the labels of a pair of object types, and one record's associations.

Paths under both ``/crm/associations/2026-03/{from}/{to}/…`` and the ``/crm/v4/associations/…``
the official client uses; object types by name (``contacts``, ``companies``, ``notes``, also
singular) or id (``0-1``, ``0-2``, ``0-46``). One record's associations:
``GET|PUT|DELETE /crm/objects/2026-03/{type}/{id}/associations/{toType}[/{toId}]`` (and
``/crm/v4/objects/…``), ``PUT …/associations/default/{toType}/{toId}``.

Bodies follow the 2026-03 spec (record ids are strings). A batch takes at most 100 inputs; an
input naming a record that does not exist is reported in a 207 and the others are written; a
type id that does not exist for the pair refuses the whole request (400). A batch read answers
each record's associations (at most 500, then ``paging``) and, in a 207, the records that have
none (``NO_ASSOCIATIONS_FOUND``).
"""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, empty_response, json_response
from sandbox.hubspot_crm import SINGULAR, AssociationType, UnknownObjectType, type_id_of
from sandbox.hubspot_store import HubSpotStore
from sandbox.hubspot_wire import (
    bad_request,
    batch_inputs,
    batch_response,
    int_param,
    item_error,
    object_body,
    require_fields,
)

PAIR_PATH = (
    r"/crm/(?:v4/associations|associations/\d{4}-\d{2})/(?P<from_name>[^/]+)/(?P<to_name>[^/]+)"
)
RECORD_PATH = (
    r"/crm/(?:v4/objects|objects/\d{4}-\d{2})/(?P<from_name>[^/]+)/(?P<rid>[^/]+)/associations"
)
READ_PAGE = 500


def types_of(from_name: str, to_name: str) -> tuple[str, str]:
    try:
        return type_id_of(from_name), type_id_of(to_name)
    except UnknownObjectType as exc:
        raise Reject(bad_request(str(exc))) from None


def object_id(value: Any, field: str) -> str:
    if not isinstance(value, dict) or "id" not in value:
        raise Reject(
            bad_request(
                f"Invalid input JSON: Cannot build PublicObjectId, some of required attributes"
                f" are not set [id] ({field})"
            )
        )
    return str(value["id"]).strip()


class AssociationRoutes:
    """The associations handlers, acting on ``store``."""

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def register(self, r: Router) -> None:
        r.add("POST", PAIR_PATH + "/batch/create", "associations.batch.create", self._h_create)
        r.add(
            "POST",
            PAIR_PATH + "/batch/associate/default",
            "associations.batch.default",
            self._h_default,
        )
        r.add("POST", PAIR_PATH + "/batch/read", "associations.batch.read", self._h_read)
        r.add("POST", PAIR_PATH + "/batch/archive", "associations.batch.archive", self._h_archive)
        r.add("GET", PAIR_PATH + "/labels", "associations.labels.list", self._h_labels)
        r.add("POST", PAIR_PATH + "/labels", "associations.labels.create", self._h_label_create)
        r.add(
            "PUT",
            RECORD_PATH + r"/default/(?P<to_name>[^/]+)/(?P<to_id>[^/]+)",
            "associations.record.default",
            self._h_record_default,
        )
        r.add("GET", RECORD_PATH + r"/(?P<to_name>[^/]+)", "associations.record.list", self._h_list)
        r.add(
            "PUT",
            RECORD_PATH + r"/(?P<to_name>[^/]+)/(?P<to_id>[^/]+)",
            "associations.record.create",
            self._h_record_create,
        )
        r.add(
            "DELETE",
            RECORD_PATH + r"/(?P<to_name>[^/]+)/(?P<to_id>[^/]+)",
            "associations.record.archive",
            self._h_record_archive,
        )

    # ------------------------------------------------------------------ shared pieces

    def _kind(self, from_type: str, to_type: str, spec: Any) -> AssociationType:
        category = spec.get("associationCategory") if isinstance(spec, dict) else None
        type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
        if category is None or not isinstance(type_id, int) or isinstance(type_id, bool):
            raise Reject(
                bad_request(
                    "Invalid input JSON: Cannot build AssociationSpec, some of required attributes"
                    " are not set [associationCategory, associationTypeId]"
                )
            )
        kind = self.store.association_type(from_type, str(category), type_id)
        if kind is None or kind.to_type != to_type:
            raise Reject(
                bad_request(
                    f"{category} association type {type_id} is not valid between"
                    f" {SINGULAR.get(from_type, from_type)} and {SINGULAR.get(to_type, to_type)}"
                )
            )
        return kind

    def _missing(
        self, from_type: str, from_id: str, to_type: str, to_id: str
    ) -> dict[str, Any] | None:
        if not self.store.exists(from_type, from_id):
            return item_error(
                "OBJECT_NOT_FOUND",
                f"No {SINGULAR[from_type]} with ID {from_id} exists",
                {"fromObjectId": [from_id]},
            )
        if not self.store.exists(to_type, to_id):
            return item_error(
                "OBJECT_NOT_FOUND",
                f"No {SINGULAR[to_type]} with ID {to_id} exists",
                {"toObjectId": [to_id]},
            )
        return None

    def _pair(
        self, from_type: str, from_id: str, to_type: str, to_id: str, kinds: list[AssociationType]
    ) -> dict[str, Any]:
        return {
            "fromObjectTypeId": from_type,
            "fromObjectId": from_id,
            "toObjectTypeId": to_type,
            "toObjectId": to_id,
            "labels": sorted({k.label for k in kinds if k.label}),
        }

    # ------------------------------------------------------------------ batches

    def _h_create(self, req: ApiRequest, from_name: str, to_name: str) -> Response:
        started = int(time.time() * 1000)
        from_type, to_type = types_of(from_name, to_name)
        inputs = batch_inputs(object_body(req))
        planned = []
        for item in inputs:
            require_fields(item, ("from", "to", "types"), "PublicAssociationMultiPost")
            if not isinstance(item["types"], list) or not item["types"]:
                return bad_request("types must be a non-empty list of association specs")
            kinds = [self._kind(from_type, to_type, spec) for spec in item["types"]]
            planned.append((object_id(item["from"], "from"), object_id(item["to"], "to"), kinds))
        results, errors = [], []
        for from_id, to_id, kinds in planned:
            problem = self._missing(from_type, from_id, to_type, to_id)
            if problem:
                errors.append(problem)
                continue
            for kind in kinds:
                self.store.associate((from_type, from_id), (to_type, to_id), kind)
            results.append(self._pair(from_type, from_id, to_type, to_id, kinds))
        return batch_response(201, results, errors, started)

    def _default_of(self, from_name: str, to_name: str) -> tuple[str, str, AssociationType]:
        """Both type ids and the default association between them, or a 400 if there is none."""
        from_type, to_type = types_of(from_name, to_name)
        kind = self.store.default_type(from_type, to_type)
        if kind is None:
            raise Reject(
                bad_request(
                    f"There is no default association from {SINGULAR[from_type]}"
                    f" to {SINGULAR[to_type]}"
                )
            )
        return from_type, to_type, kind

    def _h_default(self, req: ApiRequest, from_name: str, to_name: str) -> Response:
        started = int(time.time() * 1000)
        from_type, to_type, kind = self._default_of(from_name, to_name)
        inputs = batch_inputs(object_body(req))
        pairs = []
        for item in inputs:
            require_fields(item, ("from", "to"), "PublicDefaultAssociationMultiPost")
            pairs.append((object_id(item["from"], "from"), object_id(item["to"], "to")))
        results, errors = [], []
        for from_id, to_id in pairs:
            problem = self._missing(from_type, from_id, to_type, to_id)
            if problem:
                errors.append(problem)
                continue
            self.store.associate((from_type, from_id), (to_type, to_id), kind)
            results.append(
                {"from": {"id": from_id}, "to": {"id": to_id}, "associationSpec": kind.spec()}
            )
        return batch_response(200, results, errors, started)

    def _to_list(self, from_type: str, from_id: str, to_type: str) -> list[dict[str, Any]]:
        out = []
        for to_id, links in self.store.associations_of((from_type, from_id), to_type):
            types = []
            for link in links:
                kind = self.store.label_of(from_type, link)
                types.append(
                    {"category": link[0], "typeId": link[1], "label": kind.label if kind else None}
                )
            out.append({"toObjectId": to_id, "associationTypes": types})
        return out

    def _h_read(self, req: ApiRequest, from_name: str, to_name: str) -> Response:
        started = int(time.time() * 1000)
        from_type, to_type = types_of(from_name, to_name)
        inputs = batch_inputs(object_body(req))
        for item in inputs:
            require_fields(item, ("id",), "PublicFetchAssociationsBatchRequest")
        results, missing = [], []
        for item in inputs:
            from_id = str(item["id"]).strip()
            found = self._to_list(from_type, from_id, to_type)
            after = str(item.get("after") or "")
            if after.isdigit():
                found = found[int(after) :]
                offset = int(after)
            else:
                offset = 0
            if not found:
                missing.append(from_id)
                continue
            result: dict[str, Any] = {"from": {"id": from_id}, "to": found[:READ_PAGE]}
            if len(found) > READ_PAGE:
                result["paging"] = {"next": {"after": str(offset + READ_PAGE)}}
            results.append(result)
        errors = [
            {
                **item_error(
                    "OBJECT_NOT_FOUND",
                    f"No {SINGULAR[to_type]} is associated with {SINGULAR[from_type]} {from_id}.",
                    {"fromObjectId": [from_id]},
                ),
                "subCategory": "crm-associations.NO_ASSOCIATIONS_FOUND",
            }
            for from_id in missing
        ]
        return batch_response(200, results, errors, started)

    def _h_archive(self, req: ApiRequest, from_name: str, to_name: str) -> Response:
        from_type, to_type = types_of(from_name, to_name)
        for item in batch_inputs(object_body(req)):
            require_fields(item, ("from", "to"), "PublicAssociationMultiArchive")
            from_id = object_id(item["from"], "from")
            targets = item["to"] if isinstance(item["to"], list) else [item["to"]]
            for target in targets:
                self.store.disassociate((from_type, from_id), (to_type, object_id(target, "to")))
        return empty_response(204)

    # ------------------------------------------------------------------ labels

    def _h_labels(self, req: ApiRequest, from_name: str, to_name: str) -> Response:
        from_type, to_type = types_of(from_name, to_name)
        kinds = self.store.types_between(from_type, to_type)
        return json_response(200, {"results": [k.with_label() for k in kinds]})

    def _h_label_create(self, req: ApiRequest, from_name: str, to_name: str) -> Response:
        from_type, to_type = types_of(from_name, to_name)
        body = object_body(req)
        require_fields(body, ("label", "name"), "PublicAssociationDefinitionCreateRequest")
        label, inverse = body["label"], body.get("inverseLabel")
        if not isinstance(label, str) or not label.strip():
            return bad_request("label must be a non-blank string")
        if any(k.label == label for k in self.store.types_between(from_type, to_type)):
            return bad_request(f"An association label named {label!r} already exists")
        forward = self.store.add_label(from_type, to_type, label.strip(), inverse)
        results = [forward.with_label()]
        if inverse:
            backward = self.store.association_type(to_type, forward.category, forward.inverse_id)
            if backward is not None:
                results.append(backward.with_label())
        return json_response(200, {"results": results})

    # ------------------------------------------------------------------ one record

    def _h_list(self, req: ApiRequest, from_name: str, rid: str, to_name: str) -> Response:
        from_type, to_type = types_of(from_name, to_name)
        limit = int_param(req, "limit", 500, 500)
        after = req.query.get("after") or "0"
        start = int(after) if after.isdigit() else 0
        found = self._to_list(from_type, rid, to_type)
        body: dict[str, Any] = {"results": found[start : start + limit]}
        if start + limit < len(found):
            body["paging"] = {"next": {"after": str(start + limit)}}
        return json_response(200, body)

    def _h_record_create(
        self, req: ApiRequest, from_name: str, rid: str, to_name: str, to_id: str
    ) -> Response:
        from_type, to_type = types_of(from_name, to_name)
        specs = req.json
        if not isinstance(specs, list) or not specs:
            return bad_request("The body must be a non-empty list of association specs")
        kinds = [self._kind(from_type, to_type, spec) for spec in specs]
        problem = self._missing(from_type, rid, to_type, to_id)
        if problem:
            return json_response(404, {**problem, "correlationId": req.request_id})
        for kind in kinds:
            self.store.associate((from_type, rid), (to_type, to_id), kind)
        return json_response(201, self._pair(from_type, rid, to_type, to_id, kinds))

    def _h_record_default(
        self, req: ApiRequest, from_name: str, rid: str, to_name: str, to_id: str
    ) -> Response:
        started = int(time.time() * 1000)
        from_type, to_type, kind = self._default_of(from_name, to_name)
        problem = self._missing(from_type, rid, to_type, to_id)
        if problem:
            return batch_response(200, [], [problem], started)
        self.store.associate((from_type, rid), (to_type, to_id), kind)
        result = {"from": {"id": rid}, "to": {"id": to_id}, "associationSpec": kind.spec()}
        return batch_response(200, [result], [], started)

    def _h_record_archive(
        self, req: ApiRequest, from_name: str, rid: str, to_name: str, to_id: str
    ) -> Response:
        from_type, to_type = types_of(from_name, to_name)
        self.store.disassociate((from_type, rid), (to_type, to_id))
        return empty_response(204)

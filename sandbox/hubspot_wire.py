"""What every HubSpot answer shares: error bodies, the batch envelope and request parsing.

The route modules (:mod:`sandbox.hubspot_contacts_api`, :mod:`sandbox.hubspot_lists_api`,
:mod:`sandbox.hubspot_properties_api`) and the service itself (:mod:`sandbox.hubspot`) build
their answers from these, so an error body or a 207 looks the same whichever route made it.
A helper that refuses a request raises :class:`~sandbox.core.Reject` with the answer.
"""

from __future__ import annotations

import bisect
import json
import math
import time
import uuid
from collections.abc import Callable
from typing import Any, Protocol

from starlette.responses import Response

from sandbox.core import BAD_JSON, NO_JSON, ApiRequest, Reject, json_response
from sandbox.hubspot_properties import iso_ms
from sandbox.hubspot_records import StoredContact
from sandbox.hubspot_search import MAX_BODY_CHARS, MAX_LIMIT
from sandbox.hubspot_store import InvalidValues

BATCH_MAX = 100
LIST_PAGE_MAX = 100

#: The paths of each resource family, under both the dated and the legacy ``v3`` prefixes.
OBJECTS_PATH = r"/crm/(?:v3/objects|objects/\d{4}-\d{2})/(?:contacts|0-1)"
LISTS_PATH = r"/crm/(?:v3/lists|lists/\d{4}-\d{2})"
PROPERTIES_PATH = r"/crm/(?:v3/properties|properties/\d{4}-\d{2})/(?:contacts|0-1)"

NOT_FOUND_MESSAGE = "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
NON_UNIQUE_MESSAGE = "Unable to perform update/upsert by non-unique 0-1 property"
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can"
    " find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)

# ---------------------------------------------------------------------- error bodies


def error(
    status: int,
    message: str,
    category: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
    }
    if category:
        body["category"] = category
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return json_response(status, body, headers)


def invalid_body(exc: InvalidValues, portal_id: int) -> tuple[str, list[dict[str, Any]]]:
    details = [
        {
            "isValid": False,
            "message": e.message,
            "error": e.code,
            "name": e.name,
            "localizedErrorMessage": e.message,
            "portalId": portal_id,
        }
        for e in exc.errors
    ]
    message = "Property values were not valid: " + json.dumps(details)
    errors = [
        {"message": e.message, "code": e.code, "context": {"propertyName": [e.name]}}
        for e in exc.errors
    ]
    return message, errors


def validation_error(exc: InvalidValues, portal_id: int) -> Response:
    message, errors = invalid_body(exc, portal_id)
    return error(400, message, "VALIDATION_ERROR", errors=errors)


def bad_request(message: str) -> Response:
    return error(400, message, "VALIDATION_ERROR")


def not_found(contact_id: str) -> Response:
    return error(
        404,
        f"Object not found. objectId are usually numeric. ({contact_id})",
        "OBJECT_NOT_FOUND",
    )


def item_error(
    category: str,
    message: str,
    context: dict[str, list[str]],
    errors: list[Any] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "status": "error",
        "category": category,
        "message": message,
        "context": context,
    }
    if errors:
        item["errors"] = errors
    return item


def batch_response(
    ok_status: int,
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    started: int,
) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(int(time.time() * 1000)),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return json_response(207, body)
    return json_response(ok_status, body)


def seconds(value: float) -> str:
    return str(max(1, math.ceil(value)))


def html_error(status: int) -> Response:
    phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(
        status, "Error"
    )
    page = (
        f"<html><head><title>{status} {phrase}</title></head>"
        f"<body><center><h1>{status} {phrase}</h1></center><hr><center>cloudflare</center></body></html>"
    )
    return Response(page, status, media_type="text/html")


# ---------------------------------------------------------------------- request parsing


def object_body(req: ApiRequest) -> dict[str, Any]:
    if req.json is NO_JSON or req.json is BAD_JSON or not isinstance(req.json, dict):
        raise Reject(bad_request("Invalid input JSON: expected a JSON object body"))
    return req.json


def wanted_properties(req: ApiRequest) -> list[str] | None:
    values = req.query.getlist("properties")
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def int_param(req: ApiRequest, name: str, default: int, maximum: int) -> int:
    raw = req.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Reject(bad_request(f"{name} must be an integer, got {raw!r}")) from None
    if value < 1 or value > maximum:
        raise Reject(bad_request(f"{name} must be between 1 and {maximum}, got {value}"))
    return value


def list_page(
    req: ApiRequest, roster: list[int], render: Callable[[int], dict[str, Any]]
) -> Response:
    """``GET /crm/objects/…``: the page of ``roster`` (sorted ids) after ``after``, each record
    rendered by ``render``, with the next page's ``paging`` link when there is one."""
    limit = int_param(req, "limit", 10, LIST_PAGE_MAX)
    after_raw = req.query.get("after")
    try:
        after = int(after_raw) if after_raw else 0
    except ValueError:
        raise Reject(bad_request(f"after must be a number, got {after_raw!r}")) from None
    start = bisect.bisect_left(roster, after)
    ids = roster[start : start + limit + 1]
    body: dict[str, Any] = {"results": [render(i) for i in ids[:limit]]}
    if len(ids) > limit:
        next_after = str(ids[limit])
        body["paging"] = {
            "next": {"after": next_after, "link": f"{req.base_url}{req.path}?after={next_after}"}
        }
    return json_response(200, body)


def search_window(req: ApiRequest, cap: int) -> tuple[dict[str, Any], int, int]:
    """A search request's body, ``limit`` and ``after``, checked as HubSpot does (body size,
    page size, no page beyond ``cap`` results)."""
    if len(req.body.decode("utf-8", "replace")) > MAX_BODY_CHARS:
        raise Reject(
            bad_request(
                f"The request body is larger than the maximum of {MAX_BODY_CHARS} characters"
            )
        )
    body = object_body(req)
    try:
        limit = int(body.get("limit", 10))
        after = int(body.get("after") or 0)
    except (TypeError, ValueError):
        raise Reject(bad_request("limit and after must be numbers")) from None
    if limit < 0 or limit > MAX_LIMIT:
        raise Reject(bad_request(f"limit must be between 0 and {MAX_LIMIT}, got {limit}"))
    if after < 0 or after >= cap:
        raise Reject(bad_request(f"Cannot page beyond {cap} results (after={after})"))
    return body, limit, after


def search_page(
    ordered: list[str], after: int, limit: int, cap: int, render: Callable[[str], dict[str, Any]]
) -> Response:
    """A search answer: the total, the page of ``ordered`` ids rendered, and the next ``after``
    while more results are reachable below ``cap``."""
    reachable = min(len(ordered), cap)
    page = ordered[after : min(after + limit, reachable)]
    out: dict[str, Any] = {"total": len(ordered), "results": [render(rid) for rid in page]}
    if after + limit < reachable:
        out["paging"] = {"next": {"after": str(after + limit)}}
    return json_response(200, out)


def write_traces(inputs: list[dict[str, Any]]) -> tuple[list[Any], bool]:
    """Each input's ``objectWriteTraceId``, and whether every input has its own (then a
    batch/create reports bad items one by one instead of failing whole)."""
    traces = [item.get("objectWriteTraceId") for item in inputs]
    return traces, all(isinstance(t, str) and t for t in traces) and len(set(traces)) == len(traces)


def item_context(raw_id: str, item: dict[str, Any]) -> dict[str, list[str]]:
    """A batch item's error context: its id, and its ``objectWriteTraceId`` when it has one."""
    context: dict[str, list[str]] = {"ids": [raw_id]}
    if item.get("objectWriteTraceId"):
        context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
    return context


def traced(rendered: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """A written record as a batch answers it: with the input's ``objectWriteTraceId``."""
    if item.get("objectWriteTraceId"):
        rendered["objectWriteTraceId"] = item["objectWriteTraceId"]
    return rendered


class _Clash(Protocol):
    message: str
    existing_id: str


class Records(Protocol):
    """What a batch write asks of a record type's store (contacts, companies, notes)."""

    def validated(self, raw: Any, current: StoredContact | None, /) -> dict[str, str | None]: ...

    def merged(
        self, record: StoredContact | None, changes: dict[str, str | None], /
    ) -> dict[str, str]: ...

    def find_conflict(self, values: dict[str, str], own_id: str | None, /) -> _Clash | None: ...


def checked_item(
    records: Records,
    properties: Any,
    record: StoredContact | None,
    context: dict[str, list[str]],
    errors: list[dict[str, Any]],
    portal_id: int,
    *,
    existing_id: bool,
) -> dict[str, str | None] | None:
    """A batch item's changes to ``record`` (None: a new one) as ``records`` would store them,
    or None with its 207 error added to ``errors``: ``VALIDATION_ERROR`` for refused values,
    ``CONFLICT`` for a unique value another record holds (naming it when ``existing_id``)."""
    try:
        changes = records.validated(properties, record)
    except InvalidValues as exc:
        message, details = invalid_body(exc, portal_id)
        errors.append(item_error("VALIDATION_ERROR", message, context, details))
        return None
    conflict = records.find_conflict(records.merged(record, changes), record.id if record else None)
    if conflict:
        if existing_id:
            context["existingId"] = [conflict.existing_id]
        errors.append(item_error("CONFLICT", conflict.message, context))
        return None
    return changes


def read_batch(
    req: ApiRequest,
    body: dict[str, Any],
    inputs: list[dict[str, Any]],
    id_property: str | None,
    lookup: Callable[..., StoredContact | None],
    render: Callable[[StoredContact, list[str] | None], dict[str, Any]],
    not_found_message: str,
    started: int,
) -> Response:
    """``batch/read``: each input looked up (by ``id_property`` when given; archived ones with
    ``archived=true``) once, the ``properties`` wanted (and ``id_property``) rendered, and the
    ids not found in one ``OBJECT_NOT_FOUND`` error."""
    wanted = body.get("properties")
    if wanted is not None and not isinstance(wanted, list):
        return bad_request("properties must be a list")
    if id_property and wanted is not None and id_property not in wanted:
        wanted = [*wanted, id_property]
    archived = req.query.get("archived", "false").lower() == "true"
    results, missing, seen = [], [], set()
    for item in inputs:
        raw_id = str(item.get("id", ""))
        record = lookup(raw_id, id_property, archived=archived)
        if record is None:
            missing.append(raw_id)
        elif record.id not in seen:
            seen.add(record.id)
            results.append(render(record, wanted))
    errors = (
        [item_error("OBJECT_NOT_FOUND", not_found_message, {"ids": missing})] if missing else []
    )
    return batch_response(200, results, errors, started)


def batch_inputs(body: dict[str, Any]) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise Reject(bad_request("inputs must be a list of objects"))
    if len(inputs) > BATCH_MAX:
        raise Reject(
            bad_request(f"Batch input size {len(inputs)} exceeds the limit of {BATCH_MAX} inputs")
        )
    return inputs


def require_fields(value: dict[str, Any], names: tuple[str, ...], schema: str) -> None:
    """HubSpot refuses a body without a field its spec marks required (whole request)."""
    missing = [name for name in names if name not in value]
    if missing:
        raise Reject(
            bad_request(
                f"Invalid input JSON: Cannot build {schema}, some of required attributes"
                f" are not set [{', '.join(missing)}]"
            )
        )

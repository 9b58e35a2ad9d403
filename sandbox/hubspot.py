"""The HubSpot stand-in: contacts, search, lists and properties, with HubSpot's limits.

Paths are served under both the date-versioned prefixes (``/crm/objects/2026-03/contacts``,
``/crm/lists/2026-03``, ``/crm/properties/2026-03/contacts``; any ``YYYY-MM`` version) and the
legacy ``/crm/v3/...`` ones the official Python client uses. :meth:`HubSpotState.canonical_path`
folds them together, so call counts and faults match either spelling.

Rate limits (when ``limits.enabled``): a rolling window per token over every call but search,
reported in ``X-HubSpot-RateLimit-*`` headers; search has its own per-second bucket and no
headers; a daily quota covers both. A refused request has no effect.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import time
import uuid
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from sandbox.core import (
    BAD_JSON,
    NO_JSON,
    ApiRequest,
    Fault,
    Reject,
    Router,
    ServiceState,
    empty_response,
    json_response,
)
from sandbox.hubspot_properties import (
    EMAIL_RE,
    FIELD_TYPES,
    iso_ms,
)
from sandbox.hubspot_search import (
    MAX_BODY_CHARS,
    MAX_LIMIT,
    MAX_RESULTS,
    SearchError,
    compile_filters,
    parse_sort,
    query_predicate,
    sort_ids,
)
from sandbox.hubspot_store import (
    PORTAL_ID,
    PROCESSING_TYPES,
    HubSpotStore,
    InvalidValues,
    StoredList,
    normalize_email,
)
from sandbox.limits import DailyCounter, RollingWindow, SandboxLimits

BATCH_MAX = 100
LIST_PAGE_MAX = 100
MEMBERSHIP_PAGE_MAX = 250

_OBJ = r"/crm/(?:v3/objects|objects/\d{4}-\d{2})/(?:contacts|0-1)"
_LISTS = r"/crm/(?:v3/lists|lists/\d{4}-\d{2})"
_PROPS = r"/crm/(?:v3/properties|properties/\d{4}-\d{2})/(?:contacts|0-1)"
_CANONICAL = (
    (
        re.compile(r"^/crm/(?:v3/objects|objects/\d{4}-\d{2})/(?:contacts|0-1)"),
        "/crm/objects/2026-03/contacts",
    ),
    (re.compile(r"^/crm/(?:v3/lists|lists/\d{4}-\d{2})"), "/crm/lists/2026-03"),
    (
        re.compile(r"^/crm/(?:v3/properties|properties/\d{4}-\d{2})/(?:contacts|0-1)"),
        "/crm/properties/2026-03/contacts",
    ),
)

NOT_FOUND_MESSAGE = "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid."
NON_UNIQUE_MESSAGE = "Unable to perform update/upsert by non-unique 0-1 property"
AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can"
    " find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
#: What a private app made by docs/setup.md is granted; tests narrow ``token_scopes``.
DEFAULT_TOKEN_SCOPES = (
    "crm.lists.read",
    "crm.lists.write",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.read",
    "oauth",
)


class HubSpotState(ServiceState, HubSpotStore):
    service = "hubspot"
    fault_kinds = ServiceState.fault_kinds | {"daily"}

    def __init__(self, limits: SandboxLimits, *, token: str, portal_id: int = PORTAL_ID) -> None:
        super().__init__(limits)
        self.token = token
        self.portal_id = portal_id
        self._router = self._build_router()
        self._reset_data()

    def _reset_data(self) -> None:
        self._reset_store()
        self._windows: dict[str, RollingWindow] = {}
        self._search_windows: dict[str, RollingWindow] = {}
        self._daily = DailyCounter()
        # None: the token is not a private app's (a service key), so token-info does not know it
        self.token_scopes: list[str] | None = list(DEFAULT_TOKEN_SCOPES)

    def canonical_path(self, path: str) -> str:
        for pattern, replacement in _CANONICAL:
            path = pattern.sub(replacement, path, count=1)
        return path

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "token": self.token,
            "portal_id": self.portal_id,
            "demo_list_id": self.demo_list_id,
            "contacts": sum(1 for c in self._contacts.values() if not c.archived),
            "lists": {hs_list.list_id: hs_list.name for hs_list in self._lists.values()},
        }

    # ================================================================== errors

    def _error(
        self,
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

    def _invalid_body(self, exc: InvalidValues) -> tuple[str, list[dict[str, Any]]]:
        details = [
            {
                "isValid": False,
                "message": e.message,
                "error": e.code,
                "name": e.name,
                "localizedErrorMessage": e.message,
                "portalId": self.portal_id,
            }
            for e in exc.errors
        ]
        message = "Property values were not valid: " + json.dumps(details)
        errors = [
            {"message": e.message, "code": e.code, "context": {"propertyName": [e.name]}}
            for e in exc.errors
        ]
        return message, errors

    def _validation_error(self, exc: InvalidValues) -> Response:
        message, errors = self._invalid_body(exc)
        return self._error(400, message, "VALIDATION_ERROR", errors=errors)

    def _bad_request(self, message: str) -> Response:
        return self._error(400, message, "VALIDATION_ERROR")

    def _rate_body(self, policy: str, message: str) -> dict[str, Any]:
        return {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": str(uuid.uuid4()),
            "policyName": policy,
            "groupName": f"hubspot-api-private-app:{self.portal_id}",
        }

    def _limit_headers(self, remaining: int | None, daily_remaining: int) -> dict[str, str]:
        limits = self.limits
        return {
            "X-HubSpot-RateLimit-Max": str(limits.hubspot_burst),
            "X-HubSpot-RateLimit-Remaining": str(
                limits.hubspot_burst if remaining is None else remaining
            ),
            "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(limits.hubspot_window_s * 1000)),
            "X-HubSpot-RateLimit-Daily": str(limits.hubspot_daily_max),
            "X-HubSpot-RateLimit-Daily-Remaining": str(daily_remaining),
        }

    def fault_response(self, fault: Fault, req: ApiRequest) -> Response:
        kind = fault.kind
        search = req.path.endswith("/search") and "/objects/" in self.canonical_path(req.path)
        daily_left = self._daily.remaining(self.limits.hubspot_daily_max)
        if kind in ("429", "429-no-retry-after"):
            if search:
                body = self._rate_body("SECONDLY", "You have reached your secondly limit.")
                headers: dict[str, str] = {}
            else:
                body = self._rate_body(
                    "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
                )
                headers = self._limit_headers(0, daily_left)
            if kind == "429":
                headers["Retry-After"] = _seconds(fault.delay if fault.delay is not None else 1)
            return json_response(429, body, headers)
        if kind == "daily":
            body = self._rate_body("DAILY", "You have reached your daily limit.")
            return json_response(429, body, self._limit_headers(None, 0))
        if kind == "429-empty":
            return empty_response(429)
        if kind == "401":
            return self._error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if kind == "500":
            return self._error(500, "internal error", None)
        return _html_error(int(kind))

    def internal_error(self, req: ApiRequest) -> Response:
        return self._error(500, "internal error", None)

    # ================================================================== dispatch

    def dispatch(self, req: ApiRequest) -> Response:
        if (req.method, req.path) == ("POST", TOKEN_INFO_PATH):  # takes the token in its body
            req.endpoint = "oauth.token_info"
            return self._h_token_info(req)
        if req.bearer_token() != self.token:
            return self._error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        match = self._router.match(req.method, req.path)
        if match is None and self._router.knows(req.path):
            return self._error(
                405, f"HTTP method {req.method} is not supported by {req.path}", None
            )
        if match is None:
            return self._error(404, f"Unable to route {req.method} {req.path}", "OBJECT_NOT_FOUND")
        req.endpoint = match.name
        token = req.bearer_token() or ""
        search = match.name.endswith(".search") and match.name.startswith("contacts")
        headers: dict[str, str] = {}
        if self.limits.enabled:
            refused = self._rate_limit(token, search, headers)
            if refused is not None:
                return refused
        elif not search:
            headers = self._limit_headers(None, self.limits.hubspot_daily_max)
        try:
            response = match.handler(req, **match.params)
        except Reject as reject:
            response = reject.response
        except InvalidValues as exc:
            response = self._validation_error(exc)
        response.headers.update(headers)
        return response

    def _h_token_info(self, req: ApiRequest) -> Response:
        """Private-app token info: who the token belongs to and its scopes. What HubSpot answers
        for an unknown token is not documented; a 401 like every other refusal stands in."""
        body = req.json if isinstance(req.json, dict) else {}
        if body.get("tokenKey") != self.token:
            return self._error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if self.token_scopes is None:  # undocumented for service keys too: a 404 stands in
            return self._error(404, "No private app has this token", "OBJECT_NOT_FOUND")
        return json_response(
            200,
            {
                "userId": 4242,
                "hubId": self.portal_id,
                "appId": 777,
                "scopes": list(self.token_scopes),
            },
        )

    def _rate_limit(self, token: str, search: bool, headers: dict[str, str]) -> Response | None:
        limits = self.limits
        daily_max = limits.hubspot_daily_max
        if self._daily.remaining(daily_max) <= 0:
            body = self._rate_body("DAILY", "You have reached your daily limit.")
            return json_response(429, body, {} if search else self._limit_headers(None, 0))
        if search:
            window = self._search_windows.setdefault(token, RollingWindow())
            if not window.acquire(limits.hubspot_search_burst, 1.0)[0]:
                body = self._rate_body("SECONDLY", "You have reached your secondly limit.")
                return json_response(429, body)
            self._daily.consume(daily_max)
            return None
        window = self._windows.setdefault(token, RollingWindow())
        allowed, remaining, wait = window.acquire(limits.hubspot_burst, limits.hubspot_window_s)
        if not allowed:
            refusal = self._limit_headers(0, self._daily.remaining(daily_max))
            refusal["Retry-After"] = _seconds(wait)
            body = self._rate_body(
                "TEN_SECONDLY_ROLLING", "You have reached your ten_secondly_rolling limit."
            )
            return json_response(429, body, refusal)
        headers.update(self._limit_headers(remaining, self._daily.consume(daily_max)))
        return None

    def _build_router(self) -> Router:
        r = Router()
        r.add("GET", _OBJ, "contacts.list", self._h_list)
        r.add("POST", _OBJ, "contacts.create", self._h_create)
        r.add("POST", _OBJ + "/search", "contacts.search", self._h_search)
        r.add("POST", _OBJ + "/batch/read", "contacts.batch.read", self._h_batch_read)
        r.add("POST", _OBJ + "/batch/create", "contacts.batch.create", self._h_batch_create)
        r.add("POST", _OBJ + "/batch/update", "contacts.batch.update", self._h_batch_update)
        r.add("POST", _OBJ + "/batch/upsert", "contacts.batch.upsert", self._h_batch_upsert)
        r.add("POST", _OBJ + "/batch/archive", "contacts.batch.archive", self._h_batch_archive)
        r.add("GET", _OBJ + r"/(?P<cid>[^/]+)", "contacts.get", self._h_get)
        r.add("PATCH", _OBJ + r"/(?P<cid>[^/]+)", "contacts.update", self._h_update)
        r.add("DELETE", _OBJ + r"/(?P<cid>[^/]+)", "contacts.archive", self._h_archive)
        r.add("GET", _LISTS, "lists.get_many", self._h_lists_many)
        r.add("POST", _LISTS, "lists.create", self._h_list_create)
        r.add("POST", _LISTS + "/search", "lists.search", self._h_lists_search)
        r.add(
            "GET",
            _LISTS + r"/object-type-id/0-1/name/(?P<name>[^/]+)",
            "lists.get_by_name",
            self._h_list_by_name,
        )
        r.add(
            "GET",
            _LISTS + r"/records/0-1/(?P<cid>[^/]+)/memberships",
            "lists.record_memberships",
            self._h_record_memberships,
        )
        r.add("GET", _LISTS + r"/(?P<lid>[^/]+)", "lists.get", self._h_list_get)
        r.add(
            "GET", _LISTS + r"/(?P<lid>[^/]+)/memberships", "lists.memberships", self._h_memberships
        )
        r.add(
            "GET",
            _LISTS + r"/(?P<lid>[^/]+)/memberships/join-order",
            "lists.memberships.join_order",
            self._h_memberships_join_order,
        )
        r.add(
            "PUT",
            _LISTS + r"/(?P<lid>[^/]+)/memberships/add",
            "lists.memberships.add",
            self._h_members_add,
        )
        r.add(
            "PUT",
            _LISTS + r"/(?P<lid>[^/]+)/memberships/remove",
            "lists.memberships.remove",
            self._h_members_remove,
        )
        r.add(
            "PUT",
            _LISTS + r"/(?P<lid>[^/]+)/memberships/add-and-remove",
            "lists.memberships.add_and_remove",
            self._h_members_add_remove,
        )
        r.add("GET", _PROPS, "properties.list", self._h_props_list)
        r.add("POST", _PROPS, "properties.create", self._h_prop_create)
        r.add("GET", _PROPS + r"/(?P<name>[^/]+)", "properties.get", self._h_prop_get)
        return r

    # ================================================================== request helpers

    def _object_body(self, req: ApiRequest) -> dict[str, Any]:
        if req.json is NO_JSON or req.json is BAD_JSON or not isinstance(req.json, dict):
            raise Reject(self._bad_request("Invalid input JSON: expected a JSON object body"))
        return req.json

    def _wanted(self, req: ApiRequest) -> list[str] | None:
        values = req.query.getlist("properties")
        if not values:
            return None
        return [name.strip() for value in values for name in value.split(",") if name.strip()]

    def _int_param(self, req: ApiRequest, name: str, default: int, maximum: int) -> int:
        raw = req.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Reject(self._bad_request(f"{name} must be an integer, got {raw!r}")) from None
        if value < 1 or value > maximum:
            raise Reject(self._bad_request(f"{name} must be between 1 and {maximum}, got {value}"))
        return value

    def _inputs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
            raise Reject(self._bad_request("inputs must be a list of objects"))
        if len(inputs) > BATCH_MAX:
            raise Reject(
                self._bad_request(
                    f"Batch input size {len(inputs)} exceeds the limit of {BATCH_MAX} inputs"
                )
            )
        return inputs

    def _require(self, value: dict[str, Any], names: tuple[str, ...], schema: str) -> None:
        """HubSpot refuses a body without a field its spec marks required (whole request)."""
        missing = [name for name in names if name not in value]
        if missing:
            raise Reject(
                self._bad_request(
                    f"Invalid input JSON: Cannot build {schema}, some of required attributes"
                    f" are not set [{', '.join(missing)}]"
                )
            )

    def _batch(
        self,
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

    def _item_error(
        self,
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

    def _not_found(self, contact_id: str) -> Response:
        return self._error(
            404,
            f"Object not found. objectId are usually numeric. ({contact_id})",
            "OBJECT_NOT_FOUND",
        )

    # ================================================================== contacts

    def _h_list(self, req: ApiRequest) -> Response:
        limit = self._int_param(req, "limit", 10, LIST_PAGE_MAX)
        after_raw = req.query.get("after")
        try:
            after = int(after_raw) if after_raw else 0
        except ValueError:
            return self._bad_request(f"after must be a number, got {after_raw!r}")
        archived = req.query.get("archived", "false").lower() == "true"
        wanted = self._wanted(req)
        roster = self._roster(archived)
        start = bisect.bisect_left(roster, after)
        ids = roster[start : start + limit + 1]
        page = ids[:limit]
        body: dict[str, Any] = {
            "results": [self._render(self._contacts[str(i)], wanted) for i in page]
        }
        if len(ids) > limit:
            next_after = str(ids[limit])
            body["paging"] = {
                "next": {
                    "after": next_after,
                    "link": f"{req.base_url}{req.path}?after={next_after}",
                }
            }
        return json_response(200, body)

    def _h_get(self, req: ApiRequest, cid: str) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        contact = self._lookup(cid, req.query.get("idProperty"), archived=archived)
        if contact is None:
            return self._not_found(cid)
        return json_response(200, self._render(contact, self._wanted(req)))

    def _h_create(self, req: ApiRequest) -> Response:
        body = self._object_body(req)
        changes = self._validated(body.get("properties"), None)
        conflict = self._find_conflict(self._merged(None, changes), None)
        if conflict:
            return self._error(409, conflict.message, "CONFLICT")
        contact = self._create(changes)
        return json_response(201, self._render(contact, None, all_values=True))

    def _h_update(self, req: ApiRequest, cid: str) -> Response:
        body = self._object_body(req)
        contact = self._lookup(cid, req.query.get("idProperty"))
        if contact is None:
            return self._not_found(cid)
        changes = self._validated(body.get("properties"), contact)
        conflict = self._find_conflict(self._merged(contact, changes), contact.id)
        if conflict:
            return self._error(409, conflict.message, "CONFLICT")
        self._apply(contact, changes)
        return json_response(200, self._render(contact, None, all_values=True))

    def _h_archive(self, req: ApiRequest, cid: str) -> Response:
        self.archive_contact(cid)
        return empty_response(204)

    def _h_batch_archive(self, req: ApiRequest) -> Response:
        for item in self._inputs(self._object_body(req)):
            self.archive_contact(str(item.get("id", "")))
        return empty_response(204)

    def _h_batch_read(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = self._object_body(req)
        inputs = self._inputs(body)
        self._require(
            body, ("properties", "propertiesWithHistory"), "BatchReadInputSimplePublicObjectId"
        )
        for item in inputs:
            self._require(item, ("id",), "SimplePublicObjectId")
        id_property = body.get("idProperty")
        if id_property not in (None, "", "hs_object_id", "email") and not (
            self.properties.get(id_property, {}).get("hasUniqueValue")
        ):
            return self._bad_request(f"{id_property} is not a unique property of contacts")
        wanted = body.get("properties")
        if wanted is not None and not isinstance(wanted, list):
            return self._bad_request("properties must be a list")
        if id_property and wanted is not None and id_property not in wanted:
            wanted = [*wanted, id_property]
        archived = req.query.get("archived", "false").lower() == "true"
        results, missing, seen = [], [], set()
        for item in inputs:
            raw_id = str(item.get("id", ""))
            contact = self._lookup(raw_id, id_property, archived=archived)
            if contact is None:
                missing.append(raw_id)
            elif contact.id not in seen:
                seen.add(contact.id)
                results.append(self._render(contact, wanted))
        errors = (
            [self._item_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, {"ids": missing})]
            if missing
            else []
        )
        return self._batch(200, results, errors, started)

    def _h_batch_create(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        inputs = self._inputs(self._object_body(req))
        for item in inputs:
            self._require(item, ("properties",), "SimplePublicObjectBatchInputForCreate")
        traces = [item.get("objectWriteTraceId") for item in inputs]
        per_item = all(isinstance(t, str) and t for t in traces) and len(set(traces)) == len(traces)
        planned: list[tuple[int, dict[str, str | None]]] = []
        errors: list[dict[str, Any]] = []
        batch_keys: dict[tuple[str, str], int] = {}
        for index, item in enumerate(inputs):
            context = {"objectWriteTraceId": [str(traces[index])]} if per_item else {}
            try:
                changes = self._validated(item.get("properties"), None)
            except InvalidValues as exc:
                if not per_item:
                    return self._validation_error(exc)
                message, details = self._invalid_body(exc)
                errors.append(self._item_error("VALIDATION_ERROR", message, context, details))
                continue
            values = self._merged(None, changes)
            conflict = self._find_conflict(values, None)
            if conflict:
                if not per_item:
                    return self._error(409, conflict.message, "CONFLICT")
                errors.append(self._item_error("CONFLICT", conflict.message, context))
                continue
            clash = next((k for k in sorted(self._keys(values)) if k in batch_keys), None)
            if clash:
                message = (
                    f"Duplicate values for property {clash[0]} found in batch input: {clash[1]}"
                )
                if not per_item:
                    return self._bad_request(message)
                errors.append(self._item_error("VALIDATION_ERROR", message, context))
                continue
            for key in self._keys(values):
                batch_keys[key] = index
            planned.append((index, changes))
        results = []
        for index, changes in planned:
            rendered = self._render(self._create(changes), None, all_values=True)
            if per_item:
                rendered["objectWriteTraceId"] = traces[index]
            results.append(rendered)
        return self._batch(201, results, errors, started)

    def _h_batch_update(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = self._object_body(req)
        inputs = self._inputs(body)
        for item in inputs:
            self._require(item, ("id", "properties"), "SimplePublicObjectBatchInput")
        id_property = body.get("idProperty")
        ids = [str(item.get("id", "")) for item in inputs]
        for item in inputs:
            prop = item.get("idProperty") or id_property
            if prop not in (None, "", "hs_object_id") and (
                prop == "email" or not self.properties.get(prop, {}).get("hasUniqueValue")
            ):
                return self._bad_request(NON_UNIQUE_MESSAGE)
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            return self._bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        results, errors, missing = [], [], []
        for item, raw_id in zip(inputs, ids, strict=True):
            prop = item.get("idProperty") or id_property
            contact = self._lookup(raw_id, prop)
            context: dict[str, list[str]] = {"ids": [raw_id]}
            if item.get("objectWriteTraceId"):
                context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
            if contact is None:
                missing.append(raw_id)
                continue
            try:
                changes = self._validated(item.get("properties"), contact)
            except InvalidValues as exc:
                message, details = self._invalid_body(exc)
                errors.append(self._item_error("VALIDATION_ERROR", message, context, details))
                continue
            conflict = self._find_conflict(self._merged(contact, changes), contact.id)
            if conflict:
                errors.append(self._item_error("CONFLICT", conflict.message, context))
                continue
            self._apply(contact, changes)
            rendered = self._render(contact, None, all_values=True)
            if item.get("objectWriteTraceId"):
                rendered["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(rendered)
        if missing:
            errors.insert(
                0, self._item_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, {"ids": missing})
            )
        return self._batch(200, results, errors, started)

    def _h_batch_upsert(self, req: ApiRequest) -> Response:
        started = int(time.time() * 1000)
        body = self._object_body(req)
        inputs = self._inputs(body)
        keys: list[str] = []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            if not prop:
                return self._bad_request("idProperty is required for upsert")
            unique = prop in ("email", "hs_object_id") or self.properties.get(prop, {}).get(
                "hasUniqueValue"
            )
            if not unique:
                return self._bad_request(NON_UNIQUE_MESSAGE)
            raw_id = str(item.get("id", ""))
            keys.append(f"{prop}:{normalize_email(raw_id) if prop == 'email' else raw_id}")
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            return self._bad_request(f"Duplicate IDs found in batch input: {duplicates}")
        results, errors = [], []
        for item in inputs:
            prop = item.get("idProperty") or body.get("idProperty")
            raw_id = str(item.get("id", ""))
            context: dict[str, list[str]] = {"ids": [raw_id]}
            if item.get("objectWriteTraceId"):
                context["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
            contact = self._lookup(raw_id, prop)
            if contact is None and prop == "hs_object_id":
                errors.append(self._item_error("OBJECT_NOT_FOUND", NOT_FOUND_MESSAGE, context))
                continue
            properties = dict(item.get("properties") or {})
            if contact is None:
                properties.setdefault(prop, raw_id)
            if prop == "email" and contact is None and not EMAIL_RE.match(raw_id.strip()):
                errors.append(
                    self._item_error(
                        "VALIDATION_ERROR", f"Email address {raw_id} is invalid", context
                    )
                )
                continue
            try:
                changes = self._validated(properties, contact)
            except InvalidValues as exc:
                message, details = self._invalid_body(exc)
                errors.append(self._item_error("VALIDATION_ERROR", message, context, details))
                continue
            conflict = self._find_conflict(
                self._merged(contact, changes), contact.id if contact else None
            )
            if conflict:
                errors.append(self._item_error("CONFLICT", conflict.message, context))
                continue
            created = contact is None
            if contact is None:
                contact = self._create(changes)
            else:
                self._apply(contact, changes)
            rendered = self._render(contact, None, all_values=True)
            rendered["new"] = created
            if item.get("objectWriteTraceId"):
                rendered["objectWriteTraceId"] = item["objectWriteTraceId"]
            results.append(rendered)
        return self._batch(200, results, errors, started)

    def _h_search(self, req: ApiRequest) -> Response:
        if len(req.body.decode("utf-8", "replace")) > MAX_BODY_CHARS:
            return self._bad_request(
                f"The request body is larger than the maximum of {MAX_BODY_CHARS} characters"
            )
        body = self._object_body(req)
        try:
            limit = int(body.get("limit", 10))
            after = int(body.get("after") or 0)
        except (TypeError, ValueError):
            return self._bad_request("limit and after must be numbers")
        if limit < 0 or limit > MAX_LIMIT:
            return self._bad_request(f"limit must be between 0 and {MAX_LIMIT}, got {limit}")
        if after < 0 or after >= MAX_RESULTS:
            return self._bad_request(f"Cannot page beyond {MAX_RESULTS} results (after={after})")
        try:
            predicate = compile_filters(body.get("filterGroups"), self.properties)
            text = query_predicate(body.get("query"))
            sort = parse_sort(body.get("sorts"), self.properties)
        except SearchError as exc:
            return self._bad_request(str(exc))
        wanted = body.get("properties") or None
        if wanted is not None and not isinstance(wanted, list):
            return self._bad_request("properties must be a list")
        rows = [
            (c.id, c.values)
            for c in self._contacts.values()
            if not c.archived and predicate(c.values) and text(c.values)
        ]
        ordered = sort_ids(rows, sort, self.properties)
        reachable = min(len(ordered), MAX_RESULTS)
        page = ordered[after : min(after + limit, reachable)]
        out: dict[str, Any] = {
            "total": len(ordered),
            "results": [self._render(self._contacts[cid], wanted) for cid in page],
        }
        if after + limit < reachable:
            out["paging"] = {"next": {"after": str(after + limit)}}
        return json_response(200, out)

    # ================================================================== lists

    def _get_list(self, lid: str) -> StoredList:
        hs_list = self._lists.get(lid)
        if hs_list is None:
            raise Reject(self._error(404, f"List {lid} does not exist.", "OBJECT_NOT_FOUND"))
        return hs_list

    def _h_list_get(self, req: ApiRequest, lid: str) -> Response:
        return json_response(200, {"list": self._list_body(self._get_list(lid))})

    def _h_lists_many(self, req: ApiRequest) -> Response:
        ids = [i for value in req.query.getlist("listIds") for i in value.split(",") if i]
        found = [self._list_body(self._lists[i]) for i in ids if i in self._lists]
        return json_response(200, {"lists": found})

    def _h_list_by_name(self, req: ApiRequest, name: str) -> Response:
        wanted = unquote(name).casefold()
        for hs_list in self._lists.values():
            if hs_list.name.casefold() == wanted:
                return json_response(200, {"list": self._list_body(hs_list)})
        return self._error(
            404, f"List with name {unquote(name)} does not exist.", "OBJECT_NOT_FOUND"
        )

    def _h_list_create(self, req: ApiRequest) -> Response:
        body = self._object_body(req)
        name = body.get("name")
        processing = body.get("processingType")
        if not isinstance(name, str) or not name.strip():
            return self._bad_request("name is required")
        if body.get("objectTypeId") not in ("0-1", "contacts"):
            return self._bad_request("objectTypeId must be 0-1 in this sandbox")
        if processing not in PROCESSING_TYPES:
            return self._bad_request(f"processingType must be one of {', '.join(PROCESSING_TYPES)}")
        if any(hs_list.name.casefold() == name.casefold() for hs_list in self._lists.values()):
            return self._bad_request(f"A list named {name} already exists.")
        list_id = self.create_list(name, processing)
        return json_response(200, {"list": self._list_body(self._lists[list_id])})

    def _h_lists_search(self, req: ApiRequest) -> Response:
        body = self._object_body(req)
        query = str(body.get("query") or "").casefold()
        types = body.get("processingTypes") or list(PROCESSING_TYPES)
        ids = {str(i) for i in body.get("listIds") or []}
        offset, count = int(body.get("offset") or 0), int(body.get("count") or 20)
        if count > 500:
            return self._bad_request("count must be at most 500")
        found = [
            self._list_body(hs_list)
            for hs_list in sorted(self._lists.values(), key=lambda hs_list: int(hs_list.list_id))
            if query in hs_list.name.casefold()
            and hs_list.processing_type in types
            and (not ids or hs_list.list_id in ids)
        ]
        page = found[offset : offset + count]
        return json_response(
            200,
            {
                "lists": page,
                "total": len(found),
                "offset": offset + len(page),
                "hasMore": offset + count < len(found),
            },
        )

    def _membership_page(
        self, req: ApiRequest, ordered: list[tuple[str, int]], *, by_position: bool
    ) -> Response:
        limit = self._int_param(req, "limit", 100, MEMBERSHIP_PAGE_MAX)
        after = req.query.get("after")
        start = 0
        if after:
            try:
                marker = int(after)
            except ValueError:
                return self._bad_request(f"Invalid paging token {after!r}")
            if by_position:
                start = marker
            else:
                start = bisect.bisect_right(ordered, marker, key=lambda item: int(item[0]))
        page = ordered[start : start + limit]
        body: dict[str, Any] = {
            "results": [{"recordId": cid, "membershipTimestamp": iso_ms(ms)} for cid, ms in page],
            "total": len(ordered),
        }
        if start + limit < len(ordered):
            token = str(start + limit) if by_position else page[-1][0]
            body["paging"] = {
                "next": {"after": token, "link": f"{req.base_url}{req.path}?after={token}"}
            }
        return json_response(200, body)

    def _h_memberships(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._get_list(lid)
        return self._membership_page(req, hs_list.ordered("id"), by_position=False)

    def _h_memberships_join_order(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._get_list(lid)
        return self._membership_page(req, hs_list.ordered("joined"), by_position=True)

    def _editable_list(self, lid: str) -> StoredList:
        hs_list = self._get_list(lid)
        if hs_list.processing_type == "DYNAMIC":
            raise Reject(
                self._bad_request(
                    f"List {lid} is a DYNAMIC list; memberships can only be changed on MANUAL or"
                    " SNAPSHOT lists."
                )
            )
        return hs_list

    def _id_array(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise Reject(self._bad_request("The body must be a JSON array of record ids"))
        return [str(v) for v in value]

    def _change_members(
        self, hs_list: StoredList, add: list[str], remove: list[str]
    ) -> dict[str, list[str]]:
        added, removed, missing = [], [], []
        for cid in add:
            if self._live(cid) is None:
                missing.append(cid)
            elif cid not in hs_list.members:
                hs_list.members[cid] = self.now_ms()
                added.append(cid)
        for cid in remove:
            if hs_list.members.pop(cid, None) is not None:
                removed.append(cid)
            elif self._live(cid) is None:
                missing.append(cid)
        if added or removed:
            hs_list.version += 1
            hs_list.updated_ms = self.now_ms()
        return {"recordIdsRemoved": removed, "recordsIdsAdded": added, "recordIdsMissing": missing}

    def _h_members_add(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._editable_list(lid)
        return json_response(200, self._change_members(hs_list, self._id_array(req.json), []))

    def _h_members_remove(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._editable_list(lid)
        return json_response(200, self._change_members(hs_list, [], self._id_array(req.json)))

    def _h_members_add_remove(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._editable_list(lid)
        body = self._object_body(req)
        add = self._id_array(body.get("recordIdsToAdd") or [])
        remove = self._id_array(body.get("recordIdsToRemove") or [])
        return json_response(200, self._change_members(hs_list, add, remove))

    def _h_record_memberships(self, req: ApiRequest, cid: str) -> Response:
        results = [
            {
                "listId": hs_list.list_id,
                "listVersion": hs_list.version,
                "firstAddedTimestamp": iso_ms(hs_list.members[cid]),
                "lastAddedTimestamp": iso_ms(hs_list.members[cid]),
            }
            for hs_list in sorted(self._lists.values(), key=lambda hs_list: int(hs_list.list_id))
            if cid in hs_list.members
        ]
        return json_response(200, {"results": results, "total": len(results)})

    # ================================================================== properties

    def _h_props_list(self, req: ApiRequest) -> Response:
        archived = req.query.get("archived", "false").lower() == "true"
        results = [p for p in self.properties.values() if bool(p.get("archived")) == archived]
        return json_response(200, {"results": results})

    def _h_prop_get(self, req: ApiRequest, name: str) -> Response:
        prop = self.properties.get(name)
        if prop is None:
            return self._error(404, f"Unable to find property {name}", "OBJECT_NOT_FOUND")
        return json_response(200, prop)

    def _h_prop_create(self, req: ApiRequest) -> Response:
        body = self._object_body(req)
        missing = [
            k for k in ("name", "label", "type", "fieldType", "groupName") if not body.get(k)
        ]
        if missing:
            return self._bad_request(f"Missing required fields: {', '.join(missing)}")
        name, kind, field_type = str(body["name"]), str(body["type"]), str(body["fieldType"])
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            return self._bad_request(
                f"Property name {name!r} must start with a letter and hold only lower-case letters,"
                " digits and underscores"
            )
        if name in self.properties:
            return self._error(
                409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
            )
        if field_type not in FIELD_TYPES.get(kind, frozenset()):
            return self._bad_request(f"fieldType {field_type} is not valid for type {kind}")
        raw_options = body.get("options") or []
        if not isinstance(raw_options, list) or not all(
            isinstance(o, dict) and o.get("value") is not None and o.get("label")
            for o in raw_options
        ):
            return self._bad_request("options must be a list of {label, value} objects")
        options = [(str(o["value"]), str(o["label"])) for o in raw_options]
        if kind == "enumeration" and not options:
            return self._bad_request("Enumeration properties need at least one option")
        if kind == "bool" and not options:
            options = [("true", "Yes"), ("false", "No")]
        prop = self.add_property(
            name,
            str(body["label"]),
            kind,
            field_type,
            options,
            group=str(body["groupName"]),
            unique=bool(body.get("hasUniqueValue")),
            description=str(body.get("description") or ""),
        )
        return json_response(201, prop, {"Location": f"{req.base_url}{req.path}/{name}"})

    # ================================================================== control endpoints

    def control(self, req: ApiRequest) -> Response | None:
        body = req.json if isinstance(req.json, dict) else {}
        if (req.method, req.path) == ("POST", "/_sandbox/contacts"):
            cid = self.add_contact(
                body.get("properties") or {}, archived=bool(body.get("archived"))
            )
            if body.get("list_id"):
                self.add_to_list(str(body["list_id"]), [cid])
            return json_response(201, {"id": cid})
        found = re.fullmatch(r"/_sandbox/contacts/(\d+)", req.path)
        if found:
            cid = found.group(1)
            if cid not in self._contacts:
                return json_response(404, {"ok": False, "error": f"no contact {cid}"})
            if req.method == "PATCH":
                self.update_contact(cid, body.get("properties") or {})
            elif req.method == "DELETE":
                self.archive_contact(cid)
            return json_response(200, self.get_contact(cid))
        found = re.fullmatch(r"/_sandbox/lists/(\d+)/members", req.path)
        if found and found.group(1) in self._lists:
            if req.method == "PUT":
                self.add_to_list(found.group(1), [str(i) for i in body.get("ids") or []])
            elif req.method == "DELETE":
                self.remove_from_list(found.group(1), [str(i) for i in body.get("ids") or []])
            return json_response(200, {"members": self.list_members(found.group(1))})
        return None


def _seconds(value: float) -> str:
    return str(max(1, math.ceil(value)))


def _html_error(status: int) -> Response:
    phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}.get(
        status, "Error"
    )
    page = (
        f"<html><head><title>{status} {phrase}</title></head>"
        f"<body><center><h1>{status} {phrase}</h1></center><hr><center>cloudflare</center></body></html>"
    )
    return Response(page, status, media_type="text/html")

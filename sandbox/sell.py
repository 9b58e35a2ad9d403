"""The Zendesk Sell stand-in: leads, contacts, custom field definitions, lead sources, users.

Envelopes, paging links, error bodies and status codes follow ``reference/sell-api.md``:
``{"data": ..., "meta": {"type": ...}}`` for one resource, ``{"items": [...], "meta": {"type":
"collection", "count", "links"}}`` for a page, ``{"errors": [...], "meta": {"logref", ...}}``
for errors, with ``X-Request-Id`` (= ``meta.logref``) on every response. Requests need a
``User-Agent`` and the bearer token; unknown query parameters are refused (``invalid_param``)
so a client cannot rely on a filter Sell does not document.

Timestamps have one-second precision like Sell's; lists sort with ``id`` as the tie-breaker so
(``updated_at``, ``id``) orders records deterministically.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

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
from sandbox.limits import SandboxLimits, TokenBucket
from sandbox.sell_fields import (
    ADDRESS_FILTERS,
    ADDRESS_KEYS,
    CUSTOM_FIELD_TYPES,
    DEFAULT_SORT,
    EMAIL_RE,
    FIELDS,
    INT_FILTERS,
    KINDS,
    READ_ONLY,
    SORTABLE,
    STATUS_VALUES,
    STRING_FILTERS,
    USER_ID,
    Filter,
    SellErrors,
    address_filter,
    bool_filter,
    custom_matches,
    custom_problem,
    empty_address,
    exact_filter,
    ids_filter,
    int_filter,
    iso_seconds,
    record_template,
    request_error,
    resource_error,
    stored_custom,
    string_filter,
)

FIRST_IDS = {"lead": 3_000_001, "contact": 5_000_001}
PER_PAGE_DEFAULT = 25
PER_PAGE_MAX = 100
MORE_INFO = "https://developers.getbase.com/docs/rest/articles/errors"

HTTP_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class SellState(ServiceState):
    service = "sell"
    fault_kinds = ServiceState.fault_kinds | {"404-429"}

    def __init__(self, limits: SandboxLimits, *, token: str) -> None:
        super().__init__(limits)
        self.token = token
        self._router = self._build_router()
        self._reset_data()

    def _reset_data(self) -> None:
        now = int(time.time())
        self.user: dict[str, Any] = {
            "id": USER_ID,
            "name": "Sandra Box",
            "email": "sandra.box@sandbox.example",
            "status": "active",
            "invited": False,
            "confirmed": True,
            "phone_number": "+1 555 0100",
            "role": "admin",
            "roles": [{"id": 1, "name": "Admin"}],
            "team_name": "Sales",
            "group": None,
            "reports_to": None,
            "timezone": "UTC",
            "created_at": "2020-01-06T09:00:00Z",
            "updated_at": iso_seconds(now),
            "deleted_at": None,
            "zendesk_user_id": "361824000001",
            "identity_type": "person",
            "system_tags": [],
            "detached": False,
            "sell_login_disabled": False,
        }
        self._records: dict[str, dict[int, dict[str, Any]]] = {"lead": {}, "contact": {}}
        self._next_id = dict(FIRST_IDS)
        self._custom_fields: dict[str, list[dict[str, Any]]] = {
            "lead": [],
            "contact": [],
            "deal": [],
            "prospect_and_customer": [],
        }
        self._next_field_id = 70_001
        self._lead_sources: dict[int, dict[str, Any]] = {}
        self._next_source_id = 8_001
        self._last_s = 0
        self._buckets: dict[str, TokenBucket] = {}
        self._version = 0  # bumped by every change, so cached list pages go stale
        self._page_cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "token": self.token,
            "user": self.user["name"],
            "leads": len(self._records["lead"]),
            "contacts": len(self._records["contact"]),
        }

    # ================================================================== data helpers (tests)

    def now_iso(self, at: int | None = None) -> str:
        """Wall-clock seconds, never going backwards."""
        with self.lock:
            if at is None:
                self._last_s = max(int(time.time()), self._last_s)
                at = self._last_s
            return iso_seconds(at)

    def add_record(
        self,
        kind: str,
        data: dict[str, Any],
        *,
        created_at: str | None = None,
        updated_at: str | None = None,
    ) -> int:
        """Store a lead or contact without validation; returns its id."""
        self._check_kind(kind)
        with self.lock:
            record = record_template(kind)
            record_id = int(data.get("id") or self._next_id[kind])
            self._next_id[kind] = max(self._next_id[kind], record_id) + 1
            record["id"] = record_id
            record["created_at"] = created_at or self.now_iso()
            record["updated_at"] = updated_at or record["created_at"]
            self._merge(
                kind, record, {k: v for k, v in data.items() if k not in READ_ONLY}, lenient=True
            )
            self._records[kind][record_id] = record
            self._version += 1
            return record_id

    def update_record(self, kind: str, record_id: int, data: dict[str, Any]) -> None:
        """Change a record without validation (``updated_at`` moves on)."""
        self._check_kind(kind)
        with self.lock:
            record = self._records[kind][int(record_id)]
            self._merge(kind, record, data, lenient=True)
            self._version += 1
            record["updated_at"] = self.now_iso()

    def get_record(self, kind: str, record_id: int) -> dict[str, Any] | None:
        self._check_kind(kind)
        with self.lock:
            record = self._records[kind].get(int(record_id))
            return copy.deepcopy(record) if record else None

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Every record of ``kind``, by id."""
        self._check_kind(kind)
        with self.lock:
            return [copy.deepcopy(r) for _, r in sorted(self._records[kind].items())]

    def delete_record(self, kind: str, record_id: int) -> None:
        self._check_kind(kind)
        with self.lock:
            self._records[kind].pop(int(record_id), None)
            self._version += 1

    def add_custom_field(
        self,
        kind: str,
        name: str,
        type: str,
        choices: Iterable[str] = (),
        *,
        for_company: bool = True,
        for_contact: bool = True,
    ) -> int:
        """Define a custom field (Sell's API cannot; its admins do it in the UI)."""
        if kind not in self._custom_fields:
            raise ValueError(f"kind must be one of {sorted(self._custom_fields)}")
        if type not in CUSTOM_FIELD_TYPES:
            raise ValueError(f"type must be one of {sorted(CUSTOM_FIELD_TYPES)}")
        with self.lock:
            if any(f["name"] == name for f in self._custom_fields[kind]):
                raise ValueError(f"{kind} custom field {name!r} exists")
            field_id = self._next_field_id
            self._next_field_id += 1
            now = self.now_iso()
            definition: dict[str, Any] = {
                "id": field_id,
                "name": name,
                "type": type,
                "created_at": now,
                "updated_at": now,
            }
            if type in ("list", "multi_select_list"):
                options = list(choices)
                if not options:
                    raise ValueError("list fields need choices")
                definition["choices"] = [
                    {"id": field_id * 100 + i, "name": choice}
                    for i, choice in enumerate(options, 1)
                ]
            if kind == "contact":
                definition["for_company"] = for_company
                definition["for_contact"] = for_contact
            self._custom_fields[kind].append(definition)
            self._version += 1
            return field_id

    def custom_fields(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._custom_fields[kind])

    @property
    def lead_sources(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(s) for _, s in sorted(self._lead_sources.items())]

    def add_lead_source(self, name: str) -> int:
        with self.lock:
            if self._source_named(name) is not None:
                raise ValueError(f"lead source {name!r} exists")
            source_id = self._next_source_id
            self._next_source_id += 1
            self._version += 1
            now = self.now_iso()
            self._lead_sources[source_id] = {
                "id": source_id,
                "name": name,
                "resource_type": "lead",
                "creator_id": USER_ID,
                "created_at": now,
                "updated_at": now,
            }
            return source_id

    # ================================================================== internals

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be 'lead' or 'contact', not {kind!r}")

    def _source_named(self, name: str) -> dict[str, Any] | None:
        wanted = name.strip().casefold()
        return next(
            (s for s in self._lead_sources.values() if s["name"].casefold() == wanted), None
        )

    def _field_def(self, kind: str, name: str) -> dict[str, Any] | None:
        return next((f for f in self._custom_fields[kind] if f["name"] == name), None)

    def _merge(
        self, kind: str, record: dict[str, Any], data: dict[str, Any], *, lenient: bool
    ) -> None:
        """Apply ``data`` (already validated unless lenient): PUT semantics."""
        for key, value in data.items():
            value_kind = FIELDS[kind].get(key)
            if value_kind == "address" and isinstance(value, dict):
                current = record.get(key) or empty_address()
                record[key] = {
                    **current,
                    **{k: value[k] for k in value if k in ADDRESS_KEYS or lenient},
                }
            elif value_kind == "custom" and isinstance(value, dict):
                merged = dict(record.get("custom_fields") or {})
                for name, field_value in value.items():
                    if field_value is None:
                        merged.pop(name, None)
                    else:
                        definition = self._field_def(kind, name)
                        merged[name] = stored_custom(definition, field_value)
                record["custom_fields"] = merged
            elif value_kind == "tags":
                record["tags"] = list(value or [])
            else:
                record[key] = value
        if kind == "contact" and not record.get("is_organization"):
            full = " ".join(p for p in (record.get("first_name"), record.get("last_name")) if p)
            record["name"] = full or None

    def _validate(self, kind: str, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise SellErrors(
                400,
                [request_error("invalid_payload", 'The request payload must be {"data": {...}}')],
            )
        errors: list[dict[str, Any]] = []
        clean: dict[str, Any] = {}
        for key, value in data.items():
            if key in READ_ONLY:
                continue
            pointer = f"/data/{key}"
            value_kind = FIELDS[kind].get(key)
            if value_kind is None:
                errors.append(
                    resource_error(
                        kind, "unknown", pointer, f"{key} is not an attribute of a {kind}"
                    )
                )
                continue
            problem = self._type_problem(kind, key, value_kind, value, existing)
            if problem:
                errors.append(resource_error(kind, problem[0], pointer, problem[1]))
                continue
            clean[key] = value
        merged = copy.deepcopy(existing) if existing else record_template(kind)
        self._merge(kind, merged, clean, lenient=False)
        errors.extend(self._record_problems(kind, merged, clean))
        if errors:
            raise SellErrors(422, errors)
        return clean

    def _type_problem(
        self, kind: str, key: str, value_kind: str, value: Any, existing: dict[str, Any] | None
    ) -> tuple[str, str] | None:
        if value is None:
            if value_kind in ("tags", "custom", "bool"):
                return "invalid_type", f"{key} cannot be null"
            return None
        if value_kind == "str":
            if not isinstance(value, str):
                return "invalid_type", f"{key} must be a string"
            if key in STATUS_VALUES and value not in STATUS_VALUES[key]:
                return "incorrect_value", f"{key} must be one of {', '.join(STATUS_VALUES[key])}"
            if key == "email" and value.strip() and not EMAIL_RE.match(value.strip()):
                return "incorrect_value", f"{value!r} is not a valid email address"
            return None
        if value_kind == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                return "invalid_type", f"{key} must be an integer"
            if key == "owner_id" and value != USER_ID:
                return "incorrect_value", f"there is no user with id {value}"
            if key == "source_id" and value not in self._lead_sources:
                return "incorrect_value", f"there is no lead source with id {value}"
            return None
        if value_kind == "bool":
            if not isinstance(value, bool):
                return "invalid_type", f"{key} must be true or false"
            if (
                key == "is_organization"
                and existing is not None
                and value != bool(existing.get(key))
            ):
                return (
                    "incorrect_value",
                    "is_organization can only be set when the contact is created",
                )
            return None
        if value_kind == "address":
            if not isinstance(value, dict):
                return "invalid_type", f"{key} must be an object"
            unknown = [k for k in value if k not in ADDRESS_KEYS]
            if unknown:
                return "unknown", f"{key} has no attribute {unknown[0]}"
            if any(v is not None and not isinstance(v, str) for v in value.values()):
                return "invalid_type", f"{key} values must be strings"
            return None
        if value_kind == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                return "invalid_type", "tags must be an array of strings"
            return None
        if not isinstance(value, dict):
            return "invalid_type", "custom_fields must be an object keyed by the field's name"
        return None

    def _record_problems(
        self, kind: str, record: dict[str, Any], clean: dict[str, Any]
    ) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = []
        if kind == "lead":
            if (
                not (record.get("last_name") or "").strip()
                and not (record.get("organization_name") or "").strip()
            ):
                errors.append(
                    resource_error(
                        "lead",
                        "blank",
                        "/data/last_name",
                        "A lead needs a last_name or an organization_name",
                    )
                )
        elif record.get("is_organization"):
            if not (record.get("name") or "").strip():
                errors.append(
                    resource_error("contact", "blank", "/data/name", "An organization needs a name")
                )
        elif not (record.get("last_name") or "").strip():
            errors.append(
                resource_error("contact", "blank", "/data/last_name", "A person needs a last_name")
            )
        for name, value in (clean.get("custom_fields") or {}).items():
            pointer = f"/data/custom_fields/{name}"
            definition = self._field_def(kind, name)
            if definition is None:
                errors.append(
                    resource_error(
                        kind, "unknown", pointer, f"there is no {kind} custom field named {name!r}"
                    )
                )
                continue
            if value is None:
                continue
            problem = custom_problem(definition, value)
            if problem:
                errors.append(resource_error(kind, problem[0], pointer, problem[1]))
        return errors

    # ================================================================== errors

    def _error_body(self, status: int, errors: list[dict[str, Any]], logref: str) -> dict[str, Any]:
        return {
            "errors": [
                {"error": error, "meta": {"type": "error", "links": {"more_info": MORE_INFO}}}
                for error in errors
            ],
            "meta": {
                "type": "errors",
                "http_status": f"{status} {HTTP_PHRASES.get(status, '')}".strip(),
                "logref": logref,
                "links": {"more_info": MORE_INFO},
            },
        }

    def _error(self, req: ApiRequest, status: int, errors: list[dict[str, Any]]) -> Response:
        return json_response(status, self._error_body(status, errors, req.request_id))

    def _rate_limited(self, req: ApiRequest) -> Response:
        return self._error(
            req,
            429,
            [
                request_error(
                    "rate_limit_exceeded",
                    "The rate limit of 36000 requests per hour for this token has been exceeded",
                    "Rate limit exceeded",
                )
            ],
        )

    def fault_response(self, fault: Fault, req: ApiRequest) -> Response:
        kind = fault.kind
        if kind in ("429", "429-no-retry-after"):
            response = self._rate_limited(req)
        elif kind == "429-empty":
            response = empty_response(429)
        elif kind == "404-429":
            response = self._error(
                req,
                404,
                [
                    request_error(
                        "incorrect_path",
                        "The requested path /429.json is incorrect. Check the path and try again.",
                        "Incorrect path",
                    )
                ],
            )
        elif kind == "401":
            response = self._unauthorized(req)
        elif kind == "500":
            response = self._error(
                req,
                500,
                [
                    request_error(
                        "server_error", "Something went wrong on our side.", "Server error"
                    )
                ],
            )
        elif kind == "503":
            response = self._error(
                req,
                503,
                [
                    request_error(
                        "temporarily_unavailable",
                        "The service is temporarily unavailable.",
                        "Service unavailable",
                    )
                ],
            )
        else:
            response = Response(
                "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html"
            )
        response.headers["X-Request-Id"] = req.request_id
        return response

    def internal_error(self, req: ApiRequest) -> Response:
        response = self._error(
            req, 500, [request_error("server_error", "Sandbox failure", "Server error")]
        )
        response.headers["X-Request-Id"] = req.request_id
        return response

    def _unauthorized(self, req: ApiRequest) -> Response:
        return self._error(
            req,
            401,
            [
                request_error(
                    "unauthorized",
                    "The access token provided is missing, expired, revoked or invalid.",
                    "Unauthorized",
                )
            ],
        )

    # ================================================================== dispatch

    def dispatch(self, req: ApiRequest) -> Response:
        try:
            response = self._dispatch(req)
        except Reject as reject:
            response = reject.response
        response.headers["X-Request-Id"] = req.request_id
        return response

    def _dispatch(self, req: ApiRequest) -> Response:
        if not req.headers.get("user-agent", "").strip():
            return self._error(
                req,
                400,
                [
                    request_error(
                        "invalid_user_agent",
                        "The User-Agent header is missing. Send one naming your application.",
                        "Invalid User-Agent",
                    )
                ],
            )
        token = req.bearer_token()
        if token != self.token:
            return self._unauthorized(req)
        match = self._router.match(req.method, req.path)
        if match is None:
            return self._error(
                req,
                404,
                [
                    request_error(
                        "incorrect_path",
                        f"The requested path {req.path} is incorrect.",
                        "Incorrect path",
                    )
                ],
            )
        req.endpoint = match.name
        if self.limits.enabled:
            bucket = self._buckets.setdefault(token, TokenBucket())
            if not bucket.acquire(self.limits.sell_rate)[0]:
                return self._rate_limited(req)
        try:
            return match.handler(req, **match.params)
        except SellErrors as exc:
            return self._error(req, exc.status, exc.errors)

    def _build_router(self) -> Router:
        r = Router()
        for kind, plural in (("lead", "leads"), ("contact", "contacts")):
            r.add("GET", f"/v2/{plural}", f"{plural}.list", self._lister(kind))
            r.add("POST", f"/v2/{plural}", f"{plural}.create", self._creator(kind))
            item = f"/v2/{plural}/(?P<rid>[^/]+)"
            r.add("GET", item, f"{plural}.get", self._getter(kind))
            r.add("PUT", item, f"{plural}.update", self._updater(kind))
            r.add("DELETE", item, f"{plural}.delete", self._deleter(kind))
        r.add(
            "GET",
            "/v2/(?P<kind>lead|contact|deal|prospect_and_customer)/custom_fields",
            "custom_fields.list",
            self._h_custom_fields,
        )
        r.add("GET", "/v2/lead_sources", "lead_sources.list", self._h_sources)
        r.add("POST", "/v2/lead_sources", "lead_sources.create", self._h_source_create)
        r.add("GET", r"/v2/lead_sources/(?P<sid>\d+)", "lead_sources.get", self._h_source_get)
        r.add("PUT", r"/v2/lead_sources/(?P<sid>\d+)", "lead_sources.update", self._h_source_update)
        r.add(
            "DELETE", r"/v2/lead_sources/(?P<sid>\d+)", "lead_sources.delete", self._h_source_delete
        )
        r.add("GET", "/v2/users/self", "users.self", self._h_user_self)
        r.add("GET", "/v2/users", "users.list", self._h_users)
        r.add("GET", r"/v2/users/(?P<uid>\d+)", "users.get", self._h_user_get)
        return r

    # ================================================================== envelopes and paging

    @staticmethod
    def _one(resource: dict[str, Any], meta_type: str, status: int = 200) -> Response:
        return json_response(status, {"data": copy.deepcopy(resource), "meta": {"type": meta_type}})

    def _payload(self, req: ApiRequest) -> Any:
        if (
            req.json is NO_JSON
            or req.json is BAD_JSON
            or not isinstance(req.json, dict)
            or "data" not in req.json
        ):
            raise SellErrors(
                400,
                [
                    request_error(
                        "invalid_payload", 'The request body must be a JSON object {"data": {...}}'
                    )
                ],
            )
        return req.json["data"]

    def _not_found(self, req: ApiRequest) -> Response:
        return self._error(
            req,
            404,
            [
                request_error(
                    "not_found", "The requested resource does not exist.", "Resource not found"
                )
            ],
        )

    def _page(
        self,
        req: ApiRequest,
        items: list[dict[str, Any]],
        meta_type: str,
        *,
        sortable: Iterable[str],
        default_sort: str,
        filters: dict[str, Filter],
        custom: bool = False,
    ) -> Response:
        allowed = {"page", "per_page", "sort_by", *filters}
        for key in req.query:
            if key not in allowed and not (custom and key.startswith("custom_fields[")):
                raise SellErrors(
                    400,
                    [
                        request_error(
                            "invalid_param",
                            f"The request query parameter '{key}' is not supported.",
                        )
                    ],
                )
        page = _int_param(req, "page", 1, None)
        per_page = _int_param(req, "per_page", PER_PAGE_DEFAULT, PER_PAGE_MAX)
        sort_by = req.query.get("sort_by") or default_sort
        field_name, _, direction = sort_by.partition(":")
        direction = direction or "asc"
        if field_name not in sortable or direction not in ("asc", "desc"):
            raise SellErrors(
                400,
                [
                    request_error(
                        "invalid_param",
                        f"sort_by must be one of {', '.join(sortable)} with :asc or :desc",
                    )
                ],
            )
        selection = tuple(
            sorted((k, v) for k, v in req.query.multi_items() if k not in ("page", "per_page"))
        )
        cache_key = (req.path, self._version, field_name, direction, selection)
        cached = self._page_cache.get(cache_key)
        if cached is None:
            cached = self._select(items, filters, req, field_name, direction == "desc")
            if len(self._page_cache) >= 8:
                self._page_cache.clear()
            self._page_cache[cache_key] = cached
        items = cached
        start = (page - 1) * per_page
        chunk = items[start : start + per_page]

        def link(number: int) -> str:
            params = {k: req.query[k] for k in req.query}
            params.update(page=str(number), per_page=str(per_page))
            return f"{req.base_url}{req.path}?{urlencode(params)}"

        links = {"self": link(page), "first_page": link(1)}
        if page > 1:
            links["prev_page"] = link(page - 1)
        if start + per_page < len(items):
            links["next_page"] = link(page + 1)
        return json_response(
            200,
            {
                "items": [
                    {"data": copy.deepcopy(item), "meta": {"type": meta_type}} for item in chunk
                ],
                "meta": {"type": "collection", "count": len(chunk), "links": links},
            },
        )

    @staticmethod
    def _select(
        items: list[dict[str, Any]],
        filters: dict[str, Filter],
        req: ApiRequest,
        field_name: str,
        descending: bool,
    ) -> list[dict[str, Any]]:
        """Filter and sort (ties by id) a collection; cached per data version by ``_page``."""
        for key in req.query:
            wanted = req.query[key]
            if key in filters:
                check = filters[key](wanted)
                items = [item for item in items if check(item)]
            elif key.startswith("custom_fields["):
                name = key[len("custom_fields[") :].rstrip("]")
                items = [item for item in items if custom_matches(item, name, wanted)]

        def sort_key(item: dict[str, Any]) -> tuple[Any, ...]:
            value = item.get(field_name)
            if isinstance(value, str):
                value = value.casefold()
            return (value is not None, value if value is not None else 0, item["id"])

        return sorted(items, key=sort_key, reverse=descending)

    # ================================================================== leads and contacts

    def _filters(self, kind: str) -> dict[str, Filter]:
        filters: dict[str, Filter] = {"ids": ids_filter}
        for name in STRING_FILTERS[kind]:
            filters[name] = string_filter(name)
        for name in INT_FILTERS[kind]:
            filters[name] = int_filter(name)
        for name in ADDRESS_FILTERS:
            filters[name] = address_filter(name[len("address[") : -1])
        if kind == "contact":
            filters["is_organization"] = bool_filter("is_organization")
        return filters

    def _lister(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest) -> Response:
            return self._page(
                req,
                list(self._records[kind].values()),
                kind,
                sortable=SORTABLE[kind],
                default_sort=DEFAULT_SORT[kind],
                filters=self._filters(kind),
                custom=True,
            )

        return handler

    def _record_or_404(self, req: ApiRequest, kind: str, rid: str) -> dict[str, Any]:
        record = self._records[kind].get(int(rid)) if rid.isdigit() else None
        if record is None:
            raise Reject(self._not_found(req))
        return record

    def _getter(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            return self._one(self._record_or_404(req, kind, rid), kind)

        return handler

    def _creator(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest) -> Response:
            clean = self._validate(kind, self._payload(req), None)
            record = record_template(kind)
            record["id"] = self._next_id[kind]
            self._next_id[kind] += 1
            record["created_at"] = record["updated_at"] = self.now_iso()
            self._merge(kind, record, clean, lenient=False)
            self._records[kind][record["id"]] = record
            self._version += 1
            return self._one(record, kind)

        return handler

    def _updater(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            record = self._record_or_404(req, kind, rid)
            clean = self._validate(kind, self._payload(req), record)
            self._version += 1
            self._merge(kind, record, clean, lenient=False)
            record["updated_at"] = self.now_iso()
            return self._one(record, kind)

        return handler

    def _deleter(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            self._record_or_404(req, kind, rid)
            del self._records[kind][int(rid)]
            self._version += 1
            return empty_response(204)

        return handler

    # ================================================================== other resources

    def _h_custom_fields(self, req: ApiRequest, kind: str) -> Response:
        return self._page(
            req,
            list(self._custom_fields[kind]),
            "custom_field",
            sortable=("id", "name"),
            default_sort="id:asc",
            filters={"ids": ids_filter},
        )

    def _h_sources(self, req: ApiRequest) -> Response:
        return self._page(
            req,
            list(self._lead_sources.values()),
            "lead_source",
            sortable=("id", "name", "created_at", "updated_at"),
            default_sort="id:asc",
            filters={"ids": ids_filter, "name": exact_filter("name")},
        )

    def _source_payload(self, req: ApiRequest, own_id: int | None) -> str:
        data = self._payload(req)
        if not isinstance(data, dict):
            raise SellErrors(400, [request_error("invalid_payload", "data must be an object")])
        unknown = [k for k in data if k not in ("name", *READ_ONLY, "resource_type")]
        if unknown:
            raise SellErrors(
                422,
                [
                    resource_error(
                        "lead_source", "unknown", f"/data/{unknown[0]}", "unknown attribute"
                    )
                ],
            )
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SellErrors(
                422,
                [
                    resource_error(
                        "lead_source", "blank", "/data/name", "A lead source needs a name"
                    )
                ],
            )
        clash = self._source_named(name)
        if clash is not None and clash["id"] != own_id:
            raise SellErrors(
                422,
                [
                    resource_error(
                        "lead_source",
                        "already_exists",
                        "/data/name",
                        f"A lead source named {name!r} exists",
                    )
                ],
            )
        return name.strip()

    def _h_source_create(self, req: ApiRequest) -> Response:
        source_id = self.add_lead_source(self._source_payload(req, None))
        return self._one(self._lead_sources[source_id], "lead_source")

    def _source_or_404(self, req: ApiRequest, sid: str) -> dict[str, Any]:
        source = self._lead_sources.get(int(sid))
        if source is None:
            raise Reject(self._not_found(req))
        return source

    def _h_source_get(self, req: ApiRequest, sid: str) -> Response:
        return self._one(self._source_or_404(req, sid), "lead_source")

    def _h_source_update(self, req: ApiRequest, sid: str) -> Response:
        source = self._source_or_404(req, sid)
        source["name"] = self._source_payload(req, source["id"])
        self._version += 1
        source["updated_at"] = self.now_iso()
        return self._one(source, "lead_source")

    def _h_source_delete(self, req: ApiRequest, sid: str) -> Response:
        self._source_or_404(req, sid)
        del self._lead_sources[int(sid)]
        self._version += 1
        return empty_response(204)

    def _h_user_self(self, req: ApiRequest) -> Response:
        return self._one(self.user, "user")

    def _h_users(self, req: ApiRequest) -> Response:
        return self._page(
            req,
            [self.user],
            "user",
            sortable=("id", "name", "created_at", "updated_at"),
            default_sort="id:asc",
            filters={
                "ids": ids_filter,
                "email": string_filter("email"),
                "name": string_filter("name"),
                "status": string_filter("status"),
                "role": string_filter("role"),
            },
        )

    def _h_user_get(self, req: ApiRequest, uid: str) -> Response:
        if int(uid) != USER_ID:
            return self._not_found(req)
        return self._one(self.user, "user")

    # ================================================================== control endpoints

    def control(self, req: ApiRequest) -> Response | None:
        body = req.json if isinstance(req.json, dict) else {}
        found = re.fullmatch(r"/_sandbox/(lead|contact)s(?:/(\d+))?", req.path)
        if not found:
            return None
        kind, rid = found.group(1), found.group(2)
        if rid is None and req.method == "POST":
            return json_response(201, {"id": self.add_record(kind, body.get("data") or {})})
        if rid is None and req.method == "GET":
            return json_response(200, {"items": self.records(kind)})
        if rid is None or int(rid) not in self._records[kind]:
            return json_response(404, {"ok": False, "error": f"no {kind} {rid}"})
        if req.method == "PUT":
            self.update_record(kind, int(rid), body.get("data") or {})
        elif req.method == "DELETE":
            self.delete_record(kind, int(rid))
            return json_response(200, {"ok": True})
        return json_response(200, self.get_record(kind, int(rid)))


def _int_param(req: ApiRequest, name: str, default: int, maximum: int | None) -> int:
    raw = req.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        limit = f" and at most {maximum}" if maximum is not None else ""
        raise SellErrors(
            400,
            [
                request_error(
                    "invalid_param",
                    f"The request query parameter '{name}' must be at least 1{limit}, got {raw!r}.",
                )
            ],
        )
    return value

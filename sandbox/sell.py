"""The Zendesk Sell stand-in's HTTP API over :class:`~sandbox.sell_store.SellStore` (the data).

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
    DEFAULT_SORT,
    INT_FILTERS,
    READ_ONLY,
    SORTABLE,
    STRING_FILTERS,
    USER_ID,
    Filter,
    SellErrors,
    address_filter,
    bool_filter,
    custom_matches,
    exact_filter,
    ids_filter,
    int_filter,
    record_template,
    request_error,
    resource_error,
    string_filter,
)
from sandbox.sell_store import SellStore

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


class SellState(ServiceState, SellStore):
    service = "sell"
    fault_kinds = ServiceState.fault_kinds | {"404-429"}

    def __init__(self, limits: SandboxLimits, *, token: str) -> None:
        super().__init__(limits)
        self.token = token
        self._router = self._build_router()
        self._reset_data()

    def _reset_data(self) -> None:
        self._reset_store()
        self._buckets: dict[str, TokenBucket] = {}
        self._page_cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "token": self.token,
            "user": self.user["name"],
            "leads": len(self._records["lead"]),
            "contacts": len(self._records["contact"]),
        }

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

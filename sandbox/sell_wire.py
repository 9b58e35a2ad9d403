"""What every Sell answer shares: envelopes, error bodies, the request payload and paging.

Shapes follow ``reference/sell-api.md``: ``{"data": ..., "meta": {"type": ...}}`` for one
resource, ``{"items": [...], "meta": {"type": "collection", "count", "links"}}`` for a page and
``{"errors": [...], "meta": {"logref", ...}}`` for errors. :class:`Pages` checks a list request's
query (unknown parameters are refused with ``invalid_param``, so a client cannot rely on a
filter Sell does not document), filters and sorts with ``id`` as the tie-breaker, and builds the
page links; the route modules (``sandbox.sell_*_api``) and the service in :mod:`sandbox.sell`
answer through these.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from sandbox.core import BAD_JSON, NO_JSON, ApiRequest, json_response
from sandbox.sell_fields import Filter, SellErrors, custom_matches, request_error
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


def error_body(status: int, errors: list[dict[str, Any]], logref: str) -> dict[str, Any]:
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


def error(req: ApiRequest, status: int, errors: list[dict[str, Any]]) -> Response:
    return json_response(status, error_body(status, errors, req.request_id))


def rate_limited(req: ApiRequest) -> Response:
    return error(
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


def unauthorized(req: ApiRequest) -> Response:
    return error(
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


def one(resource: dict[str, Any], meta_type: str, status: int = 200) -> Response:
    return json_response(status, {"data": copy.deepcopy(resource), "meta": {"type": meta_type}})


def payload(req: ApiRequest) -> Any:
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


def not_found(req: ApiRequest) -> Response:
    return error(
        req,
        404,
        [
            request_error(
                "not_found", "The requested resource does not exist.", "Resource not found"
            )
        ],
    )


class Pages:
    """Answers list requests over ``store``'s data, caching each selection per data version."""

    def __init__(self, store: SellStore) -> None:
        self.store = store
        self._cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def clear(self) -> None:
        self._cache.clear()

    def answer(
        self,
        req: ApiRequest,
        items: list[dict[str, Any]],
        meta_type: str,
        *,
        sortable: Iterable[str],
        default_sort: str,
        filters: dict[str, Filter],
        custom: bool = False,
        per_page_max: int = PER_PAGE_MAX,
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
        page = int_param(req, "page", 1, None)
        per_page = int_param(req, "per_page", PER_PAGE_DEFAULT, per_page_max)
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
        cache_key = (req.path, self.store.version, field_name, direction, selection)
        cached = self._cache.get(cache_key)
        if cached is None:
            cached = self._select(items, filters, req, field_name, direction == "desc")
            if len(self._cache) >= 8:
                self._cache.clear()
            self._cache[cache_key] = cached
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
        """Filter and sort (ties by id) a collection; cached per data version by :meth:`answer`."""
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


def int_param(req: ApiRequest, name: str, default: int, maximum: int | None) -> int:
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

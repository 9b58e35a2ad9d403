"""The Zendesk Sell stand-in service: the User-Agent and token checks, the rate limit and faults.

It decides whether a request reaches the routes, which are split by resource family and act on
:class:`~sandbox.sell_store.SellStore` (the data): leads and contacts in
:mod:`sandbox.sell_records_api`, custom fields, lead sources and users in
:mod:`sandbox.sell_reference_api`. Envelopes, error bodies and paging are in
:mod:`sandbox.sell_wire`; every answer carries ``X-Request-Id`` (= ``meta.logref``).

Timestamps have one-second precision like Sell's; lists sort with ``id`` as the tie-breaker so
(``updated_at``, ``id``) orders records deterministically.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from sandbox.core import (
    ApiRequest,
    Fault,
    Reject,
    Router,
    ServiceState,
    empty_response,
    json_response,
)
from sandbox.limits import SandboxLimits, TokenBucket
from sandbox.sell_archive_api import ArchiveRoutes
from sandbox.sell_conversions_api import ConversionRoutes
from sandbox.sell_fields import SellErrors, request_error
from sandbox.sell_firehose import FirehoseRoutes
from sandbox.sell_records_api import RecordRoutes
from sandbox.sell_reference_api import ReferenceRoutes
from sandbox.sell_store import SellStore
from sandbox.sell_sync_api import SyncRoutes
from sandbox.sell_wire import Pages, error, rate_limited, unauthorized

#: Faults that fake the answer to a list of leads or contacts (a read by ``ids=``, the change
#: feed's pages), and only to those: as a token whose user may see none of them is answered.
ANSWER_FAULTS = ("empty-page", "null-items")
_LISTS = re.compile(r"/v2/(leads|contacts)")


class SellState(ServiceState, SellStore):
    service = "sell"
    fault_kinds = ServiceState.fault_kinds | {"404-429", *ANSWER_FAULTS}

    def __init__(self, limits: SandboxLimits, *, token: str) -> None:
        super().__init__(limits)
        self.token = token
        self._pages = Pages(self)
        self._router = self._build_router()
        self._reset_data()

    def _reset_data(self) -> None:
        self._reset_store()
        self._buckets: dict[str, TokenBucket] = {}
        self._pages.clear()

    def info(self) -> dict[str, Any]:
        return {
            **super().info(),
            "token": self.token,
            "user": self.user["name"],
            "leads": len(self.records_by_id["lead"]),
            "contacts": len(self.records_by_id["contact"]),
            "users": len(self.users_by_id),
            "notes": len(self.notes_by_id),
            "deals": len(self.deals_by_id),
        }

    def fault_answers(self, fault: Fault, req: ApiRequest) -> bool:
        if fault.kind not in ANSWER_FAULTS:
            return True
        return req.method == "GET" and _LISTS.fullmatch(req.path) is not None

    def fault_response(self, fault: Fault, req: ApiRequest) -> Response:
        kind = fault.kind
        if kind in ANSWER_FAULTS:
            # A valid page that holds none of the records asked for (Sell answers only with what
            # the token's user may see): no error says any of them was deleted.
            items: list[Any] = [] if kind == "empty-page" else [None, {"data": None}]
            response = json_response(
                200,
                {
                    "items": items,
                    "meta": {"type": "collection", "count": len(items), "links": {}},
                },
            )
        elif kind in ("429", "429-no-retry-after"):
            response = rate_limited(req)
        elif kind == "429-empty":
            response = empty_response(429)
        elif kind == "404-429":
            response = error(
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
            response = unauthorized(req)
        elif kind == "500":
            response = error(
                req,
                500,
                [
                    request_error(
                        "server_error", "Something went wrong on our side.", "Server error"
                    )
                ],
            )
        elif kind == "503":
            response = error(
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
        response = error(
            req, 500, [request_error("server_error", "Sandbox failure", "Server error")]
        )
        response.headers["X-Request-Id"] = req.request_id
        return response

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
            return error(
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
            return unauthorized(req)
        match = self._router.match(req.method, req.path)
        if match is None:
            return error(
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
                return rate_limited(req)
        try:
            return match.handler(req, **match.params)
        except SellErrors as exc:
            return error(req, exc.status, exc.errors)

    def _build_router(self) -> Router:
        r = Router()
        RecordRoutes(self, self._pages).register(r)
        ReferenceRoutes(self, self._pages).register(r)
        SyncRoutes(self).register(r)
        ConversionRoutes(self, self._pages).register(r)
        FirehoseRoutes(lambda: self.firehose).register(r)
        ArchiveRoutes(self, self._pages).register(r)
        return r

    # ================================================================== control endpoints

    def control(self, req: ApiRequest) -> Response | None:
        body = req.json if isinstance(req.json, dict) else {}
        if req.path == "/_sandbox/sync_api" and req.method in ("GET", "PUT"):
            if req.method == "PUT":
                self.sync_api = bool(body.get("enabled"))
            return json_response(200, {"enabled": self.sync_api})
        if req.path == "/_sandbox/firehose" and req.method in ("GET", "PUT"):
            if req.method == "PUT":
                if "enabled" in body:
                    self.firehose.enabled = bool(body["enabled"])
                if "retention_seconds" in body:
                    self.firehose.retention_seconds = float(body["retention_seconds"])
            return json_response(
                200,
                {
                    "enabled": self.firehose.enabled,
                    "retention_seconds": self.firehose.retention_seconds,
                },
            )
        found = re.fullmatch(r"/_sandbox/(lead|contact)s(?:/(\d+))?", req.path)
        if not found:
            return None
        kind, rid = found.group(1), found.group(2)
        if rid is None and req.method == "POST":
            return json_response(201, {"id": self.add_record(kind, body.get("data") or {})})
        if rid is None and req.method == "GET":
            return json_response(200, {"items": self.records(kind)})
        if rid is None or int(rid) not in self.records_by_id[kind]:
            return json_response(404, {"ok": False, "error": f"no {kind} {rid}"})
        if req.method == "PUT":
            self.update_record(kind, int(rid), body.get("data") or {})
        elif req.method == "DELETE":
            self.delete_record(kind, int(rid))
            return json_response(200, {"ok": True})
        return json_response(200, self.get_record(kind, int(rid)))

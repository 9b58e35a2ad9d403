"""Sell's reference data routes: custom field definitions, lead sources and users.

These are what a lead or contact points at (``custom_fields``, ``source_id``, ``owner_id``).
Lead sources can be created, renamed and deleted, with names unique per account; custom field
definitions and the one user are arranged by tests through
:class:`~sandbox.sell_store.SellStore` and only read here.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, empty_response
from sandbox.sell_fields import (
    READ_ONLY,
    SellErrors,
    bool_filter,
    exact_filter,
    ids_filter,
    request_error,
    resource_error,
    string_filter,
)
from sandbox.sell_store import SellStore
from sandbox.sell_wire import Pages, not_found, one, payload


class ReferenceRoutes:
    """The ``/v2/*/custom_fields``, ``/v2/lead_sources`` and ``/v2/users`` handlers."""

    def __init__(self, store: SellStore, pages: Pages) -> None:
        self.store = store
        self.pages = pages

    def register(self, r: Router) -> None:
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

    def _h_custom_fields(self, req: ApiRequest, kind: str) -> Response:
        return self.pages.answer(
            req,
            list(self.store.custom_field_defs[kind]),
            "custom_field",
            sortable=("id", "name"),
            default_sort="id:asc",
            filters={"ids": ids_filter},
        )

    def _h_sources(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.lead_sources_by_id.values()),
            "lead_source",
            sortable=("id", "name", "created_at", "updated_at"),
            default_sort="id:asc",
            filters={"ids": ids_filter, "name": exact_filter("name")},
        )

    def _source_payload(self, req: ApiRequest, own_id: int | None) -> str:
        data = payload(req)
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
        clash = self.store.source_named(name)
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
        source_id = self.store.add_lead_source(self._source_payload(req, None))
        return one(self.store.lead_sources_by_id[source_id], "lead_source")

    def _source_or_404(self, req: ApiRequest, sid: str) -> dict[str, Any]:
        source = self.store.lead_sources_by_id.get(int(sid))
        if source is None:
            raise Reject(not_found(req))
        return source

    def _h_source_get(self, req: ApiRequest, sid: str) -> Response:
        return one(self._source_or_404(req, sid), "lead_source")

    def _h_source_update(self, req: ApiRequest, sid: str) -> Response:
        source = self._source_or_404(req, sid)
        source["name"] = self._source_payload(req, source["id"])
        self.store.version += 1
        source["updated_at"] = self.store.now_iso()
        return one(source, "lead_source")

    def _h_source_delete(self, req: ApiRequest, sid: str) -> Response:
        self._source_or_404(req, sid)
        del self.store.lead_sources_by_id[int(sid)]
        self.store.version += 1
        return empty_response(204)

    def _h_user_self(self, req: ApiRequest) -> Response:
        return one(self.store.user, "user")

    def _h_users(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.users_by_id.values()),
            "user",
            sortable=("id", "name", "created_at", "updated_at"),
            default_sort="id:asc",
            filters={
                "ids": ids_filter,
                "email": string_filter("email"),
                "name": string_filter("name"),
                "status": string_filter("status"),
                "role": string_filter("role"),
                "confirmed": bool_filter("confirmed"),
            },
        )

    def _h_user_get(self, req: ApiRequest, uid: str) -> Response:
        user = self.store.users_by_id.get(int(uid))
        if user is None:
            return not_found(req)
        return one(user, "user")

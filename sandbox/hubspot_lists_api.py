"""HubSpot's lists routes: find lists, create one, page through members and change them.

Membership pages follow the Lists API: ``/memberships`` pages by record id (the ``after`` token
is the last id), ``/memberships/join-order`` by the order records joined (the token is a
position). Only MANUAL and SNAPSHOT lists take membership edits; the answer spells
``recordsIdsAdded`` as HubSpot does. The lists themselves live in
:class:`~sandbox.hubspot_store.HubSpotStore`.
"""

from __future__ import annotations

import bisect
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, json_response
from sandbox.hubspot_properties import iso_ms
from sandbox.hubspot_records import StoredList
from sandbox.hubspot_store import PROCESSING_TYPES, HubSpotStore
from sandbox.hubspot_wire import LISTS_PATH, bad_request, error, int_param, object_body

MEMBERSHIP_PAGE_MAX = 250


class ListRoutes:
    """The ``/crm/lists/...`` handlers, acting on ``store``."""

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def register(self, r: Router) -> None:
        base = LISTS_PATH
        r.add("GET", base, "lists.get_many", self._h_lists_many)
        r.add("POST", base, "lists.create", self._h_list_create)
        r.add("POST", base + "/search", "lists.search", self._h_lists_search)
        r.add(
            "GET",
            base + r"/object-type-id/0-1/name/(?P<name>[^/]+)",
            "lists.get_by_name",
            self._h_list_by_name,
        )
        r.add(
            "GET",
            base + r"/records/0-1/(?P<cid>[^/]+)/memberships",
            "lists.record_memberships",
            self._h_record_memberships,
        )
        r.add("GET", base + r"/(?P<lid>[^/]+)", "lists.get", self._h_list_get)
        r.add(
            "GET", base + r"/(?P<lid>[^/]+)/memberships", "lists.memberships", self._h_memberships
        )
        r.add(
            "GET",
            base + r"/(?P<lid>[^/]+)/memberships/join-order",
            "lists.memberships.join_order",
            self._h_memberships_join_order,
        )
        r.add(
            "PUT",
            base + r"/(?P<lid>[^/]+)/memberships/add",
            "lists.memberships.add",
            self._h_members_add,
        )
        r.add(
            "PUT",
            base + r"/(?P<lid>[^/]+)/memberships/remove",
            "lists.memberships.remove",
            self._h_members_remove,
        )
        r.add(
            "PUT",
            base + r"/(?P<lid>[^/]+)/memberships/add-and-remove",
            "lists.memberships.add_and_remove",
            self._h_members_add_remove,
        )

    def _get_list(self, lid: str) -> StoredList:
        hs_list = self.store.lists_by_id.get(lid)
        if hs_list is None:
            raise Reject(error(404, f"List {lid} does not exist.", "OBJECT_NOT_FOUND"))
        return hs_list

    def _h_list_get(self, req: ApiRequest, lid: str) -> Response:
        return json_response(200, {"list": self.store.list_body(self._get_list(lid))})

    def _h_lists_many(self, req: ApiRequest) -> Response:
        ids = [i for value in req.query.getlist("listIds") for i in value.split(",") if i]
        found = [
            self.store.list_body(self.store.lists_by_id[i])
            for i in ids
            if i in self.store.lists_by_id
        ]
        return json_response(200, {"lists": found})

    def _h_list_by_name(self, req: ApiRequest, name: str) -> Response:
        wanted = unquote(name).casefold()
        for hs_list in self.store.lists_by_id.values():
            if hs_list.name.casefold() == wanted:
                return json_response(200, {"list": self.store.list_body(hs_list)})
        return error(404, f"List with name {unquote(name)} does not exist.", "OBJECT_NOT_FOUND")

    def _h_list_create(self, req: ApiRequest) -> Response:
        body = object_body(req)
        name = body.get("name")
        processing = body.get("processingType")
        if not isinstance(name, str) or not name.strip():
            return bad_request("name is required")
        if body.get("objectTypeId") not in ("0-1", "contacts"):
            return bad_request("objectTypeId must be 0-1 in this sandbox")
        if processing not in PROCESSING_TYPES:
            return bad_request(f"processingType must be one of {', '.join(PROCESSING_TYPES)}")
        if any(
            hs_list.name.casefold() == name.casefold()
            for hs_list in self.store.lists_by_id.values()
        ):
            return bad_request(f"A list named {name} already exists.")
        list_id = self.store.create_list(name, processing)
        return json_response(200, {"list": self.store.list_body(self.store.lists_by_id[list_id])})

    def _h_lists_search(self, req: ApiRequest) -> Response:
        body = object_body(req)
        query = str(body.get("query") or "").casefold()
        types = body.get("processingTypes") or list(PROCESSING_TYPES)
        ids = {str(i) for i in body.get("listIds") or []}
        offset, count = int(body.get("offset") or 0), int(body.get("count") or 20)
        if count > 500:
            return bad_request("count must be at most 500")
        found = [
            self.store.list_body(hs_list)
            for hs_list in sorted(
                self.store.lists_by_id.values(), key=lambda hs_list: int(hs_list.list_id)
            )
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
        limit = int_param(req, "limit", 100, MEMBERSHIP_PAGE_MAX)
        after = req.query.get("after")
        start = 0
        if after:
            try:
                marker = int(after)
            except ValueError:
                return bad_request(f"Invalid paging token {after!r}")
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
                bad_request(
                    f"List {lid} is a DYNAMIC list; memberships can only be changed on MANUAL or"
                    " SNAPSHOT lists."
                )
            )
        return hs_list

    def _id_array(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise Reject(bad_request("The body must be a JSON array of record ids"))
        return [str(v) for v in value]

    def _change_members(
        self, hs_list: StoredList, add: list[str], remove: list[str]
    ) -> dict[str, list[str]]:
        added, removed, missing = [], [], []
        for cid in [*add, *remove]:
            self.store.note_write(cid)
        for cid in add:
            if self.store.live(cid) is None:
                missing.append(cid)
            elif cid not in hs_list.members:
                hs_list.members[cid] = self.store.now_ms()
                added.append(cid)
        for cid in remove:
            if hs_list.members.pop(cid, None) is not None:
                removed.append(cid)
            elif self.store.live(cid) is None:
                missing.append(cid)
        if added or removed:
            hs_list.version += 1
            hs_list.updated_ms = self.store.now_ms()
        return {"recordIdsRemoved": removed, "recordsIdsAdded": added, "recordIdsMissing": missing}

    def _h_members_add(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._editable_list(lid)
        return json_response(200, self._change_members(hs_list, self._id_array(req.json), []))

    def _h_members_remove(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._editable_list(lid)
        return json_response(200, self._change_members(hs_list, [], self._id_array(req.json)))

    def _h_members_add_remove(self, req: ApiRequest, lid: str) -> Response:
        hs_list = self._editable_list(lid)
        body = object_body(req)
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
            for hs_list in sorted(
                self.store.lists_by_id.values(), key=lambda hs_list: int(hs_list.list_id)
            )
            if cid in hs_list.members
        ]
        return json_response(200, {"results": results, "total": len(results)})

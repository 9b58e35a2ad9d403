"""HubSpot's owners routes: ``GET /crm/owners/2026-03`` (and ``/crm/v3/owners``) and one owner.

The list takes ``email`` (an exact, case-insensitive match), ``limit`` (default 100, at most
500), ``after`` (the cursor of ``paging.next``) and ``archived``; one owner is read by ``id`` or,
with ``idProperty=userId``, by the user's id. The owners are arranged by tests and the seed
through :meth:`~sandbox.hubspot_crm.CrmArchive.add_owner`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, json_response
from sandbox.hubspot_store import HubSpotStore
from sandbox.hubspot_wire import bad_request, error, int_param

OWNERS_PATH = r"/crm/(?:v3/owners|owners/\d{4}-\d{2})"
OWNERS_PAGE_MAX = 500


class OwnerRoutes:
    """The owners handlers, acting on ``store``."""

    def __init__(self, store: HubSpotStore) -> None:
        self.store = store

    def register(self, r: Router) -> None:
        r.add("GET", OWNERS_PATH, "owners.list", self._h_list)
        r.add("GET", OWNERS_PATH + r"/(?P<oid>[^/]+)", "owners.get", self._h_get)

    @staticmethod
    def _archived(req: ApiRequest) -> bool:
        raw = req.query.get("archived", "false").lower()
        if raw not in ("true", "false"):
            raise Reject(bad_request(f"archived must be true or false, got {raw!r}"))
        return raw == "true"

    def _h_list(self, req: ApiRequest) -> Response:
        limit = int_param(req, "limit", 100, OWNERS_PAGE_MAX)
        owners = self.store.owners(archived=self._archived(req))
        email = req.query.get("email")
        if email is not None:
            wanted = email.strip().casefold()
            owners = [o for o in owners if (o.get("email") or "").casefold() == wanted]
        after = req.query.get("after")
        if after:
            if not after.isdigit():
                return bad_request(f"after must be a cursor this API returned, got {after!r}")
            owners = [o for o in owners if int(o["id"]) >= int(after)]
        page = owners[:limit]
        body: dict[str, Any] = {"results": page}
        if len(owners) > limit:
            next_after = owners[limit]["id"]
            params = {k: req.query[k] for k in req.query if k != "after"}
            params["after"] = next_after
            body["paging"] = {
                "next": {
                    "after": next_after,
                    "link": f"{req.base_url}{req.path}?{urlencode(params)}",
                }
            }
        return json_response(200, body)

    def _h_get(self, req: ApiRequest, oid: str) -> Response:
        id_property = req.query.get("idProperty", "id")
        if id_property not in ("id", "userId"):
            return bad_request(f"idProperty must be id or userId, got {id_property!r}")
        archived = self._archived(req)
        field = "id" if id_property == "id" else "userIdIncludingInactive"
        found = next(
            (o for o in self.store.owners(archived=archived) if str(o.get(field)) == oid), None
        )
        if found is None:
            return error(404, f"No owner found with {id_property} {oid}", "OBJECT_NOT_FOUND")
        return json_response(200, found)

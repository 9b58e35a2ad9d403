"""HubSpot lists over ``/crm/lists/{version}``: the synced list's lookup, its member pages, adds
to a manual list, and the lists one contact is in (``status ITEM`` asks that in one call)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol, cast
from urllib.parse import quote

from sync.clients.errors import HUBSPOT, Remedy
from sync.clients.http import Reply
from sync.domain import HubSpotList
from sync.errors import ApiError
from sync.ports import JoinPage

MEMBERSHIP_PAGE = 250  # GET lists/{id}/memberships
MEMBERSHIP_WRITE = 100  # ids per PUT memberships/add

_PROCESSING_TYPES = ("MANUAL", "DYNAMIC", "SNAPSHOT")


class Send(Protocol):
    """The client's paced, retried request (``HubSpotClient._send``)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        kind: str,
        json_body: Any = None,
        params: dict[str, str | int] | None = None,
        search: bool = False,
    ) -> Reply: ...


class HubSpotLists:
    def __init__(self, send: Send, api_version: str) -> None:
        self._send = send
        self.api_version = api_version

    def _path(self, suffix: str) -> str:
        return f"/crm/lists/{self.api_version}{suffix}"

    def get(self, list_id: str) -> HubSpotList:
        reply = self._send(
            "GET",
            self._path(f"/{quote(str(list_id), safe='')}"),
            kind="get_list",
            params={"includeFilters": "false"},
        )
        if reply.action is Remedy.NOT_FOUND:
            raise ApiError(HUBSPOT, f"HubSpot list {list_id} not found", 404)
        reply.raise_for_error()
        body = reply.json() or {}
        data = body.get("list", body)
        processing = str(data.get("processingType") or "").upper()
        return HubSpotList(
            id=str(data.get("listId", list_id)),
            name=str(data.get("name") or ""),
            processing_type=cast(
                Literal["MANUAL", "DYNAMIC", "SNAPSHOT"],
                processing if processing in _PROCESSING_TYPES else "DYNAMIC",
            ),
        )

    def _membership_page(
        self, list_id: str, tail: str, kind: str, after: str | None
    ) -> tuple[list[str], str | None]:
        """One page of ``.../{list_id}/{tail}`` from the token ``after``: its record ids and
        the token of the next page (None: the last)."""
        path = self._path(f"/{quote(str(list_id), safe='')}/{tail}")
        params: dict[str, str | int] = {"limit": MEMBERSHIP_PAGE}
        if after:
            params["after"] = after
        reply = self._send("GET", path, kind=kind, params=params)
        if reply.action is Remedy.NOT_FOUND:
            raise ApiError(HUBSPOT, f"HubSpot list {list_id} not found", 404)
        reply.raise_for_error()
        body = reply.json() or {}
        ids = [str(r["recordId"]) for r in body.get("results") or [] if "recordId" in r]
        return ids, ((body.get("paging") or {}).get("next") or {}).get("after")

    def member_pages(self, list_id: str) -> Iterator[Sequence[str]]:
        after: str | None = None
        while True:
            ids, after = self._membership_page(list_id, "memberships", "memberships", after)
            if ids:
                yield ids
            if not after or not ids:
                return

    def join_pages(self, list_id: str, after: str | None = None) -> Iterator[JoinPage]:
        """``GET .../memberships/join-order``: members oldest join first, from the page the
        token ``after`` reads; a list that has no page there yields one empty page."""
        while True:
            ids, following = self._membership_page(
                list_id, "memberships/join-order", "join_order", after
            )
            yield JoinPage(ids, after)
            after = following
            if not after or not ids:
                return

    def lists_of(self, contact_id: str) -> set[str]:
        path = self._path(f"/records/0-1/{quote(str(contact_id), safe='')}/memberships")
        reply = self._send("GET", path, kind="record_memberships")
        if reply.action is Remedy.NOT_FOUND:
            return set()
        reply.raise_for_error()
        body = reply.json() or {}
        return {str(r["listId"]) for r in body.get("results") or [] if "listId" in r}

    def add_members(self, list_id: str, ids: Sequence[str]) -> None:
        path = self._path(f"/{quote(str(list_id), safe='')}/memberships/add")
        unique = list(dict.fromkeys(str(i) for i in ids if str(i)))
        for start in range(0, len(unique), MEMBERSHIP_WRITE):
            chunk = unique[start : start + MEMBERSHIP_WRITE]
            reply = self._send("PUT", path, kind="list_add", json_body=chunk)
            if reply.action is Remedy.NOT_FOUND:
                raise ApiError(HUBSPOT, f"HubSpot list {list_id} not found", 404)
            reply.raise_for_error()

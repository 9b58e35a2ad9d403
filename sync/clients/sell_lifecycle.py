"""Sell's record-lifecycle calls: lead conversions (``/v2/lead_conversions``, L1) and the Sync
API (``/v2/sync``, L3), apart from the Core API client that composes them.

Sell's Sync API is a premium add-on: a 403 or 404 to ``POST /v2/sync/start`` means the account
lacks it, which is remembered for a day (:data:`SYNC_API_RECHECK_SECONDS`; in the database when
the client is given a memory, so a new process does not ask again) and never raised.
Every Sync API request carries the same ``X-Basecrm-Device-UUID`` (a new one makes Sell resend
everything): by default derived from the base URL and a hash of the token.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sync.clients import remembered
from sync.clients.errors import Remedy
from sync.clients.http import ApiSession, Reply
from sync.clients.pacing import Clock, Pacer
from sync.clients.sell_wire import has_next_page, item_data, lead_conversion
from sync.domain import LeadConversion
from sync.errors import AuthError
from sync.ports import RememberedReads, SellSyncEvent, SellSyncPage, SellSyncStart

logger = logging.getLogger("sync.clients.sell")

CONVERSIONS_PAGE_SIZE = 200  # /v2/lead_conversions takes up to 200 a page
#: After a 403/404 from the Sync API, how long before asking again (seconds).
SYNC_API_RECHECK_SECONDS = 24 * 3600

#: A GET of the Core API client: (path, kind=…, params=…) → the decoded body.
Get = Callable[..., Any]


def device_uuid_for(base_url: str, token: str) -> str:
    """One device per account and token: the same UUID on every start of sellsync."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sellsync:{base_url.rstrip('/')}:{digest}"))


def conversions_after(get: Get, after_id: int) -> list[LeadConversion]:
    """Pages the list (Sell sorts it by id, newest first) until it reaches ``after_id``.

    A conversion made while paging pushes older ones to later pages, so an item can show
    up twice (kept once) but none is skipped.
    """
    found: dict[int, LeadConversion] = {}
    params: dict[str, str | int] = {"per_page": CONVERSIONS_PAGE_SIZE, "page": 1}
    while True:
        body = get("/v2/lead_conversions", kind="lead_conversions", params=params)
        items = [item_data(i) for i in body.get("items") or []]
        conversions = [c for c in (lead_conversion(d) for d in items if d) if c]
        for conversion in conversions:
            if conversion.id > after_id:
                found[conversion.id] = conversion
        if not conversions or min(c.id for c in conversions) <= after_id or not has_next_page(body):
            return sorted(found.values(), key=lambda c: c.id)
        # After page 50 Sell pages by ``cursor``: follow the link it gives.
        link = str(body["meta"]["links"]["next_page"])
        params = {k: v for k, v in parse_qsl(urlsplit(link).query)} or {
            **params,
            "page": int(params["page"]) + 1,
        }


def conversions_of(get: Get, lead_ids: Sequence[int]) -> dict[int, LeadConversion]:
    """The conversion of each lead that was converted (one ``lead_id=`` read each)."""
    found: dict[int, LeadConversion] = {}
    for lead_id in dict.fromkeys(int(i) for i in lead_ids):
        body = get("/v2/lead_conversions", kind="lead_conversions", params={"lead_id": lead_id})
        for item in body.get("items") or []:
            data = item_data(item)
            conversion = lead_conversion(data) if data else None
            if conversion is not None and conversion.lead_id == lead_id:
                found[lead_id] = conversion
    return found


class SellSyncApi:
    """Start a Sync API session, fetch its queue page by page, ack what was applied."""

    def __init__(self, session: ApiSession, pacer: Pacer, device_uuid: str, clock: Clock) -> None:
        self._session = session
        self.pacer = pacer
        self.device_uuid = device_uuid
        self._clock = clock
        self._refused_at: float | None = None
        self.memory: RememberedReads | None = None

    def _send(self, method: str, path: str, *, kind: str, json_body: Any = None) -> Reply:
        return self._session.send(
            method,
            path,
            kind=kind,
            pacer=self.pacer,
            json=json_body,
            headers={"X-Basecrm-Device-UUID": self.device_uuid},
        )

    def start(self) -> SellSyncStart:
        refused = self._refused_at
        if refused is not None and self._clock() - refused < SYNC_API_RECHECK_SECONDS:
            return SellSyncStart(available=False)
        if self.memory is not None and self.memory.recall(remembered.SELL_SYNC_API_REFUSED):
            return SellSyncStart(available=False)
        try:
            reply = self._send("POST", "/v2/sync/start", kind="sync_start")
        except AuthError as exc:
            if exc.status != 403:
                raise  # 401: the token itself is refused
            reply = None
        if reply is None or reply.action is Remedy.NOT_FOUND:
            if refused is None:
                logger.info("Sell's Sync API is not available; checking links by reads instead")
            self._refused_at = self._clock()
            if self.memory is not None:
                self.memory.remember(
                    remembered.SELL_SYNC_API_REFUSED,
                    True,
                    timedelta(seconds=SYNC_API_RECHECK_SECONDS),
                )
            return SellSyncStart(available=False)
        self._refused_at = None
        reply.raise_for_error()
        if reply.response.status_code == 204:
            return SellSyncStart(available=True)
        data = item_data(reply.json()) or {}
        session = data.get("id")
        return SellSyncStart(available=True, session=str(session) if session else None)

    def pages(self, session: str) -> Iterator[SellSyncPage]:
        while True:
            reply = self._send("GET", f"/v2/sync/{session}/queues/main", kind="sync_fetch")
            reply.raise_for_error()
            if reply.response.status_code == 204:
                return
            body = reply.json() or {}
            items = body.get("items") or [] if isinstance(body, dict) else []
            if not items:
                return
            events: list[SellSyncEvent] = []
            keys: list[str] = []
            for item in items:
                meta = item.get("meta") or {} if isinstance(item, dict) else {}
                sync = meta.get("sync") or {}
                if sync.get("ack_key"):
                    keys.append(str(sync["ack_key"]))
                data = item_data(item) or {}
                try:
                    rid = int(data.get("id", ""))
                except (TypeError, ValueError):
                    continue
                events.append(
                    SellSyncEvent(str(meta.get("type") or ""), rid, str(sync.get("event_type")))
                )
            yield SellSyncPage(tuple(events), tuple(keys))

    def ack(self, ack_keys: Sequence[str]) -> None:
        reply = self._send(
            "POST",
            "/v2/sync/ack",
            kind="sync_ack",
            json_body={"data": {"ack_keys": list(ack_keys)}},
        )
        reply.raise_for_error()

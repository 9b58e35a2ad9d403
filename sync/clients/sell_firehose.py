"""Sell's Firehose API (``/v3/{leads,contacts}/stream``), implementing
:class:`~sync.feeds.firehose.SellFirehosePort`.

A page is ``{"items": [{"data": {...}, "meta": {"type", "event_type", "event_time", ...}}],
"meta": {"position", "top", "links": {"next"}}}``; only each item's id, type and event type are
kept (the run reads the records as they are now). ``410 Gone`` (a position older than the 72
hours Sell keeps) and ``403``/``404`` (no premium APIs, or a token that is not the account's
root user) are answered as :class:`~sync.feeds.firehose.FirehoseRefusal` values; anything else
that fails raises as every Sell call does (:mod:`sync.clients.errors`). Requests share the Core
API client's pacing: one token, one rate limit.
"""

from __future__ import annotations

import logging
from typing import Any

from sync.clients.http import ApiSession
from sync.clients.pacing import Pacer
from sync.clients.sell_wire import parse_sell_time
from sync.domain import RECORD_KINDS, RecordKind
from sync.errors import ApiError, AuthError
from sync.feeds.firehose import (
    EXPIRED,
    PAGE_LIMIT,
    UNAVAILABLE,
    FirehoseEvent,
    FirehosePage,
    FirehoseRefusal,
)

log = logging.getLogger("sync.clients.sell")

_KINDS: dict[str, RecordKind] = {kind: kind for kind in RECORD_KINDS}
EVENT_TYPES = ("created", "updated", "deleted")


class SellFirehose:
    """Reads Firehose pages over ``session`` (the Core API client's), paced by ``pacer``."""

    def __init__(self, session: ApiSession, pacer: Pacer) -> None:
        self._session = session
        self.pacer = pacer

    def stream(
        self, kind: RecordKind, position: str, *, limit: int = PAGE_LIMIT
    ) -> FirehosePage | FirehoseRefusal:
        path = f"/v3/{kind}s/stream"
        try:
            reply = self._session.send(
                "GET",
                path,
                kind="firehose",
                pacer=self.pacer,
                params={"position": position, "limit": limit},
            )
        except AuthError as exc:
            if exc.status != 403:
                raise  # 401: the token itself is refused
            return UNAVAILABLE
        except ApiError as exc:
            if exc.status == 410:
                return EXPIRED
            raise
        if not reply.ok:
            if reply.response.status_code == 404:
                return UNAVAILABLE
            reply.raise_for_error()
        return page_of(kind, reply.json())


def page_of(kind: RecordKind, body: Any) -> FirehosePage:
    """A stream page from its decoded body; ApiError when it is not one."""
    meta = body.get("meta") if isinstance(body, dict) else None
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(meta, dict) or not isinstance(items, list):
        raise ApiError("Sell", "the Firehose answer holds no items and meta")
    position = meta.get("position")
    if not isinstance(position, str) or not position:
        raise ApiError("Sell", "the Firehose answer holds no position")
    events: list[FirehoseEvent] = []
    for item in items:
        event = _event(kind, item)
        if event is not None:
            events.append(event)
    return FirehosePage(tuple(events), position, meta.get("top") is True)


def _event(kind: RecordKind, item: Any) -> FirehoseEvent | None:
    if not isinstance(item, dict):
        return None
    data, meta = item.get("data"), item.get("meta")
    if not isinstance(data, dict) or not isinstance(meta, dict):
        return None
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int | str):
        return None
    try:
        rid = int(raw_id)
    except ValueError:
        return None
    of_kind = _KINDS.get(str(meta.get("type") or kind))
    event = str(meta.get("event_type") or "")
    if of_kind is None or event not in EVENT_TYPES:
        return None
    return FirehoseEvent(of_kind, rid, event, parse_sell_time(meta.get("event_time")))

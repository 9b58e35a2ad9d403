"""Sell's Firehose API (``reference/sell-api.md`` §6c): ``GET /v3/leads/stream`` and
``GET /v3/contacts/stream``.

Every write to a lead or a contact, whoever makes it (the routes, a conversion, the helpers tests
use, and sellsync's own writes: their echoes), appends one event to that resource's stream:
``created``, ``updated`` (with ``previous``, the old values of the fields that changed) or
``deleted`` (data: the id only; a converted lead leaves the leads list, so its stream says
``deleted`` too). A reader follows a stream with ``position``: ``tail`` (the oldest event kept),
``top`` (after the newest: nothing to read) or the opaque ``meta.position`` of its last page, and
``limit`` 1..100 (default 25). The answer's ``meta.top`` is true once the page reaches the newest
event, and ``meta.links.next`` is the URL of the next page.

Events are kept :data:`RETENTION_SECONDS` (72 h) of sandbox time; a position older than that is
answered ``410 Gone``. Tests shorten ``retention_seconds`` (or move ``now``) to expire one.
Firehose is a premium API: an account without it answers ``403`` on both streams
(``FirehoseLog.enabled``, ``PUT /_sandbox/firehose {"enabled": true, "retention_seconds": N}``;
the demo seed turns it on).
"""

from __future__ import annotations

import base64
import binascii
import copy
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Router, json_response
from sandbox.sell_fields import SellErrors, bad_param, iso_seconds, request_error

RETENTION_SECONDS = 72 * 3600
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
STREAMS = {"lead": "leads", "contact": "contacts"}


@dataclass
class _Event:
    seq: int
    at: float
    item: dict[str, Any]


def firehose_data(
    kind: str, record: dict[str, Any], fields: list[dict[str, Any]]
) -> dict[str, Any]:
    """A record as Firehose carries it: tags as tag envelopes, custom fields as
    ``custom_field_values`` (``[{value, custom_field: {data: {id, name, type,
    resource_type}}}]``), not the Core API's name-keyed object."""
    data = copy.deepcopy(record)
    data["tags"] = [
        {"data": {"name": t}, "meta": {"type": "tag"}} for t in record.get("tags") or []
    ]
    custom = data.pop("custom_fields", None) or {}
    by_name = {f["name"]: f for f in fields}
    values = []
    for name, value in custom.items():
        definition = by_name.get(name, {"id": None, "type": "string"})
        values.append(
            {
                "value": value,
                "custom_field": {
                    "data": {
                        "id": definition["id"],
                        "name": name,
                        "type": definition["type"],
                        "resource_type": kind,
                    }
                },
            }
        )
    data["custom_field_values"] = values
    return data


class FirehoseLog:
    """The events of both streams; ``now`` is the sandbox clock (seconds)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.enabled = False  # the premium APIs: off, like most accounts
        self.retention_seconds: float = RETENTION_SECONDS
        self.now = now
        self._events: dict[str, list[_Event]] = {kind: [] for kind in STREAMS}
        self._next_seq = dict.fromkeys(STREAMS, 1)
        self._kept_from = dict.fromkeys(STREAMS, 1)  # the first sequence number still kept
        self._per_record: dict[tuple[str, int], int] = {}
        self._stream_id = uuid.uuid4().hex[:8]  # positions of another sandbox are not ours

    def emit(
        self,
        kind: str,
        event_type: str,
        record: dict[str, Any],
        *,
        fields: list[dict[str, Any]] | None = None,
        before: dict[str, Any] | None = None,
        cause: str = "interaction",
    ) -> None:
        """Append the event of one write of ``record`` (its state after the write)."""
        if kind not in STREAMS:
            return
        rid = int(record["id"])
        sequence = self._per_record.get((kind, rid), 0) + 1
        self._per_record[(kind, rid)] = sequence
        now = self.now()
        if event_type == "deleted":
            data: dict[str, Any] = {"id": rid}
        else:
            data = firehose_data(kind, record, fields or [])
        previous = {}
        if before is not None and event_type == "updated":
            previous = {
                key: copy.deepcopy(value)
                for key, value in before.items()
                if key != "updated_at" and record.get(key) != value
            }
        item = {
            "data": data,
            "meta": {
                "type": kind,
                "event_id": uuid.uuid4().hex,
                "event_type": event_type,
                "event_cause": cause,
                "event_time": iso_seconds(int(now)),
                "sequence": sequence,
                "previous": previous,
            },
        }
        seq = self._next_seq[kind]
        self._next_seq[kind] = seq + 1
        self._events[kind].append(_Event(seq, now, item))

    def count(self, kind: str) -> int:
        """Events kept in ``kind``'s stream."""
        self._prune(kind)
        return len(self._events[kind])

    def _prune(self, kind: str) -> None:
        oldest = self.now() - self.retention_seconds
        events = self._events[kind]
        drop = 0
        while drop < len(events) and events[drop].at < oldest:
            drop += 1
        if drop:
            self._kept_from[kind] = events[drop - 1].seq + 1
            del events[:drop]

    def position(self, kind: str, seq: int) -> str:
        raw = f"{self._stream_id}:{kind}:{seq}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def _seq_of(self, kind: str, position: str) -> int:
        if position == "tail":
            return self._kept_from[kind]
        if position == "top":
            return self._next_seq[kind]
        try:
            raw = base64.urlsafe_b64decode(position + "=" * (-len(position) % 4)).decode()
            stream, of_kind, seq_text = raw.split(":")
            seq = int(seq_text)
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad_param("position", "tail, top or a position from meta.position") from None
        if stream != self._stream_id or of_kind != kind or not 1 <= seq <= self._next_seq[kind]:
            raise bad_param("position", "tail, top or a position from meta.position")
        return seq

    def read(self, kind: str, position: str, limit: int) -> tuple[list[dict[str, Any]], int, bool]:
        """The items from ``position`` on (at most ``limit``), the next sequence, and whether it
        is the top. Raises ``SellErrors(410)`` for a position older than the retention."""
        self._prune(kind)
        seq = self._seq_of(kind, position)
        if seq < self._kept_from[kind]:
            raise SellErrors(
                410,
                [
                    request_error(
                        "gone",
                        "The position is older than the stream's 72 hours of history; "
                        "start again from position=tail or position=top.",
                        "Gone",
                    )
                ],
            )
        page = [e for e in self._events[kind] if e.seq >= seq][:limit]
        after = page[-1].seq + 1 if page else seq
        return [copy.deepcopy(e.item) for e in page], after, after >= self._next_seq[kind]


class FirehoseRoutes:
    """``GET /v3/leads/stream`` and ``GET /v3/contacts/stream`` over ``log``."""

    def __init__(self, log: Callable[[], FirehoseLog]) -> None:
        self.log = log  # the store's current log (a reset replaces it)

    def register(self, r: Router) -> None:
        for kind, plural in STREAMS.items():
            r.add("GET", f"/v3/{plural}/stream", f"firehose.{plural}", self._reader(kind))

    def _reader(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest) -> Response:
            log = self.log()
            if not log.enabled:
                raise SellErrors(
                    403,
                    [
                        request_error(
                            "forbidden",
                            "The Firehose API is not available for this account.",
                            "Forbidden",
                        )
                    ],
                )
            query = req.query_dict()
            position = query.get("position", "tail")
            limit_text = query.get("limit", str(DEFAULT_LIMIT))
            if not isinstance(position, str) or not position:
                raise bad_param("position", "tail, top or a position from meta.position")
            if not isinstance(limit_text, str) or not limit_text.isdigit():
                raise bad_param("limit", f"an integer from 1 to {MAX_LIMIT}")
            limit = int(limit_text)
            if not 1 <= limit <= MAX_LIMIT:
                raise bad_param("limit", f"an integer from 1 to {MAX_LIMIT}")
            items, after, top = log.read(kind, position, limit)
            next_position = log.position(kind, after)
            base = f"{req.base_url}{req.path}"
            return json_response(
                200,
                {
                    "items": items,
                    "meta": {
                        "position": next_position,
                        "top": top,
                        "links": {
                            "next": f"{base}?position={next_position}&limit={limit}",
                        },
                    },
                },
            )

        return handler

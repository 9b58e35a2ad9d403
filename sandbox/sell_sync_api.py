"""Sell's Sync API (``reference/sell-api.md`` §6b): start a session, fetch the queue, ack.

A premium add-on, so it is off by default: an account without it answers ``403`` to every Sync
API route (``PUT /_sandbox/sync_api {"enabled": true}`` or ``SellState.sync_api = True`` turns it
on). With it, every device (``X-Basecrm-Device-UUID``) has its own queue: the latest state of each
lead and contact that differs from what the device acked (``created`` when it never acked the
object, ``updated`` otherwise), and ``deleted`` (data: the id only) for objects it acked that are
gone. The queue is computed when a session starts, by comparing a revision of each record (a
hash of its content) with the device's acks, so nothing else in the sandbox has to report its
writes here; an item not acked comes back in the next session, as Sell documents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Router, empty_response, json_response
from sandbox.sell_fields import SellErrors, request_error
from sandbox.sell_store import SellStore

PAGE = 100
DEVICE_HEADER = "x-basecrm-device-uuid"


def revision(record: dict[str, Any]) -> str:
    return hashlib.sha1(
        json.dumps(record, sort_keys=True, default=str).encode(), usedforsecurity=False
    ).hexdigest()[:16]


class SyncRoutes:
    """``/v2/sync/start``, ``/v2/sync/{session}/queues/main`` and ``/v2/sync/ack``."""

    def __init__(self, store: SellStore) -> None:
        self.store = store

    def register(self, r: Router) -> None:
        r.add("POST", "/v2/sync/start", "sync.start", self._guard(self._start))
        r.add(
            "GET", "/v2/sync/(?P<session>[^/]+)/queues/main", "sync.fetch", self._guard(self._fetch)
        )
        r.add("POST", "/v2/sync/ack", "sync.ack", self._guard(self._ack))

    def _guard(self, handler: Callable[..., Response]) -> Callable[..., Response]:
        def guarded(req: ApiRequest, **params: str) -> Response:
            if not self.store.sync_api:
                raise SellErrors(
                    403,
                    [
                        request_error(
                            "forbidden",
                            "The Sync API is not available for this account.",
                            "Forbidden",
                        )
                    ],
                )
            device = req.headers.get(DEVICE_HEADER, "").strip()
            if not device:
                raise SellErrors(
                    400,
                    [
                        request_error(
                            "missing_device_uuid",
                            "The X-Basecrm-Device-UUID header is required.",
                            "Missing device UUID",
                        )
                    ],
                )
            return handler(req, device, **params)

        return guarded

    def _pending(self, device: str) -> list[dict[str, Any]]:
        acked = self.store.sync.acked.setdefault(device, {})
        items: list[dict[str, Any]] = []
        live: set[tuple[str, int]] = set()
        for kind in ("lead", "contact"):
            for rid, record in sorted(self.store.records_by_id[kind].items()):
                live.add((kind, rid))
                rev = revision(record)
                if acked.get((kind, rid)) != rev:
                    event = "updated" if (kind, rid) in acked else "created"
                    items.append(self._item(kind, rid, dict(record), event, rev))
        for kind, rid in sorted(set(acked) - live):
            items.append(self._item(kind, rid, {"id": rid}, "deleted", "deleted"))
        return items

    def _item(
        self, kind: str, rid: int, data: dict[str, Any], event: str, rev: str
    ) -> dict[str, Any]:
        return {
            "data": data,
            "meta": {
                "type": kind,
                "sync": {
                    "event_type": event,
                    "ack_key": f"{kind}-{rid}-{rev}",
                    "revision": self.store.version,
                },
            },
        }

    def _start(self, req: ApiRequest, device: str) -> Response:
        items = self._pending(device)
        if not items:
            return empty_response(204)
        self.store.sync.started += 1
        session = f"{self.store.sync.started:08d}-{device[:8]}"
        self.store.sync.sessions[session] = (device, items)
        queue = {"name": "main", "pages": -(-len(items) // PAGE), "total_count": len(items)}
        return json_response(201, {"data": {"id": session, "queues": [{"data": queue}]}})

    def _fetch(self, req: ApiRequest, device: str, session: str) -> Response:
        owned = self.store.sync.sessions.get(session)
        if owned is None or owned[0] != device:
            raise SellErrors(
                404, [request_error("not_found", "No such sync session.", "Resource not found")]
            )
        items = owned[1]
        if not items:
            del self.store.sync.sessions[session]
            return empty_response(204)
        page = items[:PAGE]
        del items[:PAGE]
        return json_response(
            200,
            {
                "items": page,
                "meta": {
                    "type": "collection",
                    "count": len(page),
                    "count_left": len(items),
                    "failed_objects": [],
                },
            },
        )

    def _ack(self, req: ApiRequest, device: str) -> Response:
        body = req.json if isinstance(req.json, dict) else {}
        keys = (body.get("data") or {}).get("ack_keys") if isinstance(body, dict) else None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise SellErrors(
                400,
                [
                    request_error(
                        "invalid_payload",
                        'The body must be {"data": {"ack_keys": ["..."]}}.',
                    )
                ],
            )
        acked = self.store.sync.acked.setdefault(device, {})
        for key in keys:
            kind, _, rest = key.partition("-")
            rid, _, rev = rest.partition("-")
            if kind not in ("lead", "contact") or not rid.isdigit() or not rev:
                continue  # not a key this sandbox issued: Sell ignores unknown keys too
            if rev == "deleted":
                acked.pop((kind, int(rid)), None)
            else:
                acked[(kind, int(rid))] = rev
        return empty_response(202)

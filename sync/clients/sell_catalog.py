"""What a Sell account defines for its records: lead sources and custom fields.

Both are listed once and cached for the client's life; once the client is given a memory
(:mod:`.remembered`), for a day in the database instead: custom fields are read again after a
write Sell refused over them, lead sources when an id or a name is not among them. A lead's
``source_id`` is read as the source's *name*; writing a name Sell does not know yet creates the
source (``POST /v2/lead_sources``), and if someone created it meanwhile the list is read again.
Several threads may share one catalog.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, cast

from sync.clients import remembered
from sync.clients.http import ApiSession
from sync.clients.pacing import Pacer
from sync.clients.sell_wire import PAGE_SIZE, custom_field_info, has_next_page, item_data
from sync.domain import RECORD_KINDS, RecordKind, SellCustomField
from sync.ports import RememberedReads


class SellCatalog:
    """Lead sources by id and by name, and custom fields by record kind, read through
    ``session`` at the client's pace."""

    def __init__(self, session: ApiSession, pacer: Pacer) -> None:
        self._session = session
        self._pacer = pacer
        self._lock = threading.RLock()
        self._custom_fields: dict[str, list[SellCustomField]] = {}
        self._source_names: dict[int, str | None] | None = None  # id -> name (None: unknown)
        self._source_ids: dict[str, int] = {}  # lower-cased name -> id
        self.memory: RememberedReads | None = None

    def _pages(self, path: str, *, kind: str) -> Iterator[list[dict[str, Any]]]:
        """Every page of a collection, as lists of the items' ``data``."""
        page = 1
        while True:
            body = (
                self._session.send_ok(
                    "GET",
                    path,
                    kind=kind,
                    pacer=self._pacer,
                    params={"per_page": PAGE_SIZE, "page": page},
                )
                or {}
            )
            items = [d for d in (item_data(i) for i in body.get("items") or []) if d is not None]
            if items:
                yield items
            if not items or not has_next_page(body):
                return
            page += 1

    # ------------------------------------------------------------------ custom fields

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        with self._lock:
            if self.memory is not None:
                return remembered.recalled(
                    self.memory,
                    remembered.sell_custom_fields_key(kind),
                    remembered.decode_fields,
                    lambda: self._read_custom_fields(kind),
                    remembered.encode_fields,
                    remembered.DEFINITIONS_TTL,
                )
            if kind not in self._custom_fields:
                self._custom_fields[kind] = self._read_custom_fields(kind)
            return list(self._custom_fields[kind])

    def _read_custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        fields: list[SellCustomField] = []
        for items in self._pages(f"/v2/{kind}/custom_fields", kind="custom_fields"):
            fields.extend(custom_field_info(raw) for raw in items)
        return fields

    def forget_custom_fields(self) -> None:
        """A write was refused over custom fields: read the definitions again when next used."""
        with self._lock:
            self._custom_fields.clear()
            if self.memory is not None:
                for kind in RECORD_KINDS:
                    self.memory.forget(remembered.sell_custom_fields_key(kind))

    # ------------------------------------------------------------------ lead sources

    def _ensure_sources(self) -> bool:
        """The lead sources at hand: remembered (for a day, with a memory), else read; → True
        when they were just read from Sell (reading again would tell nothing new)."""
        if self._source_names is not None:
            return False
        raw = self.memory.recall(remembered.SELL_LEAD_SOURCES) if self.memory else None
        if isinstance(raw, dict):
            try:
                self._set_sources({int(i): str(n) for i, n in raw.items()})
                return False
            except (TypeError, ValueError):
                pass
        self._load_sources()
        return True

    def _load_sources(self) -> None:
        """Read the lead sources from Sell (an id or a name not known yet may be new)."""
        names: dict[int, str | None] = {}
        for items in self._pages("/v2/lead_sources", kind="lead_sources"):
            for source in items:
                if source.get("id") is not None and source.get("name") is not None:
                    names[int(source["id"])] = str(source["name"])
        self._set_sources(names)
        self._remember_sources()

    def _set_sources(self, names: dict[int, str | None]) -> None:
        self._source_names = names
        self._source_ids = {str(n).strip().lower(): i for i, n in names.items() if n}

    def _remember_sources(self) -> None:
        if self.memory is not None and self._source_names is not None:
            known = {str(i): n for i, n in self._source_names.items() if n is not None}
            self.memory.remember(remembered.SELL_LEAD_SOURCES, known, remembered.DEFINITIONS_TTL)

    def source_name(self, source_id: object) -> str | None:
        """The name of lead source ``source_id`` (None: none, or one Sell does not list)."""
        if source_id in (None, ""):
            return None
        sid = int(cast(int, source_id))
        with self._lock:
            fresh = self._ensure_sources()
            assert self._source_names is not None
            if sid not in self._source_names:
                if not fresh:
                    self._load_sources()
                assert self._source_names is not None
                self._source_names.setdefault(sid, None)  # do not reload for it again
            return self._source_names[sid]

    def source_id(self, name: object) -> int | None:
        """The id of the lead source called ``name`` (any case), created when Sell has none."""
        if name is None or not str(name).strip():
            return None
        wanted = str(name).strip()
        with self._lock:
            fresh = self._ensure_sources()
            if wanted.lower() not in self._source_ids and not fresh:
                self._load_sources()
            if wanted.lower() in self._source_ids:
                return self._source_ids[wanted.lower()]
            reply = self._session.send(
                "POST",
                "/v2/lead_sources",
                kind="lead_source_create",
                pacer=self._pacer,
                json={"data": {"name": wanted}},
            )
            if reply.ok:
                data = item_data(reply.json()) or {}
                sid = int(data["id"])
            else:
                # Someone created it meanwhile ("already_exists"): read the list again.
                self._load_sources()
                if wanted.lower() not in self._source_ids:
                    raise reply.error(f"lead source {wanted!r}")
                sid = self._source_ids[wanted.lower()]
            assert self._source_names is not None
            self._source_names[sid] = wanted
            self._source_ids[wanted.lower()] = sid
            self._remember_sources()
            return sid

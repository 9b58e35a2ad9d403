"""Sell's leads and contacts routes: list, read, create, update and delete.

Each handler validates through :class:`~sandbox.sell_store.SellStore` (the data, with PUT
semantics: a field left out keeps its value) and answers in the envelopes of
:mod:`sandbox.sell_wire`. Lists take exactly the filters Sell documents for each kind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Reject, Router, empty_response
from sandbox.sell_fields import (
    ADDRESS_FILTERS,
    DEFAULT_SORT,
    INT_FILTERS,
    SORTABLE,
    STRING_FILTERS,
    Filter,
    address_filter,
    bool_filter,
    ids_filter,
    int_filter,
    record_template,
    string_filter,
)
from sandbox.sell_store import SellStore
from sandbox.sell_wire import Pages, not_found, one, payload


class RecordRoutes:
    """The ``/v2/leads`` and ``/v2/contacts`` handlers, acting on ``store``."""

    def __init__(self, store: SellStore, pages: Pages) -> None:
        self.store = store
        self.pages = pages

    def register(self, r: Router) -> None:
        for kind, plural in (("lead", "leads"), ("contact", "contacts")):
            r.add("GET", f"/v2/{plural}", f"{plural}.list", self._lister(kind))
            r.add("POST", f"/v2/{plural}", f"{plural}.create", self._creator(kind))
            item = f"/v2/{plural}/(?P<rid>[^/]+)"
            r.add("GET", item, f"{plural}.get", self._getter(kind))
            r.add("PUT", item, f"{plural}.update", self._updater(kind))
            r.add("DELETE", item, f"{plural}.delete", self._deleter(kind))

    def _filters(self, kind: str) -> dict[str, Filter]:
        filters: dict[str, Filter] = {"ids": ids_filter}
        for name in STRING_FILTERS[kind]:
            filters[name] = string_filter(name)
        for name in INT_FILTERS[kind]:
            filters[name] = int_filter(name)
        for name in ADDRESS_FILTERS:
            filters[name] = address_filter(name[len("address[") : -1])
        if kind == "contact":
            filters["is_organization"] = bool_filter("is_organization")
        return filters

    def _lister(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest) -> Response:
            return self.pages.answer(
                req,
                list(self.store.records_by_id[kind].values()),
                kind,
                sortable=SORTABLE[kind],
                default_sort=DEFAULT_SORT[kind],
                filters=self._filters(kind),
                custom=True,
            )

        return handler

    def _record_or_404(self, req: ApiRequest, kind: str, rid: str) -> dict[str, Any]:
        record = self.store.records_by_id[kind].get(int(rid)) if rid.isdigit() else None
        if record is None:
            raise Reject(not_found(req))
        return record

    def _getter(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            return one(self._record_or_404(req, kind, rid), kind)

        return handler

    def _creator(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest) -> Response:
            clean = self.store.validate(kind, payload(req), None)
            record = record_template(kind)
            record["id"] = self.store.next_id[kind]
            self.store.next_id[kind] += 1
            record["created_at"] = record["updated_at"] = self.store.now_iso()
            self.store.merge(kind, record, clean, lenient=False)
            self.store.records_by_id[kind][record["id"]] = record
            self.store.version += 1
            self.store.record_event(kind, "created", record)
            return one(record, kind)

        return handler

    def _updater(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            record = self._record_or_404(req, kind, rid)
            clean = self.store.validate(kind, payload(req), record)
            before = copy.deepcopy(record)
            self.store.version += 1
            self.store.merge(kind, record, clean, lenient=False)
            record["updated_at"] = self.store.now_iso()
            self.store.record_event(kind, "updated", record, before=before)
            return one(record, kind)

        return handler

    def _deleter(self, kind: str) -> Callable[..., Response]:
        def handler(req: ApiRequest, rid: str) -> Response:
            self._record_or_404(req, kind, rid)
            gone = self.store.records_by_id[kind].pop(int(rid))
            self.store.version += 1
            self.store.record_event(kind, "deleted", gone)
            return empty_response(204)

        return handler

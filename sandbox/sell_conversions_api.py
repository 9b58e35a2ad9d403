"""Sell's lead conversions: ``POST`` converts a lead, ``GET`` lists the conversions.

A conversion is the only record of which contact a lead became: the lead itself leaves the
leads list (it answers 404 like a deleted one) and the contact gets a new id. The list is
sorted by id, newest first, takes up to 200 per page and filters by ``lead_id``,
``individual_id``, ``organization_id`` and ``deal_id`` (``reference/sell-api.md`` §9).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.core import ApiRequest, Router
from sandbox.sell_fields import SellErrors, int_filter, request_error, resource_error
from sandbox.sell_store import SellStore
from sandbox.sell_wire import Pages, one, payload

CONVERSIONS_PER_PAGE_MAX = 200
FILTERS = ("lead_id", "individual_id", "organization_id", "deal_id")


class ConversionRoutes:
    """The ``/v2/lead_conversions`` handlers, acting on ``store``."""

    def __init__(self, store: SellStore, pages: Pages) -> None:
        self.store = store
        self.pages = pages

    def register(self, r: Router) -> None:
        r.add("GET", "/v2/lead_conversions", "lead_conversions.list", self._list)
        r.add("POST", "/v2/lead_conversions", "lead_conversions.create", self._create)

    def _list(self, req: ApiRequest) -> Response:
        return self.pages.answer(
            req,
            list(self.store.conversions_by_id.values()),
            "lead_conversion",
            sortable=("id",),
            default_sort="id:desc",
            filters={name: int_filter(name) for name in FILTERS},
            per_page_max=CONVERSIONS_PER_PAGE_MAX,
        )

    def _create(self, req: ApiRequest) -> Response:
        data = payload(req)
        if not isinstance(data, dict):
            raise SellErrors(
                400,
                [request_error("invalid_payload", 'The request payload must be {"data": {...}}')],
            )
        lead_id: Any = data.get("lead_id")
        if isinstance(lead_id, bool) or not isinstance(lead_id, int):
            raise SellErrors(
                422,
                [resource_error("lead_conversion", "invalid_type", "/data/lead_id", _INT)],
            )
        create_deal = data.get("create_deal", False)
        if not isinstance(create_deal, bool):
            raise SellErrors(
                422,
                [
                    resource_error(
                        "lead_conversion",
                        "invalid_type",
                        "/data/create_deal",
                        "create_deal must be true or false",
                    )
                ],
            )
        if lead_id not in self.store.records_by_id["lead"]:
            raise SellErrors(
                422,
                [
                    resource_error(
                        "lead_conversion",
                        "incorrect_value",
                        "/data/lead_id",
                        f"there is no lead with id {lead_id}",
                    )
                ],
            )
        return one(self.store.convert_lead(lead_id, create_deal=create_deal), "lead_conversion")


_INT = "lead_id must be an integer"

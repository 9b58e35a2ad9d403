"""Lead conversions in the Sell stand-in's data (L1): a lead becomes an individual contact and/or
an organization, and then answers 404 like a deleted one; the conversions list the routes of
:mod:`sandbox.sell_conversions_api` page through. A mix-in of :class:`~sandbox.sell_store.SellStore`,
whose account it works on."""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from sandbox.sell_fields import USER_ID, record_template


class LeadConversions:
    """``convert_lead`` and ``conversions``, over the attributes :class:`SellStore` sets."""

    lock: threading.RLock
    records_by_id: dict[str, dict[int, dict[str, Any]]]
    custom_field_defs: dict[str, list[dict[str, Any]]]
    conversions_by_id: dict[int, dict[str, Any]]
    next_id: dict[str, int]
    version: int
    _next_conversion_id: int
    _next_deal_id: int

    if TYPE_CHECKING:

        def now_iso(self, at: int | None = None) -> str: ...

        def merge(
            self, kind: str, record: dict[str, Any], data: dict[str, Any], *, lenient: bool
        ) -> None: ...

        def add_deal(self, name: str, contact_id: int | None, **fields: Any) -> int: ...

        def record_event(
            self,
            kind: str,
            event_type: str,
            record: dict[str, Any],
            *,
            before: dict[str, Any] | None = None,
            cause: str = "interaction",
        ) -> None: ...

    def convert_lead(self, lead_id: int, *, create_deal: bool = False) -> dict[str, Any]:
        """Convert a lead as Sell does; returns the conversion.

        A ``last_name`` yields an individual contact, an ``organization_name`` an organization,
        both yield both. The contacts get new ids and the lead leaves the leads list, so it then
        answers 404 like a deleted one. Tags and the custom fields a contact also defines are
        copied. Raises ``KeyError`` for an unknown lead.
        """
        with self.lock:
            lead = self.records_by_id["lead"].pop(int(lead_id))
            now = self.now_iso()
            shared: dict[str, Any] = {
                key: lead.get(key)
                for key in (
                    "email", "phone", "mobile", "fax", "website", "industry", "owner_id",
                    "description", "twitter", "facebook", "linkedin", "skype",
                )
            }  # fmt: skip
            shared["address"] = copy.deepcopy(lead.get("address"))
            shared["tags"] = list(lead.get("tags") or [])
            contact_fields = {f["name"] for f in self.custom_field_defs["contact"]}
            shared["custom_fields"] = {
                name: value
                for name, value in (lead.get("custom_fields") or {}).items()
                if name in contact_fields
            }
            organization_id = individual_id = None
            if (lead.get("organization_name") or "").strip():
                organization_id = self._converted_contact(
                    {**shared, "is_organization": True, "name": lead["organization_name"]}, now
                )
            if (lead.get("last_name") or "").strip():
                individual_id = self._converted_contact(
                    {
                        **shared,
                        "is_organization": False,
                        "first_name": lead.get("first_name"),
                        "last_name": lead["last_name"],
                        "title": lead.get("title"),
                        "contact_id": organization_id,
                    },
                    now,
                )
            deal_id = None
            if create_deal:  # the new deal is listed with the others (sandbox.sell_archive)
                name = lead.get("organization_name") or lead.get("last_name") or "Deal"
                deal_id = self.add_deal(
                    f"{name} deal",
                    individual_id or organization_id,
                    owner_id=int(lead.get("owner_id") or USER_ID),
                    tags=list(lead.get("tags") or []),
                    created_at=now,
                )
            conversion = {
                "id": self._next_conversion_id,
                "lead_id": lead["id"],
                "individual_id": individual_id,
                "organization_id": organization_id,
                "deal_id": deal_id,
                "creator_id": USER_ID,
                "created_at": now,
            }
            self._next_conversion_id += 1
            self.conversions_by_id[conversion["id"]] = conversion
            self.version += 1
            # the lead leaves the leads list: its stream says deleted (sandbox.sell_firehose)
            self.record_event("lead", "deleted", lead, cause="system")
            for contact_id in (organization_id, individual_id):
                if contact_id is not None:
                    contact = self.records_by_id["contact"][contact_id]
                    self.record_event("contact", "created", contact, cause="system")
            return copy.deepcopy(conversion)

    def _converted_contact(self, data: dict[str, Any], now: str) -> int:
        record = record_template("contact")
        record["id"] = self.next_id["contact"]
        self.next_id["contact"] += 1
        record["created_at"] = record["updated_at"] = now
        record["custom_fields"] = {}
        self.merge("contact", record, data, lenient=True)
        self.records_by_id["contact"][record["id"]] = record
        return int(record["id"])

    def conversions(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(c) for _, c in sorted(self.conversions_by_id.items())]

"""L1 end to end over the sandbox servers: a linked Sell lead converted through
``POST /v2/lead_conversions`` keeps syncing as the new contact (link moved, audited, the S10
mirror written to the contact's custom field), and an unlinked lead's conversion creates nothing,
through the real clients, the SQLite store and the engine."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandbox import Sandbox
from sync.domain import LinkState, SellRef
from tests.e2e.conftest import ada_in_a_list, engine_over


def _convert(sb: Sandbox, lead_id: int) -> dict[str, object]:
    answer = httpx.post(
        sb.sell_url + "/v2/lead_conversions",
        json={"data": {"lead_id": lead_id}},
        headers={"Authorization": f"Bearer {sb.sell_token}", "User-Agent": "sellsync-tests/1"},
    )
    answer.raise_for_status()
    data: dict[str, object] = answer.json()["data"]
    return data


def test_l1_a_converted_lead_keeps_syncing_as_its_new_contact(sb: Sandbox, tmp_path: Path) -> None:
    sb.reset("empty")
    list_id, cid, lead = ada_in_a_list(sb)
    loner = sb.sell.add_record("lead", {"email": "solo@example.com", "last_name": "Solo"})
    with engine_over(sb, f"sqlite:///{tmp_path}/l1.db", list_id) as engine:
        store = engine.store
        assert engine.run(trigger="test").failure is None
        assert store.links_by_hubspot([cid])[cid].sell == SellRef("lead", lead)
        contact_id = int(str(_convert(sb, lead)["individual_id"]))
        _convert(sb, loner)
        # the copied mirror is cleared, so the run must write it to the contact (S10)
        sb.sell.update_record("contact", contact_id, {"custom_fields": {"HubSpot score": None}})
        report = engine.run(trigger="test")
        assert report.failure is None, report.failure
        counts = report.counts()
        assert counts["converted"] == 1 and counts.get("tombstoned", 0) == 0
        link = store.links_by_hubspot([cid])[cid]
        assert link.sell == SellRef("contact", contact_id) and link.state is LinkState.ACTIVE
        contact = sb.sell.get_record("contact", contact_id)
        assert contact is not None and contact["custom_fields"]["HubSpot score"] in ("80", 80)
        events = store.audit_trail(subjects=[f"contact:{contact_id}|{cid}"])
        assert [e.detail.get("moved_from") for e in events if e.kind == "converted"] == [
            f"lead:{lead}"
        ]
        # the unlinked lead's conversion created nothing: one link, one HubSpot contact
        assert store.count_links() == {
            "active": 1,
            "tombstoned": 0,
            "hubspot_deleted": 0,
            "held": 0,
        }
        assert len(sb.hubspot.contact_ids()) == 1
        # and the moved link syncs: a HubSpot change reaches the contact
        sb.hubspot.update_contact(cid, {"jobtitle": "Countess"})
        assert engine.run(trigger="test").failure is None
        assert (sb.sell.get_record("contact", contact_id) or {})["title"] == "Countess"

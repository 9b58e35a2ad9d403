"""The Sell mode is a planner input: under ``read_only`` the planner decides no write to Sell
(from values alone, no I/O) while Sell's changes still go to HubSpot."""

from __future__ import annotations

from datetime import UTC, datetime

from sync.domain import FieldSnapshot, HubSpotContact, Link, SellMode, SellRecord, SellRef
from sync.mapping import field_table, fields_for
from sync.planner import SELL_READ_ONLY, LinkedPair, Planner

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TABLE = field_table(score_property="hubspotscore")


def planner(mode: SellMode) -> Planner:
    return Planner(
        tables={k: fields_for(k, TABLE) for k in ("lead", "contact")},
        props={},
        threshold=50,
        score_property="hubspotscore",
        import_as="lead",
        contact_url=lambda cid: f"https://hubspot.example/{cid}",
        sell_mode=mode,
    )


def pair() -> LinkedPair:
    """A linked lead whose title changed in Sell and whose phone is empty in Sell while
    HubSpot has one: one change for HubSpot, one value for Sell."""
    snap = {
        "title": FieldSnapshot(sell="CTO", hubspot="CTO"),
        "email": FieldSnapshot(sell="ann@example.com", hubspot="ann@example.com"),
    }
    link = Link(SellRef("lead", 7), "501", snapshot=snap, email="ann@example.com")
    record = SellRecord("lead", 7, {"email": "ann@example.com", "title": "CEO"}, T0)
    contact = HubSpotContact(
        "501",
        {"email": "ann@example.com", "jobtitle": "CTO", "phone": "+1 555 0100"},
    )
    return LinkedPair(link, record, contact)


def test_m5_read_only_plans_no_write_to_sell_and_keeps_sells_changes_for_hubspot() -> None:
    active = planner(SellMode.ACTIVE).linked_pairs([pair()])
    assert active.plan.actions[0].sell_writes.get("phone") == "+1 555 0100"
    out = planner(SellMode.READ_ONLY).linked_pairs([pair()])
    [decision] = out.plan.actions
    assert decision.sell_writes == {}
    assert decision.hubspot_writes.get("jobtitle") == "CEO"  # Sell → HubSpot still flows
    [skip] = out.plan.skipped
    assert skip.item == "lead:7" and skip.reason.startswith(SELL_READ_ONLY)
    assert "Phone" in skip.reason or "phone" in skip.reason
    assert decision.link is not None
    held = decision.link.snapshot.get("phone")
    assert held is None or held.sell is None  # Sell's value stays what Sell holds


def test_m5_read_only_adds_no_new_member_to_sell() -> None:
    members = {"9"}
    contact = HubSpotContact("9", {"hubspotscore": "80", "email": "bo@example.com"})
    screened, todo = planner(SellMode.READ_ONLY).screen_imports([contact], {}, members)
    assert todo == []
    assert [(s.item, s.reason) for s in screened.plan.skipped] == [
        ("HubSpot 9", f"{SELL_READ_ONLY}: it is not added to Sell")
    ]
    _, todo = planner(SellMode.ACTIVE).screen_imports([contact], {}, members)
    assert [c.id for c in todo] == ["9"]

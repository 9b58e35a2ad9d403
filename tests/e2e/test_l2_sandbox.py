"""L2 end to end over the sandbox servers: a linked HubSpot contact merged through
``POST /crm/objects/2026-03/contacts/merge`` keeps syncing as the survivor (link moved, audited,
nothing written to the merged-away id), and a merge onto a contact already linked to another Sell
record is held as a link conflict, through the real clients, the SQLite store and the engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox import Sandbox
from sync.domain import LinkState, SellRef
from sync.engine import Engine
from sync.ports import Store
from tests.e2e.conftest import engine_over


def _merge(sb: Sandbox, survivor: str, absorbed: str) -> None:
    answer = httpx.post(
        sb.hubspot_url + "/crm/objects/2026-03/contacts/merge",
        json={"primaryObjectId": survivor, "objectIdToMerge": absorbed},
        headers={"Authorization": f"Bearer {sb.hubspot_token}", "User-Agent": "sellsync-tests/1"},
    )
    answer.raise_for_status()
    assert answer.json()["id"] == survivor


@pytest.fixture
def engine(sb: Sandbox, tmp_path: Path) -> Iterator[tuple[Engine, Store, str]]:
    sb.reset("empty")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    with engine_over(sb, f"sqlite:///{tmp_path}/l2.db", list_id) as run:
        yield run, run.store, list_id


def _pair(sb: Sandbox, list_id: str, email: str, kind: str = "lead") -> tuple[str, int]:
    cid = sb.hubspot.add_contact({"email": email, "lastname": "Lovelace", "hubspotscore": "80"})
    sb.hubspot.add_to_list(list_id, [cid])
    rid = sb.sell.add_record(kind, {"email": email, "last_name": "Lovelace"})
    return cid, rid


def test_l2_a_merged_contact_keeps_syncing_as_its_survivor(
    sb: Sandbox, engine: tuple[Engine, Store, str]
) -> None:
    run, store, list_id = engine
    absorbed, lead = _pair(sb, list_id, "ada@example.com")
    assert run.run(trigger="test").failure is None
    survivor = sb.hubspot.add_contact(
        {"email": "ada.l@example.com", "lastname": "Lovelace", "jobtitle": "Countess"}
    )
    _merge(sb, survivor, absorbed)
    report = run.run(trigger="test")
    assert report.failure is None, report.failure
    assert report.counts()["hubspot_merged"] == 1
    assert report.counts().get("hubspot_deleted", 0) == 0
    link = store.links_by_sell([SellRef("lead", lead)])[SellRef("lead", lead)]
    assert link.hubspot_id == survivor and link.state is LinkState.ACTIVE
    assert (sb.sell.get_record("lead", lead) or {})["title"] == "Countess"
    events = store.audit_trail(subjects=[f"lead:{lead}|{survivor}"])
    assert [e.detail.get("merged_from") for e in events if e.kind == "hubspot_merged"] == [absorbed]
    # a Sell change goes to the survivor, never to the merged-away id
    sb.sell.update_record("lead", lead, {"title": "Analyst"})
    assert run.run(trigger="test").failure is None
    assert sb.hubspot.get_contact(survivor)["properties"]["jobtitle"] == "Analyst"
    assert sb.hubspot.writes_to_merged_ids == []


def test_l2_a_merge_onto_a_linked_contact_is_held_as_a_link_conflict(
    sb: Sandbox, engine: tuple[Engine, Store, str]
) -> None:
    run, store, list_id = engine
    absorbed, lead = _pair(sb, list_id, "ada@example.com")
    survivor, contact = _pair(sb, list_id, "ada.l@example.com", kind="contact")
    assert run.run(trigger="test").failure is None
    _merge(sb, survivor, absorbed)
    report = run.run(trigger="test")
    assert report.failure is None, report.failure
    assert report.counts()["link_conflict"] == 1
    held = store.links_by_sell([SellRef("lead", lead)])[SellRef("lead", lead)]
    assert held.state is LinkState.HELD and held.hubspot_id == survivor
    assert store.links_by_hubspot([survivor])[survivor].sell == SellRef("contact", contact)
    sb.sell.update_record("lead", lead, {"title": "Held"})
    assert run.run(trigger="test").failure is None
    assert sb.hubspot.get_contact(survivor)["properties"].get("jobtitle") != "Held"
    assert sb.hubspot.writes_to_merged_ids == []

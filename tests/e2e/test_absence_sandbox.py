"""S5 and S6 end to end over the sandbox servers: an answer that leaves records out is no proof
that they were deleted.

Sell answering the link check's ``ids=`` reads with an empty page (or ``[null, {"data": null}]``
items), run after run, and HubSpot answering ``batch/read`` with ``{"status": "COMPLETE",
"results": []}``, tombstone nothing and mark nothing deleted in HubSpot: each run stops with a
classified failure after reading a few of the records alone. A record Sell really deleted (404
``not_found``) is still tombstoned, and a contact HubSpot really archived still marked deleted,
even while the bulk reads leave everything out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox import Sandbox
from sync.domain import Link, LinkState
from sync.engine import Engine
from sync.report import FailureKind
from tests.e2e.conftest import engine_over

PAIRS = 12


@dataclass
class World:
    sb: Sandbox
    engine: Engine
    contacts: list[str]

    def links(self) -> list[Link]:
        return [link for batch in self.engine.store.iter_links() for link in batch]

    def states(self) -> dict[LinkState, int]:
        out: dict[LinkState, int] = {}
        for link in self.links():
            out[link.state] = out.get(link.state, 0) + 1
        return out

    def lead_of(self, contact_id: str) -> int:
        (link,) = [link for link in self.links() if link.hubspot_id == contact_id]
        return link.sell.id


@pytest.fixture
def world(sb: Sandbox, tmp_path: Path) -> Iterator[World]:
    """``PAIRS`` members linked to the leads a first run created."""
    sb.reset("empty")
    list_id = sb.hubspot.create_list("Sell sync", "MANUAL")
    contacts = []
    for i in range(PAIRS):
        cid = sb.hubspot.add_contact(
            {"email": f"p{i}@example.com", "lastname": f"P{i}", "hubspotscore": "80"}
        )
        sb.hubspot.add_to_list(list_id, [cid])
        contacts.append(cid)
    with engine_over(sb, f"sqlite:///{tmp_path}/absence.db", list_id) as engine:
        first = engine.run(trigger="test")
        assert first.failure is None and first.counts() == {"created_in_sell": PAIRS}
        yield World(sb, engine, contacts)
    assert all(not state.internal_errors for state in sb.states)


@pytest.mark.parametrize("fault", ["empty-page", "null-items"])
def test_s5_empty_sell_answer_tombstones_nothing(world: World, fault: str) -> None:
    world.sb.sell.inject(fault, path_prefix="/v2/leads", times=None)
    reports = [world.engine.run(trigger="test") for _ in range(3)]
    reports.append(world.engine.run(trigger="test", full=True))
    for report in reports:
        assert report.status == "failed"
        assert report.failure_kind is FailureKind.SELL_UNPROVEN_ABSENCE
        assert f"Sell answered {PAIRS} of {PAIRS} leads as absent" in (report.failure or "")
        assert "tombstoned" not in report.counts()
    assert world.states() == {LinkState.ACTIVE: PAIRS}
    # a few records read alone a run, never one per record the read left out
    assert world.sb.sell.count(endpoint="leads.get") <= 3 * len(reports)
    world.sb.sell.clear_faults()
    healthy = world.engine.run(trigger="test")
    assert healthy.status == "ok" and "tombstoned" not in healthy.counts()


def test_s5_a_real_404_still_tombstones_while_the_read_leaves_everything_out(
    world: World,
) -> None:
    deleted = world.lead_of(world.contacts[0])
    world.sb.sell.delete_record("lead", deleted)
    world.sb.sell.inject("empty-page", path_prefix="/v2/leads", times=None)
    report = world.engine.run(trigger="test")
    # the deleted lead was read first and proved gone (404 not_found); the next three came back
    assert report.failure_kind is FailureKind.SELL_UNPROVEN_ABSENCE
    world.sb.sell.clear_faults()
    report = world.engine.run(trigger="test")
    assert report.status == "ok" and report.counts() == {"tombstoned": 1}
    gone = [link for link in world.links() if link.state is LinkState.TOMBSTONED]
    assert [link.sell.id for link in gone] == [deleted]
    assert world.sb.sell.count(endpoint="leads.get", status=404) >= 2


def test_s5_one_record_left_out_is_read_alone_and_the_run_goes_on(world: World) -> None:
    deleted = world.lead_of(world.contacts[1])
    world.sb.sell.delete_record("lead", deleted)
    report = world.engine.run(trigger="test")
    assert report.status == "ok" and report.counts() == {"tombstoned": 1}
    assert world.sb.sell.count(endpoint="leads.get", status=404) == 1


def test_s6_empty_hubspot_batch_read_marks_nothing_deleted(world: World) -> None:
    world.sb.hubspot.inject("empty-batch", times=None)
    report = world.engine.run(trigger="test", full=True)
    assert report.status == "failed"
    assert report.failure_kind is FailureKind.HUBSPOT_UNPROVEN_ABSENCE
    assert "hubspot_deleted" not in report.counts()
    assert world.states() == {LinkState.ACTIVE: PAIRS}
    # a linked record changed in Sell: its one contact, left out, is read alone and synced
    lead = world.lead_of(world.contacts[2])
    world.sb.sell.update_record("lead", lead, {"title": "Director"})
    report = world.engine.run(trigger="test")
    assert report.status == "ok" and "hubspot_deleted" not in report.counts()
    synced = world.sb.hubspot.get_contact(world.contacts[2])
    assert synced is not None and synced["properties"]["jobtitle"] == "Director"
    assert world.states() == {LinkState.ACTIVE: PAIRS}


def test_s6_a_real_hubspot_not_found_still_marks_deleted_in_hubspot(world: World) -> None:
    world.sb.hubspot.archive_contact(world.contacts[3])
    report = world.engine.run(trigger="test", full=True)
    assert report.status == "ok" and report.counts() == {"hubspot_deleted": 1}
    assert world.states() == {LinkState.ACTIVE: PAIRS - 1, LinkState.HUBSPOT_DELETED: 1}
    # HubSpot named it in the batch answer itself: nothing needed reading alone
    assert world.sb.hubspot.count(endpoint="contacts.get") == 0

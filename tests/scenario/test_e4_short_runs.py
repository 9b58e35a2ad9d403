"""Small runs of events and polls (sync/pipeline/short_run.py) through the engine's public
interface: hints are read back, echoes of sellsync's own writes write nothing, and the rules
hold as in a scheduled run. In-memory CRMs (tests/fakes.py), the real SQLite store."""

from __future__ import annotations

import threading

import pytest

from sync.domain import ConflictStatus, LinkState, SellRef
from sync.errors import RunInProgress
from sync.pipeline.short_run import EVENTS, POLL, Hints, Poll, ShortWork
from sync.report import SyncReport
from tests.conftest import LIST_ID, World, writes


def events(world: World, **hints: object) -> SyncReport:
    world.clock.tick(5)
    report = world.engine.run_short(ShortWork(Hints.of(**hints)), trigger=EVENTS)  # type: ignore[arg-type]
    assert report.failure is None, report.failure
    return report


def linked(world: World, score: int = 80, **props: object) -> tuple[str, SellRef]:
    cid = world.member(score, **props)
    world.sync()
    world.sync()  # the first run's own writes settle
    link = world.link_of_hubspot(cid)
    assert link is not None
    return cid, link.sell


def test_e4_a_sell_edit_written_to_hubspot_and_its_echoes_write_nothing(world: World) -> None:
    cid, ref = linked(world, email="e@x.com", lastname="E", jobtitle="Rep")
    world.sell.edit(ref.kind, ref.id, title="Boss")
    report = events(world, sell=[ref])
    assert world.hubspot.value(cid, "jobtitle") == "Boss"
    assert report.counts()["updated_hubspot"] == 1
    before, hub_reads = writes(world), world.hubspot.calls["batch_read"]
    # the echoes: HubSpot's webhook for the contact, Sell's event for the record, each twice
    again = events(world, hubspot=[cid, cid], sell=[ref])
    events(world, hubspot=[cid])
    assert again.counts().total() == 0
    assert writes(world) == before
    assert world.hubspot.calls["batch_read"] - hub_reads == 2  # one batch read per echo run
    assert world.store.count_conflicts() == 0


def test_e4_a_hubspot_edit_written_to_sell_and_its_echoes_write_nothing(world: World) -> None:
    cid, ref = linked(world, email="h@x.com", lastname="H")
    world.hubspot.set(cid, phone="555-0101")
    report = events(world, hubspot=[cid])
    assert world.sell.value(ref.kind, ref.id, "phone") == "555-0101"
    assert report.trigger == EVENTS
    before = writes(world)
    assert events(world, sell=[ref], hubspot=[cid]).counts().total() == 0
    assert writes(world) == before


def test_e1_duplicate_and_out_of_order_hints_change_nothing_the_state_does_not_say(
    world: World,
) -> None:
    cid, ref = linked(world, email="o@x.com", lastname="O")
    world.hubspot.set(cid, jobtitle="First")
    world.hubspot.set(cid, jobtitle="Second")
    # the event for the second edit arrives, then a late retry of the first one
    events(world, hubspot=[cid])
    events(world, hubspot=[cid])
    assert world.sell.value(ref.kind, ref.id, "title") == "Second"
    assert writes(world) > 0
    before = writes(world)
    events(world, hubspot=[cid, cid])
    assert writes(world) == before


def test_e1_a_hubspot_change_while_sell_is_filled_opens_a_conflict_once(world: World) -> None:
    cid, ref = linked(world, email="c@x.com", lastname="C", jobtitle="Rep")
    world.hubspot.set(cid, jobtitle="Director")
    events(world, hubspot=[cid])
    events(world, hubspot=[cid])
    assert world.sell.value(ref.kind, ref.id, "title") == "Rep"  # S9: Sell is not overwritten
    assert world.store.count_conflicts(ConflictStatus.OPEN) == 1


def test_e1_a_score_rise_of_a_known_member_creates_the_lead_at_once(world: World) -> None:
    cid = world.member(10, email="rise@x.com", lastname="R")
    world.sync()
    assert world.sell.of_kind("lead") == []
    world.hubspot.set(cid, hubspotscore=90)
    report = events(world, hubspot=[cid])
    assert [r.values["email"] for r in world.sell.of_kind("lead")] == ["rise@x.com"]
    assert report.counts()["created_in_sell"] == 1
    events(world, hubspot=[cid])
    assert len(world.sell.of_kind("lead")) == 1  # the creation's echo creates nothing


def test_e1_a_contact_outside_the_list_is_never_imported_by_an_event(world: World) -> None:
    cid = world.hubspot.add_contact(hubspotscore=99, email="out@x.com", lastname="Out")
    world.sync()
    events(world, hubspot=[cid])
    assert world.sell.of_kind("lead") == []


def test_e2_a_contact_that_joined_the_list_is_created_and_evaluated(world: World) -> None:
    world.sync()
    cid = world.member(70, email="joined@x.com", lastname="J")
    events(world, joined=[cid])
    assert [r.values["email"] for r in world.sell.of_kind("lead")] == ["joined@x.com"]
    assert cid in world.store.known_members(LIST_ID)
    report = world.sync()  # the reconcile finds nothing new to do for it
    assert report.counts()["created_in_sell"] == 0


def test_e2_a_joined_contact_below_the_threshold_is_evaluated_not_created(world: World) -> None:
    world.sync()
    cid = world.member(5, email="low@x.com", lastname="L")
    events(world, joined=[cid])
    assert world.sell.of_kind("lead") == []
    assert cid in world.store.known_members(LIST_ID)


def test_e1_a_deletion_hint_is_read_back_before_anything_is_decided(world: World) -> None:
    cid, ref = linked(world, email="d@x.com", lastname="D")
    # a deletion event for a record that is still there: nothing happens
    events(world, sell=[ref], hubspot=[cid])
    link = world.link_of_hubspot(cid)
    assert link is not None and link.state is LinkState.ACTIVE
    world.sell.delete(ref.kind, ref.id)
    events(world, sell=[ref])
    link = world.link_of_hubspot(cid)
    assert link is not None and link.state is LinkState.TOMBSTONED  # S5


def test_l1_a_converted_lead_hint_moves_the_link_never_tombstones_it(world: World) -> None:
    cid, ref = linked(world, email="conv@x.com", lastname="Conv")
    conversion = world.sell.convert(ref.id)
    events(world, sell=[ref])  # Sell reports the lead as deleted
    link = world.link_of_hubspot(cid)
    assert link is not None and link.state is LinkState.ACTIVE
    assert link.sell == SellRef("contact", conversion.individual_id)  # type: ignore[arg-type]


def test_s6_a_hubspot_deletion_hint_stops_the_link_and_keeps_the_sell_record(world: World) -> None:
    cid, ref = linked(world, email="gone@x.com", lastname="Gone")
    world.hubspot.archive(cid)
    events(world, hubspot=[cid])
    link = world.link_of_hubspot(cid)
    assert link is not None and link.state is LinkState.HUBSPOT_DELETED
    assert world.sell.value(ref.kind, ref.id, "email") == "gone@x.com"


def test_l2_a_merge_hint_moves_the_link_to_the_survivor(world: World) -> None:
    cid, ref = linked(world, email="m@x.com", lastname="M")
    other = world.hubspot.add_contact(email="other@x.com", lastname="Other")
    survivor = world.hubspot.merge(other, cid)
    events(world, hubspot=[cid, survivor])
    link = world.store.links_by_sell([ref]).get(ref)
    assert link is not None and link.hubspot_id == survivor
    before = len(world.hubspot.writes_to_merged_ids)
    events(world, hubspot=[cid])
    assert len(world.hubspot.writes_to_merged_ids) == before


def test_e7_a_small_run_waits_while_another_run_holds_the_lock(world: World) -> None:
    cid, _ = linked(world, email="w@x.com", lastname="W")
    lease = world.engine._lease()
    assert lease.acquire()
    try:
        world.hubspot.set(cid, phone="1")
        try:
            world.engine.run_short(ShortWork(Hints.of(hubspot=[cid])), trigger=EVENTS)
        except RunInProgress:
            pass
        else:
            raise AssertionError("a small run ran beside another run")
    finally:
        lease.release()
    events(world, hubspot=[cid])
    ref = world.link_of_hubspot(cid).sell
    assert world.sell.value(ref.kind, ref.id, "phone") == "1"


def test_e3_a_poll_of_sells_feed_syncs_a_sell_edit_and_is_recorded(world: World) -> None:
    cid, ref = linked(world, email="p@x.com", lastname="P")
    world.sell.edit(ref.kind, ref.id, website="https://p.example")
    world.clock.tick(5)
    report = world.engine.run_short(ShortWork(poll=Poll(sell_changes=True)), trigger=POLL)
    assert world.hubspot.value(cid, "website") == "https://p.example"
    assert world.store.recent_runs(1)[0].trigger == POLL
    assert report.counts()["updated_hubspot"] == 1


def test_e5_a_poll_of_hubspots_search_syncs_a_hubspot_edit(world: World) -> None:
    cid, ref = linked(world, email="q@x.com", lastname="Q")
    world.clock.tick(600)  # past the search's overlap
    world.sync()
    world.hubspot.set(cid, mobilephone="777")
    world.clock.tick(5)
    world.engine.run_short(ShortWork(poll=Poll(hubspot_changes=True)), trigger=POLL)
    assert world.sell.value(ref.kind, ref.id, "mobile") == "777"


def test_e5_a_small_run_waits_briefly_for_another_small_run_to_release_the_lock(
    world: World,
) -> None:
    cid, ref = linked(world, email="turn@x.com", lastname="Turn")
    world.hubspot.set(cid, phone="42")
    lease = world.engine._lease()
    assert lease.acquire()  # another small run (the Firehose's, say) holds the lock
    threading.Timer(0.3, lease.release).start()
    report = world.engine.run_short(ShortWork(Hints.of(hubspot=[cid])), trigger=EVENTS)
    assert report.failure is None
    assert world.sell.value(ref.kind, ref.id, "phone") == "42"  # applied now, not next tick


def test_e7_once_the_process_is_stopping_no_small_run_starts_and_its_hints_wait(
    world: World,
) -> None:
    cid = world.member(80, email="s@x.com", lastname="S")
    runs_before = len(world.store.recent_runs(100))
    world.engine.interrupt("SIGTERM")
    with pytest.raises(RunInProgress):
        world.engine.run_short(ShortWork(Hints.of(hubspot=[cid])), trigger=EVENTS)
    assert len(world.store.recent_runs(100)) == runs_before  # nothing recorded as interrupted
    assert world.link_of_hubspot(cid) is None and writes(world) == 0

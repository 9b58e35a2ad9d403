"""The sync rules when changes arrive as events or short polls (small runs) instead of at the
scheduled run: the same decisions, through the engine's public interface. In-memory CRMs
(tests/fakes.py), the real SQLite store."""

from __future__ import annotations

from pathlib import Path

from sync.bulk import HoldStatus
from sync.domain import LinkState, SellRef
from sync.mapping import NEVER_SENT_TO_HUBSPOT
from sync.pipeline.short_run import EVENTS, POLL, Hints, Poll, ShortWork, join_order
from sync.report import SyncReport
from tests.conftest import World, make_world


def events(world: World, **hints: object) -> SyncReport:
    world.clock.tick(5)
    report = world.engine.run_short(ShortWork(Hints.of(**hints)), trigger=EVENTS)  # type: ignore[arg-type]
    assert report.failure is None, report.failure
    return report


def joined(world: World, *cids: str) -> SyncReport:
    return events(world, joined=cids)


def leads(world: World) -> list[str]:
    return sorted(str(r.values.get("email")) for r in world.sell.of_kind("lead"))


def test_s1_a_score_rising_to_the_threshold_by_event_creates_exactly_once(world: World) -> None:
    below = world.member(49, email="b@x.com", lastname="B")
    world.sync()
    events(world, hubspot=[below])
    assert leads(world) == []
    world.hubspot.set(below, hubspotscore="50")
    events(world, hubspot=[below, below])
    events(world, hubspot=[below])
    assert leads(world) == ["b@x.com"]


def test_s3_a_joined_member_is_created_as_a_contact_when_configured(tmp_path: Path) -> None:
    w = make_world(tmp_path).with_config(import_as="contact")
    try:
        w.sync()
        cid = w.member(80, email="c@x.com", lastname="C")
        joined(w, cid)
        assert [r.values["email"] for r in w.sell.of_kind("contact")] == ["c@x.com"]
        assert w.sell.of_kind("lead") == []
    finally:
        w.store.close()


def test_s5_a_tombstoned_contact_is_never_created_again_by_events(world: World) -> None:
    cid = world.member(80, email="t@x.com", lastname="T")
    world.sync()
    link = world.link_of_hubspot(cid)
    assert link is not None
    world.sell.delete(link.sell.kind, link.sell.id)
    events(world, sell=[link.sell])  # Sell's deletion event
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED
    world.hubspot.set(cid, hubspotscore=99)  # its score rises, it joins again
    joined(world, cid)
    events(world, hubspot=[cid])
    assert leads(world) == []
    assert world.link_of_hubspot(cid).state is LinkState.TOMBSTONED


def test_s7_a_link_keeps_syncing_by_events_after_leaving_the_list(world: World) -> None:
    cid = world.member(80, email="s@x.com", lastname="S")
    world.sync()
    world.sync()
    ref = world.link_of_hubspot(cid).sell
    world.hubspot.leave("7", cid)
    world.hubspot.set(cid, hubspotscore=1, mobilephone="123")
    events(world, hubspot=[cid])
    assert world.sell.value(ref.kind, ref.id, "mobile") == "123"
    world.sell.edit(ref.kind, ref.id, title="Still synced")
    events(world, sell=[ref])
    assert world.hubspot.value(cid, "jobtitle") == "Still synced"


def test_s8_a_joined_member_merges_with_its_sell_record_by_email(world: World) -> None:
    world.sync()
    rid = world.sell.add("lead", email="m@x.com", last_name="Sell", title="Sell title")
    world.clock.tick(5)
    world.sync()  # the record is indexed by email
    cid = world.member(80, email="M@X.com", lastname="Sell", jobtitle="Hub title", phone="9")
    report = joined(world, cid)
    assert report.counts()["merged"] == 1 and leads(world) == ["m@x.com"]
    assert world.link_of_hubspot(cid).sell == SellRef("lead", rid)
    assert world.sell.value("lead", rid, "phone") == "9"  # empty in Sell: filled
    assert world.sell.value("lead", rid, "title") == "Sell title"  # both filled: a conflict
    (conflict,) = world.store.list_conflicts()
    assert (conflict.field, conflict.hubspot_value) == ("title", "Hub title")


def test_s9_changed_on_both_sides_sell_wins_and_a_conflict_records_hubspot(world: World) -> None:
    cid = world.member(80, email="both@x.com", lastname="Both")
    world.sync()
    world.sync()
    ref = world.link_of_hubspot(cid).sell
    world.sell.edit(ref.kind, ref.id, title="Sell says")
    world.hubspot.set(cid, jobtitle="HubSpot says")
    events(world, hubspot=[cid])  # the HubSpot event first: it finds Sell changed too
    events(world, sell=[ref])
    assert world.hubspot.value(cid, "jobtitle") == "Sell says"
    assert world.sell.value(ref.kind, ref.id, "title") == "Sell says"
    (conflict,) = world.store.list_conflicts()
    assert conflict.hubspot_value == "HubSpot says"


def test_s11_sell_only_fields_never_reach_hubspot_from_events(world: World) -> None:
    cid = world.member(80, email="e@x.com", lastname="E")
    world.sync()
    world.sync()
    ref = world.link_of_hubspot(cid).sell
    world.hubspot.written.clear()
    world.sell.edit(ref.kind, ref.id, status="Unqualified", owner_id=77, title="Boss")
    events(world, sell=[ref])
    sent = {name for body in world.hubspot.written for name in body}
    assert "jobtitle" in sent and not sent & NEVER_SENT_TO_HUBSPOT
    values = {v for body in world.hubspot.written for v in body.values()}
    assert not values & {"Unqualified", "77", str(ref.id)}


def test_s14_a_bad_member_is_skipped_with_a_reason_and_the_others_go_on(world: World) -> None:
    world.sync()
    bad = world.member(80, email="not-an-email", lastname="Bad")
    good = world.member(80, email="good@x.com", lastname="Good")
    report = joined(world, bad, good)
    assert {s.item for s in report.errors} == {f"HubSpot {bad}"}
    assert leads(world) == ["good@x.com"]


def test_bulk_guard_holds_a_burst_of_creations_from_events(tmp_path: Path) -> None:
    w = make_world(tmp_path).with_config(bulk_limit=2)
    try:
        w.sync()
        cids = [w.member(80, email=f"b{i}@x.com", lastname=f"B{i}") for i in range(3)]
        report = joined(w, *cids)
        assert leads(w) == []  # held before the first creation
        assert report.bulk is not None and report.bulk.hold_id is not None
        (hold,) = w.store.holds([HoldStatus.PENDING])
        # a small run with nothing to hold leaves the pending request alone
        other = w.member(10, email="low@x.com", lastname="Low")
        joined(w, other)
        assert [h.id for h in w.store.holds([HoldStatus.PENDING])] == [hold.id]
    finally:
        w.store.close()


def test_e3_a_poll_syncs_sells_changes_as_the_reconcile_would(world: World) -> None:
    cid = world.member(80, email="p@x.com", lastname="P")
    world.sync()
    world.sync()
    ref = world.link_of_hubspot(cid).sell
    world.sell.edit(ref.kind, ref.id, title="Polled")
    world.clock.tick(5)
    report = world.engine.run_short(ShortWork(poll=Poll(sell_changes=True)), trigger=POLL)
    assert report.failure is None
    assert world.hubspot.value(cid, "jobtitle") == "Polled"
    assert world.sync().counts().total() == 0  # nothing left for the reconcile


def poll_joins(world: World) -> SyncReport:
    world.clock.tick(5)
    report = world.engine.run_short(ShortWork(poll=Poll(joins=join_order)), trigger=POLL)
    assert report.failure is None, report.failure
    return report


def test_e2_the_poll_finds_who_joined_the_list_with_one_call_and_never_reads_it_whole(
    world: World,
) -> None:
    world.member(80, email="first@x.com", lastname="First")
    poll_joins(world)  # no reconcile has read the list yet: the poll reads nothing
    assert world.hubspot.calls["join_order"] == 0 and leads(world) == []
    world.sync()  # the reconcile reads the list whole
    assert leads(world) == ["first@x.com"]
    cid = world.member(70, email="joined@x.com", lastname="Joined")
    before = world.hubspot.calls["join_order"]
    report = poll_joins(world)
    assert report.counts()["created_in_sell"] == 1
    assert leads(world) == ["first@x.com", "joined@x.com"]
    assert world.link_of_hubspot(cid) is not None
    assert world.hubspot.calls["join_order"] - before == 1
    before = world.hubspot.calls["join_order"]
    poll_joins(world)  # no one joined since: one call, nothing else
    assert world.hubspot.calls["join_order"] - before == 1
    assert world.sync().counts()["created_in_sell"] == 0  # nothing left for the reconcile

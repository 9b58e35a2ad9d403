"""E2 in a reconcile: members who joined since the last run come from the list's join order, the
whole list is read once a day, and the rules hold for a member whichever way it was found (S1),
and for one who left the list between sweeps (S2)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import LIST_ID, World, make_world


def _sell_values(world: World, email: str) -> dict[str, object]:
    (record,) = [r for r in world.sell.of_kind("lead") if r.values.get("email") == email]
    values = dict(record.values)
    values.pop("HubSpot public contact URL", None)  # names the contact's own id
    return values


def _join(world: World, email: str, score: object = 80) -> str:
    cid = world.hubspot.add_contact(
        email=email, firstname="Ada", lastname="Lovelace", hubspotscore=score, jobtitle="CTO"
    )
    world.hubspot.join(LIST_ID, cid)
    return cid


def test_s1_a_join_found_by_join_order_qualifies_exactly_as_a_member_found_by_the_sweep(
    tmp_path: Path,
) -> None:
    (tmp_path / "swept").mkdir()
    (tmp_path / "joined").mkdir()
    swept = make_world(tmp_path / "swept")
    joined = make_world(tmp_path / "joined")
    try:
        swept.member(10, email="other@example.com", lastname="Other")
        joined.member(10, email="other@example.com", lastname="Other")
        _join(swept, "ada@example.com")
        swept.sync()  # the first run reads the list whole
        joined.sync()
        _join(joined, "ada@example.com")
        joined.hubspot.calls.clear()
        report = joined.sync()  # a join since the mark: one join-order call
        assert joined.hubspot.calls["join_order"] == 1
        assert joined.hubspot.calls["memberships"] == 0
        assert report.counts().get("created_in_sell") == 1
        assert _sell_values(joined, "ada@example.com") == _sell_values(swept, "ada@example.com")
    finally:
        swept.store.close()
        joined.store.close()


def test_e2_the_list_is_read_whole_once_a_day(world: World) -> None:
    for i in range(600):
        world.member(10, email=f"m{i}@example.com", lastname=f"M{i}")
    world.sync()
    assert world.hubspot.calls["join_order"] == 3  # 600 members, 250 a page
    for _ in range(3):
        world.hubspot.calls.clear()
        world.clock.tick(3600 * 7)
        world.sync()
        assert world.hubspot.calls["join_order"] == 1  # within the day: joins only
    world.hubspot.calls.clear()
    world.clock.tick(3600 * 4)  # past a day since the sweep
    world.sync()
    assert world.hubspot.calls["join_order"] == 3
    world.hubspot.calls.clear()
    world.sync()
    assert world.hubspot.calls["join_order"] == 1


def test_s2_a_member_whose_score_rises_between_sweeps_qualifies(world: World) -> None:
    cid = world.member(10, email="rise@example.com", lastname="Rise")
    world.sync()
    assert world.link_of_hubspot(cid) is None
    world.hubspot.set(cid, hubspotscore=90)
    world.sync()  # no sweep: the member is known from the last one
    link = world.link_of_hubspot(cid)
    assert link is not None and link.sell.kind == "lead"
    assert world.hubspot.calls["record_memberships"] == 1  # asked whether it is still a member


def test_s2_a_member_who_left_between_sweeps_is_not_imported_when_its_score_rises(
    world: World,
) -> None:
    cid = world.member(10, email="gone@example.com", lastname="Gone")
    world.member(10, email="stays@example.com", lastname="Stays")
    world.sync()
    world.hubspot.leave(LIST_ID, cid)
    world.hubspot.set(cid, hubspotscore=90)
    world.sync()
    assert world.link_of_hubspot(cid) is None
    assert world.sell.of_kind("lead") == []
    world.hubspot.join(LIST_ID, cid)  # back in the list: it qualifies
    world.sync()
    assert world.link_of_hubspot(cid) is not None


def test_e2_a_dry_run_moves_no_mark_and_keeps_no_roster(world: World) -> None:
    world.member(80, email="a@example.com", lastname="A")
    world.sync(dry_run=True)
    assert world.store.get_mark("hubspot:joins") is None
    assert world.store.roster(LIST_ID) == set()
    world.sync()
    assert len(world.store.roster(LIST_ID)) == 1


def test_s2_many_scores_rising_between_sweeps_read_the_list_once_not_each_member(
    world: World,
) -> None:
    ids = [world.member(10, email=f"r{i}@example.com", lastname=f"R{i}") for i in range(5)]
    world.sync()
    world.hubspot.leave(LIST_ID, ids[0])
    for cid in ids:
        world.hubspot.set(cid, hubspotscore=90)
    world.hubspot.calls.clear()
    world.sync()
    # five to ask about, a list of one page: the list read once instead of five calls
    assert world.hubspot.calls["record_memberships"] == 0
    assert world.hubspot.calls["join_order"] == 2
    assert world.link_of_hubspot(ids[0]) is None
    assert all(world.link_of_hubspot(cid) is not None for cid in ids[1:])


def test_e2_a_poll_finds_a_join_in_one_call_and_the_reconcile_knows_it_as_a_member(
    world: World,
) -> None:
    from sync.pipeline.short_run import POLL, Poll, ShortWork, join_order

    world.member(10, email="first@example.com", lastname="First")
    world.sync()  # the reconcile reads the list whole
    world.hubspot.calls.clear()
    world.engine.run_short(ShortWork(poll=Poll(joins=join_order)), trigger=POLL)
    assert world.hubspot.calls["join_order"] == 1  # no one joined: one call
    low = _join(world, "low@example.com", score=10)
    world.hubspot.calls.clear()
    world.engine.run_short(ShortWork(poll=Poll(joins=join_order)), trigger=POLL)
    assert world.hubspot.calls["join_order"] == 1
    world.hubspot.set(low, hubspotscore=90)  # its score rises: the reconcile's search finds it
    world.hubspot.calls.clear()
    world.sync()
    assert world.link_of_hubspot(low) is not None
    assert world.hubspot.calls["join_order"] == 1  # the poll moved the mark past the join


def test_e2_a_poll_never_reads_the_list_whole_when_the_join_order_cannot_be_followed(
    world: World,
) -> None:
    from sync.pipeline.short_run import POLL, Poll, ShortWork, join_order

    ids = [world.member(10, email=f"m{i}@example.com", lastname=f"M{i}") for i in range(600)]
    world.sync()
    world.hubspot.leave(LIST_ID, ids[-1])  # the member the mark names has left
    world.hubspot.calls.clear()
    world.engine.run_short(ShortWork(poll=Poll(joins=join_order)), trigger=POLL)
    assert world.hubspot.calls["join_order"] == 1  # not 3: the reconcile sweeps instead
    world.hubspot.calls.clear()
    world.sync()
    assert world.hubspot.calls["join_order"] == 1 + 3

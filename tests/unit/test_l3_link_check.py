"""L3 without Sell's Sync API: every run re-reads a rotating share of the links' Sell records with
``ids=`` reads of 100, so a record deleted while nothing touches it becomes a tombstone (S5)
within a day of runs at the default interval, exactly as the ``--full`` check makes it one."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sync.domain import LinkState, Outcome, SellRef
from sync.feeds.links import RUNS_PER_DAY, runs_per_day, share_size
from sync.feeds.marks import LINK_CHECK, LinkCheckMark
from tests.conftest import World, make_world


@pytest.mark.parametrize(
    ("links", "share"),
    [(0, 0), (1, 1), (99, 99), (250, 100), (9_600, 100), (9_601, 200), (10_000, 200),
     (100_000, 1_100), (1_000_000, 10_500)],
)  # fmt: skip
def test_l3_the_share_is_a_day_of_runs_rounded_up_to_whole_reads(links: int, share: int) -> None:
    assert share_size(links) == share
    assert share * RUNS_PER_DAY >= links  # every link within 96 runs (a day at 15 minutes)
    assert share == links or share % 100 == 0


def _linked(world: World, n: int) -> list[tuple[int, str]]:
    pairs = []
    for i in range(n):
        email = f"p{i}@x.com"
        rid = world.sell.add("lead", email=email, last_name=f"P{i}")
        pairs.append((rid, world.member(email=email, lastname=f"P{i}")))
    world.sync()
    assert world.store.count_links().get("active") == n
    return pairs


def test_l3_a_sell_record_deleted_untouched_is_a_tombstone_within_a_cycle_of_runs(
    world: World,
) -> None:
    pairs = _linked(world, 250)  # a share of 100: three runs go round every link
    doomed = [pairs[0][0], pairs[120][0], pairs[249][0]]
    for rid in doomed:
        world.sell.delete("lead", rid)
    runs = 0
    while runs < math.ceil(250 / share_size(250)):
        world.sync()
        runs += 1
    links = world.store.links_by_sell(SellRef("lead", rid) for rid, _ in pairs)
    tombstoned = {ref.id for ref, link in links.items() if link.state is LinkState.TOMBSTONED}
    assert tombstoned == set(doomed)


def test_l3_each_run_reads_one_share_and_the_rotation_persists(world: World) -> None:
    _linked(world, 250)
    world.clock.tick(600)  # past the HubSpot feed's overlap: the runs below read no echo
    world.sync()
    ids = [link.id for page in world.store.iter_links() for link in page]
    marks = []
    for _ in range(4):
        before = world.sell.calls["leads_by_ids"]
        world.sync()
        assert world.sell.calls["leads_by_ids"] - before == 1  # 100 ids in one read
        marks.append(LinkCheckMark.from_mark(world.store.get_mark(LINK_CHECK)).after_id)
    # runs so far checked 100 links each: 300, 400, ... links round a ring of 250
    assert marks == [ids[(100 * k - 1) % 250] for k in range(3, 7)]


def test_l3_the_share_check_tombstones_as_the_full_check_does(tmp_path: Path) -> None:
    reports = {}
    states = {}
    for mode in ("share", "full"):
        (tmp_path / mode).mkdir()
        world = make_world(tmp_path / mode)
        (rid, cid), *_ = _linked(world, 3)
        world.sell.delete("lead", rid)
        report = world.sync(full=mode == "full", keep_actions=True)
        reports[mode] = [
            (a.outcomes, str(a.sell), a.hubspot_id, a.summary)
            for a in report.applied.actions
            if Outcome.TOMBSTONED in a.outcomes
        ]
        link = world.store.links_by_sell([SellRef("lead", rid)])[SellRef("lead", rid)]
        states[mode] = (link.state, link.hubspot_id == cid)
        world.store.close()
    assert reports["share"] and reports["share"] == reports["full"]
    assert states["share"] == states["full"] == (LinkState.TOMBSTONED, True)


def test_l3_a_dry_run_plans_the_tombstone_and_keeps_the_rotation(world: World) -> None:
    (rid, _), *_ = _linked(world, 2)
    mark = world.store.get_mark(LINK_CHECK)
    world.sell.delete("lead", rid)
    world.clock.tick(60)
    dry = world.engine.run(trigger="test", dry_run=True)
    assert dry.counts()["tombstoned"] == 1
    assert world.store.get_mark(LINK_CHECK) == mark
    link = world.store.links_by_sell([SellRef("lead", rid)])[SellRef("lead", rid)]
    assert link.state is LinkState.ACTIVE


@pytest.mark.parametrize(
    ("interval", "per_day"), [(15, 96), (5, 288), (7, 205), (60, 24), (1440, 1), (10_000, 1)]
)
def test_l3_runs_per_day_follow_the_sync_interval(interval: int, per_day: int) -> None:
    assert runs_per_day(interval) == per_day
    assert per_day * interval <= 24 * 60 or per_day == 1  # a day of runs never falls short


def test_l3_a_longer_interval_checks_a_bigger_share_each_run(tmp_path: Path) -> None:
    """At SYNC_INTERVAL_MINUTES=720 (2 runs a day) each run checks half the links."""
    world = make_world(tmp_path).with_config(sync_interval_minutes=720)
    try:
        _linked(world, 250)
        world.clock.tick(600)
        world.sync()
        before = world.sell.calls["leads_by_ids"]
        world.sync()
        assert world.sell.calls["leads_by_ids"] - before == 2  # a share of 200: two reads
    finally:
        world.store.close()

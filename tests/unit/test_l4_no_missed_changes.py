"""L4: a change made in Sell before a run starts is applied by that run or the next, however the
Sell list shifts while the run pages it (records deleted, converted, updated or created).

The in-memory Sell answers offset pages of its list as it is at each call, like Sell, and lets a
test change the data between two pages (``FakeSell.between_pages``).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sync.clients.sell_pages import OffsetWalk, Window, window_after
from sync.domain import RecordKind, SellRef
from sync.errors import ListKeptShifting
from tests.conftest import LIST_ID, World
from tests.fakes import FakeSell, TickClock

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_l4_each_window_straddles_the_end_of_the_last_and_most_calls_bring_80_new() -> None:
    position, reads, new = 0, 0, 0
    while position < 100_000:
        w = window_after(position)
        assert w.per_page <= 100 and w.start % w.per_page == 0
        assert w.start == 0 or w.start <= position - 5 < position < w.end
        new += w.end - position
        position, reads = w.end, reads + 1
    assert new / reads > 80  # the overlap costs under 25 % more calls than aligned pages


def test_l4_a_window_without_an_anchor_steps_back_towards_the_top() -> None:
    walk = OffsetWalk()

    class R:
        def __init__(self, i: int) -> None:
            self.id, self.updated_at = i, T0 - timedelta(seconds=i)

    first = [R(i) for i in range(100)]
    walk.observe(Window(1, 100), first, more=True)
    assert walk.position == 100
    w = walk.request()
    # the list lost 10 records above: the window holds none of the ones read before
    walk.observe(w, [R(i) for i in range(1000, 1000 + w.per_page)], more=True)
    assert walk.position == w.start and not walk.done
    assert walk.request().start < w.start
    walk.max_steps_back = 1
    with pytest.raises(ListKeptShifting, match="the next run reads it again"):
        walk.observe(walk.request(), [R(5000)], more=True)


def _churn(sell: FakeSell, kind: RecordKind, seed: int, budget: list[int]) -> None:
    """Between two pages: delete some of the newest records, update some, create one."""
    if budget[0] <= 0:
        return
    budget[0] -= 1
    rnd = random.Random(seed * 1000 + budget[0])
    rows = sorted(sell.of_kind(kind), key=lambda r: (r.updated_at, r.id), reverse=True)
    for r in rnd.sample(rows[:150], k=min(len(rows), rnd.randint(1, 12))):
        if rnd.random() < 0.7:
            sell.delete(kind, r.id)
        else:
            sell.edit(kind, r.id, title="moved")
    sell.add(kind, last_name="new")


@pytest.mark.parametrize("seed", range(12))
def test_l4_every_change_before_the_walk_is_read_by_it_or_the_next(seed: int) -> None:
    clock = TickClock(T0)
    sell = FakeSell(clock=clock)
    old = [sell.add("lead", last_name=f"old{i}") for i in range(300)]
    since = clock.tick(60)
    changed = {rid: clock.tick() for rid in random.Random(seed).sample(old, k=260)}
    for rid in changed:
        sell.edit("lead", rid, title="changed")
    budget = [4]
    sell.between_pages = lambda kind: _churn(sell, kind, seed, budget)
    first = [r for page in sell.changed_pages("lead", since) for r in page]
    sell.between_pages = None
    mark = max(r.updated_at for r in first)
    second = [r for page in sell.changed_pages("lead", mark) for r in page]
    seen = {r.id for r in first} | {r.id for r in second}
    gone = {rid for rid in changed if ("lead", rid) not in sell.records}
    assert set(changed) - gone <= seen
    assert len(first) == len({r.id for r in first})  # each version handed on once


def _linked_world(world: World, n: int) -> dict[int, str]:
    """``n`` Sell leads, each linked to a HubSpot list member by a first sync."""
    pairs = {}
    for i in range(n):
        email = f"p{i}@x.com"
        rid = world.sell.add("lead", email=email, last_name=f"P{i}", title="old")
        pairs[rid] = world.member(email=email, lastname=f"P{i}", jobtitle="old")
    world.sync()
    links = world.store.links_by_sell(SellRef("lead", rid) for rid in pairs)
    assert len(links) == n
    return pairs


def test_l4_a_run_that_pages_sell_while_records_are_deleted_misses_no_change(
    world: World,
) -> None:
    pairs = _linked_world(world, 260)
    for rid in pairs:  # every linked lead changes before the run starts
        world.sell.edit("lead", rid, title="new")
    rows = sorted(world.sell.of_kind("lead"), key=lambda r: (r.updated_at, r.id), reverse=True)
    doomed = [r.id for r in rows[:100:7]]  # on the first page the run reads
    moved = rows[150].id
    calls = [0]

    def churn(kind: RecordKind) -> None:
        calls[0] += 1
        if kind == "lead" and calls[0] == 1:
            for rid in doomed:
                world.sell.delete("lead", rid)
            world.sell.edit("lead", moved, title="newer")

    world.sell.between_pages = churn
    world.sync()
    world.sell.between_pages = None
    world.sync()
    expect = {rid: ("newer" if rid == moved else "new") for rid in pairs if rid not in doomed}
    got = {rid: world.hubspot.value(pairs[rid], "jobtitle") for rid in expect}
    assert got == expect
    assert world.hubspot.members[LIST_ID]

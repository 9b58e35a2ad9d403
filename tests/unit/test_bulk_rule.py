"""The bulk guard's pure rule (sync/bulk.py): which creations and link removals a run applies,
holds for a manager, or leaves alone; and which decisions it collects at all."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sync.bulk import BulkCollector, BulkNotice, HeldKind, held_kind, judge, removals_over
from sync.domain import Link, Outcome, SellRef
from sync.plan import RecordDecision, SyncPlan
from sync.planner import hubspot_gone, tombstone

CREATE = HeldKind.CREATE_IN_SELL
TOMB = HeldKind.TOMBSTONE
GONE = HeldKind.HUBSPOT_DELETED


def keys(n: int, prefix: str = "") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def creation(cid: str) -> RecordDecision:
    link = Link(sell=SellRef("lead", 0), hubspot_id=cid, email=f"{cid}@x.com")
    return RecordDecision(
        (Outcome.CREATED_IN_SELL,), None, cid, "new lead", {"email": "x"}, link=link,
        create_kind="lead",
    )  # fmt: skip


def link(i: int) -> Link:
    return Link(sell=SellRef("lead", i), hubspot_id=str(1000 + i))


@pytest.mark.parametrize(("count", "held"), [(100, False), (101, True), (300, True)])
def test_creations_above_the_limit_are_held_and_up_to_it_applied(count: int, held: bool) -> None:
    verdict = judge({CREATE: keys(count)}, limit=100, links_total=0)
    assert bool(verdict.held) is held
    assert len(verdict.released[CREATE]) == (0 if held else count)


@pytest.mark.parametrize(
    ("removals", "links", "held"),
    [
        (30, 200, True),  # the case: 15 %
        (3, 200, False),
        (11, 100, True),  # more than 10 and more than 5 %
        (10, 100, False),  # not more than 10
        (11, 1000, False),  # only 1.1 % of the links
        (51, 1000, True),
    ],
)
def test_link_removals_are_held_above_5_percent_and_10(
    removals: int, links: int, held: bool
) -> None:
    assert removals_over(removals, links) is held
    split = removals // 2
    collected = {TOMB: keys(split, "lead:"), GONE: keys(removals - split, "contact:")}
    verdict = judge(collected, limit=100, links_total=links)
    assert verdict.holds is held
    assert verdict.count(verdict.held) == (removals if held else 0)


def test_creations_and_removals_are_judged_apart() -> None:
    verdict = judge({CREATE: keys(5), TOMB: keys(30, "lead:")}, limit=100, links_total=200)
    assert verdict.released[CREATE] == keys(5) and verdict.held == {TOMB: keys(30, "lead:")}


def test_an_approval_releases_its_keys_whatever_the_count_and_only_those() -> None:
    approved = {CREATE.value: keys(300)}
    verdict = judge({CREATE: keys(300)}, limit=100, links_total=0, approved=approved)
    assert len(verdict.released[CREATE]) == 300 and not verdict.holds
    newcomers = keys(300) + keys(150, "new")
    verdict = judge({CREATE: newcomers}, limit=100, links_total=0, approved=approved)
    assert len(verdict.released[CREATE]) == 300 and verdict.held == {CREATE: keys(150, "new")}


def test_a_rejection_leaves_its_keys_alone_even_with_yes_bulk() -> None:
    rejected = {CREATE.value: keys(150)}
    for yes in (False, True):
        verdict = judge(
            {CREATE: [*keys(150), "other"]}, limit=100, links_total=0, rejected=rejected, yes=yes
        )
        assert verdict.rejected[CREATE] == keys(150)
        assert verdict.released[CREATE] == ["other"] and not verdict.holds


def test_yes_bulk_releases_what_would_be_held() -> None:
    verdict = judge({CREATE: keys(300), TOMB: keys(30)}, limit=100, links_total=200, yes=True)
    assert not verdict.holds and verdict.count(verdict.released) == 330


def test_only_plain_creations_and_removals_are_collected() -> None:
    update = RecordDecision((Outcome.UPDATED_SELL,), SellRef("lead", 1), "9", "x", {"a": 1})
    assert held_kind(update) is None
    assert held_kind(creation("5")) is CREATE
    assert held_kind(tombstone(link(1), "deleted in Sell")) is TOMB
    assert held_kind(hubspot_gone(link(1))) is GONE
    moved = tombstone(link(1), "gone")
    assert held_kind(replace(moved, moved_from=SellRef("lead", 7))) is None  # part of an L1 move


def test_the_collector_keeps_back_creations_and_removals_and_passes_the_rest() -> None:
    plan = SyncPlan()
    update = RecordDecision((Outcome.UPDATED_SELL,), SellRef("lead", 1), "9", "x", {"a": 1})
    for d in (creation("5"), update, tombstone(link(2), "gone"), creation("5")):
        plan.add(d)
    plan.skip("HubSpot 8", "no email")
    collector = BulkCollector()
    rest = collector.take(plan)
    assert rest.actions == [update] and rest.skipped == plan.skipped
    assert collector.collected() == {CREATE: ["5"], TOMB: ["lead:2"]}  # one per key
    assert collector.members_waiting() == {"5"}
    assert [d.hubspot_id for d in collector.plan_of({CREATE: ["5"]}).actions] == ["5"]


def test_the_notice_says_what_was_held_why_and_how_to_let_it_through() -> None:
    notice = BulkNotice(held={"create_in_sell": 300, "tombstone": 30}, limit=100, hold_id=4)
    line = notice.line(dry_run=False) or ""
    assert "Held 300 creations in Sell, 30 tombstones" in line and "request #4" in line
    assert "SYNC_BULK_LIMIT=100" in line and "5%" in line and "--yes-bulk" in line
    assert "would hold 300 creations" in (notice.line(dry_run=True) or "")
    assert BulkNotice(held={}, limit=100).line(dry_run=False) is None


def test_while_a_request_waits_newcomers_within_the_limit_are_created_and_it_stays_the_same() -> (
    None
):
    pending = {CREATE.value: keys(150)}
    verdict = judge({CREATE: [*keys(150), "n1", "n2"]}, limit=100, links_total=0, pending=pending)
    assert verdict.held == {CREATE: keys(150)} and verdict.released[CREATE] == ["n1", "n2"]
    many = [*keys(150), *keys(101, "n")]
    verdict = judge({CREATE: many}, limit=100, links_total=0, pending=pending)
    assert verdict.held == {CREATE: many}  # too many newcomers too: all held, asked again
    verdict = judge({CREATE: keys(60)}, limit=100, links_total=0, pending=pending)
    assert not verdict.holds and verdict.released[CREATE] == keys(60)  # under the limit now

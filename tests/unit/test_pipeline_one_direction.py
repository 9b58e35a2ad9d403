"""The run's core in one direction: feeds are read by one reader, the planner decides once from
facts read first and owns what the run decided, and the applier only reports what its writes
found. A new feed (an inbox of webhook events, say) plugs into the reader unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from sync.applier import Applier
from sync.domain import FeedMark, LeadConversion, Link, LinkState, Outcome, SellRef
from sync.email_index import StoredEmailIndex
from sync.feeds.base import Page, read_through
from sync.plan import ConvertedLead, LinkedPair, PagePlan, RecordDecision
from sync.report import SyncReport
from tests.conftest import World
from tests.unit.test_planner import contact, planner, record

INBOX = "test:inbox"


class EventInbox:
    """A test-only feed: HubSpot contact ids pushed by events, read in pages of two; the mark is
    the position of the last event applied."""

    stage = "inbox"

    def __init__(self, events: list[str], store: World) -> None:
        self.events = events
        self.world = store
        mark = store.store.get_mark(INBOX)
        self.at = 0 if mark is None or mark.position_ms is None else mark.position_ms

    def read(self) -> Page[str] | None:
        page = self.events[self.at : self.at + 2]
        if not page:
            return None
        self.at += len(page)
        return Page(page, FeedMark(position_ms=self.at))

    def close(self, page: Page[str]) -> None:
        assert page.mark is not None
        self.world.store.set_mark(INBOX, page.mark)


class Stop(Exception):
    pass


def test_a_new_feed_plugs_into_the_one_reader_and_its_mark_moves_only_once_applied(
    world: World,
) -> None:
    events = ["1", "2", "3", "4", "5"]
    applied: list[str] = []
    boundaries: list[str] = []

    def boundary(stage: str) -> None:
        boundaries.append(stage)
        if len(boundaries) == 2:
            raise Stop  # a stop asked for: honoured at the page boundary

    with pytest.raises(Stop):
        read_through(EventInbox(events, world), applied.extend, boundary)
    assert applied == ["1", "2", "3", "4"]
    assert world.store.get_mark(INBOX) == FeedMark(position_ms=4)
    read_through(EventInbox(events, world), applied.extend, lambda stage: None)
    assert applied == ["1", "2", "3", "4", "5"]  # the next run carries on where it stopped
    assert world.store.get_mark(INBOX) == FeedMark(position_ms=5)


def _linked(world: World) -> Link:
    rid = world.sell.add("lead", email="t@x.com", last_name="T", title="Sell")
    cid = world.member(score=80, email="t@x.com", lastname="T", jobtitle="Sell")
    world.sync()
    link = world.link_of_hubspot(cid)
    assert link is not None and link.sell == SellRef("lead", rid)
    return link


def test_the_applier_reports_a_record_gone_on_write_and_decides_nothing(world: World) -> None:
    link = _linked(world)
    pair = LinkedPair(link, world.sell.get_records("lead", [link.sell.id])[link.sell.id], None)
    assert pair.record is not None
    decision = planner().link_sync(
        replace(pair.record, values={**pair.record.values, "title": "New"}),
        contact(link.hubspot_id, email="t@x.com", lastname="T", jobtitle="Sell"),
        link,
    )
    assert isinstance(decision, RecordDecision)
    world.sell.delete("lead", link.sell.id)
    report = SyncReport(trigger="test", dry_run=False, started_at=world.clock.now())
    applier = Applier(
        report,
        hubspot=world.hubspot,
        sell=world.sell,
        store=world.store,
        clock=world.clock,
        index=StoredEmailIndex(world.store),
        lease=None,
        actor=None,
        sell_write_workers=1,
    )
    page = PagePlan()
    page.add(decision)
    applier.write(page)
    found = applier.take_found()
    assert [d.sell for d in found.sell_gone] == [link.sell]
    # nothing decided yet: the link is as it was until the planner decides what was found
    assert world.link_of_hubspot(link.hubspot_id).state is LinkState.ACTIVE
    assert report.applied.counts().get(Outcome.TOMBSTONED.value, 0) == 0
    p = planner()
    applier.record_found(p.after_writes(found))
    assert world.link_of_hubspot(link.hubspot_id).state is LinkState.TOMBSTONED
    assert report.applied.counts()[Outcome.TOMBSTONED.value] == 1


def test_the_planner_owns_what_the_run_decided_and_decides_a_followed_lead_once() -> None:
    lead = SellRef("lead", 1)
    link = Link(lead, "7", id=3)
    new = record("contact", 2, email="ann@example.com")
    converted = ConvertedLead(link, LeadConversion(1, 1, 2, None), new, None)
    p = planner()
    plan = p.decide([LinkedPair(link, None, None)], [converted])
    assert [d.outcomes[0] for d in plan.plan.actions] == [Outcome.CONVERTED]  # not tombstoned
    assert p.state.was_followed(lead) and p.state.handled("7")
    assert p.state.as_moved(link).sell == new.ref
    # another feed reading the lead as missing later in the run leaves it be
    again: Sequence[LinkedPair] = [LinkedPair(link, None, None)]
    assert p.decide(again).plan.actions == []

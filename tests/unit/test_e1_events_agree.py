"""The rules hold for small runs of events as for scheduled runs, over generated worlds (the
worlds of the L5 property test, tests/unit/test_l5_explanations_agree.py: everyday changes
between syncs, in-memory CRMs).

* L5 for events: what ``status ITEM`` says of each record is what the next small run that
  names it does with it, exactly as for the next scheduled run (so S1–S14, L1, L2 decide the
  same way whether a change arrives by event or at the reconcile).
* E1: events are hints. The same hints again, in another order, with duplicates, change
  nothing once the first run's own writes settled: no record in either CRM changes (not even
  its last-modified time), no link moves, and nothing is written but what the other side refuses
  (a refused write is retried on the next run, S14, and changes nothing).
"""

from __future__ import annotations

from hypothesis import example, given

from sync.domain import SellRef
from sync.pipeline.short_run import EVENTS, Hints, ShortWork
from sync.report import SyncReport
from tests.conftest import LIST_ID, World, writes
from tests.unit.test_l5_explanations_agree import (
    MERGE_AND_DELETION_WORLDS,
    PROPERTY,
    RARE_WORLDS,
    ContactSpec,
    RunFacts,
    WorldSpec,
    all_refs,
    build,
    check_contact,
    check_record,
    fresh_world,
    worlds,
)


def every_hint(world: World, contacts: list[str], refs: list[SellRef]) -> Hints:
    """Every record ever seen, as events would name them: HubSpot ids (merged-away ones too),
    Sell records (deleted and converted ones too), and the list's members as joins."""
    ids = list(dict.fromkeys([*contacts, *world.hubspot.contacts, *world.hubspot.merged_into]))
    return Hints.of(
        hubspot=ids,
        joined=world.hubspot.members[LIST_ID],
        sell=all_refs(world, refs),
    )


def events_run(world: World, hints: Hints) -> SyncReport:
    world.clock.tick(5)
    report = world.engine.run(trigger=EVENTS, short=ShortWork(hints), keep_actions=True)
    assert report.failure is None, report.failure
    return report


def crm_state(world: World) -> tuple[object, object]:
    """Every record of both CRMs as stored, last-modified times included."""
    hubspot = sorted(
        (c.id, sorted(c.properties.items()), c.updated_ms, c.archived)
        for c in world.hubspot.contacts.values()
    )
    sell = sorted(
        (r.kind, r.id, sorted((k, repr(v)) for k, v in r.values.items()), r.updated_at, r.tags)
        for r in world.sell.records.values()
    )
    return hubspot, sell


def refused(reports: list[SyncReport]) -> int:
    return sum(report.counts()["error"] for report in reports)


def links(world: World) -> list[tuple[str, str, str]]:
    return sorted(
        (str(link.sell), link.hubspot_id, link.state.value)
        for batch in world.store.iter_links()
        for link in batch
    )


@PROPERTY
@given(worlds)
def test_e1_status_prediction_equals_what_the_next_events_run_does(spec: WorldSpec) -> None:
    with fresh_world() as world:
        contacts, refs = build(world, spec)
        hints = every_hint(world, contacts, refs)
        said_h = {cid: world.service.explain(f"hubspot:{cid}") for cid in hints.hubspot}
        said_s = {ref: world.service.explain(str(ref)) for ref in hints.sell}
        links_h = world.store.links_by_hubspot(list(hints.hubspot))
        links_s = world.store.links_by_sell(said_s)
        run = RunFacts(events_run(world, hints), dict(links_h), dict(links_s), world)
        verdicts = {cid: exp.kind for cid, exp in said_h.items()}
        for cid, exp in said_h.items():
            check_contact(cid, exp, run, verdicts)
        for ref, exp in said_s.items():
            check_record(ref, exp, run, verdicts)


@PROPERTY
@given(worlds)
# a contact Sell refuses (no last name, no company) beside one it takes: retried, nothing changes
@example(
    (
        [ContactSpec("bob@x.com", 80, True, False), ContactSpec("ada@x.com", 50, True, True)],
        [],
        [[]],
    )
)
def test_e1_repeated_hints_change_nothing_once_settled(spec: WorldSpec) -> None:
    with fresh_world() as world:
        contacts, refs = build(world, spec)
        hints = every_hint(world, contacts, refs)
        events_run(world, hints)
        events_run(world, hints)  # the first run's own writes come back (E4) and settle
        before_writes, before_links, before_crms = writes(world), links(world), crm_state(world)
        # the same hints again, and a part of them (a late retry of a few events)
        again = [events_run(world, hints)]
        part = Hints.of(hubspot=sorted(hints.hubspot)[::2], sell=sorted(hints.sell, key=str)[1::2])
        again.append(events_run(world, part))
        assert crm_state(world) == before_crms
        assert links(world) == before_links
        assert writes(world) - before_writes <= refused(again)  # only refused writes, retried


def test_e1_the_rare_worlds_of_the_l5_test_agree_for_events_too() -> None:
    for spec in RARE_WORLDS:
        test_e1_status_prediction_equals_what_the_next_events_run_does.hypothesis.inner_test(  # type: ignore[attr-defined]
            spec
        )


def test_l2_a_merge_meeting_a_deletion_or_conversion_ends_as_at_the_reconcile() -> None:
    """A HubSpot merge and a Sell deletion or lead conversion met by one run: the events run
    decides them in the reconcile's order (a conversion moves the link, then the merge holds
    it; a deletion is not decided over the merge's hold) and leaves the same links."""
    for spec in MERGE_AND_DELETION_WORLDS:
        ends = []
        for by_events in (True, False):
            with fresh_world() as world:
                contacts, refs = build(world, spec)
                if by_events:
                    events_run(world, every_hint(world, contacts, refs))
                else:
                    world.sync()
                ends.append(links(world))
        assert ends[0] == ends[1], spec
        assert any(state == "held" for _, _, state in ends[0])

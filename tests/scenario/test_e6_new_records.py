"""Speed to lead in the core: every record a run creates in Sell reaches the engine's notifier
once stored (what it was named, scored, sourced, who owns it, both links); a notifier that
fails never fails the run. In-memory CRMs (tests/fakes.py), the real SQLite store."""

from __future__ import annotations

from collections.abc import Sequence

from sync.new_records import NewSellRecord
from sync.pipeline.short_run import EVENTS, Hints, ShortWork
from tests.conftest import World


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[NewSellRecord]] = []

    def announce(self, records: Sequence[NewSellRecord]) -> None:
        self.calls.append(list(records))


def test_e6_a_run_tells_the_notifier_of_each_record_it_created_in_sell(world: World) -> None:
    cid = world.member(80, email="ada@example.com", firstname="Ada", lastname="Lovelace")
    recorder = Recorder()
    world.engine.announce = recorder
    world.sync()
    (batch,) = recorder.calls
    (new,) = batch
    link = world.link_of_hubspot(cid)
    assert link is not None and new.sell == link.sell and new.hubspot_id == cid
    assert new.name == "Ada Lovelace" and new.email == "ada@example.com"
    assert new.score == "80"
    assert new.sell_url.endswith(f"/leads/{link.sell.id}")
    assert new.hubspot_url is not None and new.hubspot_url.endswith(f"/{cid}")
    world.sync()  # nothing new: nothing announced
    assert len(recorder.calls) == 1


def test_e6_a_small_run_announces_what_it_creates(world: World) -> None:
    world.sync()
    recorder = Recorder()
    world.engine.announce = recorder
    cid = world.member(90, email="grace@example.com", lastname="Hopper")
    world.clock.tick(5)
    report = world.engine.run_short(ShortWork(Hints.of(joined=[cid])), trigger=EVENTS)
    assert report.failure is None and report.counts()["created_in_sell"] == 1
    assert [r.hubspot_id for batch in recorder.calls for r in batch] == [cid]


def test_e6_a_dry_run_announces_nothing(world: World) -> None:
    world.member(80, email="dry@example.com", lastname="Dry")
    recorder = Recorder()
    world.engine.announce = recorder
    world.engine.run(trigger="test", dry_run=True)
    assert recorder.calls == []


def test_e6_a_failing_notifier_never_fails_the_run(world: World) -> None:
    class Broken:
        def announce(self, records: Sequence[NewSellRecord]) -> None:
            raise RuntimeError("Slack is down")

    cid = world.member(80, email="b@example.com", lastname="B")
    world.engine.announce = Broken()
    report = world.sync()
    assert report.counts()["created_in_sell"] == 1
    assert world.link_of_hubspot(cid) is not None

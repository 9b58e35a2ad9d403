"""A run stopped part-way counts only what it stored (SPEC §7): a decision whose link never
reached the store is decided again by the next run, and counted there, not twice."""

from __future__ import annotations

import pytest

from bot.scheduler import run_scheduled_sync
from sync.report import SyncReport
from tests.conftest import World


def actions(counts: dict[str, int]) -> int:
    return sum(v for k, v in counts.items() if k in ("created_in_sell", "merged"))


def test_a_run_killed_before_its_links_are_stored_counts_none_of_them(world: World) -> None:
    world.member(80, email="k1@x.com", lastname="K1")
    world.member(80, email="k2@x.com", lastname="K2")
    real_save = world.store.save_links

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("Ctrl-C twice")

    world.store.save_links = killed  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        world.engine.run(trigger="cli")
    world.store.save_links = real_save  # type: ignore[method-assign]
    (stopped,) = world.store.recent_runs(1)
    assert stopped.status == "interrupted" and stopped.error == "interrupted by SIGINT"
    assert actions(dict(stopped.counts)) == 0  # its two links were never stored
    assert world.store.count_links().get("active", 0) == 0

    rest = world.sync()
    assert actions(dict(rest.counts())) == 2
    assert world.store.count_links()["active"] == 2  # two links, two actions in all


def test_a_run_asked_to_stop_finishes_its_page_and_records_what_it_stored(world: World) -> None:
    for i in range(3):
        world.member(80, email=f"s{i}@x.com", lastname=f"S{i}")
    seen: list[str] = []

    def stop_after_the_members_page(stage: str, report: SyncReport) -> None:
        seen.append(stage)
        if stage == "members" and len(seen) > 2:
            world.engine.interrupt("SIGTERM")

    world.clock.tick(60)
    report = world.engine.run(trigger="cli", progress=stop_after_the_members_page)
    assert report.status == "interrupted" and report.interrupted == "SIGTERM"
    (run,) = world.store.recent_runs(1)
    assert run.status == "interrupted" and dict(run.counts) == report.run_counts()
    assert actions(dict(run.counts)) == world.store.count_links().get("active", 0)
    assert world.store.lock_holder("sync") is None  # released


def test_a_scheduled_run_interrupted_by_a_shutdown_is_neither_a_failure_nor_a_recovery(
    world: World,
) -> None:
    from tests.scenario.test_scheduler import RecordingNotifier

    notifier = RecordingNotifier()
    world.member(80, email="w@x.com", lastname="W")
    world.store.set_alerted_failure_since(world.clock.now())  # a failure streak was alerted
    world.service.interrupt("SIGTERM")  # the worker is stopping
    report = run_scheduled_sync(world.service, notifier)
    assert report is not None and report.status == "interrupted"
    assert notifier.posted == []  # no failure alert, no "recovered" note
    assert world.store.alerted_failure_since() is not None  # the streak is not over
    assert world.store.recent_runs(1)[0].status == "interrupted"

"""Each real run's report reaches the Health inbox once the run log has it; what keeps it never
fails the run, and a dry run keeps nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sync.report import SyncReport
from tests.conftest import make_world


def test_health_a_failing_hook_is_logged_and_never_fails_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(tmp_path)
    try:
        seen: list[SyncReport] = []

        def broken(report: SyncReport) -> None:
            seen.append(report)
            raise RuntimeError("database gone")

        world.engine.after_run = broken
        world.member(score=80, email="a@example.com", lastname="A")
        with caplog.at_level(logging.WARNING, logger="sellsync.engine"):
            report = world.sync()
        assert report.status == "ok" and [r.run_id for r in seen] == [report.run_id]
        assert "could not be kept: RuntimeError" in caplog.text
        assert "database gone" not in caplog.text  # the error's text can hold record data
        assert world.store.recent_runs(1)[0].status == "ok"
    finally:
        world.store.close()


def test_health_a_dry_run_keeps_nothing_a_real_run_keeps_its_failures(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    try:
        cid = world.member(score=80, email="bob@", lastname="Bob")  # an email nobody takes
        for _ in range(2):
            world.clock.tick(60)
            dry = world.engine.run(trigger="test", dry_run=True)
            assert [e.item for e in dry.errors] == [f"HubSpot {cid}"]
        assert world.store.health_records(1) == []
        world.sync()
        world.sync()
        [entry] = world.store.health_records(2)
        assert entry.subject == f"HubSpot {cid}" and entry.hubspot_id == cid
        assert entry.reason.startswith("invalid email") and entry.failures == 2
    finally:
        world.store.close()

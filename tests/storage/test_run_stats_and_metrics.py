"""Run statistics computed in the database, and the ``/metrics`` exposition built on them: exact
counts whatever the number of runs, exact timestamps, standard Prometheus text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import prometheus_client
import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import metrics_registry
from storage.db import open_store
from storage.repositories import SqlStore
from sync.ports import RunStats
from sync.usecases.status import read_figures
from tests.bulk import insert_runs

from .conftest import T0

#: A start time with milliseconds: a float keeps it exactly, ``%g`` did not (1.7644e+09).
STARTED = datetime.fromtimestamp(1_764_400_000.123, UTC)
FINISHED = datetime.fromtimestamp(1_764_432_123.456789, UTC)


def scrape(store: SqlStore) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """name → {labels → value}, as Prometheus's own parser reads ``/metrics``."""
    text = generate_latest(metrics_registry(lambda: read_figures(store))).decode()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def test_run_stats_of_an_empty_store(store: SqlStore) -> None:
    assert store.run_stats() == RunStats(
        by_status={"running": 0, "ok": 0, "errors": 0, "failed": 0, "interrupted": 0},
        last_started=None,
        last_finished=None,
        last_success=None,
    )


def test_run_stats_count_every_run_by_status_and_keep_the_last_times_exact(
    store: SqlStore,
) -> None:
    insert_runs(store.engine, 1_001, status="ok", started_at=T0, finished_at=T0)
    insert_runs(store.engine, 2, status="failed", started_at=T0, finished_at=T0)
    success = store.start_run(trigger="schedule", at=STARTED - timedelta(hours=1))
    store.finish_run(success, at=STARTED - timedelta(minutes=1), status="errors", counts={})
    failed = store.start_run(trigger="schedule", at=STARTED - timedelta(seconds=30))
    store.finish_run(failed, at=FINISHED, status="failed", counts={})
    store.start_run(trigger="manual", at=STARTED)
    assert store.run_stats() == RunStats(
        by_status={"running": 1, "ok": 1_001, "errors": 1, "failed": 3, "interrupted": 0},
        last_started=STARTED,
        last_finished=FINISHED,
        last_success=STARTED - timedelta(minutes=1),
    )


def test_metrics_count_more_than_a_million_runs_exactly(store: SqlStore) -> None:
    insert_runs(store.engine, 1_000_001, status="ok", started_at=T0, finished_at=T0)
    insert_runs(store.engine, 1_234, status="failed", started_at=T0, finished_at=T0)
    runs = scrape(store)["sellsync_runs_total"]
    assert runs == {
        (("status", "ok"),): 1_000_001,
        (("status", "errors"),): 0,
        (("status", "failed"),): 1_234,
        (("status", "interrupted"),): 0,
    }


def test_an_interrupted_run_is_counted_as_such_and_an_orphan_closed_leaves_none_running(
    store: SqlStore,
) -> None:
    """A run whose process vanished stays "running" until the next run (or the worker's start)
    closes it as interrupted: then ``sellsync_runs_running`` is back to 0."""
    stopped = store.start_run(trigger="cli", at=STARTED)
    store.finish_run(stopped, at=FINISHED, status="interrupted", counts={"merged": 3})
    orphan = store.start_run(trigger="schedule", at=FINISHED)
    assert scrape(store)["sellsync_runs_running"] == {(): 1}
    assert [r.id for r in store.running_runs()] == [orphan]
    assert store.interrupt_runs(at=FINISHED + timedelta(minutes=1), error="gone") == [orphan]
    samples = scrape(store)
    assert samples["sellsync_runs_running"] == {(): 0}
    assert samples["sellsync_runs_total"][(("status", "interrupted"),)] == 2
    runs = {r.id: r for r in store.recent_runs()}
    assert runs[stopped].counts == {"merged": 3}  # its counts kept
    assert (runs[orphan].status, runs[orphan].error) == ("interrupted", "gone")
    assert runs[orphan].finished_at == FINISHED + timedelta(minutes=1)
    assert store.interrupt_runs(at=FINISHED, error="gone") == []  # nothing running any more


def test_metrics_are_standard_text_with_exact_timestamps(store: SqlStore) -> None:
    run = store.start_run(trigger="schedule", at=STARTED)
    store.finish_run(run, at=FINISHED, status="ok", counts={})
    store.start_run(trigger="manual", at=FINISHED + timedelta(microseconds=1))
    samples = scrape(store)
    assert samples["sellsync_database_up"] == {(): 1}
    assert samples["sellsync_runs_running"] == {(): 1}
    assert samples["sellsync_last_run_timestamp_seconds"] == {(): 1_764_432_123.45679}
    assert samples["sellsync_last_run_finished_timestamp_seconds"] == {(): 1_764_432_123.456789}
    assert samples["sellsync_last_success_timestamp_seconds"] == {(): 1_764_432_123.456789}
    assert samples["sellsync_open_conflicts"] == {(): 0}
    assert samples["sellsync_pending_requests"] == {(): 0}
    assert samples["sellsync_links"] == {
        (("state", "active"),): 0,
        (("state", "tombstoned"),): 0,
        (("state", "hubspot_deleted"),): 0,
        (("state", "held"),): 0,
    }


def test_a_run_started_at_a_millisecond_is_reported_to_the_millisecond(store: SqlStore) -> None:
    store.start_run(trigger="schedule", at=STARTED)
    assert scrape(store)["sellsync_last_run_timestamp_seconds"] == {(): 1_764_400_000.123}


def test_never_is_zero(store: SqlStore) -> None:
    samples = scrape(store)
    for name in (
        "sellsync_last_run_timestamp_seconds",
        "sellsync_last_run_finished_timestamp_seconds",
        "sellsync_last_success_timestamp_seconds",
    ):
        assert samples[name] == {(): 0}


def test_each_store_has_its_own_registry_and_the_global_one_stays_clean(
    store: SqlStore, sqlite_url: str
) -> None:
    insert_runs(store.engine, 3, status="ok", started_at=T0, finished_at=T0)
    with open_store(sqlite_url.replace("sellsync.db", "other.db")) as other:
        assert scrape(other)["sellsync_runs_total"][(("status", "ok"),)] == 0
        assert scrape(store)["sellsync_runs_total"][(("status", "ok"),)] == 3
    assert "sellsync_" not in generate_latest(prometheus_client.REGISTRY).decode()


def test_a_database_that_does_not_answer_shows_as_down_and_nothing_else() -> None:
    with open_store("sqlite:///:memory:", migrate=False) as empty:  # no tables: every query fails
        assert scrape(empty) == {"sellsync_database_up": {(): 0}}


@pytest.mark.parametrize("status", ["ok", "errors"])
def test_a_run_with_errors_is_a_success_a_failed_one_is_not(store: SqlStore, status: str) -> None:
    good = store.start_run(trigger="schedule", at=T0)
    store.finish_run(good, at=T0 + timedelta(minutes=1), status=status, counts={})
    bad = store.start_run(trigger="schedule", at=T0 + timedelta(minutes=2))
    store.finish_run(bad, at=T0 + timedelta(minutes=3), status="failed", counts={})
    stats = store.run_stats()
    assert stats.last_success == T0 + timedelta(minutes=1)
    assert stats.last_finished == T0 + timedelta(minutes=3)

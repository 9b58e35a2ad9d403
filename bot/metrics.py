"""``/metrics`` and ``/healthz``: what the store knows, in the formats monitoring tools read.

Every figure comes from the database at scrape time (``COUNT … GROUP BY`` and ``MAX`` queries in
the store, never a window of recent rows), so several web processes report the same numbers and
a restart loses nothing. The exposition is written by ``prometheus_client`` rather than by hand:
its float formatting keeps every digit (a ``%g`` turned a run's start into a time up to ±83
minutes off, and 1,234,567 runs into 1.23457e+06), and it negotiates the text or OpenMetrics
format with the scraper. The collector belongs to a registry of its own per web app, so nothing
is added to the process-wide default registry (two apps in one process, as in the tests, do not
collide). The figures come from the status use case (``sync/usecases/status.py``): the bot holds
no store of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import anyio
import anyio.to_thread
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry

from sync.api import RUN_STATUSES, Figures, LinkState, RunRecord, stored_trigger

log = logging.getLogger("sellsync.metrics")

#: ``/healthz`` answers 503 when the database has not answered within this many seconds.
HEALTH_TIMEOUT_SECONDS = 5.0

#: Finished runs are counted (they only grow: run rows are never deleted); running ones gauged.
FINISHED_STATUSES = tuple(s for s in RUN_STATUSES if s != "running")


def _seconds(at: datetime | None) -> float:
    """A Unix timestamp (0 for never), microseconds kept: a float holds them exactly enough."""
    return 0.0 if at is None else at.timestamp()


class FiguresCollector(Collector):
    """Reads the figures on every scrape; a database that does not answer gives
    ``sellsync_database_up 0`` and nothing else (no stale figures)."""

    def __init__(self, figures: Callable[[], Figures]) -> None:
        self.figures = figures

    def describe(self) -> Iterator[Metric]:
        return iter(())  # the names are dynamic only in that they need the database

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("sellsync_database_up", "1 when the database answers.")
        try:
            figures = self.figures()
        except Exception as exc:  # reported as down; the details (a URL …) stay out of the log
            log.warning("metrics: database unreachable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        runs = CounterMetricFamily(
            "sellsync_runs", "Finished sync runs by status, all time.", labels=["status"]
        )
        for status in FINISHED_STATUSES:
            runs.add_metric([status], figures.runs.by_status.get(status, 0))
        yield runs
        yield GaugeMetricFamily(
            "sellsync_runs_running",
            "Sync runs recorded as started and not finished.",
            value=figures.runs.by_status.get("running", 0),
        )
        yield GaugeMetricFamily(
            "sellsync_open_conflicts",
            "Merge conflicts waiting for review.",
            value=figures.open_conflicts,
        )
        yield GaugeMetricFamily(
            "sellsync_pending_requests",
            "Settings change requests waiting for approval.",
            value=figures.pending_requests,
        )
        by_state = GaugeMetricFamily(
            "sellsync_links", "Sell record to HubSpot contact links by state.", labels=["state"]
        )
        for state in LinkState:
            by_state.add_metric([state.value], figures.links.get(state.value, 0))
        yield by_state
        for name, help_text, at in (
            (
                "sellsync_last_run_timestamp_seconds",
                "When the last sync run started (0: never).",
                figures.runs.last_started,
            ),
            (
                "sellsync_last_run_finished_timestamp_seconds",
                "When the last finished sync run ended (0: never).",
                figures.runs.last_finished,
            ),
            (
                "sellsync_last_success_timestamp_seconds",
                "When the last sync run that did not fail ended (0: never).",
                figures.runs.last_success,
            ),
        ):
            yield GaugeMetricFamily(name, help_text, value=_seconds(at))
        yield from _sources(figures)


def _sources(figures: Figures) -> Iterator[Metric]:
    """Each source of changes between scheduled runs, labelled ``source`` (``hubspot_webhooks``,
    ``sell_firehose``, ``poll``); a figure a source does not have is left out for it."""
    enabled = GaugeMetricFamily(
        "sellsync_source_enabled", "1 when the source of changes is on.", labels=["source"]
    )
    received = CounterMetricFamily(
        "sellsync_source_events_received", "Events stored, all time.", labels=["source"]
    )
    last = GaugeMetricFamily(
        "sellsync_source_last_event_timestamp_seconds",
        "When the newest event was stored (0: never).",
        labels=["source"],
    )
    depth = GaugeMetricFamily(
        "sellsync_source_queue_depth", "Events stored and not applied yet.", labels=["source"]
    )
    oldest = GaugeMetricFamily(
        "sellsync_source_oldest_unapplied_age_seconds",
        "How long the oldest event not applied yet has waited (0: none waits).",
        labels=["source"],
    )
    failing = GaugeMetricFamily(
        "sellsync_source_failing_events",
        "Events whose apply failed three times or more, still retried.",
        labels=["source"],
    )
    position = GaugeMetricFamily(
        "sellsync_source_position_age_seconds",
        "How long ago the followed feed's position was stored.",
        labels=["source"],
    )
    for source in figures.sources:
        label = [source.name]
        enabled.add_metric(label, 1 if source.enabled else 0)
        if source.received is not None:
            received.add_metric(label, source.received)
            last.add_metric(label, _seconds(source.last_event_at))
            failing.add_metric(label, source.failing)
        if source.queue_depth is not None:
            depth.add_metric(label, source.queue_depth)
            oldest.add_metric(label, source.oldest_unapplied_age_seconds or 0.0)
        if source.position_age_seconds is not None:
            position.add_metric(label, source.position_age_seconds)
    yield from (enabled, received, last, depth, oldest, failing, position)


def metrics_registry(figures: Callable[[], Figures]) -> CollectorRegistry:
    """A registry of its own holding one :class:`FiguresCollector` reading ``figures``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(figures))
    return registry


def exposition(registry: CollectorRegistry, accept: str | None) -> tuple[bytes, str]:
    """(body, content type) of a scrape, in the format the ``Accept`` header asks for."""
    encode, content_type = choose_encoder(accept or "")
    return encode(registry), content_type


async def check_health(last_run: Callable[[], RunRecord | None]) -> tuple[int, dict[str, Any]]:
    """:func:`health` on a worker thread, bounded by :data:`HEALTH_TIMEOUT_SECONDS`: a database
    that hangs (a dead host, a full connection queue) makes ``/healthz`` say 503 in time for the
    orchestrator's probe instead of never answering. The abandoned thread ends when the
    driver's own timeout fires."""
    timeout = HEALTH_TIMEOUT_SECONDS
    with anyio.move_on_after(timeout):
        return await anyio.to_thread.run_sync(health, last_run, abandon_on_cancel=True)
    log.warning("health check: no answer from the database within %ss", timeout)
    return 503, unreachable()


def health(last_run: Callable[[], RunRecord | None]) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): the database answers a query, and the last run."""
    try:
        last = last_run()
    except Exception as exc:  # reported as "unreachable"; the details (a URL …) stay in the log
        log.warning("health check: database unreachable (%s)", type(exc).__name__)
        return 503, unreachable()
    return 200, {
        "ok": True,
        "database": "ok",
        "last_run": None
        if last is None
        else {
            "id": last.id,
            "trigger": stored_trigger(last.trigger),
            "status": last.status,
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
        },
    }


def unreachable() -> dict[str, Any]:
    """The body of a 503 from ``/healthz``."""
    return {"ok": False, "database": "unreachable", "last_run": None}

"""The status board: settings, recent runs, open work, links, and whether a scheduler is alive.

Also the figures the health check and the metrics endpoint expose. Everything here is answered
from the database alone, so ``sellsync status`` works without API tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sync.config import EngineConfig
from sync.domain import SellMode
from sync.ports import Clock, RunRecord, RunStats, SchedulerBeat, Store
from sync.settings_registry import SettingNote, notes, sell_mode
from sync.usecases.approvals import Approvals
from sync.usecases.common import iso
from sync.usecases.history import stored_trigger
from sync.usecases.live import FAILING_AFTER, Sources, SourceStatus, source_statuses

#: A scheduler records a heartbeat every minute (bot/scheduler.py); one silent for this long is
#: taken for dead (crashed, stopped without a chance to say so, or its host is gone).
HEARTBEAT_STALE = timedelta(minutes=5)

#: The runs the status board lists (the newest first).
RECENT_RUNS = 5


class SchedulerState(StrEnum):
    RUNNING = "running"  # seen within HEARTBEAT_STALE
    STALE = "stale"  # silent since seen_at
    STOPPED = "stopped"  # shut down cleanly at stopped_at
    NEVER = "never"  # none seen


class RunStatus(StrEnum):
    """How a recorded run ended (``running`` while it goes on)."""

    OK = "ok"
    ERRORS = "errors"
    FAILED = "failed"
    RUNNING = "running"
    INTERRUPTED = "interrupted"  # stopped by a signal, or its process vanished


@dataclass(frozen=True)
class ScheduleState:
    """Whether a scheduler is alive, from the heartbeats schedulers record in the database.

    Next run times are only given while it runs: nothing else would start those runs.
    """

    state: SchedulerState
    seen_at: datetime | None = None
    stopped_at: datetime | None = None
    next_sync: datetime | None = None
    next_summary: datetime | None = None

    @classmethod
    def from_beat(cls, beat: SchedulerBeat | None, now: datetime) -> ScheduleState:
        if beat is None:
            return cls(SchedulerState.NEVER)
        if beat.stopped_at is not None:
            return cls(SchedulerState.STOPPED, seen_at=beat.seen_at, stopped_at=beat.stopped_at)
        if now - beat.seen_at > HEARTBEAT_STALE:
            return cls(SchedulerState.STALE, seen_at=beat.seen_at)
        return cls(
            SchedulerState.RUNNING,
            seen_at=beat.seen_at,
            next_sync=beat.next_sync_at,
            next_summary=beat.next_summary_at,
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "seen_at": iso(self.seen_at),
            "stopped_at": iso(self.stopped_at),
            "next_sync": iso(self.next_sync),
            "next_summary": iso(self.next_summary),
        }


@dataclass(frozen=True)
class StatusView:
    """The status board, one structured value for every surface: ``/sellsync status`` and the
    App Home (``bot/blocks/status.py``, one renderer) and ``sellsync status`` (``bot/terminal.py``,
    one renderer). What the board says is decided here; a surface only words it."""

    threshold: int
    list_id: str
    last_run: RunRecord | None
    next_run: datetime | None  # the running scheduler's next sync (schedule.next_sync)
    open_conflicts: int
    pending_requests: int
    links: dict[str, int]
    recent_runs: list[RunRecord] = field(default_factory=list)
    schedule: ScheduleState = field(default_factory=lambda: ScheduleState(SchedulerState.NEVER))
    #: What the settings in force ask to show (the sync paused: by whom, since when, why)
    notes: tuple[SettingNote, ...] = ()
    #: Each source of changes between scheduled runs (webhooks, Firehose, poll)
    sources: tuple[SourceStatus, ...] = ()
    #: How far sellsync still uses Sell (M5): active, read_only or retired
    sell_mode: SellMode = SellMode.ACTIVE

    @property
    def running(self) -> RunRecord | None:
        """The newest run when it is still running: the counts of links and conflicts are then
        what the store holds so far, and it is not yet done."""
        last = self.last_run
        return last if last is not None and last.status == RunStatus.RUNNING else None

    @property
    def so_far(self) -> bool:
        """A run is going on: the links and open conflicts are what it wrote so far, and every
        surface says so (decided here once, worded by each surface)."""
        return self.running is not None

    @property
    def link_counts(self) -> list[tuple[str, int]]:
        """The link states that hold links, by state name: what every surface lists."""
        return [(state, n) for state, n in sorted(self.links.items()) if n]

    @property
    def last_finished(self) -> RunRecord | None:
        """The newest run that ended (among the recent runs read)."""
        return next((r for r in self.recent_runs if r.status != RunStatus.RUNNING), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "threshold": self.threshold,
            "list_id": self.list_id,
            "last_run": run_dict(self.last_run),
            "running_run": run_dict(self.running),
            "last_finished_run": run_dict(self.last_finished),
            "next_run": iso(self.next_run),
            "scheduler": self.schedule.to_dict(),
            "open_conflicts": self.open_conflicts,
            "pending_requests": self.pending_requests,
            "links": self.links,
            "notes": [
                {
                    "label": n.label,
                    "by": n.by,
                    "at": iso(n.at),
                    "reason": n.reason,
                    "undo": {"setting": n.undo.command, "value": n.undo.value},
                }
                for n in self.notes
            ],
            "sources": [source.to_dict() for source in self.sources],
            "sell_mode": self.sell_mode.value,
        }


@dataclass(frozen=True)
class Figures:
    """What the metrics endpoint exposes, counted in the database whatever the number of rows."""

    runs: RunStats  # every run by status, and the last start, finish and success
    links: dict[str, int]  # by state
    open_conflicts: int
    pending_requests: int
    sources: tuple[SourceStatus, ...] = ()  # each source of changes between scheduled runs


def read_figures(store: Store, sources: Sources | None = None) -> Figures:
    return Figures(
        runs=store.run_stats(),
        links=store.count_links(),
        open_conflicts=store.count_conflicts(),
        pending_requests=len(store.pending_requests()),
        sources=tuple(sources.sources()) if sources is not None else (),
    )


class Status:
    def __init__(
        self, store: Store, clock: Clock, config: EngineConfig, approvals: Approvals
    ) -> None:
        # the whole store: the board reads every role at once, in one snapshot
        self.store = store
        self.clock = clock
        self.config = config
        self.approvals = approvals
        #: The status of each source of changes (sync/usecases/live.py)
        self.sources = Sources(
            store,
            store,
            store,
            clock,
            webhooks_enabled=config.webhooks,
            poll_seconds=config.poll_seconds,
        )

    def status(self) -> StatusView:
        store = self.store
        with store.reading():  # one connection and, on SQLite, one snapshot for the whole board
            return self._status(store)

    def _status(self, store: Store) -> StatusView:
        board = store.board(RECENT_RUNS, FAILING_AFTER)  # everything it reads: one round trip
        settings = self.config.settings_over(board.settings)
        runs = board.recent_runs
        schedule = ScheduleState.from_beat(board.heartbeat, self.clock.now())
        counts = board.counts
        return StatusView(
            threshold=settings.threshold,
            list_id=settings.list_id,
            last_run=runs[0] if runs else None,
            next_run=schedule.next_sync,
            schedule=schedule,
            open_conflicts=counts.open_conflicts,
            pending_requests=self.approvals.pending_count(
                counts.pending_requests, counts.oldest_pending_at
            ),
            links=counts.links,
            recent_runs=runs,
            notes=notes(settings),
            sources=tuple(
                source_statuses(
                    board.sources,
                    self.clock.now(),
                    webhooks_enabled=self.sources.webhooks_enabled,
                    poll_seconds=self.sources.poll_seconds,
                )
            ),
            sell_mode=sell_mode(settings),
        )

    def schedule_state(self) -> ScheduleState:
        """Is a scheduler alive, and when does it run next (from its heartbeat)."""
        return ScheduleState.from_beat(self.store.latest_heartbeat(), self.clock.now())

    def record_heartbeat(self, beat: SchedulerBeat) -> None:
        """A scheduler says it is alive (or, with ``stopped_at``, that it stopped cleanly)."""
        self.store.record_heartbeat(beat)

    def last_run(self) -> RunRecord | None:
        """The newest run; raises when the database does not answer (the health check)."""
        runs = self.store.recent_runs(1)
        return runs[0] if runs else None

    def figures(self) -> Figures:
        """Runs by status, links by state, open work (``/metrics``); raises when the database
        does not answer."""
        return read_figures(self.store, self.sources)


def run_dict(run: RunRecord | None) -> dict[str, object] | None:
    if run is None:
        return None
    return {
        "id": run.id,
        "trigger": stored_trigger(run.trigger),
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": dict(run.counts),
        "error": run.error,
    }

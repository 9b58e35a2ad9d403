"""The status board in one statement: every ``/sellsync status`` reads it, and on PostgreSQL each
statement is a round trip that waits for a backend, which on a busy machine (a sync competing for
the cores) costs far more than the query.

:meth:`BoardRepository.board` is one ``SELECT ... UNION ALL SELECT ...`` of a few rows, told apart
by their ``part`` column: one row holding the settings row (if any), the newest heartbeat (if
any), the counts and the sources' figures; one row per named setting value; one row per recent
run; one row per distinct reason of the failing webhook events. Each part leaves
the others' columns NULL, cast to their types so that both databases type the union alike.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository
from storage.repositories.change_requests import PENDING
from storage.repositories.inbox import PURGED_KEY
from storage.repositories.settings import SETTINGS_ROW_ID, _settings
from sync.domain import RECORD_KINDS, ConflictStatus, LinkState, SettingName
from sync.feeds.firehose import FIREHOSE_ABSENT, firehose_name
from sync.ports import Board, BoardCounts, RunRecord, SchedulerBeat, SourceFigures

#: The ``part`` of each row of the board's statement.
_HEAD, _VALUE, _RUN, _FAILING = 0, 1, 2, 3


class BoardRepository(Repository):
    """:meth:`sync.ports.Store.board` and :meth:`sync.ports.Store.board_counts` over the
    settings, runs, heartbeats, links, conflicts and change requests."""

    def board_counts(self) -> BoardCounts:
        """Links by state (every state, 0 when none), open conflicts, and the pending change
        requests with the oldest one's time: scalar subqueries of one SELECT."""
        by_state = _by_state()
        query = sa.select(*_count_columns(by_state)).select_from(by_state)
        with self._read() as connection:
            row = connection.execute(query).mappings().one()
        return _counts(row)

    def board(self, runs: int = 5, failing_after: int = 3) -> Board:
        """The stored settings, the ``runs`` newest runs (newest first), the most recently seen
        scheduler, the counts of :meth:`board_counts` and the sources' figures (what the inbox,
        marks and remembered-reads repositories read one at a time), in one statement."""
        with self._read() as connection:
            rows = connection.execute(_board_statement(runs, failing_after)).mappings().all()
        head_row = next(r for r in rows if r["part"] == _HEAD)
        known = {n.value for n in SettingName}
        stored = {
            SettingName(r["v_name"]): r["v_value"]
            for r in rows
            if r["part"] == _VALUE and r["v_name"] in known
        }
        settings_row = (
            None
            if head_row["s_id"] is None
            else {name: head_row[f"s_{name}"] for name in _SETTINGS_COLUMNS}
        )
        run_rows = sorted(
            (r for r in rows if r["part"] == _RUN),
            key=lambda r: (r["r_started_at"], r["r_id"]),
            reverse=True,
        )
        return Board(
            settings=_settings(settings_row, stored),  # type: ignore[arg-type]
            recent_runs=[_run(r) for r in run_rows],
            heartbeat=_beat(head_row),
            counts=_counts(head_row),
            sources=self._sources(head_row, [r["f_reason"] for r in rows if r["part"] == _FAILING]),
        )

    def _sources(self, row: Any, reasons: list[str | None]) -> SourceFigures:
        expires = row["fh_absent_expires_at"]
        return SourceFigures(
            received=int(row["i_stored"]) + int(row["i_purged"] or 0),
            last_received_at=_utc(row["i_last_received_at"]),
            depth=int(row["i_depth"]),
            oldest_unapplied_at=_utc(row["i_oldest_unapplied_at"]),
            failing=int(row["i_failing"]),
            failing_reasons=tuple(reasons),
            firehose_stored_at=(
                _utc(row["fh_stored_at"]) if row["fh_streams"] == len(RECORD_KINDS) else None
            ),
            firehose_absent=bool(row["fh_absent"]) and (expires is None or expires > self._clock()),
        )


# --------------------------------------------------------------------------- the statement


@functools.cache
def _board_statement(runs: int, failing_after: int) -> sa.CompoundSelect[Any]:
    """The board's statement, built once (building it costs more CPU than running it)."""
    beat, by_state, recent = _latest_beat(), _by_state(), _recent(runs)
    failing = _failing_reasons(failing_after)
    return sa.union_all(
        _part(_HEAD, _head(beat, by_state, failing_after), _head_from(beat, by_state)),
        _part(_VALUE, _values(), t.setting_values),
        _part(_RUN, {f"r_{name}": recent.c[name] for name in _RUN_COLUMNS}, recent),
        _part(_FAILING, {"f_reason": failing.c.last_error}, failing),
    )


_SETTINGS_COLUMNS = ("id", "threshold", "list_id", "custom_mappings", "version")
_HEARTBEAT_COLUMNS = (
    "scheduler_id",
    "started_at",
    "seen_at",
    "next_sync_at",
    "next_summary_at",
    "stopped_at",
)
_RUN_COLUMNS = ("id", "started_at", "finished_at", "trigger", "status", "counts", "error")
_COUNT_NAMES = (
    *(f"c_{state.value}" for state in LinkState),
    "c_open_conflicts",
    "c_pending_requests",
    "c_oldest_pending_at",
)


def _by_state() -> sa.Subquery:
    """One row: the links counted by state, in one pass over the links (as GROUP BY would)."""
    links = t.links
    return sa.select(
        *(
            sa.func.coalesce(
                sa.func.sum(sa.case((links.c.state == state.value, 1), else_=0)), 0
            ).label(state.value)
            for state in LinkState
        )
    ).subquery("by_state")


def _count_columns(by_state: sa.Subquery) -> list[sa.ColumnElement[Any]]:
    conflicts, requests = t.conflicts, t.change_requests
    pending = requests.c.status == PENDING
    return [
        *(by_state.c[state.value].label(f"c_{state.value}") for state in LinkState),
        sa.select(sa.func.count())
        .select_from(conflicts)
        .where(conflicts.c.status == ConflictStatus.OPEN.value)
        .scalar_subquery()
        .label("c_open_conflicts"),
        sa.select(sa.func.count())
        .select_from(requests)
        .where(pending)
        .scalar_subquery()
        .label("c_pending_requests"),
        sa.select(sa.func.min(requests.c.created_at))
        .where(pending)
        .scalar_subquery()
        .label("c_oldest_pending_at"),
    ]


def _latest_beat() -> sa.Subquery:
    hb = t.scheduler_heartbeats
    return sa.select(hb).order_by(hb.c.seen_at.desc(), hb.c.scheduler_id).limit(1).subquery("beat")


def _head_from(beat: sa.Subquery, by_state: sa.Subquery) -> sa.FromClause:
    """One row whatever the tables hold: the settings row and the newest heartbeat beside it
    (NULLs when absent), and the links counted by state."""
    one = sa.select(sa.literal(1).label("one")).subquery("one")
    return (
        one.outerjoin(t.settings, t.settings.c.id == SETTINGS_ROW_ID)
        .outerjoin(beat, sa.true())
        .join(by_state, sa.true())
    )


def _head(
    beat: sa.Subquery, by_state: sa.Subquery, failing_after: int
) -> dict[str, sa.ColumnElement[Any]]:
    columns: dict[str, sa.ColumnElement[Any]] = {
        f"s_{name}": t.settings.c[name] for name in _SETTINGS_COLUMNS
    }
    columns |= {f"h_{name}": beat.c[name] for name in _HEARTBEAT_COLUMNS}
    columns |= {column.name: column for column in _count_columns(by_state)}
    columns |= _source_columns(failing_after)
    return columns


def _failing(failing_after: int) -> sa.ColumnElement[bool]:
    events = t.webhook_events
    return sa.and_(events.c.applied_at.is_(None), events.c.attempts >= failing_after)


def _source_columns(failing_after: int) -> dict[str, sa.ColumnElement[Any]]:
    """The sources' figures as scalar subqueries: the webhook inbox's, the Firehose marks' and
    whether the account is remembered to have no Firehose."""
    events, reads, cursors = t.webhook_events, t.remembered_reads, t.cursors
    unapplied = events.c.applied_at.is_(None)
    streams = sa.and_(
        cursors.c.name.in_([firehose_name(kind) for kind in RECORD_KINDS]),
        cursors.c.last_id.is_not(None),
        cursors.c.last_id != "",
        cursors.c.updated_at.is_not(None),
    )
    count = sa.func.count
    return {
        "i_stored": sa.select(count()).select_from(events).scalar_subquery(),
        "i_purged": sa.select(reads.c.value).where(reads.c.key == PURGED_KEY).scalar_subquery(),
        "i_last_received_at": sa.select(sa.func.max(events.c.received_at)).scalar_subquery(),
        "i_depth": sa.select(count()).select_from(events).where(unapplied).scalar_subquery(),
        "i_oldest_unapplied_at": sa.select(events.c.received_at)
        .where(unapplied)
        .order_by(events.c.id)
        .limit(1)
        .scalar_subquery(),
        "i_failing": sa.select(count())
        .select_from(events)
        .where(_failing(failing_after))
        .scalar_subquery(),
        "fh_streams": sa.select(count()).select_from(cursors).where(streams).scalar_subquery(),
        "fh_stored_at": sa.select(sa.func.min(cursors.c.updated_at))
        .where(streams)
        .scalar_subquery(),
        "fh_absent": sa.select(count())
        .select_from(reads)
        .where(reads.c.key == FIREHOSE_ABSENT)
        .scalar_subquery(),
        "fh_absent_expires_at": sa.select(reads.c.expires_at)
        .where(reads.c.key == FIREHOSE_ABSENT)
        .scalar_subquery(),
    }


def _failing_reasons(failing_after: int) -> sa.Subquery:
    events = t.webhook_events
    return (
        sa.select(events.c.last_error).where(_failing(failing_after)).distinct().subquery("failing")
    )


def _values() -> dict[str, sa.ColumnElement[Any]]:
    return {"v_name": t.setting_values.c.name, "v_value": t.setting_values.c.value}


def _recent(limit: int) -> sa.Subquery:
    runs = t.sync_runs
    return (
        sa.select(runs)
        .order_by(runs.c.started_at.desc(), runs.c.id.desc())
        .limit(limit)
        .subquery("recent")
    )


def _typed_columns() -> dict[str, Any]:
    """Every column of the statement and its type, in order."""
    types: dict[str, Any] = {f"s_{name}": t.settings.c[name].type for name in _SETTINGS_COLUMNS}
    types |= {f"h_{name}": t.scheduler_heartbeats.c[name].type for name in _HEARTBEAT_COLUMNS}
    types |= {name: sa.BigInteger() for name in _COUNT_NAMES}
    types["c_oldest_pending_at"] = t.change_requests.c.created_at.type
    types |= {"v_name": t.setting_values.c.name.type, "v_value": t.setting_values.c.value.type}
    types |= {f"r_{name}": t.sync_runs.c[name].type for name in _RUN_COLUMNS}
    events, cursors, reads = t.webhook_events.c, t.cursors.c, t.remembered_reads.c
    types |= {name: sa.BigInteger() for name in _SOURCE_COUNTS}
    types |= {
        "i_purged": reads.value.type,
        "i_last_received_at": events.received_at.type,
        "i_oldest_unapplied_at": events.received_at.type,
        "fh_stored_at": cursors.updated_at.type,
        "fh_absent_expires_at": reads.expires_at.type,
        "f_reason": events.last_error.type,
    }
    return types


_SOURCE_COUNTS = ("i_stored", "i_depth", "i_failing", "fh_streams", "fh_absent")


def _part(part: int, own: dict[str, sa.ColumnElement[Any]], from_: sa.FromClause) -> sa.Select[Any]:
    """One part's SELECT: its own columns, and NULL (of the right type) for the others'."""
    columns: list[sa.ColumnElement[Any]] = [sa.literal(part, sa.Integer()).label("part")]
    for name, type_ in _typed_columns().items():
        if name in own:
            columns.append(sa.type_coerce(own[name], type_).label(name))
        else:
            columns.append(sa.cast(sa.null(), type_).label(name))
    return sa.select(*columns).select_from(from_)


# --------------------------------------------------------------------------- reading the rows


def _counts(row: Any) -> BoardCounts:
    return BoardCounts(
        links={state.value: int(row[f"c_{state.value}"]) for state in LinkState},
        open_conflicts=int(row["c_open_conflicts"]),
        pending_requests=int(row["c_pending_requests"]),
        oldest_pending_at=row["c_oldest_pending_at"],
    )


def _utc(value: Any) -> datetime | None:
    """A time read by an aggregate: SQLite's ``max()``/``min()`` hand back the stored text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return t.as_utc(value)


def _beat(row: Any) -> SchedulerBeat | None:
    if row["h_scheduler_id"] is None:
        return None
    return SchedulerBeat(**{name: row[f"h_{name}"] for name in _HEARTBEAT_COLUMNS})


def _run(row: Any) -> RunRecord:
    return RunRecord(
        id=row["r_id"],
        started_at=row["r_started_at"],
        finished_at=row["r_finished_at"],
        trigger=row["r_trigger"],
        status=row["r_status"],
        counts=dict(row["r_counts"] or {}),
        error=row["r_error"],
    )

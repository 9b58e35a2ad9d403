"""The status board in one statement: every ``/sellsync status`` reads it, and on PostgreSQL each
statement is a round trip that waits for a backend, which on a busy machine (a sync competing for
the cores) costs far more than the query.

:meth:`BoardRepository.board` is one ``SELECT ... UNION ALL SELECT ...`` of a few rows, told apart
by their ``part`` column: one row holding the settings row (if any), the newest heartbeat (if
any) and the counts; one row per named setting value; one row per recent run. Each part leaves
the others' columns NULL, cast to their types so that both databases type the union alike.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository
from storage.repositories.change_requests import PENDING
from storage.repositories.settings import SETTINGS_ROW_ID, _settings
from sync.domain import ConflictStatus, LinkState, SettingName
from sync.ports import Board, BoardCounts, RunRecord, SchedulerBeat

#: The ``part`` of each row of the board's statement.
_HEAD, _VALUE, _RUN = 0, 1, 2


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

    def board(self, runs: int = 5) -> Board:
        """The stored settings, the ``runs`` newest runs (newest first), the most recently seen
        scheduler and the counts of :meth:`board_counts`, in one statement."""
        with self._read() as connection:
            rows = connection.execute(_board_statement(runs)).mappings().all()
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
        )


# --------------------------------------------------------------------------- the statement


@functools.cache
def _board_statement(runs: int) -> sa.CompoundSelect[Any]:
    """The board's statement, built once (building it costs more CPU than running it)."""
    beat, by_state, recent = _latest_beat(), _by_state(), _recent(runs)
    return sa.union_all(
        _part(_HEAD, _head(beat, by_state), _head_from(beat, by_state)),
        _part(_VALUE, _values(), t.setting_values),
        _part(_RUN, {f"r_{name}": recent.c[name] for name in _RUN_COLUMNS}, recent),
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


def _head(beat: sa.Subquery, by_state: sa.Subquery) -> dict[str, sa.ColumnElement[Any]]:
    columns: dict[str, sa.ColumnElement[Any]] = {
        f"s_{name}": t.settings.c[name] for name in _SETTINGS_COLUMNS
    }
    columns |= {f"h_{name}": beat.c[name] for name in _HEARTBEAT_COLUMNS}
    columns |= {column.name: column for column in _count_columns(by_state)}
    return columns


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
    return types


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

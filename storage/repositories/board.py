"""The status board's counts in one statement: every ``/sellsync status`` reads them, and on
PostgreSQL each statement is a round trip, which on a busy machine costs more than the query."""

from __future__ import annotations

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository
from storage.repositories.change_requests import PENDING
from sync.domain import ConflictStatus, LinkState
from sync.ports import BoardCounts


class BoardRepository(Repository):
    """:meth:`sync.ports.Store.board_counts` over the links, conflicts and change requests."""

    def board_counts(self) -> BoardCounts:
        """Links by state (every state, 0 when none), open conflicts, and the pending change
        requests with the oldest one's time: scalar subqueries of one SELECT."""
        links, conflicts, requests = t.links, t.conflicts, t.change_requests
        by_state = sa.select(  # one pass over the links, as GROUP BY would
            *(
                sa.func.coalesce(
                    sa.func.sum(sa.case((links.c.state == state.value, 1), else_=0)), 0
                ).label(state.value)
                for state in LinkState
            )
        ).subquery("by_state")
        pending = requests.c.status == PENDING
        query = sa.select(
            *(by_state.c[state.value] for state in LinkState),
            sa.select(sa.func.count())
            .select_from(conflicts)
            .where(conflicts.c.status == ConflictStatus.OPEN.value)
            .scalar_subquery(),
            sa.select(sa.func.count()).select_from(requests).where(pending).scalar_subquery(),
            sa.select(sa.func.min(requests.c.created_at)).where(pending).scalar_subquery(),
        ).select_from(by_state)
        with self._read() as connection:
            row = connection.execute(query).one()
        states = len(LinkState)
        return BoardCounts(
            links={state.value: int(row[i]) for i, state in enumerate(LinkState)},
            open_conflicts=int(row[states]),
            pending_requests=int(row[states + 1]),
            oldest_pending_at=row[states + 2],
        )

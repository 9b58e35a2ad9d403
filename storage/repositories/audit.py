"""The audit log: every change and decision, append-only, read by period (summaries) and by
subject (``status ITEM``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from storage import tables as t
from storage.repositories.base import Repository, chunked, like_escape
from sync.ports import AuditEvent

#: Rows read from the database at a time while an export streams.
STREAM_BATCH = 500


class AuditRepository(Repository):
    """:class:`sync.ports.AuditLog` on the ``audit_events`` table."""

    def audit(self, event: AuditEvent) -> None:
        self.audit_many([event])

    def audit_many(self, events: Sequence[AuditEvent]) -> None:
        """Record many events in one transaction."""
        rows = [
            {
                "at": e.at,
                "kind": e.kind,
                "subject": e.subject,
                "actor": e.actor,
                "run_id": e.run_id,
                "detail": dict(e.detail),
            }
            for e in events
        ]
        if not rows:
            return
        with self._write() as session:
            for chunk in chunked(rows):
                session.execute(sa.insert(t.audit_events), list(chunk))

    def audit_since(self, since: datetime | None, *, limit: int = 10000) -> list[AuditEvent]:
        """Events at or after ``since`` (all when None), oldest first, at most ``limit``."""
        query = sa.select(t.audit_events)
        if since is not None:
            query = query.where(t.audit_events.c.at >= since)
        query = query.order_by(t.audit_events.c.at, t.audit_events.c.id).limit(limit)
        with self._read() as session:
            return [_event(row) for row in session.execute(query).mappings()]

    def audit_trail(self, *, subjects: Sequence[str] = (), limit: int = 100) -> list[AuditEvent]:
        """The newest ``limit`` events, oldest first; with ``subjects``, only events about them
        (a subject is ``lead:12``, a HubSpot id, or the pair ``lead:12|511`` it is stored as)."""
        return list(self.audit_events(subjects=subjects, newest=limit))

    def audit_events(
        self,
        *,
        subjects: Sequence[str] = (),
        run_id: int | None = None,
        since: datetime | None = None,
        newest: int | None = None,
    ) -> Iterator[AuditEvent]:
        """Events about ``subjects`` (all without), of run ``run_id``, at or after ``since``,
        oldest first; only the newest ``newest`` of them when given. Streamed: rows are read
        from the database in batches while the caller consumes them, so an export of any
        size holds one batch in memory."""
        ae = t.audit_events
        conditions: list[sa.ColumnElement[bool]] = []
        if subjects:
            conditions.append(
                sa.or_(
                    *(
                        cond
                        for s in subjects
                        for cond in (
                            ae.c.subject == s,
                            ae.c.subject.like(f"{like_escape(s)}|%", escape="\\"),
                            ae.c.subject.like(f"%|{like_escape(s)}", escape="\\"),
                        )
                    )
                )
            )
        if run_id is not None:
            conditions.append(ae.c.run_id == run_id)
        if since is not None:
            conditions.append(ae.c.at >= since)
        query = sa.select(ae).where(*conditions)
        if newest is not None:
            ids = (
                sa.select(ae.c.id)
                .where(*conditions)
                .order_by(ae.c.at.desc(), ae.c.id.desc())
                .limit(newest)
            )
            query = sa.select(ae).where(ae.c.id.in_(ids.scalar_subquery()))
        query = query.order_by(ae.c.at, ae.c.id)
        # PostgreSQL streams through a server-side cursor, which needs a transaction (the
        # reader runs each statement on its own); SQLite's reader takes no write lock.
        engine = self._engine if self._dialect == "postgresql" else self._reader
        with engine.connect() as connection, connection.begin():
            streamed = connection.execution_options(stream_results=True, yield_per=STREAM_BATCH)
            for row in streamed.execute(query).mappings():
                yield _event(row)


def _event(row: RowMapping) -> AuditEvent:
    return AuditEvent(
        at=row["at"],
        kind=row["kind"],
        subject=row["subject"],
        detail=dict(row["detail"] or {}),
        actor=row["actor"],
        run_id=row["run_id"],
    )

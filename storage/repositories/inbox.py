"""The webhook inbox: HubSpot events stored before their request is answered, and their applies.

Storing is one ``INSERT ... ON CONFLICT (event_id) DO NOTHING`` per batch in one transaction, so
a redelivery (HubSpot retries, or two web processes given the same event) is stored once, and a
batch is stored whole or not at all. Claiming is one ``UPDATE ... WHERE id IN (SELECT ...)`` in
one transaction: on PostgreSQL the subquery takes its rows ``FOR UPDATE SKIP LOCKED``, so two
workers claiming at once take different events; SQLite has one writer at a time. A claim that
runs out (its worker was killed) leaves the event free for the next claim; an event is done only
when :meth:`InboxRepository.mark_applied` says so, and only the worker that still holds an
event's claim may mark it (a worker whose claim ran out and was taken by another marks nothing).
Applied events are deleted after a while (:meth:`InboxRepository.purge_applied`), in bounded
batches, each adding what it deleted to a running total kept beside them, so that the count of
events received never goes down.

On SQLite the batches one process stores wait for each other in that process, in turn: SQLite
has one write lock per file, and writers that meet it back off in sleeps of up to 100 ms, so
under ten concurrent deliveries some waited seconds while others went first (answer p99 4.1 s
and 2 % answered 503 in ``bench/webhook_intake.py``; in turn, 1.2 s and none). The rows go as
one cached executemany statement: a batch of 100 took 73 ms to store as a statement built per
batch, 3 ms so (PostgreSQL: 78 ms, 28 ms with its commit's flush).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from storage import tables as t
from storage.repositories.base import Repository, chunked, rowcount, unique
from sync.events import HubSpotEvent, StoredEvent

#: The longest classified reason kept (the column's width).
_MAX_REASON = 255
#: Where the count of purged events is kept (``remembered_reads``), so that a purge never
#: lowers how many events were received.
PURGED_KEY = "webhook_events:purged"


#: One lock per SQLite database file (by URL) for the batches this process stores.
_SQLITE_TURNS: dict[str, threading.Lock] = {}
_TURNS_LOCK = threading.Lock()


class InboxRepository(Repository):
    """:class:`sync.ports.EventInbox` on the ``webhook_events`` table."""

    @contextmanager
    def _store_turn(self) -> Iterator[None]:
        """On SQLite, this process's stores one at a time (see the module's docstring)."""
        if self._dialect != "sqlite":
            yield
            return
        key = self._engine.url.render_as_string(hide_password=True)
        with _TURNS_LOCK:
            turn = _SQLITE_TURNS.setdefault(key, threading.Lock())
        with turn:
            yield

    def store_batch(self, events: Sequence[HubSpotEvent]) -> int:
        if not events:
            return 0
        table = t.webhook_events
        at = self._clock()
        rows = [_row(event, at) for event in events]
        # one statement, its rows sent as executemany (SQLAlchemy's "insertmanyvalues": a few
        # multi-row INSERTs, compiled once and cached) rather than a statement built per batch
        statement = (
            self._insert(table)
            .on_conflict_do_nothing(index_elements=[table.c.event_id])
            .returning(table.c.id)
        )
        with self._store_turn(), self._write() as session:
            stored = len(session.execute(statement, rows).all())
        return stored

    def claim_due(self, limit: int, *, owner: str, until: datetime) -> list[StoredEvent]:
        if limit <= 0:
            return []
        table = t.webhook_events
        now = self._clock()
        due = (
            sa.select(table.c.id)
            .where(
                table.c.applied_at.is_(None),
                sa.or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now),
                sa.or_(table.c.claimed_until.is_(None), table.c.claimed_until <= now),
            )
            .order_by(table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        with self._write() as session:
            rows = (
                session.execute(
                    sa.update(table)
                    .where(table.c.id.in_(due))
                    .values(claimed_by=owner, claimed_until=until)
                    .returning(*table.c)
                )
                .mappings()
                .all()
            )
        return sorted((_stored(row) for row in rows), key=lambda e: e.id)

    def mark_applied(self, ids: Sequence[int], *, owner: str | None) -> int:
        table = t.webhook_events
        at = self._clock()
        held = _held_by(owner, at)
        done = 0
        with self._write() as session:
            for part in chunked(unique(ids)):
                result = session.execute(
                    sa.update(table)
                    .where(table.c.id.in_(list(part)), table.c.applied_at.is_(None), held)
                    .values(applied_at=at, claimed_by=None, claimed_until=None)
                )
                done += rowcount(result)
        return done

    def mark_failed(
        self, ids: Sequence[int], *, owner: str | None, reason: str, next_attempt_at: datetime
    ) -> int:
        table = t.webhook_events
        held = _held_by(owner, self._clock())
        failed = 0
        with self._write() as session:
            for part in chunked(unique(ids)):
                result = session.execute(
                    sa.update(table)
                    .where(table.c.id.in_(list(part)), table.c.applied_at.is_(None), held)
                    .values(
                        attempts=table.c.attempts + 1,
                        last_error=reason[:_MAX_REASON],
                        next_attempt_at=next_attempt_at,
                        claimed_by=None,
                        claimed_until=None,
                    )
                )
                failed += rowcount(result)
        return failed

    def depth(self) -> int:
        table = t.webhook_events
        query = sa.select(sa.func.count()).where(table.c.applied_at.is_(None))
        with self._read() as connection:
            return int(connection.execute(query).scalar_one())

    def oldest_unapplied(self) -> datetime | None:
        table = t.webhook_events
        query = (
            sa.select(table.c.received_at)
            .where(table.c.applied_at.is_(None))
            .order_by(table.c.id)
            .limit(1)
        )
        with self._read() as connection:
            value = connection.execute(query).scalar_one_or_none()
        return None if value is None else t.as_utc(value)

    def received_count(self) -> int:
        stored = sa.select(sa.func.count()).select_from(t.webhook_events).scalar_subquery()
        r = t.remembered_reads
        purged = sa.select(r.c.value).where(r.c.key == PURGED_KEY).scalar_subquery()
        with self._read() as connection:
            row = connection.execute(sa.select(stored, purged)).one()
        return int(row[0]) + int(row[1] or 0)

    def purge_applied(self, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` events applied before ``before``, oldest first, in one
        transaction that adds them to the purged total :meth:`received_count` keeps counting;
        returns how many. Unapplied events (waiting or failing) are never deleted; two purges at
        once take different rows (PostgreSQL: ``SKIP LOCKED``) and each adds what it deleted."""
        if limit <= 0:
            return 0
        table = t.webhook_events
        old = (
            sa.select(table.c.id)
            .where(
                table.c.received_at < before,  # applied before then: received before then too
                table.c.applied_at.is_not(None),
                table.c.applied_at < before,
            )
            .order_by(table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        r = t.remembered_reads
        now = self._clock()
        with self._write() as session:
            ids = list(session.execute(old).scalars())
            if not ids:
                return 0
            session.execute(sa.delete(table).where(table.c.id.in_(ids)))
            session.execute(  # the total's row, then its lock: two purges add in turn
                self._insert(r)
                .values(key=PURGED_KEY, value=0, fetched_at=now, expires_at=None)
                .on_conflict_do_nothing(index_elements=[r.c.key])
            )
            total = session.execute(
                sa.select(r.c.value).where(r.c.key == PURGED_KEY).with_for_update()
            ).scalar_one()
            session.execute(
                sa.update(r)
                .where(r.c.key == PURGED_KEY)
                .values(value=int(total or 0) + len(ids), fetched_at=now)
            )
        return len(ids)

    def last_received_at(self) -> datetime | None:
        query = sa.select(sa.func.max(t.webhook_events.c.received_at))
        with self._read() as connection:
            value = connection.execute(query).scalar_one_or_none()
        if isinstance(value, str):  # SQLite's max() hands back the stored text
            value = datetime.fromisoformat(value)
        return None if value is None else t.as_utc(value)

    def failing(self, min_attempts: int = 3) -> list[StoredEvent]:
        table = t.webhook_events
        query = (
            sa.select(table)
            .where(table.c.applied_at.is_(None), table.c.attempts >= min_attempts)
            .order_by(table.c.id)
        )
        with self._read() as connection:
            return [_stored(row) for row in connection.execute(query).mappings()]


def _held_by(owner: str | None, now: datetime) -> sa.ColumnElement[bool]:
    """The rows ``owner`` may mark: those it still claims (its claim may have run out, as long
    as no one took them since), or with ``owner`` None those no live claim holds."""
    c = t.webhook_events.c
    if owner is not None:
        return c.claimed_by == owner
    return sa.or_(c.claimed_by.is_(None), c.claimed_until.is_(None), c.claimed_until <= now)


def _row(event: HubSpotEvent, at: datetime) -> dict[str, object]:
    return {
        "event_id": event.event_id,
        "subscription_type": event.subscription_type,
        "object_id": event.object_id,
        "property_name": event.property_name,
        "property_value": event.property_value,
        "occurred_at": event.occurred_at,
        "attempt_number": event.attempt_number,
        "change_source": event.change_source,
        "change_flag": event.change_flag,
        "source_id": event.source_id,
        "portal_id": event.portal_id,
        "primary_object_id": event.primary_object_id,
        "merged_object_ids": list(event.merged_ids),
        "new_object_id": event.new_object_id,
        "received_at": at,
        "attempts": 0,
    }


def _stored(row: RowMapping) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        event=HubSpotEvent(
            event_id=row["event_id"],
            subscription_type=row["subscription_type"],
            object_id=row["object_id"],
            occurred_at=row["occurred_at"],
            attempt_number=row["attempt_number"],
            portal_id=row["portal_id"],
            change_source=row["change_source"],
            change_flag=row["change_flag"],
            source_id=row["source_id"],
            property_name=row["property_name"],
            property_value=row["property_value"],
            primary_object_id=row["primary_object_id"],
            merged_ids=tuple(row["merged_object_ids"] or ()),
            new_object_id=row["new_object_id"],
        ),
        received_at=row["received_at"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        applied_at=row["applied_at"],
        claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"],
    )

"""Leases: named locks held across processes until they expire (the run lease of
:mod:`sync.lease`, the summary's).

:meth:`LeaseRepository.try_lock` is an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired OR
mine RETURNING owner``: one atomic statement, correct across processes;
:meth:`LeaseRepository.renew_lock` is an ``UPDATE ... WHERE owner = mine``, so a holder learns
from its rowcount that it lost the lock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from storage import tables as t
from storage.repositories.base import Repository, rowcount


class LeaseRepository(Repository):
    """:class:`sync.ports.LeaseStore` on the ``locks`` table."""

    def try_lock(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Take a named lock that holds across processes; False when someone else holds it.

        The holder may take it again (that extends it to ``at + ttl_seconds``); anyone may take
        it once it expired. One atomic upsert: whoever's statement commits first wins.
        """
        insert = self._insert(t.locks).values(
            name=name, owner=owner, expires_at=at + timedelta(seconds=ttl_seconds)
        )
        statement = insert.on_conflict_do_update(
            index_elements=[t.locks.c.name],
            set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
            where=(t.locks.c.expires_at <= at) | (t.locks.c.owner == owner),
        ).returning(t.locks.c.owner)
        with self._write() as session:
            holder = session.execute(statement).scalar_one_or_none()
        return holder == owner

    def renew_lock(self, name: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Extend a lock ``owner`` still holds to ``at + ttl_seconds``; False when it does not.

        Unlike :meth:`try_lock` this never takes a lock: a holder that finds the row gone, or
        someone else's, has lost it (taken over after it expired) and must stop. An expired row
        that is still ``owner``'s is extended: nobody took it, so nobody ran meanwhile.
        """
        with self._write() as session:
            result = session.execute(
                sa.update(t.locks)
                .where(t.locks.c.name == name, t.locks.c.owner == owner)
                .values(expires_at=at + timedelta(seconds=ttl_seconds))
            )
            return rowcount(result) == 1

    def unlock(self, name: str, *, owner: str) -> None:
        """Release the lock if ``owner`` holds it; otherwise do nothing."""
        with self._write() as session:
            session.execute(
                sa.delete(t.locks).where(t.locks.c.name == name, t.locks.c.owner == owner)
            )

    def lock_holder(self, name: str) -> str | None:
        """The owner of the named lock (expired or not), or None."""
        with self._read() as session:
            return session.execute(
                sa.select(t.locks.c.owner).where(t.locks.c.name == name)
            ).scalar_one_or_none()

    def purge_locks(self, *, at: datetime) -> int:
        """Delete the locks that expired by ``at`` (left by crashed runs and summaries)."""
        with self._write() as session:
            result = session.execute(sa.delete(t.locks).where(t.locks.c.expires_at <= at))
        return rowcount(result)

"""Links: each Sell record paired with one HubSpot contact (tombstones are links too).

Upserts are one ``INSERT ... ON CONFLICT`` per chunk; :meth:`LinkRepository.iter_links` pages
by primary key, so that 100k links cost flat memory on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from storage import tables as t
from storage.repositories.base import Repository, chunked, rowcount, unique
from sync.domain import (
    ConflictStatus,
    FieldSnapshot,
    HeldLinkSettled,
    Hold,
    HoldReason,
    Link,
    LinkOrigin,
    LinkState,
    SellRef,
    normalize_email,
)

OPEN = ConflictStatus.OPEN.value
DISMISSED = ConflictStatus.DISMISSED.value

#: When several links carry one HubSpot id (a tombstone, then a push that linked the contact to
#: another Sell record), :meth:`LinkRepository.links_by_hubspot` returns the first state in this
#: order.
STATE_PREFERENCE = {
    LinkState.ACTIVE: 0,
    LinkState.TOMBSTONED: 1,
    LinkState.HUBSPOT_DELETED: 2,
    LinkState.HELD: 3,
}
HELD = LinkState.HELD.value
ACTIVE = LinkState.ACTIVE.value

#: The columns a :class:`~sync.domain.Link` is made of (bookkeeping columns are left out).
LINK_COLUMNS = (
    t.links.c.id,
    t.links.c.sell_kind,
    t.links.c.sell_id,
    t.links.c.hubspot_id,
    t.links.c.state,
    t.links.c.origin,
    t.links.c.email,
    t.links.c.snapshot,
    t.links.c.last_synced_at,
    t.links.c.hold_reason,
    t.links.c.held_with,
)


class LinkRepository(Repository):
    """:class:`sync.ports.LinkStore` on the ``links`` table."""

    def links_by_hubspot(self, ids: Iterable[str]) -> dict[str, Link]:
        """Links by HubSpot id; where one id has several links, see :data:`STATE_PREFERENCE`."""
        found: dict[str, Link] = {}
        wanted = unique(str(i) for i in ids)
        with self._read() as session:
            for chunk in chunked(wanted):
                rows = session.execute(
                    sa.select(*LINK_COLUMNS)
                    .where(t.links.c.hubspot_id.in_(chunk))
                    .order_by(t.links.c.id)
                ).mappings()
                for row in rows:
                    link = _link(row)
                    current = found.get(link.hubspot_id)
                    if current is None or _preferred(link, current):
                        found[link.hubspot_id] = link
        return found

    def links_by_sell(self, refs: Iterable[SellRef]) -> dict[SellRef, Link]:
        found: dict[SellRef, Link] = {}
        by_kind: dict[str, list[int]] = {}
        for ref in unique(refs):
            by_kind.setdefault(ref.kind, []).append(ref.id)
        with self._read() as session:
            for kind, ids in by_kind.items():
                for chunk in chunked(ids):
                    rows = session.execute(
                        sa.select(*LINK_COLUMNS).where(
                            t.links.c.sell_kind == kind, t.links.c.sell_id.in_(chunk)
                        )
                    ).mappings()
                    for row in rows:
                        link = _link(row)
                        found[link.sell] = link
        return found

    def save_link(self, link: Link) -> Link:
        """Insert or update by Sell ref (one link per Sell record); returns it with its id."""
        with self._write() as session:
            row = (
                session.execute(
                    self._upsert_link_statement().returning(*LINK_COLUMNS),
                    params=self._link_params(link, self._clock()),
                )
                .mappings()
                .one()
            )
        return _link(row)

    def save_links(self, links: Sequence[Link]) -> None:
        """:meth:`save_link` for many links in one transaction (the last of a Sell ref wins)."""
        now = self._clock()
        params = list({link.sell: self._link_params(link, now) for link in links}.values())
        if not params:
            return
        statement = self._upsert_link_statement()
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def _upsert_link_statement(self) -> postgresql.Insert | sqlite.Insert:
        insert = self._insert(t.links)
        new = insert.excluded
        return insert.on_conflict_do_update(
            index_elements=[t.links.c.sell_kind, t.links.c.sell_id],
            set_={
                "hubspot_id": new.hubspot_id,
                "state": new.state,
                "origin": new.origin,
                "email": new.email,
                "snapshot": new.snapshot,
                "last_synced_at": new.last_synced_at,
                "hold_reason": new.hold_reason,
                "held_with": new.held_with,
                "updated_at": new.updated_at,
                # A tombstone keeps the time it was first laid; any other state has none.
                "tombstoned_at": sa.case(
                    (
                        new.state == LinkState.TOMBSTONED.value,
                        sa.func.coalesce(t.links.c.tombstoned_at, new.tombstoned_at),
                    ),
                    else_=sa.null(),
                ),
            },
        )

    @staticmethod
    def _link_params(link: Link, now: datetime) -> dict[str, Any]:
        state = LinkState(link.state)
        return {
            "sell_kind": link.sell.kind,
            "sell_id": link.sell.id,
            "hubspot_id": str(link.hubspot_id),
            "state": state.value,
            "origin": LinkOrigin(link.origin).value,
            "email": normalize_email(link.email),
            "snapshot": {k: [v.sell, v.hubspot] for k, v in link.snapshot.items()},
            "last_synced_at": link.last_synced_at,
            "tombstoned_at": now if state is LinkState.TOMBSTONED else None,
            **_hold_params(link),
            "created_at": now,
            "updated_at": now,
        }

    def delete_link(self, ref: SellRef) -> None:
        with self._write() as session:
            session.execute(
                sa.delete(t.links).where(
                    t.links.c.sell_kind == ref.kind, t.links.c.sell_id == ref.id
                )
            )

    def move_link(self, old: SellRef, new: SellRef) -> None:
        """Re-point the link of ``old`` (a converted lead, L1) and its conflicts to ``new``.

        The row keeps its id, snapshots and state, so the link check's rotation and every
        reference to it stay valid. A conflict ``new`` already has open for a field supersedes
        the lead's (it holds the fresher values): the lead's is dismissed, the rest move.
        """
        now = self._clock()
        with self._write() as session:
            session.execute(
                sa.update(t.links)
                .where(t.links.c.sell_kind == old.kind, t.links.c.sell_id == old.id)
                .values(sell_kind=new.kind, sell_id=new.id, updated_at=now)
            )
            c = t.conflicts.c
            open_on_new = sa.select(c.field).where(
                c.sell_kind == new.kind, c.sell_id == new.id, c.status == OPEN
            )
            _dismiss_open_conflicts(session, old, now, c.field.in_(open_on_new.scalar_subquery()))
            session.execute(
                sa.update(t.conflicts)
                .where(c.sell_kind == old.kind, c.sell_id == old.id)
                .values(sell_kind=new.kind, sell_id=new.id)
            )

    def iter_links(self, *, batch_size: int = 1000, after_id: int = 0) -> Iterator[list[Link]]:
        """Every link with an id above ``after_id``, in pages of ``batch_size`` by id; no
        transaction stays open between pages."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        last_id = after_id
        while True:
            with self._read() as session:
                rows = (
                    session.execute(
                        sa.select(*LINK_COLUMNS)
                        .where(t.links.c.id > last_id)
                        .order_by(t.links.c.id)
                        .limit(batch_size)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            yield [_link(row) for row in rows]
            if len(rows) < batch_size:
                return
            last_id = rows[-1]["id"]

    def held_links(self, *, offset: int = 0, limit: int = 10) -> list[tuple[Link, Link | None]]:
        """Held links, oldest first, each with the link of its stored counterpart while that is
        still the active link of the same (surviving) HubSpot contact."""
        with self._read() as session:
            rows = session.execute(
                sa.select(*LINK_COLUMNS)
                .where(t.links.c.state == HELD)
                .order_by(t.links.c.updated_at, t.links.c.id)
                .offset(max(0, offset))
                .limit(max(1, limit))
            ).mappings()
            held = [_link(row) for row in rows]
        counterparts = self.links_by_sell(
            h.hold.counterpart
            for h in held
            if h.hold is not None and h.hold.counterpart is not None
        )
        return [(link, link.counterpart_link(counterparts)) for link in held]

    def settle_held_link(self, held: SellRef, *, keep_held: bool) -> HeldLinkSettled | None:
        """A manager's choice for a link a merge holds (L2), in one transaction.

        ``keep_held``: the held link becomes active and the link the survivor had is removed;
        otherwise the held link is removed. The removed link's open field conflicts are
        dismissed (its pair no longer exists). None when ``held`` is not held any more (another
        manager decided first): nothing is changed.
        """
        now = self._clock()
        c = t.links.c
        is_held = sa.and_(c.sell_kind == held.kind, c.sell_id == held.id, c.state == HELD)
        with self._write() as session:
            row = session.execute(sa.select(*LINK_COLUMNS).where(is_held)).mappings().first()
            if row is None:
                return None
            link = _link(row)
            released: SellRef | None = None
            if keep_held:
                changed = session.execute(
                    sa.update(t.links)
                    .where(is_held)
                    .values(state=ACTIVE, hold_reason=None, held_with=None, updated_at=now)
                )
                owner = (
                    session.execute(
                        sa.select(c.sell_kind, c.sell_id).where(
                            c.hubspot_id == link.hubspot_id, c.state == ACTIVE, c.id != link.id
                        )
                    )
                    .mappings()
                    .first()
                )
                if owner is not None:
                    released = SellRef(owner["sell_kind"], owner["sell_id"])
            else:
                changed = session.execute(sa.delete(t.links).where(is_held))
                released = held
            if rowcount(changed) != 1:
                session.rollback()
                return None
            if released is not None:
                if released != held:
                    session.execute(
                        sa.delete(t.links).where(
                            c.sell_kind == released.kind, c.sell_id == released.id
                        )
                    )
                _dismiss_open_conflicts(session, released, now)
        return HeldLinkSettled(link, released)

    def count_links(self) -> dict[str, int]:
        """Counts per LinkState value, every state present (0 when none)."""
        counts = {state.value: 0 for state in LinkState}
        with self._read() as session:
            rows = session.execute(
                sa.select(t.links.c.state, sa.func.count()).group_by(t.links.c.state)
            ).all()
        for state, count in rows:
            counts[state] = int(count)
        return counts


def _dismiss_open_conflicts(
    session: Session, ref: SellRef, now: datetime, *where: sa.ColumnElement[bool]
) -> None:
    """Dismiss (as sellsync) the open conflicts of ``ref`` that match ``where``."""
    c = t.conflicts.c
    session.execute(
        sa.update(t.conflicts)
        .where(c.sell_kind == ref.kind, c.sell_id == ref.id, c.status == OPEN, *where)
        .values(status=DISMISSED, resolved_by="sellsync", resolved_at=now, updated_at=now)
    )


def _link(row: RowMapping) -> Link:
    return Link(
        sell=SellRef(kind=row["sell_kind"], id=row["sell_id"]),
        hubspot_id=row["hubspot_id"],
        state=LinkState(row["state"]),
        origin=LinkOrigin(row["origin"]),
        snapshot={
            name: FieldSnapshot(sell=pair[0], hubspot=pair[1])
            for name, pair in (row["snapshot"] or {}).items()
        },
        email=row["email"],
        last_synced_at=row["last_synced_at"],
        id=row["id"],
        hold=_hold(row),
    )


def _hold(row: RowMapping) -> Hold | None:
    """A held link's reason and counterpart (a link held before they were stored: L2)."""
    if row["state"] != HELD:
        return None
    reason = HoldReason(row["hold_reason"] or HoldReason.CONTACT_MERGE.value)
    held_with = row["held_with"]
    return Hold(reason, SellRef.parse(held_with) if held_with else None)


def _hold_params(link: Link) -> dict[str, Any]:
    hold = link.hold if link.state is LinkState.HELD else None
    return {
        "hold_reason": None if hold is None else hold.reason.value,
        "held_with": None if hold is None or hold.counterpart is None else str(hold.counterpart),
    }


def _preferred(link: Link, current: Link) -> bool:
    """True when ``link`` should stand for its HubSpot id rather than ``current``."""
    rank, current_rank = STATE_PREFERENCE[link.state], STATE_PREFERENCE[current.state]
    if rank != current_rank:
        return rank < current_rank
    return (link.id or 0) > (current.id or 0)  # the newer link

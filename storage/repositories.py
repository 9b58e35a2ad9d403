"""``SqlStore``: :class:`sync.ports.Store` on SQLAlchemy, for PostgreSQL and SQLite.

Every public method runs in its own short transaction (a ``Session`` opened from the engine and
committed before returning) and speaks only the frozen values of :mod:`sync.domain` and
:mod:`sync.ports`; no row object escapes.

Concurrency, which matters because several ``web`` processes and the ``worker`` share one
database (SPEC §4):

* upserts are single ``INSERT ... ON CONFLICT`` statements (both databases have them);
* "at most one open conflict per record and field" and "at most one pending request per
  setting" are partial unique indexes; a writer that loses the race catches the
  ``IntegrityError`` and retries, finding the winner's row;
* closing a conflict or deciding a request is a conditional ``UPDATE ... WHERE status = ...``:
  the rowcount says whether this call made the change, so double clicks are harmless, and the
  service decides with it before any CRM write (one decision per conflict, whoever clicks);
* :meth:`SqlStore.try_lock` is an ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired OR mine
  RETURNING owner``: one atomic statement, correct across processes; :meth:`SqlStore.renew_lock`
  is an ``UPDATE ... WHERE owner = mine``, so a holder learns from its rowcount that it lost the
  lock (the run lease of :mod:`sync.lease` is built on these two).

Large ``IN`` lists are sent in chunks of :data:`CHUNK` and :meth:`SqlStore.iter_links` pages by
primary key, so that 100k links cost flat memory on both databases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import tables as t
from storage.engine import autocommitter, reader
from sync.domain import (
    Conflict,
    ConflictStatus,
    Cursor,
    FieldSnapshot,
    Link,
    LinkOrigin,
    LinkState,
    SellRef,
    normalize_email,
)
from sync.errors import ConfigError, RecordNotFound
from sync.ports import (
    RUN_STATUSES,
    SUCCESS_STATUSES,
    AuditEvent,
    ChangeRequest,
    CustomMapping,
    RunRecord,
    RunStats,
    SchedulerBeat,
    SellIndexEntry,
    Settings,
    Store,
)

#: The most values sent in one ``IN (...)`` list or one multi-row statement.
CHUNK = 500

#: How often a writer that lost a unique-index race retries (it then finds the winner's row).
RACE_RETRIES = 5

SETTINGS_ROW_ID = 1

OPEN = ConflictStatus.OPEN.value
PENDING = "pending"
SUPERSEDED = "superseded"
DECISIONS = frozenset({"approved", "rejected", "expired"})

#: When several links carry one HubSpot id (a tombstone, then a push that linked the contact to
#: another Sell record), :meth:`SqlStore.links_by_hubspot` returns the first state in this order.
STATE_PREFERENCE = {LinkState.ACTIVE: 0, LinkState.TOMBSTONED: 1, LinkState.HUBSPOT_DELETED: 2}

#: Heartbeat rows of schedulers not seen for this long are deleted (restarts leave one row each).
HEARTBEAT_RETENTION = timedelta(days=7)

T = TypeVar("T")

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
)


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique(items: Iterable[T]) -> list[T]:
    return list(dict.fromkeys(items))


def _rowcount(result: sa.Result[Any]) -> int:
    """Rows matched by an UPDATE or DELETE."""
    return cast(sa.CursorResult[Any], result).rowcount


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlStore:
    """The sync state in a SQL database. Build it with :func:`storage.db.open_store`.

    ``clock`` (a callable returning aware UTC now) stamps the bookkeeping columns
    (``created_at``, ``updated_at``); times that mean something to the sync are passed in.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        owns_engine: bool = False,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        dialect = engine.dialect.name
        if dialect not in ("postgresql", "sqlite"):
            raise ConfigError(
                "DATABASE_URL", f"names a {dialect} database: use PostgreSQL or SQLite"
            )
        self._engine = engine
        self._reader = reader(engine)
        self._owns_engine = owns_engine
        self._dialect = dialect
        self._clock = clock

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close the pooled connections (when the store made its engine)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqlStore({self._engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A session in a write transaction, committed on success."""
        with Session(self._engine) as session, session.begin():
            yield session

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        """A connection in a read-only transaction (no write lock on SQLite). A Core connection
        rather than an ORM session: reads run on every Slack request, and the session's
        bookkeeping cost more CPU than the query."""
        with self._reader.connect() as connection, connection.begin():
            yield connection

    def _insert(self, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    # ------------------------------------------------------------------ settings

    def get_settings(self, *, default_threshold: int, default_list_id: str) -> Settings:
        """The stored settings; the first call stores the defaults (the config's seed, S1)."""
        with self._read() as session:
            row = self._settings_row(session)
        if row is not None:
            return _settings(row)
        insert = self._insert(t.settings).values(
            id=SETTINGS_ROW_ID,
            threshold=int(default_threshold),
            list_id=default_list_id,
            custom_mappings=[],
            version=0,
            updated_at=self._clock(),
        )
        with self._write() as session:
            session.execute(insert.on_conflict_do_nothing(index_elements=[t.settings.c.id]))
            row = self._settings_row(session)
        assert row is not None
        return _settings(row)

    def update_settings(
        self,
        *,
        threshold: int | None = None,
        list_id: str | None = None,
        custom_mappings: tuple[CustomMapping, ...] | None = None,
    ) -> Settings:
        """Change the given settings; ``version`` goes up by one when anything changed.

        Raises LookupError before the settings exist (:meth:`get_settings` creates them).
        """
        with self._write() as session:
            row = self._settings_row(session, for_update=True)
            if row is None:
                raise LookupError("the settings do not exist yet: call get_settings first")
            changes: dict[str, Any] = {}
            if threshold is not None and int(threshold) != row["threshold"]:
                changes["threshold"] = int(threshold)
            if list_id is not None and list_id != row["list_id"]:
                changes["list_id"] = list_id
            if custom_mappings is not None:
                mappings = [_mapping_json(m) for m in custom_mappings]
                if mappings != row["custom_mappings"]:
                    changes["custom_mappings"] = mappings
            if changes:
                session.execute(
                    sa.update(t.settings)
                    .where(t.settings.c.id == SETTINGS_ROW_ID)
                    .values(**changes, version=t.settings.c.version + 1, updated_at=self._clock())
                )
                row = self._settings_row(session)
        assert row is not None
        return _settings(row)

    def _settings_row(
        self, session: Session | sa.Connection, *, for_update: bool = False
    ) -> RowMapping | None:
        query = sa.select(t.settings).where(t.settings.c.id == SETTINGS_ROW_ID)
        if for_update:
            query = query.with_for_update()
        return session.execute(query).mappings().first()

    # ------------------------------------------------------------------ links

    def links_by_hubspot(self, ids: Iterable[str]) -> dict[str, Link]:
        """Links by HubSpot id; where one id has several links, see :data:`STATE_PREFERENCE`."""
        found: dict[str, Link] = {}
        wanted = _unique(str(i) for i in ids)
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
        for ref in _unique(refs):
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

    def iter_links(self, *, batch_size: int = 1000) -> Iterator[list[Link]]:
        """Every link, in pages of ``batch_size`` by id; no transaction stays open between pages."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        last_id = 0
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

    # ------------------------------------------------------------------ Sell email index

    def index_sell_records(self, entries: Sequence[SellIndexEntry]) -> None:
        """Insert or replace index rows by Sell ref (the last entry of a ref wins)."""
        params = list(
            {
                entry.ref: {
                    "sell_kind": entry.ref.kind,
                    "sell_id": entry.ref.id,
                    "email": normalize_email(entry.email),
                    "updated_at": entry.updated_at,
                    "is_organization": bool(entry.is_organization),
                    "tags": list(entry.tags),
                }
                for entry in entries
            }.values()
        )
        if not params:
            return
        insert = self._insert(t.sell_index)
        statement = insert.on_conflict_do_update(
            index_elements=[t.sell_index.c.sell_kind, t.sell_index.c.sell_id],
            set_={
                "email": insert.excluded.email,
                "updated_at": insert.excluded.updated_at,
                "is_organization": insert.excluded.is_organization,
                "tags": insert.excluded.tags,
            },
        )
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def remove_from_index(self, refs: Iterable[SellRef]) -> None:
        by_kind: dict[str, list[int]] = {}
        for ref in _unique(refs):
            by_kind.setdefault(ref.kind, []).append(ref.id)
        with self._write() as session:
            for kind, ids in by_kind.items():
                for chunk in chunked(ids):
                    session.execute(
                        sa.delete(t.sell_index).where(
                            t.sell_index.c.sell_kind == kind, t.sell_index.c.sell_id.in_(chunk)
                        )
                    )

    def find_by_email(self, emails: Iterable[str]) -> dict[str, list[SellIndexEntry]]:
        """Index entries keyed by normalised email (only emails found), newest first."""
        wanted = _unique(e for e in (normalize_email(e) for e in emails) if e is not None)
        found: dict[str, list[SellIndexEntry]] = {}
        with self._read() as session:
            for chunk in chunked(wanted):
                rows = session.execute(
                    sa.select(t.sell_index).where(t.sell_index.c.email.in_(chunk))
                ).mappings()
                for row in rows:
                    entry = _index_entry(row)
                    assert entry.email is not None
                    found.setdefault(entry.email, []).append(entry)
        for entries in found.values():
            entries.sort(key=_newest_first)
        return found

    def find_by_tag(self, tag: str) -> list[SellIndexEntry]:
        """Entries carrying ``tag`` (compared trimmed and case-insensitively), newest first."""
        wanted = tag.strip().casefold()
        if not wanted:
            return []
        query = sa.select(t.sell_index)
        if wanted.isascii():
            # Narrow in SQL on the JSON text (a superset: ILIKE), then match exactly below.
            # Non-ASCII tags are matched in Python only: SQLite's lower() folds ASCII alone.
            pattern = _like_escape(_json_fragment(wanted))
            query = query.where(
                sa.type_coerce(t.sell_index.c.tags, sa.Text).ilike(f"%{pattern}%", escape="\\")
            )
        found: list[SellIndexEntry] = []
        with self._read() as session:
            for row in session.execute(query).mappings():
                entry = _index_entry(row)
                if any(candidate.strip().casefold() == wanted for candidate in entry.tags):
                    found.append(entry)
        found.sort(key=_newest_first)
        return found

    # ------------------------------------------------------------------ list members

    def known_members(self, list_id: str) -> set[str]:
        with self._read() as session:
            rows = session.execute(
                sa.select(t.list_members.c.hubspot_id).where(t.list_members.c.list_id == list_id)
            ).scalars()
            return set(rows)

    def add_members(self, list_id: str, ids: Iterable[str]) -> None:
        params = [{"list_id": list_id, "hubspot_id": str(i)} for i in _unique(ids)]
        if not params:
            return
        statement = self._insert(t.list_members).on_conflict_do_nothing(
            index_elements=[t.list_members.c.list_id, t.list_members.c.hubspot_id]
        )
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def set_member_scores(self, list_id: str, scores: Mapping[str, str | None]) -> None:
        """Record members (evaluated now) with the score HubSpot gave for each."""
        params = [
            {"list_id": list_id, "hubspot_id": str(i), "score": None if v is None else str(v)[:64]}
            for i, v in scores.items()
        ]
        if not params:
            return
        insert = self._insert(t.list_members)
        statement = insert.on_conflict_do_update(
            index_elements=[t.list_members.c.list_id, t.list_members.c.hubspot_id],
            set_={"score": insert.excluded.score},
        )
        with self._write() as session:
            for chunk in chunked(params):
                session.execute(statement, params=list(chunk))

    def member_scores(self, list_id: str) -> dict[str, str | None]:
        """Every evaluated member with its last known score (None: blank or never read)."""
        with self._read() as session:
            rows = session.execute(
                sa.select(t.list_members.c.hubspot_id, t.list_members.c.score).where(
                    t.list_members.c.list_id == list_id
                )
            )
            return {hubspot_id: score for hubspot_id, score in rows}

    def remove_members(self, list_id: str, ids: Iterable[str]) -> None:
        wanted = _unique(str(i) for i in ids)
        with self._write() as session:
            for chunk in chunked(wanted):
                session.execute(
                    sa.delete(t.list_members).where(
                        t.list_members.c.list_id == list_id,
                        t.list_members.c.hubspot_id.in_(chunk),
                    )
                )

    # ------------------------------------------------------------------ cursors

    def get_cursor(self, name: str) -> Cursor | None:
        with self._read() as session:
            row = (
                session.execute(sa.select(t.cursors).where(t.cursors.c.name == name))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return Cursor(
            updated_at=row["updated_at"], last_id=row["last_id"], position_ms=row["position_ms"]
        )

    def set_cursor(self, name: str, cursor: Cursor) -> None:
        insert = self._insert(t.cursors).values(
            name=name,
            updated_at=cursor.updated_at,
            last_id=cursor.last_id,
            position_ms=cursor.position_ms,
        )
        statement = insert.on_conflict_do_update(
            index_elements=[t.cursors.c.name],
            set_={
                "updated_at": insert.excluded.updated_at,
                "last_id": insert.excluded.last_id,
                "position_ms": insert.excluded.position_ms,
            },
        )
        with self._write() as session:
            session.execute(statement)

    # ------------------------------------------------------------------ conflicts

    def open_conflict(self, conflict: Conflict) -> tuple[Conflict, bool]:
        """Open, or refresh the one open conflict of (sell ref, field); True when new.

        A refresh replaces both values and the HubSpot id and keeps ``opened_at``.
        """
        now = self._clock()
        values = {
            "hubspot_id": str(conflict.hubspot_id),
            "sell_value": conflict.sell_value,
            "hubspot_value": conflict.hubspot_value,
            "updated_at": now,
        }
        open_one = (
            (t.conflicts.c.sell_kind == conflict.sell.kind)
            & (t.conflicts.c.sell_id == conflict.sell.id)
            & (t.conflicts.c.field == conflict.field)
            & (t.conflicts.c.status == OPEN)
        )
        for attempt in range(RACE_RETRIES):
            try:
                with self._write() as session:
                    refreshed = (
                        session.execute(
                            sa.update(t.conflicts)
                            .where(open_one)
                            .values(**values)
                            .returning(*t.conflicts.c)
                        )
                        .mappings()
                        .first()
                    )
                    if refreshed is not None:
                        return _conflict(refreshed), False
                    created = (
                        session.execute(
                            sa.insert(t.conflicts)
                            .values(
                                **values,
                                sell_kind=conflict.sell.kind,
                                sell_id=conflict.sell.id,
                                field=conflict.field,
                                status=OPEN,
                                opened_at=conflict.opened_at or now,
                            )
                            .returning(*t.conflicts.c)
                        )
                        .mappings()
                        .one()
                    )
                    return _conflict(created), True
            except IntegrityError:
                # Another writer opened the same conflict between our UPDATE and INSERT: the
                # partial unique index refused a second open row. Refresh theirs instead.
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def get_conflict(self, conflict_id: int) -> Conflict | None:
        with self._read() as session:
            row = (
                session.execute(sa.select(t.conflicts).where(t.conflicts.c.id == conflict_id))
                .mappings()
                .first()
            )
        return None if row is None else _conflict(row)

    def list_conflicts(
        self,
        *,
        status: ConflictStatus | None = ConflictStatus.OPEN,
        offset: int = 0,
        limit: int = 50,
    ) -> list[Conflict]:
        """Conflicts with ``status`` (all when None), oldest first."""
        query = sa.select(t.conflicts)
        if status is not None:
            query = query.where(t.conflicts.c.status == ConflictStatus(status).value)
        query = (
            query.order_by(t.conflicts.c.opened_at, t.conflicts.c.id).offset(offset).limit(limit)
        )
        with self._read() as session:
            return [_conflict(row) for row in session.execute(query).mappings()]

    def conflicts_for(self, ref: SellRef) -> list[Conflict]:
        """Every conflict of one Sell record, open or closed, oldest first."""
        query = (
            sa.select(t.conflicts)
            .where(t.conflicts.c.sell_kind == ref.kind, t.conflicts.c.sell_id == ref.id)
            .order_by(t.conflicts.c.opened_at, t.conflicts.c.id)
        )
        with self._read() as session:
            return [_conflict(row) for row in session.execute(query).mappings()]

    def count_conflicts(self, status: ConflictStatus = ConflictStatus.OPEN) -> int:
        query = sa.select(sa.func.count()).where(
            t.conflicts.c.status == ConflictStatus(status).value
        )
        with self._read() as session:
            return int(session.execute(query).scalar_one())

    def resolve_conflict(
        self, conflict_id: int, *, status: ConflictStatus, by: str, at: datetime
    ) -> tuple[Conflict, bool]:
        """Close an open conflict; (conflict, False) when it was already closed.

        Raises RecordNotFound for an unknown id, ValueError when ``status`` is "open".
        """
        status = ConflictStatus(status)
        if status is ConflictStatus.OPEN:
            raise ValueError("a conflict is resolved to kept_sell, used_hubspot or dismissed")
        with self._write() as session:
            result = session.execute(
                sa.update(t.conflicts)
                .where(t.conflicts.c.id == conflict_id, t.conflicts.c.status == OPEN)
                .values(
                    status=status.value, resolved_by=by, resolved_at=at, updated_at=self._clock()
                )
            )
            changed = _rowcount(result) == 1
            row = (
                session.execute(sa.select(t.conflicts).where(t.conflicts.c.id == conflict_id))
                .mappings()
                .first()
            )
        if row is None:
            raise RecordNotFound(f"conflict {conflict_id}")
        return _conflict(row), changed

    def reopen_conflict(self, conflict_id: int, *, status: ConflictStatus, by: str) -> bool:
        """Undo ``by``'s resolution to ``status`` (its write failed): the conflict is open again.

        Only that very decision is undone (the row still has ``status`` and ``by``). Returns
        False when it is not reopened: the decision is no longer the row's, or a sync opened a
        newer conflict on the same record and field meanwhile; that one holds the current values,
        and this one is marked dismissed, since no value was written for it.
        """
        status = ConflictStatus(status)
        decided = (
            (t.conflicts.c.id == conflict_id)
            & (t.conflicts.c.status == status.value)
            & (t.conflicts.c.resolved_by == by)
        )
        try:
            with self._write() as session:
                result = session.execute(
                    sa.update(t.conflicts)
                    .where(decided)
                    .values(
                        status=OPEN, resolved_by=None, resolved_at=None, updated_at=self._clock()
                    )
                )
                return _rowcount(result) == 1
        except IntegrityError:  # the partial unique index: a newer conflict is open
            with self._write() as session:
                session.execute(
                    sa.update(t.conflicts)
                    .where(decided)
                    .values(status=ConflictStatus.DISMISSED.value, updated_at=self._clock())
                )
            return False

    # ------------------------------------------------------------------ change requests

    def create_request(
        self,
        *,
        setting: str,
        new_value: str,
        old_value: str,
        requested_by: str,
        reason: str,
        at: datetime,
    ) -> tuple[ChangeRequest, list[ChangeRequest]]:
        """The new pending request and the older pending ones for that setting it superseded.

        A superseded request gets status "superseded" and ``decided_at`` = ``at`` (no decider).
        """
        for attempt in range(RACE_RETRIES):
            try:
                with self._write() as session:
                    superseded = (
                        session.execute(
                            sa.update(t.change_requests)
                            .where(
                                t.change_requests.c.setting == setting,
                                t.change_requests.c.status == PENDING,
                            )
                            .values(status=SUPERSEDED, decided_at=at)
                            .returning(*t.change_requests.c)
                        )
                        .mappings()
                        .all()
                    )
                    created = (
                        session.execute(
                            sa.insert(t.change_requests)
                            .values(
                                setting=setting,
                                new_value=new_value,
                                old_value=old_value,
                                requested_by=requested_by,
                                reason=reason,
                                status=PENDING,
                                created_at=at,
                            )
                            .returning(*t.change_requests.c)
                        )
                        .mappings()
                        .one()
                    )
                    older = sorted((_request(row) for row in superseded), key=lambda r: r.id)
                    return _request(created), older
            except IntegrityError:
                # A concurrent request for the same setting committed first: supersede it too.
                if attempt == RACE_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def get_request(self, request_id: int) -> ChangeRequest | None:
        with self._read() as session:
            row = (
                session.execute(
                    sa.select(t.change_requests).where(t.change_requests.c.id == request_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else _request(row)

    def pending_requests(self) -> list[ChangeRequest]:
        """Pending requests, oldest first."""
        query = (
            sa.select(t.change_requests)
            .where(t.change_requests.c.status == PENDING)
            .order_by(t.change_requests.c.created_at, t.change_requests.c.id)
        )
        with self._read() as session:
            return [_request(row) for row in session.execute(query).mappings()]

    def decide_request(
        self, request_id: int, *, status: str, by: str, at: datetime
    ) -> tuple[ChangeRequest, bool]:
        """Move a pending request to approved/rejected/expired; (request, False) if not pending.

        Raises RecordNotFound for an unknown id, ValueError for another status.
        """
        if status not in DECISIONS:
            raise ValueError(
                f"a request is decided as approved, rejected or expired, not {status!r}"
            )
        with self._write() as session:
            result = session.execute(
                sa.update(t.change_requests)
                .where(t.change_requests.c.id == request_id, t.change_requests.c.status == PENDING)
                .values(status=status, decided_by=by, decided_at=at)
            )
            changed = _rowcount(result) == 1
            row = (
                session.execute(
                    sa.select(t.change_requests).where(t.change_requests.c.id == request_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise RecordNotFound(f"request {request_id}")
        return _request(row), changed

    def set_request_message(self, request_id: int, *, channel: str, ts: str) -> None:
        """Remember the Slack message showing the request. Raises RecordNotFound."""
        with self._write() as session:
            result = session.execute(
                sa.update(t.change_requests)
                .where(t.change_requests.c.id == request_id)
                .values(channel=channel, message_ts=ts)
            )
            if _rowcount(result) == 0:
                raise RecordNotFound(f"request {request_id}")

    # ------------------------------------------------------------------ runs

    def start_run(self, *, trigger: str, at: datetime) -> int:
        with self._write() as session:
            run_id = session.execute(
                sa.insert(t.sync_runs)
                .values(trigger=trigger, started_at=at, status="running", counts={})
                .returning(t.sync_runs.c.id)
            ).scalar_one()
        return int(run_id)

    def finish_run(
        self,
        run_id: int,
        *,
        at: datetime,
        status: str,
        counts: Mapping[str, int],
        error: str | None = None,
    ) -> None:
        with self._write() as session:
            result = session.execute(
                sa.update(t.sync_runs)
                .where(t.sync_runs.c.id == run_id)
                .values(
                    finished_at=at,
                    status=status,
                    counts={str(k): int(v) for k, v in counts.items()},
                    error=error,
                )
            )
            if _rowcount(result) == 0:
                raise RecordNotFound(f"run {run_id}")

    def recent_runs(self, limit: int = 10) -> list[RunRecord]:
        """The newest runs first."""
        query = (
            sa.select(t.sync_runs)
            .order_by(t.sync_runs.c.started_at.desc(), t.sync_runs.c.id.desc())
            .limit(limit)
        )
        with self._read() as session:
            return [
                RunRecord(
                    id=row["id"],
                    started_at=row["started_at"],
                    finished_at=row["finished_at"],
                    trigger=row["trigger"],
                    status=row["status"],
                    counts=dict(row["counts"] or {}),
                    error=row["error"],
                )
                for row in session.execute(query).mappings()
            ]

    # ------------------------------------------------------------------ audit

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
            return [
                AuditEvent(
                    at=row["at"],
                    kind=row["kind"],
                    subject=row["subject"],
                    detail=dict(row["detail"] or {}),
                    actor=row["actor"],
                    run_id=row["run_id"],
                )
                for row in session.execute(query).mappings()
            ]

    # ------------------------------------------------------------------ locks

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
            return _rowcount(result) == 1

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
        """Delete the locks that expired by ``at`` (replay markers, crashed runs' locks)."""
        with self._write() as session:
            result = session.execute(sa.delete(t.locks).where(t.locks.c.expires_at <= at))
        return _rowcount(result)

    # ------------------------------------------------------------------ scheduler heartbeats

    def record_heartbeat(self, beat: SchedulerBeat) -> None:
        """Insert or replace the row of ``beat.scheduler_id``; drop rows unseen for a week."""
        values = {
            "scheduler_id": beat.scheduler_id,
            "started_at": beat.started_at,
            "seen_at": beat.seen_at,
            "next_sync_at": beat.next_sync_at,
            "next_summary_at": beat.next_summary_at,
            "stopped_at": beat.stopped_at,
        }
        insert = self._insert(t.scheduler_heartbeats).values(**values)
        statement = insert.on_conflict_do_update(
            index_elements=[t.scheduler_heartbeats.c.scheduler_id],
            set_={k: getattr(insert.excluded, k) for k in values if k != "scheduler_id"},
        )
        with self._write() as session:
            session.execute(statement)
            session.execute(
                sa.delete(t.scheduler_heartbeats).where(
                    t.scheduler_heartbeats.c.seen_at < beat.seen_at - HEARTBEAT_RETENTION
                )
            )

    def latest_heartbeat(self) -> SchedulerBeat | None:
        """The most recently seen scheduler (stopped or not), or None."""
        hb = t.scheduler_heartbeats
        query = sa.select(hb).order_by(hb.c.seen_at.desc(), hb.c.scheduler_id).limit(1)
        with self._read() as session:
            row = session.execute(query).mappings().first()
        if row is None:
            return None
        return SchedulerBeat(
            scheduler_id=row["scheduler_id"],
            started_at=row["started_at"],
            seen_at=row["seen_at"],
            next_sync_at=row["next_sync_at"],
            next_summary_at=row["next_summary_at"],
            stopped_at=row["stopped_at"],
        )

    # ------------------------------------------------------------------ audit trail

    def audit_trail(self, *, subjects: Sequence[str] = (), limit: int = 100) -> list[AuditEvent]:
        """The newest ``limit`` events, oldest first; with ``subjects``, only events about them
        (a subject is ``lead:12``, a HubSpot id, or the pair ``lead:12|511`` it is stored as)."""
        ae = t.audit_events
        query = sa.select(ae)
        if subjects:
            query = query.where(
                sa.or_(
                    *(
                        cond
                        for s in subjects
                        for cond in (
                            ae.c.subject == s,
                            ae.c.subject.like(f"{_like_escape(s)}|%", escape="\\"),
                            ae.c.subject.like(f"%|{_like_escape(s)}", escape="\\"),
                        )
                    )
                )
            )
        query = query.order_by(ae.c.at.desc(), ae.c.id.desc()).limit(limit)
        with self._read() as session:
            rows = list(session.execute(query).mappings())
        return [
            AuditEvent(
                at=row["at"],
                kind=row["kind"],
                subject=row["subject"],
                detail=dict(row["detail"] or {}),
                actor=row["actor"],
                run_id=row["run_id"],
            )
            for row in reversed(rows)
        ]

    # ------------------------------------------------------------------ once-only marks

    def mark_once(self, key: str, *, owner: str, at: datetime, ttl_seconds: int) -> bool:
        """Record ``key`` for ``owner`` until ``at + ttl_seconds``: True the first time, False
        while an unexpired mark of ``key`` exists, in any process sharing the database. The
        mark is a row of the lock table (``unlock(key, owner=owner)`` gives it back).

        Called once per Slack request, concurrently with a sync's writes, so it is one
        statement committed on its own: on SQLite it holds the single write lock only while
        SQLite runs that statement (no BEGIN, no COMMIT round trip, no Python code in between
        that needs the GIL), so marks rarely queue behind each other in SQLite's busy back-off,
        which sleeps up to 100 ms at a time. An expired mark is taken over in place.
        """
        values = {
            "name": key,
            "owner": owner,
            "expires_at": at + timedelta(seconds=ttl_seconds),
        }
        if self._dialect == "sqlite":
            insert = sqlite.insert(t.locks).values(values)
            statement = insert.on_conflict_do_update(
                index_elements=[t.locks.c.name],
                set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
                where=t.locks.c.expires_at <= at,
            )
            # No RETURNING: the statement finishes, and commits, inside one call into SQLite
            # (which releases the GIL) instead of holding the write lock until Python has
            # fetched a row.
            with autocommitter(self._engine).connect() as connection:
                return _rowcount(connection.execute(statement)) == 1
        # PostgreSQL: the row comes from a subquery that turns synchronous_commit off for this
        # statement's own transaction only (set_config(..., is_local => true)), so the commit
        # does not wait for the WAL to reach the disk (an fsync per Slack request, ~4 ms idle
        # and far more beside a sync). The mark is still atomic and visible to every process at
        # once; a database crash in the next fraction of a second could forget it.
        async_commit = sa.select(
            sa.func.set_config("synchronous_commit", "off", sa.true()).label("setting")
        ).subquery("async_commit")
        rows = sa.select(
            *(sa.literal(value, t.locks.c[name].type) for name, value in values.items())
        ).select_from(async_commit)
        pg_insert = postgresql.insert(t.locks).from_select(list(values), rows)
        pg_statement = pg_insert.on_conflict_do_update(
            index_elements=[t.locks.c.name],
            set_={"owner": pg_insert.excluded.owner, "expires_at": pg_insert.excluded.expires_at},
            where=t.locks.c.expires_at <= at,
        ).returning(t.locks.c.name)
        with autocommitter(self._engine).connect() as connection:
            return connection.execute(pg_statement).first() is not None

    # ------------------------------------------------------------------ run statistics

    def run_stats(self) -> RunStats:
        """All runs counted by status with one GROUP BY, and the last start, finish and success
        as MAX aggregates: exact whatever the number of runs, in one read transaction."""
        runs = t.sync_runs.c
        success = sa.case((runs.status.in_(SUCCESS_STATUSES), runs.finished_at))
        counts = dict.fromkeys(RUN_STATUSES, 0)
        with self._read() as session:
            for status, count in session.execute(
                sa.select(runs.status, sa.func.count()).group_by(runs.status)
            ).all():
                counts[status] = int(count)
            started, finished, succeeded = session.execute(
                sa.select(
                    sa.func.max(runs.started_at),
                    sa.func.max(runs.finished_at),
                    sa.func.max(sa.type_coerce(success, t.UTCDateTime())),
                )
            ).one()
        return RunStats(
            by_status=counts,
            last_started=started,
            last_finished=finished,
            last_success=succeeded,
        )


# --------------------------------------------------------------------------- row → value


def _settings(row: RowMapping) -> Settings:
    return Settings(
        threshold=row["threshold"],
        list_id=row["list_id"],
        custom_mappings=tuple(
            CustomMapping(hubspot_property=m["hubspot_property"], sell_field=m["sell_field"])
            for m in row["custom_mappings"] or []
        ),
        version=row["version"],
    )


def _mapping_json(mapping: CustomMapping) -> dict[str, str]:
    return {"hubspot_property": mapping.hubspot_property, "sell_field": mapping.sell_field}


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
    )


def _preferred(link: Link, current: Link) -> bool:
    """True when ``link`` should stand for its HubSpot id rather than ``current``."""
    rank, current_rank = STATE_PREFERENCE[link.state], STATE_PREFERENCE[current.state]
    if rank != current_rank:
        return rank < current_rank
    return (link.id or 0) > (current.id or 0)  # the newer link


def _index_entry(row: RowMapping) -> SellIndexEntry:
    return SellIndexEntry(
        ref=SellRef(kind=row["sell_kind"], id=row["sell_id"]),
        email=row["email"],
        updated_at=row["updated_at"],
        is_organization=bool(row["is_organization"]),
        tags=tuple(row["tags"] or ()),
    )


def _newest_first(entry: SellIndexEntry) -> tuple[float, str, int]:
    return (-entry.updated_at.timestamp(), entry.ref.kind, entry.ref.id)


def _json_fragment(text: str) -> str:
    """``text`` as it appears inside a JSON string in a :class:`~storage.tables.JSONText` column."""
    return t.dump_json(text)[1:-1]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conflict(row: RowMapping) -> Conflict:
    return Conflict(
        sell=SellRef(kind=row["sell_kind"], id=row["sell_id"]),
        hubspot_id=row["hubspot_id"],
        field=row["field"],
        sell_value=row["sell_value"],
        hubspot_value=row["hubspot_value"],
        status=ConflictStatus(row["status"]),
        id=row["id"],
        opened_at=row["opened_at"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
    )


def _request(row: RowMapping) -> ChangeRequest:
    return ChangeRequest(
        id=row["id"],
        setting=row["setting"],
        new_value=row["new_value"],
        old_value=row["old_value"],
        requested_by=row["requested_by"],
        reason=row["reason"],
        status=row["status"],
        created_at=row["created_at"],
        decided_by=row["decided_by"],
        decided_at=row["decided_at"],
        channel=row["channel"],
        message_ts=row["message_ts"],
    )


if TYPE_CHECKING:

    def _implements_store(store: SqlStore) -> Store:
        return store  # mypy checks SqlStore against the Store protocol here

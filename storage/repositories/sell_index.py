"""The bulk Sell email index: rows written from pages of Sell records, never one lookup
per record; read by email (matching) and by tag (push).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping

from storage import tables as t
from storage.repositories.base import Repository, chunked, like_escape, unique
from sync.domain import SellRef, normalize_email
from sync.ports import SellIndexEntry


class SellIndexRepository(Repository):
    """:class:`sync.ports.SellIndexStore` on the ``sell_index`` table."""

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
        for ref in unique(refs):
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
        wanted = unique(e for e in (normalize_email(e) for e in emails) if e is not None)
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
            pattern = like_escape(_json_fragment(wanted))
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

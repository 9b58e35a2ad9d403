"""Sell as leaving it reads it (:class:`sync.migration.ports.MigrationSell`): the archive
readers of :mod:`sync.clients.sell_archive` and the client's custom fields, in the migration's
own small values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sync.clients.sell import SellClient
from sync.clients.sell_archive import COUNTED
from sync.domain import RecordKind, SellCustomField
from sync.errors import ApiError
from sync.migration.rules import Note


class SellMigrationSource:
    """Every lead, contact, organization, note, user and tag of the account of ``client``."""

    def __init__(self, client: SellClient) -> None:
        self._client = client
        self._archive = client.archive()

    def leads(self) -> Iterator[Mapping[str, Any]]:
        return self._archive.leads()

    def contacts(self) -> Iterator[Mapping[str, Any]]:
        return self._archive.contacts()

    def organizations(self) -> Iterator[Mapping[str, Any]]:
        return self._archive.organizations()

    def notes(self) -> Iterator[Note]:
        for note in self._archive.notes():
            yield Note(
                id=note.id,
                resource_type=note.resource_type,
                resource_id=note.resource_id,
                content=note.content,
                creator_id=note.creator_id,
                created_at=note.created_at,
            )

    def users(self) -> list[tuple[int, str]]:
        return [(user.id, user.email) for user in self._archive.users()]

    def counts(self) -> dict[str, int]:
        """What the archive can count. Sell lists documents only per record (its documents
        list requires ``resource_type`` and ``resource_id``), so a collection Sell refuses to
        list account-wide (400) is left out rather than counted wrong."""
        out: dict[str, int] = {}
        for name in COUNTED:
            try:
                out[name] = self._archive.count(name)
            except ApiError as exc:
                if exc.status != 400:
                    raise
        return out

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        return self._client.custom_fields(kind)

"""Sell as leaving it reads it (:class:`sync.migration.ports.MigrationSell`): the archive
readers of :mod:`sync.clients.sell_archive` and the client's custom fields, in the migration's
own small values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sync.clients.sell import SellClient
from sync.domain import RecordKind, SellCustomField
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
        return self._archive.notes()

    def users(self) -> list[tuple[int, str]]:
        return [(user.id, user.email) for user in self._archive.users()]

    def counts(self) -> dict[str, int]:
        """Deals, tasks and calls (documents Sell lists only per record: not counted)."""
        return self._archive.counts()

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        return self._client.custom_fields(kind)

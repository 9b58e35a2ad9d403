"""Sell as leaving it reads it (:class:`sync.migration.ports.MigrationSell`): the archive
readers of :mod:`sync.clients.sell_archive` and the client's custom fields, in the migration's
own small values.

Leads, contacts, organizations and notes are read ahead of the move
(:func:`~sync.clients.read_ahead.read_ahead`, two pages at most): Sell's next page is read while
HubSpot is written, so a move takes about as long as the slower API's rate limit allows rather
than the sum of both."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sync.clients.read_ahead import read_ahead
from sync.clients.sell import SellClient
from sync.domain import RecordKind, SellCustomField
from sync.migration.rules import Note


class SellMigrationSource:
    """Every lead, contact, organization, note, user and tag of the account of ``client``."""

    def __init__(self, client: SellClient) -> None:
        self._client = client
        self._archive = client.archive()

    def leads(self) -> Iterator[Mapping[str, Any]]:
        return read_ahead(self._archive.leads(), name="sell-leads")

    def contacts(self) -> Iterator[Mapping[str, Any]]:
        return read_ahead(self._archive.contacts(), name="sell-contacts")

    def organizations(self) -> Iterator[Mapping[str, Any]]:
        return read_ahead(self._archive.organizations(), name="sell-organizations")

    def notes(self) -> Iterator[Note]:
        return read_ahead(self._archive.notes(), name="sell-notes")

    def users(self) -> list[tuple[int, str]]:
        return [(user.id, user.email) for user in self._archive.users()]

    def counts(self) -> dict[str, int]:
        """Deals, tasks and calls (documents Sell lists only per record: not counted)."""
        return self._archive.counts()

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]:
        return self._client.custom_fields(kind)

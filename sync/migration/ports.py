"""What the migration needs of HubSpot and of Sell, as narrow roles (the clients implement
them; tests may hand in fakes)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sync.domain import PropertyInfo, RecordKind, SellCustomField
from sync.migration.rules import Note, ObjectType, PropertySpec


@dataclass(frozen=True)
class FoundObject:
    """A HubSpot contact, company or note as read back: its id and the properties asked for."""

    id: str
    properties: Mapping[str, str | None]


@dataclass(frozen=True)
class ObjectWrite:
    """One record to write: by ``zendesk_sell_id`` (upsert, ``id`` None) or by its ``id``."""

    key: str
    properties: Mapping[str, str]
    id: str | None = None


@dataclass(frozen=True)
class ObjectWriteResult:
    """HubSpot's answer for one write: the record's ``id``, or HubSpot's ``error``;
    ``duplicate_of`` is the contact already holding the e-mail (409)."""

    key: str
    id: str | None = None
    error: str | None = None
    duplicate_of: str | None = None


class MigrationHubSpot(Protocol):
    """HubSpot as the migration uses it: properties, owners, objects, associations."""

    def token_scopes(self) -> frozenset[str] | None:
        """The scopes the credential holds; None when HubSpot does not tell."""
        ...

    def object_properties(self, object_type: ObjectType) -> dict[str, PropertyInfo]: ...

    def create_property(self, spec: PropertySpec) -> None: ...

    def set_options(self, object_type: ObjectType, name: str, options: Sequence[str]) -> None:
        """Give an enumeration property exactly ``options`` (label = value)."""
        ...

    def owners(self) -> list[tuple[str, str]]:
        """Every owner of the portal as (owner id, e-mail)."""
        ...

    def read_by_key(
        self, object_type: ObjectType, keys: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        """The records carrying these ``zendesk_sell_id`` values, by key."""
        ...

    def read_by_id(
        self, object_type: ObjectType, ids: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]: ...

    def read_by_email(
        self, emails: Sequence[str], properties: Sequence[str]
    ) -> dict[str, FoundObject]:
        """Contacts by e-mail (lower-cased)."""
        ...

    def object_pages(
        self, object_type: ObjectType, properties: Sequence[str]
    ) -> Iterator[list[FoundObject]]:
        """Every record of ``object_type``, a page at a time."""
        ...

    def upsert(
        self, object_type: ObjectType, writes: Sequence[ObjectWrite]
    ) -> list[ObjectWriteResult]:
        """Create or update each by its ``zendesk_sell_id``, 100 a request."""
        ...

    def update(
        self, object_type: ObjectType, writes: Sequence[ObjectWrite]
    ) -> list[ObjectWriteResult]:
        """Update each by its ``id``, 100 a request."""
        ...

    def associate(
        self, from_type: ObjectType, to_type: ObjectType, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str | None]:
        """Associate each (from id, to id) with the default type; an error by pair (None: done).
        Associating a pair twice leaves one association."""
        ...

    def associations(
        self, from_type: ObjectType, to_type: ObjectType, ids: Sequence[str]
    ) -> dict[str, set[str]]:
        """The ``to_type`` ids associated with each of ``ids``."""
        ...


class MigrationSell(Protocol):
    """Everything a Sell account holds, page by page."""

    def leads(self) -> Iterator[Mapping[str, Any]]: ...

    def contacts(self) -> Iterator[Mapping[str, Any]]: ...

    def organizations(self) -> Iterator[Mapping[str, Any]]: ...

    def notes(self) -> Iterator[Note]: ...

    def users(self) -> list[tuple[int, str]]:
        """Every user as (id, e-mail)."""
        ...

    def counts(self) -> dict[str, int]:
        """How many deals, tasks, calls and documents (not moved): those Sell can count."""
        ...

    def custom_fields(self, kind: RecordKind) -> list[SellCustomField]: ...

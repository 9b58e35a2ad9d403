"""The sync settings (S1): one row, written only when a setting is stored, versioned.

Reading never writes. The row appears when the first setting is stored: by the first real sync
(:meth:`SettingsRepository.seed_settings`, the environment's values once the CRM confirmed
them) or by a decided change (:meth:`SettingsRepository.update_settings`). A setting the row
does not hold yet reads as None, so the environment's value still applies to it: ``list_id``
is then empty, and ``threshold`` (a NOT NULL column since the first schema) holds
:data:`UNSET_THRESHOLD`, which no stored threshold can be (they are 0 or more).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from storage import tables as t
from storage.repositories.base import Repository
from sync.ports import CustomMapping, StoredSettings

SETTINGS_ROW_ID = 1

#: The threshold column's value while no threshold is stored (see the module's docstring).
UNSET_THRESHOLD = -1


class SettingsRepository(Repository):
    """:class:`sync.ports.SyncSettingsStore`: the row ``id = 1`` of ``settings``."""

    def stored_settings(self) -> StoredSettings:
        """What is stored; every setting None before anything was stored. Writes nothing."""
        with self._read() as session:
            row = self._settings_row(session)
        return _settings(row)

    def seed_settings(self, *, threshold: int, list_id: str) -> StoredSettings:
        """Store ``threshold`` and ``list_id`` where no value is stored; a stored value stays.

        Seeding does not change the version: the values stored are the ones already in force."""
        with self._write() as session:
            self._ensure_row(session)
            row = self._settings_row(session, for_update=True)
            assert row is not None
            changes: dict[str, Any] = {}
            if row["threshold"] == UNSET_THRESHOLD:
                changes["threshold"] = int(threshold)
            if not row["list_id"] and list_id:
                changes["list_id"] = list_id
            if changes:
                session.execute(
                    sa.update(t.settings)
                    .where(t.settings.c.id == SETTINGS_ROW_ID)
                    .values(**changes, updated_at=self._clock())
                )
                row = self._settings_row(session)
        return _settings(row)

    def update_settings(
        self,
        *,
        threshold: int | None = None,
        list_id: str | None = None,
        custom_mappings: tuple[CustomMapping, ...] | None = None,
    ) -> StoredSettings:
        """Change the given settings (storing them if need be); ``version`` goes up by one
        when anything changed."""
        if threshold is not None and int(threshold) < 0:
            raise ValueError(f"a threshold is 0 or more, not {threshold}")
        with self._write() as session:
            self._ensure_row(session)
            row = self._settings_row(session, for_update=True)
            assert row is not None
            changes: dict[str, Any] = {}
            if threshold is not None and int(threshold) != row["threshold"]:
                changes["threshold"] = int(threshold)
            if list_id is not None and list_id != row["list_id"]:
                changes["list_id"] = list_id
            if custom_mappings is not None:
                mappings = [_mapping_json(m) for m in custom_mappings]
                if mappings != (row["custom_mappings"] or []):
                    changes["custom_mappings"] = mappings
            if changes:
                session.execute(
                    sa.update(t.settings)
                    .where(t.settings.c.id == SETTINGS_ROW_ID)
                    .values(**changes, version=t.settings.c.version + 1, updated_at=self._clock())
                )
                row = self._settings_row(session)
        return _settings(row)

    def _ensure_row(self, session: Session | sa.Connection) -> None:
        """The row, holding nothing yet, unless it exists (two processes may race here)."""
        insert = self._insert(t.settings).values(
            id=SETTINGS_ROW_ID,
            threshold=UNSET_THRESHOLD,
            list_id="",
            custom_mappings=[],
            version=0,
            updated_at=self._clock(),
        )
        session.execute(insert.on_conflict_do_nothing(index_elements=[t.settings.c.id]))

    def _settings_row(
        self, session: Session | sa.Connection, *, for_update: bool = False
    ) -> RowMapping | None:
        query = sa.select(t.settings).where(t.settings.c.id == SETTINGS_ROW_ID)
        if for_update:
            query = query.with_for_update()
        return session.execute(query).mappings().first()


def _settings(row: RowMapping | None) -> StoredSettings:
    if row is None:
        return StoredSettings()
    threshold = row["threshold"]
    return StoredSettings(
        threshold=None if threshold == UNSET_THRESHOLD else threshold,
        list_id=row["list_id"] or None,
        custom_mappings=tuple(
            CustomMapping(hubspot_property=m["hubspot_property"], sell_field=m["sell_field"])
            for m in row["custom_mappings"] or []
        ),
        version=row["version"],
    )


def _mapping_json(mapping: CustomMapping) -> dict[str, str]:
    return {"hubspot_property": mapping.hubspot_property, "sell_field": mapping.sell_field}

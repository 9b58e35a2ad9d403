"""The sync settings (S1): one row, seeded from the environment on first read, versioned."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from storage import tables as t
from storage.repositories.base import Repository
from sync.ports import CustomMapping, SyncSettings

SETTINGS_ROW_ID = 1


class SettingsRepository(Repository):
    """:class:`sync.ports.SyncSettingsStore`: the row ``id = 1`` of ``settings``."""

    def get_settings(self, *, default_threshold: int, default_list_id: str) -> SyncSettings:
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
    ) -> SyncSettings:
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


def _settings(row: RowMapping) -> SyncSettings:
    return SyncSettings(
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

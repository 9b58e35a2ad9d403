"""The sync settings (S1): one row, written only when a setting is stored, versioned.

Reading never writes. The row appears when the first setting is stored: by the first real sync
(:meth:`SettingsRepository.seed_settings`, the environment's values once the CRM confirmed
them) or by a decided change (:meth:`SettingsRepository.update_settings`). A setting the row
does not hold yet reads as None, so the environment's value still applies to it: ``list_id``
is then empty, and ``threshold`` (a NOT NULL column since the first schema) holds
:data:`UNSET_THRESHOLD`, which no stored threshold can be (they are 0 or more).

The other named settings (the bulk limit, a pause …) are one row each in ``setting_values``,
their text as their entry in :mod:`sync.settings_registry` writes it; a change that re-plans
members also bumps the settings row's ``version``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from storage import tables as t
from storage.repositories.base import Repository
from sync.domain import SettingName
from sync.ports import CustomMapping, StoredSettings

SETTINGS_ROW_ID = 1

#: The threshold column's value while no threshold is stored (see the module's docstring).
UNSET_THRESHOLD = -1


class SettingsRepository(Repository):
    """:class:`sync.ports.SyncSettingsStore`: the row ``id = 1`` of ``settings``."""

    def stored_settings(self) -> StoredSettings:
        """What is stored; every setting None before anything was stored. Writes nothing."""
        # one statement (the status board reads it): the row, if any, beside each named value
        one = sa.select(sa.literal(1).label("one")).subquery("one")
        query = sa.select(
            *t.settings.c,
            t.setting_values.c.name.label("value_name"),
            t.setting_values.c.value.label("value_text"),
        ).select_from(
            one.outerjoin(t.settings, t.settings.c.id == SETTINGS_ROW_ID).outerjoin(
                t.setting_values, sa.true()
            )
        )
        with self._read() as session:
            rows = session.execute(query).mappings().all()
        known = {n.value for n in SettingName}
        values = {
            SettingName(r["value_name"]): r["value_text"] for r in rows if r["value_name"] in known
        }
        row = rows[0] if rows and rows[0]["id"] is not None else None
        return _settings(row, values)

    def store_setting(self, name: SettingName, value: str, *, replans: bool) -> StoredSettings:
        """Store one named setting ("" removes it); with ``replans``, a changed value bumps
        ``version`` in the same transaction."""
        now = self._clock()
        with self._write() as session:
            current = self._values(session).get(name)
            if value == (current or ""):
                return _settings(self._settings_row(session), self._values(session))
            if value:
                insert = self._insert(t.setting_values).values(
                    name=name.value, value=value, updated_at=now
                )
                session.execute(
                    insert.on_conflict_do_update(
                        index_elements=[t.setting_values.c.name],
                        set_={"value": value, "updated_at": now},
                    )
                )
            else:
                session.execute(
                    sa.delete(t.setting_values).where(t.setting_values.c.name == name.value)
                )
            if replans:
                self._ensure_row(session)
                session.execute(
                    sa.update(t.settings)
                    .where(t.settings.c.id == SETTINGS_ROW_ID)
                    .values(version=t.settings.c.version + 1, updated_at=now)
                )
            return _settings(self._settings_row(session), self._values(session))

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
            values = self._values(session)
        return _settings(row, values)

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
            values = self._values(session)
        return _settings(row, values)

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

    def _values(self, session: Session | sa.Connection) -> dict[SettingName, str]:
        """The named settings stored; a name this version does not know is left out."""
        rows = session.execute(sa.select(t.setting_values.c.name, t.setting_values.c.value))
        known = {n.value for n in SettingName}
        return {SettingName(name): value for name, value in rows if name in known}


def _settings(row: RowMapping | None, values: dict[SettingName, str]) -> StoredSettings:
    if row is None:
        return StoredSettings(values=values)
    threshold = row["threshold"]
    return StoredSettings(
        threshold=None if threshold == UNSET_THRESHOLD else threshold,
        list_id=row["list_id"] or None,
        custom_mappings=tuple(
            CustomMapping(hubspot_property=m["hubspot_property"], sell_field=m["sell_field"])
            for m in row["custom_mappings"] or []
        ),
        version=row["version"],
        values=values,
    )


def _mapping_json(mapping: CustomMapping) -> dict[str, str]:
    return {"hubspot_property": mapping.hubspot_property, "sell_field": mapping.sell_field}

"""Settings: one row, written only when a setting is stored; reading never writes (S1, S2, S13).

The environment seeds a setting only while none is stored, and only a real sync seeds it
(``seed_settings``); a decided change (``update_settings``) stores the one it changes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage import tables as t
from storage.repositories import SqlStore
from sync.ports import CustomMapping, StoredSettings


def _rows(store: SqlStore) -> int:
    with store._engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(t.settings)).scalar())


def test_reading_the_settings_of_a_fresh_database_stores_nothing(store: SqlStore) -> None:
    assert store.stored_settings() == StoredSettings(None, None, (), 0)
    assert store.stored_settings() == StoredSettings()
    assert _rows(store) == 0


def test_seeding_stores_the_values_once_and_later_seeds_keep_them(store: SqlStore) -> None:
    seeded = store.seed_settings(threshold=40, list_id="123")
    assert seeded == StoredSettings(threshold=40, list_id="123", custom_mappings=(), version=0)
    assert store.seed_settings(threshold=99, list_id="999") == seeded
    assert store.stored_settings() == seeded


def test_update_settings_bumps_the_version_on_every_change(store: SqlStore) -> None:
    store.seed_settings(threshold=40, list_id="123")
    after_threshold = store.update_settings(threshold=55)
    assert (after_threshold.threshold, after_threshold.list_id, after_threshold.version) == (
        55,
        "123",
        1,
    )
    after_list = store.update_settings(list_id="777")
    assert (after_list.threshold, after_list.list_id, after_list.version) == (55, "777", 2)
    assert store.stored_settings() == after_list


def test_update_settings_without_a_change_keeps_the_version(store: SqlStore) -> None:
    store.seed_settings(threshold=40, list_id="123")
    assert store.update_settings(threshold=40, list_id="123").version == 0
    assert store.update_settings().version == 0


def test_custom_mappings_round_trip_in_order(store: SqlStore) -> None:
    store.seed_settings(threshold=0, list_id="1")
    mappings = (
        CustomMapping(hubspot_property="favourite_colour", sell_field="Favourite colour"),
        CustomMapping(hubspot_property="plan", sell_field="Plan (ñ)"),
    )
    updated = store.update_settings(custom_mappings=mappings)
    assert updated.custom_mappings == mappings
    assert updated.version == 1
    assert store.stored_settings().custom_mappings == mappings
    assert store.update_settings(custom_mappings=mappings).version == 1
    assert store.update_settings(custom_mappings=()).custom_mappings == ()


def test_a_change_before_any_seed_stores_only_that_setting(store: SqlStore) -> None:
    """A threshold set before the first sync leaves the list unstored: the first real sync
    then stores the environment's list, and keeps the threshold that was set."""
    changed = store.update_settings(threshold=70)
    assert changed == StoredSettings(threshold=70, list_id=None, version=1)
    seeded = store.seed_settings(threshold=5, list_id="123")
    assert seeded == StoredSettings(threshold=70, list_id="123", version=1)


def test_a_mapping_before_any_seed_stores_neither_threshold_nor_list(store: SqlStore) -> None:
    mapping = (CustomMapping("plan", "Plan"),)
    assert store.update_settings(custom_mappings=mapping) == StoredSettings(
        threshold=None, list_id=None, custom_mappings=mapping, version=1
    )
    assert store.seed_settings(threshold=0, list_id="9") == StoredSettings(
        threshold=0, list_id="9", custom_mappings=mapping, version=1
    )


def test_a_negative_threshold_is_refused(store: SqlStore) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        store.update_settings(threshold=-1)
    assert store.stored_settings() == StoredSettings()

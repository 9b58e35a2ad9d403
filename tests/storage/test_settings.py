"""Settings: one row, seeded from config, then the stored values win (S1, S2, S13)."""

from __future__ import annotations

import pytest

from storage.repositories import SqlStore
from sync.ports import CustomMapping, SyncSettings


def test_first_get_settings_stores_the_config_defaults(store: SqlStore) -> None:
    settings = store.get_settings(default_threshold=40, default_list_id="123")
    assert settings == SyncSettings(threshold=40, list_id="123", custom_mappings=(), version=0)


def test_stored_settings_win_over_later_defaults(store: SqlStore) -> None:
    store.get_settings(default_threshold=40, default_list_id="123")
    assert store.get_settings(default_threshold=99, default_list_id="999") == SyncSettings(
        threshold=40, list_id="123", version=0
    )


def test_update_settings_bumps_the_version_on_every_change(store: SqlStore) -> None:
    store.get_settings(default_threshold=40, default_list_id="123")
    after_threshold = store.update_settings(threshold=55)
    assert (after_threshold.threshold, after_threshold.list_id, after_threshold.version) == (
        55,
        "123",
        1,
    )
    after_list = store.update_settings(list_id="777")
    assert (after_list.threshold, after_list.list_id, after_list.version) == (55, "777", 2)
    assert store.get_settings(default_threshold=0, default_list_id="x") == after_list


def test_update_settings_without_a_change_keeps_the_version(store: SqlStore) -> None:
    store.get_settings(default_threshold=40, default_list_id="123")
    assert store.update_settings(threshold=40, list_id="123").version == 0
    assert store.update_settings().version == 0


def test_custom_mappings_round_trip_in_order(store: SqlStore) -> None:
    store.get_settings(default_threshold=0, default_list_id="1")
    mappings = (
        CustomMapping(hubspot_property="favourite_colour", sell_field="Favourite colour"),
        CustomMapping(hubspot_property="plan", sell_field="Plan (ñ)"),
    )
    updated = store.update_settings(custom_mappings=mappings)
    assert updated.custom_mappings == mappings
    assert updated.version == 1
    assert store.get_settings(default_threshold=0, default_list_id="1").custom_mappings == mappings
    assert store.update_settings(custom_mappings=mappings).version == 1
    assert store.update_settings(custom_mappings=()).custom_mappings == ()


def test_update_settings_before_they_exist_is_refused(store: SqlStore) -> None:
    with pytest.raises(LookupError, match="get_settings"):
        store.update_settings(threshold=1)

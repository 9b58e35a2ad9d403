"""The named settings beyond the threshold and the list, stored through their registry entry:
one row each; a change that re-plans (the bulk limit) bumps the settings version, a pause does
not; a resume removes the pause; the status board still reads the settings in one statement."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.repositories import SqlStore
from sync.config import EngineConfig
from sync.domain import SettingName
from sync.ports import StoredSettings
from sync.settings_registry import BULK_LIMIT, PAUSE, THRESHOLD, Change, paused

AT = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
CONFIG = EngineConfig(default_threshold=40, default_list_id="7", bulk_limit=100)


def test_a_pause_is_stored_with_who_and_why_without_a_new_version(store: SqlStore) -> None:
    store.seed_settings(threshold=40, list_id="7")
    change = Change("U_REP", "CRM migration tonight", AT, approved_by="U_MGR")
    after = PAUSE.apply(store, True, change)
    assert after.version == 0  # a pause re-plans nobody
    pause = paused(CONFIG.settings_over(store.stored_settings()))
    assert pause is not None
    assert (pause.by, pause.approved_by, pause.reason, pause.at) == (
        "U_REP",
        "U_MGR",
        "CRM migration tonight",
        AT,
    )
    resumed = PAUSE.apply(store, False, change)
    assert paused(CONFIG.settings_over(resumed)) is None
    assert resumed == StoredSettings(threshold=40, list_id="7", version=0)


def test_a_bulk_limit_is_stored_by_name_and_re_plans(store: SqlStore) -> None:
    change = Change("cli", "fewer at once", AT)
    after = BULK_LIMIT.apply(store, 5, change)
    assert after == StoredSettings(values={SettingName.BULK_LIMIT: "5"}, version=1)
    assert BULK_LIMIT.in_force(CONFIG.settings_over(after), CONFIG) == 5
    assert BULK_LIMIT.apply(store, 5, change).version == 1  # the same value: nothing changes
    assert BULK_LIMIT.apply(store, 7, change).version == 2
    after = THRESHOLD.apply(store, 60, change)  # the row's settings keep the named ones
    assert (after.threshold, after.values, after.version) == (
        60,
        {SettingName.BULK_LIMIT: "7"},
        3,
    )
    assert store.stored_settings() == after

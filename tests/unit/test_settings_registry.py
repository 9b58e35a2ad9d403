"""The registry of approvable settings: every setting name has one entry, and each entry parses
what a person types (or refuses it in one line), words a request, names its variable and says
whether a change evaluates every member again."""

from __future__ import annotations

import pytest

from bot.settings_text import how_to
from sync.config import EngineConfig
from sync.domain import HubSpotList, SettingName
from sync.errors import ApiError, Refused
from sync.ports import StoredSettings
from sync.settings_registry import (
    BULK_LIMIT,
    LIST_ID,
    PAUSE,
    REGISTRY,
    THRESHOLD,
    HowToSet,
    entry,
    needs_crm,
    paused,
)


class Lists:
    """HubSpot's lists as a setting's validation sees them: these ids exist, others are 404."""

    def __init__(self, *ids: str) -> None:
        self.ids = set(ids)

    def get_list(self, list_id: str) -> HubSpotList:
        if list_id not in self.ids:
            raise ApiError("HubSpot", f"list {list_id} not found", 404)
        return HubSpotList(id=list_id, name=f"List {list_id}", processing_type="MANUAL")


def test_every_setting_name_has_one_entry_with_its_own_name_and_word() -> None:
    assert set(REGISTRY) == set(SettingName)
    for name, kind in REGISTRY.items():
        assert kind.name is name
        assert entry(name) is kind and entry(kind.command) is kind and entry(name.value) is kind
    assert len({k.command for k in REGISTRY.values()}) == len(REGISTRY)


@pytest.mark.parametrize(
    ("name", "typed", "value", "shown"),
    [
        (SettingName.THRESHOLD, " 50 ", 50, "50"),
        (SettingName.LIST_ID, "123", "123", "123"),
        (SettingName.BULK_LIMIT, "250", 250, "250"),
        (SettingName.BULK_LIMIT, "0", 0, "0"),
        (SettingName.PAUSE, "on", True, "on"),
        (SettingName.PAUSE, "OFF", False, "off"),
        (SettingName.PAUSE, "resume", False, "off"),
    ],
)
def test_each_entry_parses_what_a_person_types(
    name: SettingName, typed: str, value: object, shown: str
) -> None:
    kind = REGISTRY[name]
    assert kind.parse(typed) == value
    assert kind.text(kind.parse(typed)) == shown


@pytest.mark.parametrize(
    ("name", "typed", "reason"),
    [
        (SettingName.THRESHOLD, "-3", "threshold must be a whole number"),
        (SettingName.THRESHOLD, "٥٠", "threshold must be a whole number"),
        (SettingName.LIST_ID, "abc", "a HubSpot list id is a number"),
        (SettingName.BULK_LIMIT, "lots", "the bulk limit is a whole number"),
        (SettingName.BULK_LIMIT, "2000000", "the bulk limit is a whole number"),
        (SettingName.PAUSE, "maybe", "pause is on or off"),
    ],
)
def test_each_entry_refuses_bad_input_in_one_line(
    name: SettingName, typed: str, reason: str
) -> None:
    with pytest.raises(Refused, match=reason) as refused:
        REGISTRY[name].parse(typed)
    assert "\n" not in str(refused.value)


def test_an_unknown_setting_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(Refused, match="unknown setting 'colour': use threshold, list"):
        entry("colour")


def test_the_list_must_exist_in_hubspot_and_other_settings_ask_nothing() -> None:
    LIST_ID.validate("7", Lists("7"))
    with pytest.raises(Refused, match=r"HubSpot has no list 8 \(not found\); nothing changed"):
        LIST_ID.validate("8", Lists("7"))
    for kind in (THRESHOLD, BULK_LIMIT, PAUSE):
        kind.validate(kind.parse("1" if kind is not PAUSE else "on"), Lists())


def test_each_entry_has_its_label_variable_and_request_wording() -> None:
    assert [(k.label, k.variable, k.replans) for k in REGISTRY.values()] == [
        ("engagement-score threshold", "SYNC_THRESHOLD", True),
        ("synced HubSpot list", "HUBSPOT_LIST_ID", True),
        ("bulk limit", "SYNC_BULK_LIMIT", True),
        ("pause", None, False),
        ("Sell mode", None, True),
        ("migration to HubSpot", None, False),
    ]
    assert [(k.command, k.needs_crm, k.shows_impact) for k in REGISTRY.values()] == [
        ("threshold", False, True),
        ("list", True, False),
        ("bulk_limit", False, False),
        ("pause", False, False),
        ("sell_mode", False, False),
        ("migration", False, False),
    ]
    assert needs_crm("list_id") and needs_crm(" LIST ") and not needs_crm("threshold")
    assert not needs_crm("colour")
    assert THRESHOLD.request_words("40", "50") == (
        "change the engagement-score threshold from 40 to 50"
    )
    assert BULK_LIMIT.request_words("100", "500", show=lambda v: f"`{v}`") == (
        "change the bulk limit from `100` to `500`"
    )
    assert PAUSE.request_words("off", "on") == "pause the sync"
    assert PAUSE.request_words("on", "off") == "resume the sync"
    assert THRESHOLD.how_to_set("77") == HowToSet("threshold", "77", "threshold 77")
    assert BULK_LIMIT.how_to_set("5") == HowToSet("bulk_limit", "5", None)
    assert PAUSE.how_to_set("off") == HowToSet("pause", "off", "resume")
    assert PAUSE.how_to_set("on") == HowToSet("pause", "on", "pause [reason]")
    # the bot words them: the core names no command of either surface
    assert how_to(THRESHOLD.how_to_set("77")) == (
        "`sellsync settings set threshold 77 --reason …` or /sellsync threshold 77"
    )
    assert how_to(BULK_LIMIT.how_to_set("5")) == "`sellsync settings set bulk_limit 5 --reason …`"


def test_values_in_force_come_from_the_store_else_the_environment() -> None:
    config = EngineConfig(default_threshold=40, default_list_id="7", bulk_limit=100)
    nothing = config.settings_over(StoredSettings())
    assert [k.in_force(nothing, config) for k in REGISTRY.values()] == [
        40,
        "7",
        100,
        False,
        "active",
        "idle",
    ]
    assert [k.stored(StoredSettings()) for k in REGISTRY.values()] == [None] * 6
    assert [k.environment(config) for k in REGISTRY.values()] == [40, "7", 100, None, None, None]
    stored = StoredSettings(
        threshold=60, list_id="9", values={SettingName.BULK_LIMIT: "5"}, version=3
    )
    in_force = config.settings_over(stored)
    assert [k.in_force(in_force, config) for k in REGISTRY.values()] == [
        60,
        "9",
        5,
        False,
        "active",
        "idle",
    ]
    assert paused(in_force) is None

"""The approved settings through the service: reading stores nothing, a real run stores what
it ran with, a request approved in Slack and a change from the command line are each named
as such when the environment differs, and both are in the summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import action_ids as ids
from bot.settings_text import difference_lines
from sync.ports import StoredSettings
from sync.service import CLI_ACTOR, Actor, ChangeKind, Refused, SettingChange
from tests.conftest import LIST_ID, make_world
from tests.scenario.conftest import APPROVALS, MANAGER, REP, Bot, button_value


def test_status_the_impact_table_and_a_dry_run_store_nothing(tmp_path: Path) -> None:
    w = make_world(tmp_path, threshold=50)
    w.member(80, email="a@x.com", lastname="A")
    w.service.status()
    w.service.threshold_impact(60)
    w.service.settings_view()
    w.clock.tick(60)
    assert w.engine.run(trigger="test", dry_run=True).failure is None
    assert w.store.stored_settings() == StoredSettings()
    w.sync()
    assert w.store.stored_settings() == StoredSettings(threshold=50, list_id=LIST_ID)
    w.store.close()


def test_a_threshold_approved_in_slack_is_named_as_such_where_the_environment_differs(
    bot: Bot,
) -> None:
    bot.command("threshold 60 more leads please", user=REP).reply()
    message = bot.sent("chat.postMessage", channel=APPROVALS)[-1]
    value = button_value(message["blocks"], ids.APPROVE)
    bot.click(ids.APPROVE, value, user=MANAGER, message={"ts": message["ts"], "channel": APPROVALS})
    assert bot.world.store.stored_settings().threshold == 60
    # the environment still says 50 (SYNC_THRESHOLD of the world's configuration)
    assert difference_lines(bot.world.service.settings_differences()) == [
        "threshold: stored 60 (approved in Slack) differs from SYNC_THRESHOLD=50; the stored "
        "value wins — change it with `sellsync settings set threshold 50 --reason …` or "
        "/sellsync threshold 50"
    ]


def test_a_change_from_the_command_line_is_in_the_summary(tmp_path: Path) -> None:
    w = make_world(tmp_path, threshold=50)
    change = w.service.change_setting("threshold", "70", actor=CLI_ACTOR, reason="warmer")
    assert (change.old, change.new, change.version) == ("50", "70", 1)
    summary = w.service.summary_since(None)
    assert summary.setting_changes == [
        SettingChange(ChangeKind.SETTING, "threshold=70", approved_by="cli")
    ]
    w.store.close()


def test_a_list_id_in_other_digits_is_refused_in_slack_as_on_the_command_line(
    tmp_path: Path,
) -> None:
    w = make_world(tmp_path)
    for change in (
        lambda: w.service.request_change("list_id", "١٢٣", actor=Actor("U1", is_manager=True)),
        lambda: w.service.change_setting("list", "١٢٣", actor=CLI_ACTOR, reason="r"),
    ):
        with pytest.raises(Refused, match="a HubSpot list id is a number"):
            change()
    assert w.store.stored_settings() == StoredSettings()
    w.store.close()

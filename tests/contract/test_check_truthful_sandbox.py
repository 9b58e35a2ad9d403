"""``sellsync check`` says what it did and what it could not do: checks a wrong token kept from
running are shown as skipped, the database line says migrated only when it migrated, a stored
list is named as the stored one, and ``serve``/``worker`` stop at start for a refused CRM token
only on an install that never ran a sync."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.check import render, run_check, startup_check
from sandbox.server import Sandbox
from storage.db import alembic_config, downgrade, head_revision, open_store
from sync.errors import ConfigError
from tests.contract.check_env import WRONG_SELL_TOKEN, settings_for

WRONG_HUBSPOT_TOKEN = "pat-na1-00000000-0000-0000-0000-000000000000"


def test_a_refused_hubspot_token_shows_the_hubspot_checks_it_kept_from_running(
    sb: Sandbox, tmp_path: Path
) -> None:
    list_id = sb.hubspot.demo_list_id
    text = render(run_check(settings_for(sb, tmp_path, HUBSPOT_ACCESS_TOKEN=WRONG_HUBSPOT_TOKEN)))
    lines = text.splitlines()
    assert (
        "✗ HubSpot token: HubSpot refused the token (401): set HUBSPOT_ACCESS_TOKEN to a valid token"
        in lines
    )
    assert f"– HubSpot list {list_id}: skipped (needs a valid HUBSPOT_ACCESS_TOKEN)" in lines
    assert '– score property "hubspotscore": skipped (needs a valid HUBSPOT_ACCESS_TOKEN)' in lines
    assert lines[-1] == f"1 of {len(lines) - 3} checks failed, 2 skipped"


def test_a_refused_sell_token_shows_the_sell_checks_it_kept_from_running(
    sb: Sandbox, tmp_path: Path
) -> None:
    lines = render(
        run_check(settings_for(sb, tmp_path, SELL_ACCESS_TOKEN=WRONG_SELL_TOKEN))
    ).splitlines()
    assert "– Sell custom fields: skipped (needs a valid SELL_ACCESS_TOKEN)" in lines
    assert lines[-1].endswith("checks failed, 1 skipped")


def test_an_unset_token_and_a_refused_slack_token_show_what_they_kept_from_running(
    sb: Sandbox, tmp_path: Path
) -> None:
    sb.slack.inject("401")  # auth.test: invalid_auth
    settings = settings_for(sb, tmp_path)
    settings.hubspot_access_token = None
    lines = render(run_check(settings)).splitlines()
    assert "✗ HubSpot token: set HUBSPOT_ACCESS_TOKEN" in lines
    list_id = sb.hubspot.demo_list_id
    assert f"– HubSpot list {list_id}: skipped (needs HUBSPOT_ACCESS_TOKEN to be set)" in lines
    assert "– summary channel C0SALESOPS: skipped (needs a valid SLACK_BOT_TOKEN)" in lines
    assert any(line.startswith("– manager group") for line in lines)


def test_the_database_line_says_migrated_only_when_it_migrated(sb: Sandbox, tmp_path: Path) -> None:
    settings = settings_for(sb, tmp_path)
    head = head_revision()
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(previous, str)

    def database_line() -> str:
        return render(run_check(settings)).splitlines()[0]

    assert database_line() == f"✓ database at {head} (created)"
    assert database_line() == f"✓ database at {head}"
    downgrade(settings.database_url, previous)
    assert database_line() == f"✓ database at {head} (migrated from {previous})"
    assert database_line() == f"✓ database at {head}"


def test_a_stored_list_is_checked_and_named_as_the_stored_one(sb: Sandbox, tmp_path: Path) -> None:
    settings = settings_for(sb, tmp_path)
    with open_store(settings.database_url) as store:
        store.seed_settings(threshold=0, list_id="424242")  # a list deleted since
    lines = render(run_check(settings)).splitlines()
    line = next(x for x in lines if x.startswith("✗ HubSpot list"))
    assert line.startswith("✗ HubSpot list 424242 (the stored list; it wins over HUBSPOT_LIST_ID)")
    assert "sellsync settings set list ID --reason" in line and "set HUBSPOT_LIST_ID" not in line


def test_a_refused_crm_token_stops_the_start_only_of_an_install_that_never_ran(
    sb: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sellsync.check")
    for variable, wrong in (
        ("HUBSPOT_ACCESS_TOKEN", WRONG_HUBSPOT_TOKEN),
        ("SELL_ACCESS_TOKEN", WRONG_SELL_TOKEN),
    ):
        settings = settings_for(sb, tmp_path, **{variable: wrong})
        with pytest.raises(ConfigError) as refused:
            startup_check(settings, ran_before=False)
        assert refused.value.variable == variable
        caplog.clear()
        startup_check(settings, ran_before=True)  # starts: the runs alert and retry
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert errors == [
            f"check: {variable} is refused, but syncs succeeded before: starting anyway; each "
            "scheduled sync retries it, the summary channel is alerted once, and the bot "
            "recovers by itself when the token is fixed"
        ]
    with pytest.raises(ConfigError) as refused:  # anything else certainly wrong still stops
        startup_check(settings_for(sb, tmp_path, HUBSPOT_LIST_ID="424242"), ran_before=True)
    assert refused.value.variable == "HUBSPOT_LIST_ID"

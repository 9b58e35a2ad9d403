"""Logs for operators (issue 10): LOG_LEVEL, LOG_FORMAT=json, secrets scrubbed, no Bolt noise."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

import bot.cli as cli
import bot.cli_services as cli_services
from bot.app import create_app
from bot.settings import AppSettings
from bot.wiring import configure_logging
from tests.conftest import World

TOKEN = "pat-na1-secret-0123456789"


def settings(**values: object) -> AppSettings:
    return AppSettings(_env_file=None, hubspot_access_token=TOKEN, **values)  # type: ignore[call-arg]


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def captured(
    monkeypatch: pytest.MonkeyPatch, log_settings: AppSettings, default: str
) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)  # the handler binds sys.stderr when it is made
    configure_logging(log_settings, default)
    return stream


def test_log_format_json_writes_one_object_a_line_without_secrets(
    monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    stream = captured(monkeypatch, settings(log_format="JSON"), "INFO")
    logging.getLogger("sellsync.test").info("calling HubSpot with %s", TOKEN)
    logging.getLogger("sellsync.test").debug("not shown at INFO")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["level"] == "INFO" and record["logger"] == "sellsync.test"
    assert record["message"] == "calling HubSpot with ***" and "time" in record
    assert TOKEN not in stream.getvalue()


def test_log_level_overrides_the_command_default(
    monkeypatch: pytest.MonkeyPatch, root_logging: None
) -> None:
    stream = captured(monkeypatch, settings(log_level="debug"), "WARNING")
    logging.getLogger("sellsync.test").debug("details")
    assert "DEBUG sellsync.test: details" in stream.getvalue()
    stream = captured(monkeypatch, settings(), "WARNING")
    logging.getLogger("sellsync.test").info("chatter")
    assert stream.getvalue() == ""


@pytest.mark.parametrize(("variable", "value"), [("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml")])
def test_a_bad_log_setting_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: object,
    variable: str,
    value: str,
) -> None:
    monkeypatch.chdir(str(tmp_path))
    monkeypatch.setattr(cli_services, "_SETTINGS", None)
    monkeypatch.setenv(variable, value)
    assert cli.main(["conflicts"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"sellsync: configuration error: {variable} is invalid")
    assert len(err.strip().splitlines()) == 1


def test_no_spurious_bolt_token_warning_in_the_normal_setup(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = "xoxb-111-222-normal-setup"
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)  # Bolt reads it from the environment itself
    app_settings = AppSettings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=token,
        slack_signing_secret="0123456789abcdef",
    )
    with caplog.at_level(logging.INFO):
        create_app(app_settings, world.service)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []

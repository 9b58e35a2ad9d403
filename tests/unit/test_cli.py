"""The command line's configuration errors and exit codes (SPEC §4), without any API call."""

from __future__ import annotations

import pytest

import bot.cli as cli

SYNC_ENV = {
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-0123456789",
    "HUBSPOT_LIST_ID": "7",
    "SELL_ACCESS_TOKEN": "s" * 64,
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in (*SYNC_ENV, "DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET",
                 "SLACK_APP_TOKEN", "SELL_IMPORT_AS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(str(tmp_path))  # no stray .env, no sellsync.db left behind
    monkeypatch.setattr(cli, "_SETTINGS", None)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "HUBSPOT_ACCESS_TOKEN is not set"),
        ({**SYNC_ENV, "HUBSPOT_LIST_ID": ""}, "HUBSPOT_LIST_ID is not set"),
        ({**SYNC_ENV, "SELL_ACCESS_TOKEN": "changeme"}, "SELL_ACCESS_TOKEN is a placeholder"),
        (
            {**SYNC_ENV, "HUBSPOT_ACCESS_TOKEN": "your-token"},
            "HUBSPOT_ACCESS_TOKEN is a placeholder",
        ),
        ({**SYNC_ENV, "SELL_ACCESS_TOKEN": "<sell token>"}, "SELL_ACCESS_TOKEN is a placeholder"),
        ({**SYNC_ENV, "SELL_IMPORT_AS": "deal"}, "SELL_IMPORT_AS is invalid"),
        ({**SYNC_ENV, "DATABASE_URL": "mysql://u@h/db"}, "DATABASE_URL names a mysql database"),
        ({**SYNC_ENV, "DATABASE_URL": "postgresql://u@h:54x2/db"}, "DATABASE_URL is invalid"),
        ({**SYNC_ENV, "HUBSPOT_BASE_URL": "api.hubapi.com"}, "HUBSPOT_BASE_URL is invalid"),
        ({**SYNC_ENV, "SELL_BASE_URL": "http://:8102"}, "SELL_BASE_URL is invalid"),
        ({**SYNC_ENV, "SYNC_THRESHOLD": "-5"}, "SYNC_THRESHOLD is invalid"),
        (
            {**SYNC_ENV, "HUBSPOT_ACCESS_TOKEN": "pat-na1-your-token"},
            "HUBSPOT_ACCESS_TOKEN is a placeholder",
        ),
    ],
)
def test_configuration_errors_exit_2_with_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str],
    message: str,
) -> None:  # fmt: skip
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, err = run(capsys, "sync")
    assert code == 2
    assert err.startswith("sellsync: configuration error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for secret in SYNC_ENV.values():
        assert secret not in err


def test_serve_needs_slack_settings_but_sync_does_not(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in SYNC_ENV.items():
        monkeypatch.setenv(key, value)
    code, err = run(capsys, "serve")
    assert code == 2 and "SLACK_BOT_TOKEN is not set" in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-your-token")
    monkeypatch.setattr(cli, "_SETTINGS", None)
    code, err = run(capsys, "serve")
    assert code == 2 and "SLACK_BOT_TOKEN is a placeholder" in err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123456789")
    monkeypatch.setattr(cli, "_SETTINGS", None)  # a new process reads the environment again
    code, err = run(capsys, "serve")
    assert code == 2 and "SLACK_SIGNING_SECRET is not set" in err


@pytest.mark.parametrize(
    "argv",
    [["bogus"], ["sync", "--nope"], ["push"], ["fields", "map", "only-one"], ["db", "down"]],
)
def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        code, _ = run(capsys, *argv)
        raise SystemExit(code)
    assert exited.value.code == 2


def test_db_upgrade_on_the_default_sqlite(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["db", "upgrade"]) == 0
    assert "database at revision" in capsys.readouterr().out

"""``sellsync check`` flags the sandbox's published credentials aimed at the real services
(issue 14 item 9): with the sandbox's signing secret anyone can sign a Slack request, so ``serve``
refuses to start with it; the sandbox itself keeps passing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.check import render, run_check, startup_check
from bot.settings import AppSettings
from sandbox import server as sandbox_server
from sync.errors import ConfigError
from sync.preflight import SANDBOX_CREDENTIALS


def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **values: Any) -> AppSettings:
    for name in AppSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    values.setdefault("database_url", f"sqlite:///{tmp_path / 'check.db'}")
    return AppSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_sandbox_signing_secret_for_real_slack_is_flagged_and_stops_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = settings(
        tmp_path, monkeypatch, slack_signing_secret=sandbox_server.DEFAULT_SIGNING_SECRET
    )
    findings = run_check(chosen)
    (published,) = [f for f in findings if f.key == "secrets.published"]
    assert published.fatal and published.variable == "SLACK_SIGNING_SECRET"
    text = render(findings)
    assert (
        "✗ credentials: SLACK_SIGNING_SECRET is the sandbox's published value, which anyone can "
        "use: set the real one" in text
    )
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        startup_check(chosen)


def test_sandbox_tokens_sent_to_the_real_crms_are_flagged_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = settings(
        tmp_path,
        monkeypatch,
        hubspot_base_url="http://127.0.0.1:9",  # nothing listens: the token check fails fast
        hubspot_access_token=sandbox_server.DEFAULT_HUBSPOT_TOKEN,
        sell_base_url="https://api.getbase.com.invalid",  # not Sell's host: not flagged
        sell_access_token=sandbox_server.DEFAULT_SELL_TOKEN,
        slack_bot_token=sandbox_server.DEFAULT_SLACK_TOKEN,
        slack_api_url="http://127.0.0.1:9/api/",
    )
    assert [f for f in run_check(chosen) if f.key == "secrets.published"] == []
    real = settings(
        tmp_path,
        monkeypatch,
        sell_base_url="https://api.getbase.com.invalid",
        hubspot_base_url="https://api.hubapi.com",
        hubspot_access_token=sandbox_server.DEFAULT_HUBSPOT_TOKEN,
    )
    from bot.check import _aimed_at_real_services
    from sync.preflight import check_published_credentials

    found = check_published_credentials(_aimed_at_real_services(real))
    assert found is not None and found.facts["names"] == ["HUBSPOT_ACCESS_TOKEN"]
    assert not found.fatal


def test_the_published_credentials_are_the_sandboxs() -> None:
    assert SANDBOX_CREDENTIALS == {
        "SLACK_SIGNING_SECRET": sandbox_server.DEFAULT_SIGNING_SECRET,
        "SLACK_BOT_TOKEN": sandbox_server.DEFAULT_SLACK_TOKEN,
        "HUBSPOT_ACCESS_TOKEN": sandbox_server.DEFAULT_HUBSPOT_TOKEN,
        "SELL_ACCESS_TOKEN": sandbox_server.DEFAULT_SELL_TOKEN,
    }

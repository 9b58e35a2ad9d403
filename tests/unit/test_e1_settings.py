"""HUBSPOT_CLIENT_SECRET and PUBLIC_URL: a bad PUBLIC_URL is a one-line setting error, the
secret is a secret (scrubbed from logs, never shown), a placeholder secret stops serve."""

from __future__ import annotations

import pytest

from bot.hubspot_webhooks import webhook_options
from bot.settings import AppSettings, load_settings
from sync.api import ConfigError

SECRET = "3f1e0c52-8a4b-4d0e-9c61-0b7a2f5d9e11"


@pytest.mark.parametrize(
    "value",
    ["ftp://sellsync.example.com", "sellsync.example.com", "https://", "https://x.example/?a=1"],
)
def test_e1_a_bad_public_url_is_one_setting_error(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUBLIC_URL", value)
    with pytest.raises(ConfigError) as refused:
        load_settings()
    assert refused.value.variable == "PUBLIC_URL"
    assert "\n" not in str(refused.value)


def test_e1_public_url_is_kept_without_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", " https://crm.example.com/sellsync/ ")
    assert load_settings().public_url == "https://crm.example.com/sellsync"
    monkeypatch.setenv("PUBLIC_URL", "")
    assert load_settings().public_url is None


def test_e1_the_client_secret_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", SECRET)
    settings = load_settings()
    assert SECRET in settings.secrets()  # scrubbed from every log line and message
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())
    assert webhook_options(settings) == SECRET


@pytest.mark.parametrize("placeholder", ["changeme", "your-client-secret", "<secret>"])
def test_e1_a_placeholder_client_secret_stops_serve(placeholder: str) -> None:
    settings = AppSettings(hubspot_client_secret=placeholder, _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ConfigError) as refused:
        webhook_options(settings)
    assert refused.value.variable == "HUBSPOT_CLIENT_SECRET"
    assert placeholder not in str(refused.value)


def test_e1_without_a_client_secret_webhooks_are_off() -> None:
    assert webhook_options(AppSettings(_env_file=None)) is None  # type: ignore[call-arg]
    blank = AppSettings(hubspot_client_secret="  ", _env_file=None)  # type: ignore[call-arg]
    assert webhook_options(blank) is None


def test_e1_a_blank_client_secret_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """``HUBSPOT_CLIENT_SECRET=`` (as .env.example has it) means no webhooks, for the route and
    for the worker alike (which then polls HubSpot's changes)."""
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", "")
    assert load_settings().hubspot_client_secret is None
    monkeypatch.setenv("HUBSPOT_CLIENT_SECRET", f"  {SECRET} ")
    settings = load_settings()
    assert settings.hubspot_client_secret is not None
    assert settings.hubspot_client_secret.get_secret_value() == SECRET

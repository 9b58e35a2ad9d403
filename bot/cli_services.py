"""The command line's settings, read once per process, and the services built from them.

Every command reads the environment (and ``.env``) through :func:`settings` so a configuration
error surfaces once, as one line; :func:`scrub_text` hides the configured secrets (and anything
token-shaped) in whatever the command line prints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.settings import AppSettings, load_settings
from sync.api import ConfigError, scrub

if TYPE_CHECKING:
    from bot.wiring import Services

_SETTINGS: AppSettings | None = None


def settings() -> AppSettings:
    global _SETTINGS
    if _SETTINGS is None:
        _SETTINGS = load_settings()
    return _SETTINGS


def scrub_text(text: str) -> str:
    try:
        secrets = settings().secrets()
    except ConfigError:
        secrets = []  # token-shaped text is still hidden
    return scrub(text, secrets)


def services(log_level: str = "WARNING") -> Services:
    """Clients, store and service; one-shot commands log warnings only unless LOG_LEVEL says
    otherwise (their output is the answer), long-running ones pass INFO."""
    from bot.wiring import build_services, configure_logging

    current = settings()
    configure_logging(current, log_level)
    return build_services(current)


def database_services() -> Services:
    """For commands that only read stored state: no API token needed."""
    from bot.wiring import build_database_services, configure_logging

    current = settings()
    configure_logging(current, "WARNING")
    return build_database_services(current)


def hubspot_services() -> Services:
    """For commands that need HubSpot and the database, not Sell (``settings set list``)."""
    from bot.wiring import build_hubspot_services, configure_logging

    current = settings()
    configure_logging(current, "WARNING")
    return build_hubspot_services(current)

"""The composition root: settings in, a ready SyncService (clients, store, engine) out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from pythonjsonlogger.json import JsonFormatter

from bot.new_leads import new_leads_notifier
from bot.settings import SYNC_VARIABLES, AppSettings
from storage.db import open_store
from storage.repositories import SqlStore
from sync.api import (
    ConfigError,
    Engine,
    EngineConfig,
    HubSpotClient,
    HubSpotLimits,
    HubSpotSession,
    SellClient,
    SyncService,
    scrub,
)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SecretFilter(logging.Filter):
    """Replaces every configured secret in log records with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = list(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub(message, self.secrets)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_formatter(log_format: str) -> logging.Formatter:
    """``LOG_FORMAT``: ``text`` for people, ``json`` (one object a line) for log collectors."""
    if log_format == "json":
        return JsonFormatter(
            JSON_FIELDS,
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )
    return logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: AppSettings, default_level: str = "INFO") -> None:
    """One handler on stderr, at ``LOG_LEVEL`` (else ``default_level``: one-shot commands pass
    WARNING so that their output is the answer, not the log), in ``LOG_FORMAT``, with every
    configured secret replaced by ``***``."""
    handler = logging.StreamHandler()
    handler.setFormatter(log_formatter(settings.log_format))
    handler.addFilter(SecretFilter(settings.secrets()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level or default_level)
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler.executors",
        "apscheduler.scheduler",
        "uvicorn.access",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def engine_config(settings: AppSettings) -> EngineConfig:
    return EngineConfig(
        # None when SYNC_THRESHOLD is not set: only a value someone set differs from a stored one
        default_threshold=(
            settings.sync_threshold if "sync_threshold" in settings.model_fields_set else None
        ),
        default_list_id=settings.hubspot_list_id or "",
        score_property=settings.hubspot_score_property,
        import_as=settings.sell_import_as,
        lock_ttl_seconds=settings.sync_lock_ttl_seconds,
        sync_interval_minutes=settings.sync_interval_minutes,
        bulk_limit=settings.sync_bulk_limit,
        bulk_limit_set="sync_bulk_limit" in settings.model_fields_set,
        poll_seconds=settings.sync_poll_seconds,
        webhooks=settings.hubspot_client_secret is not None,
    )


class NotConfigured:
    """Stands in for a CRM client in commands that need only the database (``status``,
    ``conflicts``, ``runs``, ``audit``): the first call names the missing variable, and no
    request is ever sent."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        self.stats: dict[str, int] = {}

    def close(self) -> None:
        pass

    def contact_url(self, contact_id: str) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        def unavailable(*args: object, **kwargs: object) -> NoReturn:
            raise ConfigError(
                self.variable, "is not set (this needs the API, not just the database)"
            )

        return unavailable


@dataclass
class Services:
    """Everything a command needs, closed together."""

    service: SyncService
    store: SqlStore
    hubspot: HubSpotClient | NotConfigured
    sell: SellClient | NotConfigured
    extra: list[object] = field(default_factory=list)

    def api_calls(self) -> dict[str, dict[str, int]]:
        return {"hubspot": dict(self.hubspot.stats), "sell": dict(self.sell.stats)}

    def close(self) -> None:
        self.hubspot.close()
        self.sell.close()
        self.store.close()


def open_store_for(settings: AppSettings) -> SqlStore:
    return open_store(settings.database_url, migrate=True)


def build_services(settings: AppSettings, *, store: SqlStore | None = None) -> Services:
    """Clients and engine from configuration; checks the variables a sync needs first."""
    settings.require(*SYNC_VARIABLES)
    hubspot = hubspot_client(settings)
    sell = sell_client(settings)
    store = store or open_store_for(settings)
    hubspot.remember_in(store)  # definitions and refusals outlive the process (a day)
    sell.remember_in(store)
    engine = Engine(hubspot, sell, store, SystemClock(), engine_config(settings))
    engine.announce = new_leads_notifier(settings, sell)  # speed to lead (bot/new_leads.py)
    return Services(SyncService(engine), store, hubspot, sell)


def build_hubspot_services(settings: AppSettings) -> Services:
    """The service on the database and HubSpot alone (``settings set list`` checks the list):
    only HUBSPOT_ACCESS_TOKEN is needed."""
    settings.require("hubspot_access_token")
    hubspot = hubspot_client(settings)
    sell = NotConfigured("SELL_ACCESS_TOKEN")
    store = open_store_for(settings)
    engine = Engine(hubspot, sell, store, SystemClock(), engine_config(settings))
    return Services(SyncService(engine), store, hubspot, sell)


def hubspot_client(settings: AppSettings) -> HubSpotClient:
    """The HubSpot client on the configured token, portal and pace."""
    return HubSpotClient(
        HubSpotSession(
            settings.hubspot_base_url,
            settings.secret("hubspot_access_token"),
            portal_id=settings.hubspot_portal_id,
            score_property=settings.hubspot_score_property,
        ),
        HubSpotLimits(
            per_10s=settings.hubspot_requests_per_10s,
            search_per_s=int(settings.hubspot_search_per_s),
        ),
    )


def sell_client(settings: AppSettings) -> SellClient:
    """The Sell client on the configured token and pace."""
    return SellClient(
        settings.sell_base_url,
        settings.secret("sell_access_token"),
        per_s=settings.sell_requests_per_s,
    )


def build_database_services(settings: AppSettings) -> Services:
    """The service on the database alone, for commands that read only stored state: no API
    token is needed (a CRM call would fail naming the variable that is missing)."""
    hubspot = NotConfigured("HUBSPOT_ACCESS_TOKEN")
    sell = NotConfigured("SELL_ACCESS_TOKEN")
    store = open_store_for(settings)
    engine = Engine(hubspot, sell, store, SystemClock(), engine_config(settings))
    return Services(SyncService(engine), store, hubspot, sell)

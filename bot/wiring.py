"""The composition root: settings in, a ready SyncService (clients, store, engine) out."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.settings import SYNC_VARIABLES, AppSettings
from storage.db import open_store
from storage.repositories import SqlStore
from sync.clients.hubspot import HubSpotClient
from sync.clients.sell import SellClient
from sync.engine import Engine, EngineConfig
from sync.service import SyncService


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SecretFilter(logging.Filter):
    """Replaces every configured secret in log records with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if len(s) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for s in self.secrets:
                message = message.replace(s, "***")
            record.msg, record.args = message, None
        return True


def configure_logging(settings: AppSettings, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(SecretFilter(settings.secrets()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def engine_config(settings: AppSettings) -> EngineConfig:
    return EngineConfig(
        default_threshold=settings.sync_threshold,
        default_list_id=settings.hubspot_list_id or "",
        score_property=settings.hubspot_score_property,
        import_as=settings.sell_import_as,
        lock_ttl_seconds=settings.sync_lock_ttl_seconds,
    )


@dataclass
class Services:
    """Everything a command needs, closed together."""

    service: SyncService
    store: SqlStore
    hubspot: HubSpotClient
    sell: SellClient
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
    hubspot = HubSpotClient(
        settings.hubspot_base_url,
        settings.secret("hubspot_access_token"),
        per_10s=settings.hubspot_requests_per_10s,
        search_per_s=int(settings.hubspot_search_per_s),
        portal_id=settings.hubspot_portal_id,
        score_property=settings.hubspot_score_property,
    )
    sell = SellClient(
        settings.sell_base_url,
        settings.secret("sell_access_token"),
        per_s=settings.sell_requests_per_s,
    )
    store = store or open_store_for(settings)
    engine = Engine(hubspot, sell, store, SystemClock(), engine_config(settings))
    return Services(
        SyncService(engine, next_run=lambda: estimated_next_run(store, settings)),
        store,
        hubspot,
        sell,
    )


def estimated_next_run(store: SqlStore, settings: AppSettings) -> datetime | None:
    """When the scheduler (in the worker process) starts the next sync: the last scheduled run
    plus the interval; None before the first one."""
    for run in store.recent_runs(20):
        if run.trigger == "schedule":
            return run.started_at + timedelta(minutes=settings.sync_interval_minutes)
    return None

"""What the end-to-end tests over the sandbox servers share: the servers, and the real engine
pointed at them (real clients, unpaced, a SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.wiring import SystemClock
from sandbox import Sandbox, SandboxLimits
from storage.db import open_store
from sync.clients.hubspot import HubSpotClient, HubSpotLimits, HubSpotSession
from sync.clients.sell import SellClient
from sync.engine import Engine, EngineConfig


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    """The stand-in servers, empty and without rate limits; each test resets what it uses."""
    with Sandbox(seed="empty", limits=SandboxLimits(enabled=False)) as sandbox:
        yield sandbox


@contextmanager
def engine_over(
    sb: Sandbox, database_url: str, list_id: str, *, hubspot_limits: HubSpotLimits | None = None
) -> Iterator[Engine]:
    """The engine over ``sb`` with the threshold at 50 and ``list_id`` synced; its clients and
    store are closed afterwards (the store is ``engine.store``)."""
    store = open_store(database_url)
    hub = HubSpotClient(
        HubSpotSession(sb.hubspot_url, sb.hubspot_token, portal_id=sb.hubspot.portal_id),
        hubspot_limits or HubSpotLimits.unpaced(),
    )
    sell = SellClient(sb.sell_url, sb.sell_token, per_s=None)
    config = EngineConfig(default_threshold=50, default_list_id=list_id)
    try:
        yield Engine(hub, sell, store, SystemClock(), config)
    finally:
        hub.close()
        sell.close()
        store.close()

"""``/healthz`` and ``/metrics`` with and without ``METRICS_TOKEN`` (issue 14 item 9), served
over a real loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bot.serve import BackgroundServer
from bot.web import build_web
from tests.scenario.conftest import Bot

TOKEN = "metrics-token-5b0c9e7d41f2"


@pytest.fixture
def open_server(bot: Bot) -> Iterator[BackgroundServer]:
    with BackgroundServer(build_web(bot.app, bot.world.service)) as srv:
        yield srv


@pytest.fixture
def guarded_server(bot: Bot) -> Iterator[BackgroundServer]:
    with BackgroundServer(build_web(bot.app, bot.world.service, metrics_token=TOKEN)) as srv:
        yield srv


def test_without_a_token_health_and_metrics_answer_as_before(open_server: BackgroundServer) -> None:
    assert httpx.get(open_server.url + "/metrics").status_code == 200
    assert set(httpx.get(open_server.url + "/healthz").json()) == {"ok", "database", "last_run"}


def test_with_a_token_metrics_need_it_and_healthz_says_only_ok_to_others(
    guarded_server: BackgroundServer,
) -> None:
    url = guarded_server.url
    refused = httpx.get(url + "/metrics")
    assert refused.status_code == 401 and "sellsync_" not in refused.text
    assert refused.headers["www-authenticate"].startswith("Bearer")
    for wrong in ("Bearer nope", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"):
        assert httpx.get(url + "/metrics", headers={"authorization": wrong}).status_code == 401
    allowed = httpx.get(url + "/metrics", headers={"authorization": f"bearer {TOKEN}"})
    assert allowed.status_code == 200 and "sellsync_database_up 1.0" in allowed.text
    health = httpx.get(url + "/healthz")
    assert health.status_code == 200 and health.json() == {"ok": True}
    detailed = httpx.get(url + "/healthz", headers={"authorization": f"Bearer {TOKEN}"})
    assert set(detailed.json()) == {"ok", "database", "last_run"}
